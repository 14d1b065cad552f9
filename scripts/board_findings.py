"""A board's findings, computed from its runs only, each claim with the seed range that bounds it.

Reads every ``result.json`` under RUNS for one dataset and prints two Markdown tables:

1. **Each model against the reference predictors**: per model the seeds, steps run / evaluated, the paper's metric
   (``ssim_paper`` under ``best_per_frame``) at the dataset's table frames, the ground-truth metrics and FVD (LPIPS
   where scored), each as the mean over seeds with the seeds' range; ``beats refs at`` lists the table frames at
   which **every** seed beats the best reference predictor on the paper's metric, ``digit_hit > refs`` whether every
   seed beats every reference on ``digit_hit``.
2. **Does audio help**: Sound2Sight against its no-audio ablation, and audio-only against the best reference
   predictor, on every metric: the mean difference (in the metric's better direction: positive = the first is
   better) and whether the seeds separate the two ("yes, first": every seed of the first is better than every seed
   of the second; "yes, second" the reverse; a reference is deterministic, one value).

Runs are grouped by model; a model with runs of more than one preset or data digest is refused (one board per call).

    python scripts/board_findings.py leaderboard/runs --dataset m3so-nb
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from statistics import mean

from s2sbench.data.datasets import DATASETS
from s2sbench.eval.metrics import METRICS
from s2sbench.eval.protocols import PAPER
from s2sbench.report.results import RunResult, find_results, is_reference

SUMMARY = ("digit_hit", "digit_err", "fg_ssim", "lpips", "fvd")  # averaged over the predicted frames (fvd: a set)
PAIRS = (("sound2sight", "sound2sight_no_audio"), ("audio_only", "best reference"))


def value(r: RunResult, metric: str, frame: int | None = None) -> float | None:
    """The run's score: ``ssim_paper``-style per-frame metrics at ``frame`` (else their average over the predicted
    frames) under the paper's protocol; a set metric's value; None where the run did not score it."""
    if metric in r.set_scores:
        return r.set_scores[metric]["value"]
    if metric not in r.scores.get(PAPER.protocol, {}):
        return None
    return r.at_frame(PAPER.protocol, metric, frame) if frame else r.scores[PAPER.protocol][metric]["avg"]


def better(metric: str) -> int:
    return 1 if METRICS.get(metric).higher_is_better else -1


def fmt(vals: list[float], digits: int) -> str:
    if not vals:
        return "-"
    m = f"{mean(vals):.{digits}f}"
    return m if len(vals) == 1 or max(vals) == min(vals) else f"{m} ({min(vals):.{digits}f}-{max(vals):.{digits}f})"


def load(runs: str, dataset: str) -> dict[str, list[RunResult]]:
    by_model: dict[str, list[RunResult]] = defaultdict(list)
    for _, r in find_results(runs):
        if r.dataset == dataset:
            by_model[r.model].append(r)
    for model, rs in by_model.items():
        if len({(r.preset, r.data_sha256) for r in rs}) > 1:
            sys.exit(f"{runs}: {model} has runs of several presets or data digests; give one board's runs")
    if not by_model:
        sys.exit(f"{runs}: no results for {dataset}")
    return {m: sorted(rs, key=lambda r: r.seed) for m, rs in sorted(by_model.items())}


def best_reference(by_model: dict[str, list[RunResult]], metric: str, frame: int | None = None) -> float | None:
    refs = [r for m, rs in by_model.items() if is_reference(m) for r in rs]
    vals = [v for r in refs if (v := value(r, metric, frame)) is not None]
    if not vals:
        return None
    return max(vals) if better(metric) > 0 else min(vals)


def model_table(by_model: dict[str, list[RunResult]], frames: tuple[int, ...]) -> list[str]:
    metrics = [m for m in SUMMARY if any(value(r, m) is not None for rs in by_model.values() for r in rs)]
    head = (["model", "seeds", "steps run / evaluated"] + [f"{PAPER.metric} fr{f}" for f in frames]
            + [f"{m}{'' if METRICS.get(m).higher_is_better else ' (lower better)'}" for m in metrics]
            + ["beats refs at", "digit_hit > refs"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ranked = sorted(by_model, key=lambda m: -mean(value(r, PAPER.metric, frames[-1]) for r in by_model[m]))
    for model in ranked:
        rs = by_model[model]
        ref = is_reference(model)
        steps = "-" if ref else (" ".join(str(r.train["steps"]) for r in rs) + " / "
                                 + " ".join(str(r.train["best_step"]) for r in rs))
        cells = [f"{model} (reference)" if ref else model, " ".join(str(r.seed) for r in rs), steps]
        cells += [fmt([value(r, PAPER.metric, f) for r in rs], 3) for f in frames]
        cells += [fmt([v for r in rs if (v := value(r, m)) is not None], METRICS.get(m).digits if m != "fvd" else 1)
                  for m in metrics]
        if ref:
            cells += ["", ""]
        else:
            beats = [str(f) for f in frames if all(value(r, PAPER.metric, f) > best_reference(by_model, PAPER.metric, f)
                                                   for r in rs)]
            hit = best_reference(by_model, "digit_hit")
            cells += [" ".join(beats) or "none",
                      "-" if hit is None else ("yes" if all(value(r, "digit_hit") > hit for r in rs) else "no")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def pair_table(by_model: dict[str, list[RunResult]], frames: tuple[int, ...]) -> list[str]:
    scored = [(PAPER.metric, f) for f in frames] + [(m, None) for m in SUMMARY]
    lines = ["| first | second | metric | first | second | difference (+: first better) | seeds separate |",
             "|---|---|---|---|---|---|---|"]
    for a, b in PAIRS:
        if a not in by_model or (b not in by_model and b != "best reference"):
            continue
        for metric, frame in scored:
            va = [v for r in by_model[a] if (v := value(r, metric, frame)) is not None]
            if b == "best reference":
                ref = best_reference(by_model, metric, frame)
                vb = [] if ref is None else [ref]
            else:
                vb = [v for r in by_model[b] if (v := value(r, metric, frame)) is not None]
            if not va or not vb:
                continue
            sa, sb = [better(metric) * v for v in va], [better(metric) * v for v in vb]  # oriented: larger = better
            d = mean(sa) - mean(sb)
            sep = "yes, first" if min(sa) > max(sb) else "yes, second" if max(sa) < min(sb) else "no"
            digits = 1 if metric == "fvd" else METRICS.get(metric).digits
            name = metric + (f" fr{frame}" if frame else "")
            lines.append(f"| {a} | {b} | {name} | {fmt(va, digits)} | {fmt(vb, digits)} | {d:+.{digits}f} | {sep} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", help="a board's runs directory (e.g. leaderboard/runs)")
    ap.add_argument("--dataset", default="m3so-nb")
    args = ap.parse_args(argv)
    by_model = load(args.runs, args.dataset)
    frames = tuple(DATASETS.get(args.dataset).table_frames)
    print("\n".join(model_table(by_model, frames) + [""] + pair_table(by_model, frames)))


if __name__ == "__main__":
    main()
