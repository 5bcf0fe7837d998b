"""PNG figures (matplotlib, no display): heatmaps, a labelled scatter, length histograms."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import atomic_output


def pyplot():
    """matplotlib.pyplot on the Agg backend, or an error naming the extra to install."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'zipkit[plot]'") from None
    return plt


def set_title(ax, text: str) -> None:
    """A title wrapped to the figure's width (long titles are cut off otherwise)."""
    ax.set_title(textwrap.fill(text, 70), fontsize=10)


def save(fig, path: str | Path) -> None:
    """Write ``fig`` as a PNG at ``path`` atomically, and close it."""
    fig.tight_layout()
    with atomic_output(path) as out:
        fig.savefig(out, format="png", dpi=120)
    pyplot().close(fig)


def _finish(ax, xlabel: str, ylabel: str, title: str, log_x: bool) -> None:
    """Axis labels, the title, a light grid, and a log x axis if asked."""
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    set_title(ax, title)
    ax.grid(alpha=0.3)


def heatmap(
    values: Sequence[Sequence[float]],
    rows: Sequence[str],
    columns: Sequence[str],
    title: str,
    xlabel: str,
    ylabel: str,
    path: str | Path,
    by_column: bool = False,
) -> None:
    """Values coloured on one scale, or with ``by_column`` each column on its own (lowest to
    highest of that column), so that differences within a column are not hidden by the
    differences between columns; the cells show the values themselves."""
    plt = pyplot()
    data = np.asarray(values, dtype=float)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 + 0.75 * len(columns)), 1.6 + 0.42 * len(rows)))
    shown = data
    if by_column:
        low, high = np.nanmin(data, axis=0), np.nanmax(data, axis=0)
        shown = (data - low) / np.where(high > low, high - low, 1.0)
    image = ax.imshow(shown, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(columns)), columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    middle = np.nanmean(shown)
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            ax.text(
                j,
                i,
                f"{data[i, j]:.3f}" if by_column else f"{data[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="black" if shown[i, j] > middle else "white",
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    set_title(ax, title)
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    if by_column:
        bar.set_label("within its column: lowest (0) to highest (1)", fontsize=8)
    save(fig, path)


def scatter(
    x: Sequence[float],
    y: Sequence[float],
    labels: Sequence[str],
    xlabel: str,
    ylabel: str,
    title: str,
    path: str | Path,
    log_x: bool = True,
) -> None:
    """A labelled scatter plot."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter(x, y, s=30)
    for xi, yi, label in zip(x, y, labels):
        ax.annotate(label, (xi, yi), textcoords="offset points", xytext=(4, 3), fontsize=8)
    _finish(ax, xlabel, ylabel, title, log_x)
    save(fig, path)


def histograms(lengths: dict[str, Sequence[float]], xlabel: str, title: str, path: str | Path) -> None:
    """One step histogram per named set, on shared logarithmic bins; more than six sets, whose
    lines would tangle, as one box plot each."""
    if len(lengths) > 6:
        boxes(lengths, xlabel, title, path)
        return
    plt = pyplot()
    values = [v for v in lengths.values() if len(v)]
    low = max(min((min(v) for v in values), default=1), 1)
    top = max((max(v) for v in values), default=2)
    bins = np.logspace(np.log10(low), np.log10(max(top, low + 1)) + 0.02, 30)
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, v in lengths.items():
        ax.hist(v, bins=bins, histtype="step", linewidth=1.4, label=f"{name} (n={len(v):,})")
    ax.set_xscale("log")
    ax.set_xlabel(f"{xlabel} (log scale)")
    ax.set_ylabel("records")
    set_title(ax, title)
    ax.legend(fontsize=7, ncol=2 if len(lengths) > 6 else 1)
    save(fig, path)


def boxes(
    values: dict[str, Sequence[float]],
    xlabel: str,
    title: str,
    path: str | Path,
    log_x: bool = True,
    reference: tuple[str, float] | None = None,
) -> None:
    """One horizontal box plot per named set (quartiles, 1.5 IQR whiskers, mean as a dot);
    ``reference`` (label, x) draws a dashed vertical line."""
    plt = pyplot()
    names = list(values)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.32 * len(names)))
    ax.boxplot(
        [values[n] for n in names],
        orientation="horizontal",
        showfliers=False,
        showmeans=True,
        meanprops={"marker": "o", "markersize": 4},
    )
    ax.set_yticks(range(1, len(names) + 1), names, fontsize=8)
    ax.invert_yaxis()
    if reference:
        ax.axvline(reference[1], color="grey", linestyle="--", linewidth=1, label=reference[0])
        ax.legend(fontsize=7)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(f"{xlabel} (log scale)" if log_x else xlabel)
    set_title(ax, title)
    ax.grid(alpha=0.3, axis="x")
    save(fig, path)


def lines(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    xlabel: str,
    ylabel: str,
    title: str,
    path: str | Path,
    log_x: bool = False,
    bands: dict[str, Sequence[float]] | None = None,
    reference: tuple[str, float] | None = None,
) -> None:
    """One line per named (x, y) series, with markers; ``bands`` (name -> the spread of y)
    shades y +- spread; ``reference`` (label, y) draws a dashed horizontal line."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, (x, y) in series.items():
        (line,) = ax.plot(x, y, marker="o" if len(x) < 30 else None, markersize=4, linewidth=1.4, label=name)
        if bands and name in bands:
            y, spread = np.asarray(y, float), np.asarray(bands[name], float)
            ax.fill_between(x, y - spread, y + spread, color=line.get_color(), alpha=0.15)
    if reference:
        ax.axhline(reference[1], color="grey", linestyle="--", linewidth=1, label=reference[0])
    _finish(ax, xlabel, ylabel, title, log_x)
    ax.legend(fontsize=7, ncol=2 if len(series) > 6 else 1)
    save(fig, path)


def intervals(
    labels: Sequence[str],
    values: Sequence[float],
    cis: Sequence[Sequence[float]],
    xlabel: str,
    title: str,
    path: str | Path,
    references: dict[str, Sequence[float]] | None = None,
) -> None:
    """One row per label: its value with its interval as a bar; ``references`` (name -> one
    value per label, where it has one) as open markers beside it, e.g. each row's own control."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 1.4 + 0.38 * len(labels)))
    y = np.arange(len(labels))[::-1]
    low = [v - c[0] for v, c in zip(values, cis)]
    high = [c[1] - v for v, c in zip(values, cis)]
    ax.errorbar(values, y, xerr=[low, high], fmt="o", color="tab:blue", capsize=3, label="value, 95% CI")
    for (name, refs), marker in zip((references or {}).items(), "sdv^"):
        ax.scatter(refs, y[: len(refs)], marker=marker, facecolors="none", edgecolors="tab:red", label=name)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel(xlabel)
    set_title(ax, title)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=7, loc="best")
    save(fig, path)


def fitted(
    x: Sequence[float],
    y: Sequence[float],
    groups: Sequence[str],
    fits: Sequence[tuple[str, float, float]],
    xlabel: str,
    ylabel: str,
    title: str,
    path: str | Path,
    errors: Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
) -> None:
    """Points coloured by group (with error bars when given), ``labels`` beside them ("" for
    none), and fitted lines (label, slope, intercept), the first solid, the others dashed; the
    legend below the axes, where it hides no point."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 6.4))
    x, y = np.asarray(x, float), np.asarray(y, float)
    for group in dict.fromkeys(groups):
        mask = np.array([g == group for g in groups])
        ax.errorbar(
            x[mask],
            y[mask],
            yerr=None if errors is None else np.asarray(errors, float)[mask],
            fmt="o",
            markersize=5,
            capsize=2,
            label=group,
        )
    for xi, yi, name in zip(x, y, labels or []):
        if name:
            ax.annotate(name, (xi, yi), textcoords="offset points", xytext=(4, 3), fontsize=7)
    span = np.linspace(x.min(), x.max(), 50)
    for k, (label, slope, intercept) in enumerate(fits):
        style = "-" if k == 0 else "--"
        ax.plot(span, slope * span + intercept, color="black", linewidth=1, linestyle=style, label=label)
    _finish(ax, xlabel, ylabel, title, log_x=False)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    save(fig, path)


def fitted_by(
    x: Sequence[float],
    y: Sequence[float],
    groups: Sequence[str],
    shapes: Sequence[str],
    fits: Sequence[tuple[str, float, float]],
    xlabel: str,
    ylabel: str,
    title: str,
    path: str | Path,
    errors: Sequence[float] | None = None,
) -> None:
    """Points coloured by group and shaped by a second label (a budget), with error bars when
    given, and fitted lines (label, slope, intercept), one line style per fit; the legend
    names the colours, the shapes and the lines."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    x, y = np.asarray(x, float), np.asarray(y, float)
    err = None if errors is None else np.asarray(errors, float)
    named = list(dict.fromkeys(groups))
    # Past ten groups the default cycle repeats its colours (and its grey is the shapes'): tab20.
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"] if len(named) <= 10 else list(plt.cm.tab20.colors)
    colours = {g: palette[k % len(palette)] for k, g in enumerate(named)}
    markers = dict(zip(dict.fromkeys(shapes), "osD^vP*Xh"))
    for group, colour in colours.items():
        for shape, marker in markers.items():
            mask = np.array([g == group and s == shape for g, s in zip(groups, shapes)])
            if mask.any():
                ax.errorbar(
                    x[mask],
                    y[mask],
                    yerr=None if err is None else err[mask],
                    fmt=marker,
                    color=colour,
                    markersize=6,
                    capsize=2,
                )
    handles = [plt.Line2D([], [], color=c, marker="o", linestyle="", label=g) for g, c in colours.items()]
    handles += [plt.Line2D([], [], color="black", marker=m, linestyle="", label=s) for s, m in markers.items()]
    if len(x):
        span = np.linspace(x.min(), x.max(), 50)
        styles = ["-", "--", ":", "-."]
        for k, (label, slope, intercept) in enumerate(fits):
            (line,) = ax.plot(
                span,
                slope * span + intercept,
                color="black",
                linewidth=1,
                linestyle=styles[k % len(styles)],
                label=f"{label} (y = {slope:.3g} x + {intercept:.3g})",
            )
            handles.append(line)
    _finish(ax, xlabel, ylabel, title, log_x=False)
    ax.legend(handles=handles, fontsize=7, ncol=2 if len(handles) > 8 else 1)
    save(fig, path)
