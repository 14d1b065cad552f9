"""Leaderboard CSVs: every run result under a directory merged into one CSV per dataset, byte-stable.

One row per (model, preset, protocol, SSIM variant, N samples, protocol lengths, clips, data, model config, metric
versions); runs that differ only by seed are merged (mean over seeds; ``*_std`` = sample std over seeds, empty for one
seed). Columns are declared in ``columns()``: the metric columns come from ``METRICS`` (``s2sbench.report.columns``:
one group per metric family the results have, in registration order, printed with the metric's decimals) and the
frame columns follow the dataset's table frames; a set-level metric (FVD) has its value (``<name>_avg``, the mean
over seeds) and its std over seeds, no frame columns, the same in every protocol's row. Rows are sorted by protocol,
SSIM variant, model, preset, N and clips; nothing depends on file order, time or machine, so rebuilding from the same
result files gives the same bytes.

``reference`` marks the reference predictors (black / mean frame / copy-last: what a score is worth without a
model); ``train_steps`` are the steps run, ``best_step`` the step of the evaluated checkpoint (selected on
validation); ``ssim_skill`` is ``(s - r) / (1 - r)`` of the row's SSIM average ``s`` against the best reference
predictor's ``r`` on the same data, clips and protocol (0: no better than the best trivial output, 1: perfect,
< 0: worse; empty without reference rows); ``capped_frames`` counts the (clip, frame) values that were infinite (PSNR of exact matches) and
entered the averages as their metric's cap.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import defaultdict
from pathlib import Path
from statistics import mean, stdev

from s2sbench.data.datasets import DATASETS
from s2sbench.data.shards import atomic_write_bytes
from s2sbench.eval.protocols import PAPER, PROTOCOLS
from s2sbench.report.columns import VARIANT_FAMILY, Column, column_of, metric_columns, metrics_in, variants
from s2sbench.report.results import RunResult, is_reference, require_results
from s2sbench.safety.claims import claim_files
from s2sbench.safety.files import check_writable

VARIANT, SKILL, AVG = f"{VARIANT_FAMILY}_variant", f"{VARIANT_FAMILY}_skill", f"{VARIANT_FAMILY}_avg"
BLOCK = PAPER.block_metric  # Table 3's value (final predicted frame) as a column of its own
IDENTITY = ["model", "reference", "modality", "uses_audio", "stochastic", "preset", "protocol", VARIANT,
            "split", "n_past", "n_future", "n_samples", "seeds", "n_runs"]
TRAILER = [SKILL, "capped_frames", BLOCK, "clips", "train_steps", "best_step", "data_sha256", "config_sha256",
           "hardware", "code_version"]


def columns(dataset: str, cols: list[Column] | None = None) -> list[str]:
    """The CSV header: identity columns, per metric column (default: every registered one) its average, the
    average's std over seeds and one column per report frame of the dataset, then block IoU and provenance."""
    frames = DATASETS.get(dataset).table_frames
    out = list(IDENTITY)
    for c in metric_columns() if cols is None else cols:
        out += [f"{c.family}_avg", f"{c.family}_avg_std"] + [f"{c.family}_fr{f}" for f in frames if c.scope == "frame"]
    return out + TRAILER


def _hardware(r: RunResult) -> str:
    hw = r.hardware
    if "gpu" in hw:
        return f"{hw['gpu']} x{hw.get('gpu_count', 1)}"
    return f"cpu x{hw.get('cpu_count', '?')}"


def _config_sha(r: RunResult) -> str:
    return hashlib.sha256(json.dumps(r.config, sort_keys=True).encode()).hexdigest()[:12]


def _agg(vals: list[float]) -> tuple[float, float | None]:
    return mean(vals), (stdev(vals) if len(vals) > 1 else None)


def _versions(r: RunResult, protocol: str) -> tuple:
    """(metric, definition version) of every metric the run scored under ``protocol``: rows never mix versions."""
    return tuple((m, r.metric_version(m)) for m in sorted(r.scored(protocol)))


def _skill(rows: list[dict[str, str]]) -> None:
    """Fill the skill column: each row's SSIM average against the best reference row on the same data and
    protocol."""
    same = ("protocol", VARIANT, "split", "n_past", "n_future", "clips", "data_sha256")
    best: dict[tuple, float] = {}
    for r in rows:
        if r["reference"] == "true" and r.get(AVG):
            k = tuple(r[c] for c in same)
            best[k] = max(best.get(k, -1.0), float(r[AVG]))
    for r in rows:
        ref = best.get(tuple(r[c] for c in same))
        if ref is not None and r.get(AVG) and ref < 1:
            r[SKILL] = f"{(float(r[AVG]) - ref) / (1 - ref):.4f}"


