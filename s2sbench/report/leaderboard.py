"""Leaderboard CSVs: every run result under a directory merged into one CSV per dataset, byte-stable.

One row per (model, preset, protocol, SSIM variant, N samples, protocol lengths, clips, data, model config); runs that
differ only by seed are merged (mean over seeds; ``*_std`` = sample std over seeds, empty for one seed). Columns are
declared in ``columns()`` (the frame columns follow the dataset's table frames), rows are sorted by protocol, SSIM
variant, model, preset, N and clips; numbers are printed with fixed decimals; nothing depends on file order, time or
machine, so rebuilding from the same result files gives the same bytes.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from pathlib import Path
from statistics import mean, stdev

from s2sbench.data.datasets import DATASETS
from s2sbench.data.shards import atomic_write_bytes
from s2sbench.eval.protocols import PROTOCOLS
from s2sbench.report.results import RunResult, require_results
from s2sbench.safety.claims import claim_files
from s2sbench.safety.files import check_writable

SSIM_VARIANTS = ("ssim_paper", "ssim")
PROTOCOL_ORDER = ("best_per_frame", "best_sequence", "mean")


def columns(dataset: str) -> list[str]:
    frames = DATASETS.get(dataset).table_frames
    return (["model", "modality", "uses_audio", "stochastic", "preset", "protocol", "ssim_variant", "split", "n_past",
             "n_future", "n_samples", "seeds", "n_runs", "ssim_avg", "ssim_avg_std"]
            + [f"ssim_fr{f}" for f in frames] + ["psnr_avg", "psnr_avg_std"] + [f"psnr_fr{f}" for f in frames]
            + ["block_iou", "clips", "train_steps", "data_sha256", "config_sha256", "hardware", "code_version"])


def _hardware(r: RunResult) -> str:
    hw = r.hardware
    if "gpu" in hw:
        return f"{hw['gpu']} x{hw.get('gpu_count', 1)}"
    return f"cpu x{hw.get('cpu_count', '?')}"


def _config_sha(r: RunResult) -> str:
    return hashlib.sha256(json.dumps(r.config, sort_keys=True).encode()).hexdigest()[:12]


def _f(v: float | None, digits: int = 4) -> str:
    return "" if v is None else f"{v:.{digits}f}"


def _agg(vals: list[float]) -> tuple[float, float | None]:
    return mean(vals), (stdev(vals) if len(vals) > 1 else None)


def rows_for(results: list[RunResult], dataset: str) -> list[dict[str, str]]:
    frames = DATASETS.get(dataset).table_frames
    groups: dict[tuple, list[RunResult]] = defaultdict(list)
    for r in results:
        if r.dataset != dataset:
            continue
        for p in r.protocols:
            for v in SSIM_VARIANTS:
                if v in r.scores.get(p, {}):
                    groups[(p, v, r.model, r.preset, r.n_samples, r.split, r.n_past, r.n_future, r.clips_used,
                            r.data_sha256, _config_sha(r))].append(r)
    rows = []
    for key, rs in groups.items():
        p, v, model, preset, n, split, n_past, n_future, clips, sha, cfg = key
        rs = sorted(rs, key=lambda r: r.seed)
        row = {"model": model, "modality": rs[0].modality, "uses_audio": str(rs[0].uses_audio).lower(),
               "stochastic": str(rs[0].stochastic).lower(), "preset": preset, "protocol": p, "ssim_variant": v,
               "split": split, "n_past": str(n_past), "n_future": str(n_future), "n_samples": str(n),
               "seeds": " ".join(str(r.seed) for r in rs), "n_runs": str(len(rs)),
               "clips": str(clips),
               "train_steps": " ".join(sorted({str(r.train["steps"]) if r.train else "-" for r in rs})),
               "data_sha256": sha, "config_sha256": cfg, "hardware": " ".join(sorted({_hardware(r) for r in rs})),
               "code_version": " ".join(sorted({r.code_version for r in rs}))}
        for metric, col, digits in ((v, "ssim", 4), ("psnr", "psnr", 2)):
            if metric not in rs[0].scores[p]:
                continue
            avg, sd = _agg([r.scores[p][metric]["avg"] for r in rs])
            row[f"{col}_avg"], row[f"{col}_avg_std"] = _f(avg, digits), _f(sd, digits)
            for fr in frames:
                row[f"{col}_fr{fr}"] = _f(mean(r.at_frame(p, metric, fr) for r in rs), digits)
        ious = [r.block_iou[p] for r in rs if r.block_iou and p in r.block_iou]
        row["block_iou"] = _f(mean(ious)) if ious else ""
        rows.append(row)
    order = {p: i for i, p in enumerate(PROTOCOL_ORDER)}
    rows.sort(key=lambda r: (order.get(r["protocol"], 99), r["protocol"], SSIM_VARIANTS.index(r["ssim_variant"]),
                             r["model"], r["preset"], int(r["n_samples"]), int(r["clips"]), r["seeds"],
                             r["config_sha256"],
                             r["data_sha256"]))
    return rows


def to_csv(rows: list[dict[str, str]], dataset: str) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, columns(dataset), restval="", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def build(runs_dir: str | Path, out_dir: str | Path, overwrite: bool = False) -> list[Path]:
    """Write ``out_dir/<dataset>.csv`` for every dataset with results under ``runs_dir``; returns the paths.
    A CSV that exists with other contents is replaced only with ``overwrite`` (rebuilding the same bytes is fine)."""
    results = require_results(runs_dir)
    out_dir = Path(out_dir)
    files = {out_dir / f"{ds}.csv": to_csv(rows_for(results, ds), ds).encode()
             for ds in sorted({r.dataset for r in results})}
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
        rows = [r for r in csv.DictReader(f) if protocol in (None, r["protocol"])]
    frames = DATASETS.get(dataset).table_frames
    cols = ["model", "preset", "protocol", "ssim_variant", "n_samples", "seeds", "ssim_avg"] + \
           [f"ssim_fr{f}" for f in frames] + ["psnr_avg"] + [f"psnr_fr{f}" for f in frames] + ["block_iou"]
    cols = [c for c in cols if any(r.get(c) for r in rows) or c in ("model", "ssim_avg")]
    width = {c: max([len(c)] + [len(r.get(c, "")) for r in rows]) for c in cols}
    lines = ["  ".join(c.ljust(width[c]) for c in cols)]
    lines += ["  ".join(r.get(c, "").ljust(width[c]) for c in cols) for r in rows]
    return "\n".join(lines)
