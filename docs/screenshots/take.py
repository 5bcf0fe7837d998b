"""Look at the built site as a user would: serve it, open pages in headless Chromium, fail on
console errors or missing images, and save a screenshot of each beside this file.

    mkdocs build --strict --site-dir /tmp/zipkit-site
    python docs/screenshots/take.py /tmp/zipkit-site [--chromium /usr/bin/chromium]

Needs Debian's chromium and the playwright package (``pip install playwright``); not part of
CI, which has no browser.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGES = {
    "home": "",
    "guide-select-zip": "guides/select-zip/",
    "guide-ablate-compressor": "guides/ablate-compressor/",
    "api-reference": "reference/api/",
    "api-compressors": "reference/api/compressors/",
    "method-parameters": "reference/methods/",
    "troubleshooting": "faq/",
    "results-experiments": "results/experiments/",
}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # one line per request would bury the report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", help="the folder mkdocs built")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_Quiet, directory=args.site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    problems = []
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        for name, path in PAGES.items():
            page = browser.new_page(viewport={"width": 1280, "height": 900})  # fresh listeners each
            errors: list[str] = []
            page.on("console", lambda message, errors=errors: message.type == "error" and errors.append(message.text))
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            page.on("requestfailed", lambda request, errors=errors: errors.append(f"request failed: {request.url}"))
            page.goto(base + path, wait_until="networkidle")
            if name == "results-experiments":  # show a plot, not only the text above it
                page.locator("img").first.scroll_into_view_if_needed()
            broken = page.evaluate("[...document.images].filter(i => !i.complete || !i.naturalWidth).map(i => i.src)")
            images = page.evaluate("document.images.length")
            title = page.title()
            page.screenshot(path=str(HERE / f"{name}.png"))
            problems += [f"{name}: console: {e}" for e in errors] + [f"{name}: broken image {b}" for b in broken]
            print(f"{name}: {title!r}, {images} images, {len(errors)} console errors, {len(broken)} broken")
            page.close()
        browser.close()
    server.shutdown()
    if problems:
        raise SystemExit("\n".join(problems))


if __name__ == "__main__":
    main()