def rows_for(results: list[RunResult], dataset: str) -> list[dict[str, str]]:
    frames = DATASETS.get(dataset).table_frames
    results = [r for r in results if r.dataset == dataset]
    cols, order_v = metric_columns(metrics_in(results, sets=True)), variants()
    groups: dict[tuple, list[RunResult]] = defaultdict(list)
    for r in results:
        for p in r.protocols:
            have = r.scores.get(p, {})
            for v in [v for v in order_v if v in have] or [""]:  # "": the run scored no variant of the family
                groups[(p, v, r.model, r.preset, r.n_samples, r.split, r.n_past, r.n_future, r.clips_used,
                        r.data_sha256, _config_sha(r), _versions(r, p))].append(r)
    rows = []
    for key, rs in groups.items():
        p, v, model, preset, n, split, n_past, n_future, clips, sha, cfg, _ = key
        rs = sorted(rs, key=lambda r: r.seed)
        row = {"model": model, "reference": str(is_reference(model)).lower(), "modality": rs[0].modality,
               "uses_audio": str(rs[0].uses_audio).lower(), "stochastic": str(rs[0].stochastic).lower(),
               "preset": preset, "protocol": p, VARIANT: v,
               "split": split, "n_past": str(n_past), "n_future": str(n_future), "n_samples": str(n),
               "seeds": " ".join(str(r.seed) for r in rs), "n_runs": str(len(rs)),
               "clips": str(clips),
               "train_steps": " ".join(sorted({str(r.train["steps"]) if r.train else "-" for r in rs})),
               "best_step": " ".join(sorted({str(r.train.get("best_step", "?")) if r.train else "-" for r in rs})),
               "data_sha256": sha, "config_sha256": cfg, "hardware": " ".join(sorted({_hardware(r) for r in rs})),
               "code_version": " ".join(sorted({r.code_version for r in rs}))}
        capped = 0
        for c in cols:
            metric = c.pick(v, rs[0].scored(p))
            if metric is None:
                continue
            if c.scope == "set":
                avg, sd = _agg([r.set_scores[metric]["value"] for r in rs])
                row[f"{c.family}_avg"], row[f"{c.family}_avg_std"] = c.fmt(avg), c.fmt(sd)
                continue
            avg, sd = _agg([r.scores[p][metric]["avg"] for r in rs])
            row[f"{c.family}_avg"], row[f"{c.family}_avg_std"] = c.fmt(avg), c.fmt(sd)
            for fr in frames:
                row[f"{c.family}_fr{fr}"] = c.fmt(mean(r.at_frame(p, metric, fr) for r in rs))
            capped += sum(r.scores[p][metric].get("n_clamped", 0) for r in rs)
        row["capped_frames"] = str(capped)
        ious = [v for r in rs if (v := r.final(p, BLOCK)) is not None]
        row[BLOCK] = column_of(BLOCK).fmt(mean(ious)) if ious else ""
        rows.append(row)
    _skill(rows)
    order = {p: i for i, p in enumerate(PROTOCOLS.ordered())}
    rank_v = {v: i for i, v in enumerate(order_v)}
    rows.sort(key=lambda r: (order.get(r["protocol"], 99), r["protocol"], rank_v.get(r[VARIANT], len(rank_v)),
                             r["model"], r["preset"], int(r["n_samples"]), int(r["clips"]), r["seeds"],
                             r["config_sha256"],
                             r["data_sha256"]))
    return rows


def to_csv(rows: list[dict[str, str]], dataset: str, cols: list[Column] | None = None) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, columns(dataset, cols), restval="", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def build(runs_dir: str | Path, out_dir: str | Path, overwrite: bool = False) -> list[Path]:
    """Write ``out_dir/<dataset>.csv`` for every dataset with results under ``runs_dir``; returns the paths. Metric
    columns: those of the metrics the dataset's results have (``columns.metric_columns``). A CSV that exists with
    other contents is replaced only with ``overwrite`` (rebuilding the same bytes is fine)."""
    results = require_results(runs_dir)
    out_dir = Path(out_dir)
    files = {}
    for ds in sorted({r.dataset for r in results}):
        cols = metric_columns(metrics_in((r for r in results if r.dataset == ds), sets=True))
        files[out_dir / f"{ds}.csv"] = to_csv(rows_for(results, ds), ds, cols).encode()
    claim_files(files, overwrite)
    check_writable(out_dir)
    for path, data in files.items():
        atomic_write_bytes(path, data)
    return list(files)


def show(dataset: str, board_dir: str | Path = "leaderboard", protocol: str | None = None) -> str:
    """A fixed-width text rendering of ``board_dir/<dataset>.csv`` (optionally one protocol)."""
    if protocol is not None:
        PROTOCOLS.get(protocol)  # an unknown name fails with a did-you-mean
    path = Path(board_dir) / f"{dataset}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no leaderboard for {dataset} (run `s2sbench leaderboard build RUNS_DIR`)")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        rows = [r for r in reader if protocol in (None, r["protocol"])]
        header = reader.fieldnames or []
    scores = [c for c in header if re.fullmatch(r".+_(avg|fr\d+)", c)]  # every metric column, in the CSV's order
    cols = ["model", "preset", "protocol", VARIANT, "n_samples", "seeds"] + scores + [BLOCK]
    cols = [c for c in cols if any(r.get(c) for r in rows) or c in ("model", AVG)]
    width = {c: max([len(c)] + [len(r.get(c, "")) for r in rows]) for c in cols}
    lines = ["  ".join(c.ljust(width[c]) for c in cols)]
    lines += ["  ".join(r.get(c, "").ljust(width[c]) for c in cols) for r in rows]
    return "\n".join(lines)
