"""PNG figures from run results, per dataset: per-frame curves (paper Fig. 5a style), best-of-K (Fig. 5b) and
sample diversity (Fig. 5c: mean pairwise SSIM among K samples, on frames and, for real datasets, on optical flow).

One line per group of ``results.comparable_groups`` (model, preset, data, N, clips), averaged over its seeds.
Curves are read under one protocol (default the paper's, ``s2sbench.eval.protocols.PAPER``); the x axis of
per-frame curves is the 1-based frame number; the curve panels are one per metric column of ``METRICS`` the runs
have (the SSIM variant asked for, PSNR, ...). Needs matplotlib (``pip install 's2sbench[plots]'``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from s2sbench.eval.protocols import PAPER
from s2sbench.optional import require
from s2sbench.report.columns import metric_columns, metrics_in
from s2sbench.report.results import RunResult, comparable_groups


def _mean_curves(curves: list[list[float]]) -> np.ndarray:
    n = min(len(c) for c in curves)
    return np.mean([c[:n] for c in curves], axis=0)


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    from s2sbench.safety.files import atomic_target

    fig.tight_layout()
    try:
        with atomic_target(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=120)
    finally:
        plt.close(fig)
    return path


def plot_dataset(results: list[RunResult], dataset: str, out_dir: Path, protocol: str = PAPER.protocol,
                 ssim_variant: str = PAPER.metric) -> list[Path]:
    matplotlib = require("matplotlib", "plots")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from cycler import cycler

    with plt.rc_context({"axes.prop_cycle": cycler(color=plt.get_cmap("tab20").colors)}):  # 20 distinct lines
        return _plot_dataset(results, dataset, out_dir, protocol, ssim_variant)


def _plot_dataset(results: list[RunResult], dataset: str, out_dir: Path, protocol: str,
                  ssim_variant: str) -> list[Path]:
    import matplotlib.pyplot as plt

    groups, paths = comparable_groups(results, dataset), []
    if not groups:
        return paths
    have = metrics_in([r for r in results if r.dataset == dataset], protocol)  # one panel per metric column:
    shown = [m for m in (c.pick(ssim_variant, have) for c in metric_columns(have)) if m] or [ssim_variant]
    fig, axes = plt.subplots(1, len(shown), figsize=(5 * len(shown), 4), squeeze=False)
    axes = axes[0]
    for label, rs in groups.items():
        for ax, metric in zip(axes, shown):
            curves = [r.scores[protocol][metric]["curve"] for r in rs if metric in r.scores.get(protocol, {})]
            if curves:
                x = np.arange(len(curves[0][: min(map(len, curves))])) + rs[0].n_past + 1
                ax.plot(x, _mean_curves(curves), marker=".", label=label)
    for ax, metric in zip(axes, shown):
        ax.set(xlabel="frame", ylabel=metric, title=f"{dataset}: {metric} ({protocol})")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    paths.append(_save(fig, out_dir / f"{dataset}_curves.png"))

    fig, ax = plt.subplots(figsize=(5, 4))
    for label, rs in groups.items():
        curves = [r.diversity["best_of_k"][ssim_variant] for r in rs
                  if ssim_variant in r.diversity.get("best_of_k", {})]
        if curves:
            y = _mean_curves(curves)
            ax.plot(np.arange(1, len(y) + 1), y, label=label)
    ax.set(xlabel="K samples", ylabel=f"best-of-K {ssim_variant}", title=f"{dataset}: best of K")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    paths.append(_save(fig, out_dir / f"{dataset}_best_of_k.png"))

    pairwise = f"pairwise_{PAPER.metric}"  # the diversity curves are computed with the paper's SSIM
    keys = [(pairwise, "frames"), ("flow", "optical flow")]
    fig, ax = plt.subplots(figsize=(5, 4))
    drawn = False
    for label, rs in groups.items():
        for key, what in keys:
            if key == "flow":
                curves = [r.diversity["flow"][pairwise] for r in rs if "flow" in r.diversity]
            else:
                curves = [r.diversity[key] for r in rs if key in r.diversity]
            if curves:
                y = _mean_curves(curves)
                ax.plot(np.arange(2, len(y) + 2), y, label=f"{label}, {what}")
                drawn = True
    if drawn:
        ax.set(xlabel="K samples", ylabel=f"mean pairwise {PAPER.metric}", title=f"{dataset}: sample diversity")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        paths.append(_save(fig, out_dir / f"{dataset}_diversity.png"))
    else:
        plt.close(fig)
    return paths


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
