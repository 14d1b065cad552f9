"""PNG figures from run results, per dataset: per-frame curves (paper Fig. 5a style), best-of-K (Fig. 5b) and
sample diversity (Fig. 5c: mean pairwise SSIM among K samples, on frames and, for real datasets, on optical flow).

One line per group of ``results.comparable_groups`` (model, preset, data, N, clips), averaged over its seeds.
Curves are read under one protocol (default the paper's, ``s2sbench.eval.protocols.PAPER``); the x axis of
per-frame curves is the 1-based frame number; the curve figure has one panel per metric column of ``METRICS`` the
runs have (the SSIM variant asked for, PSNR, ...), two panels a row.

Styles (``line_styles``): models get a qualitative palette (tab10) and a marker each, so no two models share a
colour and marker; reference predictors (``is_reference``) are grey and dashed, labelled "(ref)", after the models.
Legends sit outside the data, right of the panels. A diversity panel whose curves all lie above
``NEAR_IDENTICAL`` says so in the panel ("samples nearly identical"), and its y axis never zooms in past
``MIN_SPAN``, so that a spread of 0.001 does not look like a real difference. Needs matplotlib
(``pip install 's2sbench[plots]'``).
"""
from __future__ import annotations

import io
import textwrap
from pathlib import Path

import numpy as np

from s2sbench.eval.protocols import PAPER
from s2sbench.optional import require
from s2sbench.report.columns import metric_columns, metrics_in
from s2sbench.report.results import RunResult, comparable_groups, is_reference

PANEL = (5.2, 3.4)  # inches per panel
DPI = 100
MARKERS = "osv^D<>PXh"
REF_GREYS = ("0.25", "0.45", "0.65")
REF_DASHES = ((5, 2), (2, 2), (6, 2, 1, 2))
NEAR_IDENTICAL = 0.99  # mean pairwise SSIM above this: the samples are (nearly) the same video
MIN_SPAN = 0.05  # smallest y range of a diversity panel


def _mean_curves(curves: list[list[float]]) -> np.ndarray:
    n = min(len(c) for c in curves)
    return np.mean([c[:n] for c in curves], axis=0)


