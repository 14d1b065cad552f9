"""Leaderboard CSVs: every run result under a directory merged into one CSV per dataset, byte-stable.

One row per (model, preset, protocol, SSIM variant, N samples, protocol lengths, clips, data, model config, training
options, metric versions); runs that differ only by seed are merged (mean over seeds; ``*_std`` = sample std over
seeds, empty for one seed). ``config_sha256`` hashes the model config, and with it the training options (``--set
train.KEY=V``: the trainer's ``config`` in the result, less those that do not change what is learned, ``NOT_LEARNED``)
in which the runs of a row would otherwise differ, so runs with other overrides are other rows; two runs of one row
with the same seed (the same run twice, e.g. a copied folder) are refused, naming both. Columns are declared in ``columns()``: the metric columns come from ``METRICS`` (``s2sbench.report.columns``:
one group per metric family the results have, in registration order, printed with the metric's decimals) and the
frame columns follow the dataset's table frames; a set-level metric (FVD) has its value (``<name>_avg``, the mean
over seeds) and its std over seeds, no frame columns, the same in every protocol's row. Rows are sorted by protocol,
SSIM variant, model, preset, N and clips; nothing depends on file order, time or machine, so rebuilding from the same
result files gives the same bytes.

``reference`` marks the reference predictors (black / mean frame / copy-last: what a score is worth without a
model); ``train_steps`` are the steps run, ``best_step`` the step of the evaluated checkpoint (selected on
validation), ``selected_on`` the validation score that selected it (``train.select_on`` as resolved, e.g.
``val_digit_err``; ``-`` for a model that was not trained, ``?`` for results written before it was recorded); a set metric's ``<name>_protocol`` is its
protocol line (videos, frames, sample, features); ``ssim_skill`` is ``(s - r) / (1 - r)`` of the row's SSIM average ``s`` against the best reference
predictor's ``r`` on the same data, clips and protocol (0: no better than the best trivial output, 1: perfect,
< 0: worse; empty without reference rows); ``capped_frames`` counts the (clip, frame) values that were infinite (PSNR of exact matches) and
entered the averages as their metric's cap.
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
from s2sbench.errors import InputError
from s2sbench.eval.protocols import PAPER, PROTOCOLS
from s2sbench.report.columns import VARIANT_FAMILY, Column, column_of, metric_columns, metrics_in, variants
from s2sbench.report.results import RESULT_NAME, RunResult, is_reference, require_results
from s2sbench.safety.claims import claim_files
from s2sbench.safety.files import check_writable

VARIANT, SKILL, AVG = f"{VARIANT_FAMILY}_variant", f"{VARIANT_FAMILY}_skill", f"{VARIANT_FAMILY}_avg"
BLOCK = PAPER.block_metric  # Table 3's value (final predicted frame) as a column of its own
IDENTITY = ["model", "reference", "modality", "uses_audio", "stochastic", "preset", "protocol", VARIANT,
            "split", "n_past", "n_future", "n_samples", "seeds", "n_runs"]
TRAILER = [SKILL, "capped_frames", BLOCK, "clips", "train_steps", "best_step", "selected_on", "data_sha256",
           "config_sha256", "hardware", "code_version"]


def columns(dataset: str, cols: list[Column] | None = None) -> list[str]:
    """The CSV header: identity columns, per metric column (default: every registered one) its average, the
    average's std over seeds and one column per report frame of the dataset (a set metric: its protocol line
    instead), then block IoU and provenance."""
    frames = DATASETS.get(dataset).table_frames
    out = list(IDENTITY)
    for c in metric_columns() if cols is None else cols:
        out += [f"{c.family}_avg", f"{c.family}_avg_std"] + ([f"{c.family}_fr{f}" for f in frames]
                                                             if c.scope == "frame" else [f"{c.family}_protocol"])
    return out + TRAILER


def _hardware(r: RunResult) -> str:
    hw = r.hardware
    if "gpu" in hw:
        return f"{hw['gpu']} x{hw.get('gpu_count', 1)}"
    return f"{hw.get('cpu', 'cpu')} x{hw.get('cpu_count', '?')}"  # runs from before the CPU's name: "cpu x2"


NOT_LEARNED = {"seed", "log_every", "checkpoint_every", "checkpoint_minutes", "num_workers"}  # training options


def _config_sha(r: RunResult, train: dict | None = None) -> str:
    """The row's config hash: the model config, plus ``train``, the training options its runs differ in, if any."""
    payload = r.config if not train else {"model": r.config, "train": train}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def _by_training(rs: list[RunResult]) -> dict[str, list[RunResult]]:
    """``rs`` split by the values of the training options in which they differ (one part, key "", when none)."""
    opts = [{k: v for k, v in ((r.train or {}).get("config") or {}).items() if k not in NOT_LEARNED} for r in rs]
    keys = sorted({k for o in opts for k in o})
    differ = [k for k in keys if len({json.dumps(o.get(k), sort_keys=True) for o in opts}) > 1]
    out: dict[str, list[RunResult]] = defaultdict(list)
    for r, o in zip(rs, opts):
        out[json.dumps({k: o.get(k) for k in differ}, sort_keys=True) if differ else ""].append(r)
    return out