def line_styles(labels: list[str], models: dict[str, str]) -> dict[str, dict]:
    """matplotlib keyword arguments per group label (``models``: label -> model name): models first, each with its
    own colour and marker, then reference predictors in grey dashes."""
    import matplotlib.pyplot as plt

    palette = [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 7] + ["#000075"]  # grey: references
    refs = [lb for lb in labels if is_reference(models[lb])]
    styles = {}
    for i, lb in enumerate(lb for lb in labels if lb not in refs):
        styles[lb] = {"color": palette[i % len(palette)], "marker": MARKERS[(i + i // len(palette)) % len(MARKERS)],
                      "markersize": 4, "linewidth": 1.6, "label": lb}
    for i, lb in enumerate(refs):
        styles[lb] = {"color": REF_GREYS[i % len(REF_GREYS)], "dashes": REF_DASHES[i % len(REF_DASHES)],
                      "linewidth": 1.6, "label": f"{lb[:-1]}, ref)" if lb.endswith(")") else f"{lb} (ref)"}
    return dict(sorted(styles.items(), key=lambda kv: (kv[0] in refs, kv[0])))


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt
    from PIL import Image  # a dependency of matplotlib

    from s2sbench.safety.files import atomic_target

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
    buf.seek(0)
    # a 256-colour palette, undithered: the same figure at a third of the bytes (line plots have few colours)
    img = Image.open(buf).convert("RGB").quantize(colors=256, dither=0)
    with atomic_target(path, suffix=".png") as tmp:
        img.save(tmp, format="png", optimize=True)
    return path


def _legend(fig, axes, spare=None) -> None:
    """One legend for the figure, in the ``spare`` (empty) panel if there is one, else right of the panels: never
    over the data."""
    handles, labels = {}, []
    for ax in axes:
        for h, lb in zip(*ax.get_legend_handles_labels()):
            if lb not in handles:
                handles[lb] = h
                labels.append(lb)
    if labels and spare is not None:
        spare.legend([handles[lb] for lb in labels], labels, loc="center", fontsize=9, frameon=False)
    elif labels:
        fig.legend([handles[lb] for lb in labels], labels, loc="center left", bbox_to_anchor=(1.0, 0.5),
                   fontsize=9, frameon=False)


def plot_dataset(results: list[RunResult], dataset: str, out_dir: Path, protocol: str = PAPER.protocol,
                 ssim_variant: str = PAPER.metric) -> list[Path]:
    matplotlib = require("matplotlib", "plots")
    matplotlib.use("Agg")
    groups = comparable_groups(results, dataset)
    if not groups:
        return []
    styles = line_styles(list(groups), {lb: rs[0].model for lb, rs in groups.items()})
    groups = {lb: groups[lb] for lb in styles}  # models first, references last: the legend's order
    paths = [_curves(results, groups, styles, dataset, out_dir, protocol, ssim_variant),
             _best_of_k(groups, styles, dataset, out_dir, ssim_variant)]
    return paths + [p for p in [_diversity(groups, styles, dataset, out_dir)] if p]


def _curves(results, groups, styles, dataset, out_dir, protocol, ssim_variant) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    have = metrics_in([r for r in results if r.dataset == dataset], protocol)  # one panel per metric column:
    cols = [(c, m) for c in metric_columns(have) if (m := c.pick(ssim_variant, have))]
    ncols = min(2, len(cols)) or 1
    nrows = max(1, -(-len(cols) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(PANEL[0] * ncols, PANEL[1] * nrows), squeeze=False)
    axes = axes.ravel()
    for ax, (col, metric) in zip(axes, cols):
        for label, rs in groups.items():
            curves = [r.scores[protocol][metric]["curve"] for r in rs if metric in r.scores.get(protocol, {})]
            if curves:
                y = _mean_curves(curves)
                ax.plot(np.arange(len(y)) + rs[0].n_past + 1, y, markevery=max(1, len(y) // 8), **styles[label])
        unit = next((r.metrics.get(metric, {}).get("unit") for rs in groups.values() for r in rs), "")
        better = "higher" if col.higher_is_better else "lower"
        ax.set(xlabel="frame", ylabel=f"{col.title}{f' ({unit})' if unit else ''}",
               title=f"{metric} ({better} is better)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in axes[len(cols):]:
        ax.axis("off")
    fig.suptitle(f"{dataset}: per-frame scores, {protocol} protocol, mean over seeds")
    fig.tight_layout()
    _legend(fig, axes[:len(cols)], axes[len(cols)] if len(cols) < len(axes) else None)
    return _save(fig, out_dir / f"{dataset}_curves.png")


def _best_of_k(groups, styles, dataset, out_dir, ssim_variant) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=PANEL)
    for label, rs in groups.items():
        curves = [r.diversity["best_of_k"][ssim_variant] for r in rs
                  if ssim_variant in r.diversity.get("best_of_k", {})]
        if curves:
            y = _mean_curves(curves)
            ax.plot(np.arange(1, len(y) + 1), y, markevery=max(1, len(y) // 8), **styles[label])
    ax.set(xlabel="K samples", ylabel=f"best-of-K {ssim_variant}", title=f"{dataset}: best of K samples")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _legend(fig, [ax])
    return _save(fig, out_dir / f"{dataset}_best_of_k.png")


def _diversity(groups, styles, dataset, out_dir) -> Path | None:
    import matplotlib.pyplot as plt

    pairwise = f"pairwise_{PAPER.metric}"  # the diversity curves are computed with the paper's SSIM
    panels = {}
    for what in ("frames", "optical flow"):
        lines = {}
        for label, rs in groups.items():
            curves = [r.diversity["flow"][pairwise] if what != "frames" else r.diversity[pairwise] for r in rs
                      if (pairwise in r.diversity.get("flow", {}) if what != "frames" else pairwise in r.diversity)]
            if curves:
                lines[label] = _mean_curves(curves)
        if lines:
            panels[what] = lines
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(PANEL[0] * len(panels), PANEL[1] + 0.4), squeeze=False)
    for ax, (what, lines) in zip(axes[0], panels.items()):
        for label, y in lines.items():
            ax.plot(np.arange(2, len(y) + 2), y, markevery=max(1, len(y) // 8), **styles[label])
        lo, hi = min(float(y.min()) for y in lines.values()), max(float(y.max()) for y in lines.values())
        ax.set_ylim(min(lo, hi - MIN_SPAN) - 0.005, max(hi, 1.0) + 0.005)
        ax.set(xlabel="K samples", ylabel=f"mean pairwise {PAPER.metric}",
               title=f"sample diversity on {what} (lower = more diverse)")
        ax.grid(alpha=0.3)
        same = [lb.split(" (")[0] for lb, y in lines.items() if float(y.min()) > NEAR_IDENTICAL]
        if same:
            who = "every model" if len(same) == len(lines) else ", ".join(same)
            note = f"samples nearly identical\n(pairwise SSIM > {NEAR_IDENTICAL}):\n" + textwrap.fill(who, 40)
            box = ax.legend(handles=[], title=note, loc="best", title_fontsize=8, facecolor="lightyellow")
            box.get_frame().set_edgecolor("0.6")
    fig.suptitle(f"{dataset}: diversity among the K samples of stochastic models")
    fig.tight_layout()
    _legend(fig, axes[0])
    return _save(fig, out_dir / f"{dataset}_diversity.png")


PLOT_NAMES = ("curves", "best_of_k", "diversity")  # <dataset>_<name>.png


def write_plots(results: list[RunResult], out_dir: str | Path, protocol: str = PAPER.protocol,
                ssim_variant: str = PAPER.metric, overwrite: bool = False) -> list[Path]:
    """The figures of every dataset with results; existing figures are replaced only with ``overwrite``."""
    from s2sbench.safety.claims import claim_files
    from s2sbench.safety.files import check_writable

    require("matplotlib", "plots")  # before anything is written
    out_dir = Path(out_dir)
    datasets = sorted({r.dataset for r in results})
    claim_files({out_dir / f"{ds}_{n}.png": None for ds in datasets for n in PLOT_NAMES}, overwrite)
    check_writable(out_dir)
    paths = []
    for ds in datasets:
        paths += plot_dataset(results, ds, out_dir, protocol, ssim_variant)
    return paths