def _refuse_repeats(rs: list[RunResult], where: dict[int, Path]) -> None:
    """Two runs of one row with the same seed would average a run with itself: refused, naming both."""
    first: dict[int, RunResult] = {}
    for r in rs:
        if r.seed in first:
            a, b = (str(where.get(id(x), "?")) for x in (first[r.seed], r))
            raise InputError(f"{a} and {b}: two runs of {r.model} ({r.preset}) with seed {r.seed}, the same config "
                             f"and data; one row would average them as two seeds: move one out of the runs directory")
        first[r.seed] = r


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


def rows_for(results: list[RunResult], dataset: str, where: dict[int, Path] | None = None) -> list[dict[str, str]]:
    """The rows of ``dataset`` (see the module docstring); ``where``: ``id(result)`` -> its run directory, for
    the refusal of a repeated run."""
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
    parts = []
    for key, members in groups.items():
        for train, rs in _by_training(members).items():
            _refuse_repeats(rs, where or {})
            parts.append((key, _config_sha(rs[0], json.loads(train)) if train else key[10],
                          sorted(rs, key=lambda r: r.seed)))
    rows = []
    for key, cfg, rs in parts:
        p, v, model, preset, n, split, n_past, n_future, clips, sha, _, _ = key
        row = {"model": model, "reference": str(is_reference(model)).lower(), "modality": rs[0].modality,
               "uses_audio": str(rs[0].uses_audio).lower(), "stochastic": str(rs[0].stochastic).lower(),
               "preset": preset, "protocol": p, VARIANT: v,
               "split": split, "n_past": str(n_past), "n_future": str(n_future), "n_samples": str(n),
               "seeds": " ".join(str(r.seed) for r in rs), "n_runs": str(len(rs)),
               "clips": str(clips),
               "train_steps": " ".join(sorted({str(r.train["steps"]) if r.train else "-" for r in rs})),
               "best_step": " ".join(sorted({str(r.train.get("best_step", "?")) if r.train else "-" for r in rs})),
               "selected_on": " ".join(sorted({str(r.train.get("select_on", "?") or "-") if r.train else "-" for r in rs})),
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
                row[f"{c.family}_protocol"] = " | ".join(sorted({r.set_scores[metric]["protocol"] for r in rs}))
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
    where = {id(r): p.parent for p, r in zip(sorted(Path(runs_dir).rglob(RESULT_NAME)), results)}
    out_dir = Path(out_dir)
    files = {}
    for ds in sorted({r.dataset for r in results}):
        cols = metric_columns(metrics_in((r for r in results if r.dataset == ds), sets=True))
        files[out_dir / f"{ds}.csv"] = to_csv(rows_for(results, ds, where), ds, cols).encode()
    claim_files(files, overwrite)
    check_writable(out_dir)
    for path, data in files.items():
        atomic_write_bytes(path, data)
    return list(files)


SHOW_ALL = "all"


def default_show_columns(header: list[str]) -> list[str]:
    """The narrow default of ``show``: who, the average of every metric column with the headline's std over seeds,
    skill and block IoU (the columns of ``header`` that exist; ``--columns`` adds e.g. ``train_steps``)."""
    avgs = [c for c in header if c.endswith("_avg")]
    cols = ["model", "ref", "preset", "n_samples", "seeds"] + avgs[:1] + [f"{AVG}_std"] + avgs[1:] + [SKILL, BLOCK]
    return [c for c in cols if c in header or c == "ref"]


def show(dataset: str, board_dir: str | Path = "leaderboard", protocol: str | None = PAPER.protocol,
         variant: str | None = PAPER.metric, columns: list[str] | None = None) -> str:
    """A fixed-width text rendering of ``board_dir/<dataset>.csv``: the rows of one protocol and SSIM variant
    (default the paper's, ``PAPER``; ``None``: every one), ranked by the headline score (the SSIM family's average,
    best first), reference predictors marked ``ref``. ``columns``: CSV column names to show instead of the narrow
    default (``["all"]``: every column)."""
    if protocol is not None:
        PROTOCOLS.get(protocol)  # an unknown name fails with a did-you-mean
    if variant is not None and variant not in variants():
        from s2sbench.errors import ConfigError

        raise ConfigError(f"--ssim {variant!r}: not an SSIM variant; use one of {', '.join(variants())}")
    path = Path(board_dir) / f"{dataset}.csv"
    if not path.exists():
        raise InputError(f"{path}: no leaderboard for {dataset}; run `s2sbench leaderboard build RUNS_DIR`")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        header = list(reader.fieldnames or [])
        rows = [r for r in reader if protocol in (None, r["protocol"]) and variant in (None, r[VARIANT])]
    if columns in (None, []):
        cols = default_show_columns(header)
        if protocol is None or variant is None:
            cols[2:2] = [c for c, fixed in (("protocol", protocol), (VARIANT, variant)) if fixed is None]
    elif columns == [SHOW_ALL]:
        cols = ["model", "ref"] + [c for c in header if c not in ("model", "reference")]
    else:
        unknown = [c for c in columns if c not in header and c != "ref"]
        if unknown:
            from s2sbench.errors import ConfigError

            raise ConfigError(f"--columns: {', '.join(unknown)} not in {path}; columns: {SHOW_ALL}, "
                              f"{', '.join(header)}")
        cols = ["model"] + [c for c in columns if c != "model"]
    higher = column_of(PAPER.metric).higher_is_better
    sign = -1 if higher else 1
    rows.sort(key=lambda r: (r["protocol"], r[VARIANT], sign * _num(r.get(AVG), sign), r["model"]))
    for r in rows:
        r["ref"] = "ref" if r["reference"] == "true" else ""
    cols = [c for c in cols if c in ("model", AVG) or any(r.get(c) for r in rows)]
    same = {}  # the narrow default names settings that every row shares once, above the table
    if columns in (None, []) and len(rows) > 1:
        same = {c: rows[0][c] for c in ("preset", "n_samples", "seeds") if len({r.get(c) for r in rows}) == 1}
        cols = [c for c in cols if c not in same]
    width = {c: max([len(c)] + [len(r.get(c, "")) for r in rows]) for c in cols}
    shared = "".join(f", {c} {v}" for c, v in same.items())
    lines = [f"{dataset}: {len(rows)} rows, protocol {protocol or 'all'}, SSIM {variant or 'all'}{shared}; ranked by "
             f"{AVG} ({'higher' if higher else 'lower'} is better)",
             "ref = reference predictor, not a model (what a score is worth without one); --columns all: every column",
             "  ".join(c.ljust(width[c]) for c in cols)]
    lines += ["  ".join(r.get(c, "").ljust(width[c]) for c in cols).rstrip() for r in rows]
    return "\n".join(lines)


def _num(v: str | None, sign: int) -> float:
    """A CSV score as a number for sorting by ``sign * score``; empty cells sort last."""
    try:
        return float(v) if v else sign * float("inf")
    except ValueError:
        return sign * float("inf")
