"""The paper's Tables 1-3 rendered from run results, next to the paper's published numbers (rows labelled "paper").

- Table 1: M3SO-NB (frames 6/15/25) and M3SO (31/42/70); Table 2: AudioSet-Drums and YouTube-Painting (16/30/45):
  each metric column (SSIM, PSNR, ... from ``METRICS``, see ``s2sbench.report.columns``) at those 1-based frames.
  Table 3: the block IoU metric (``PAPER.block_metric``) at the final predicted frame on M3SO. Sections, titles
  and frames come from the dataset table (``DatasetInfo.table``, ``block``, ``title``, ``table_frames``); a
  metric's columns appear where runs have it.
- Run rows: one per (model, preset), averaged over the seeds found, read under one protocol and SSIM variant
  (default: the paper's, ``s2sbench.eval.protocols.PAPER``). Paper rows: ``paper_results.csv``, transcribed from
  the paper (scikit-image-0.15 SSIM, best of 100 per frame); they are quoted, not re-run. Quoted rows:
  ``later_results.csv``, numbers of later work (FVD on AudioSet-Drums), each with the source it is quoted from and
  its protocol as far as the source states it, shown beside the paper's rows; never re-run.
- A set-level metric (FVD, ``scope == "set"``) is one column (one value per row, mean over seeds); the note under
  the section gives the protocol of every such value (videos, frames, sample, frame size, weights; quoted rows:
  their source).
- Reference predictors (models whose class says ``reference = True``: black frame, mean training frame, copy-last)
  are rows "reference: ...", ranked among themselves: what a score is worth without a model.
- Bold = best, underlined = second best per column, ranked separately among the runs, the references and the
  paper's rows; quoted rows are not ranked (their protocols differ from each other's and are partly unstated).
  A cell marked † averages in infinite values (PSNR of exact matches) at the metric's cap; the note
  under the section says how many (clip, frame) values that is.
- Written as CSV (long format: one value per line), Markdown and LaTeX.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean

from s2sbench.data.datasets import DATASETS
from s2sbench.eval.metrics import METRICS
from s2sbench.eval.protocols import PAPER
from s2sbench.report.columns import column_of, metric_columns
from s2sbench.report.results import RunResult, comparable_groups, is_reference

PAPER_CSV = Path(__file__).with_name("paper_results.csv")
LATER_CSV = Path(__file__).with_name("later_results.csv")
RANKED = ("run", "reference", "paper")  # rows are ranked within each source; "quoted" rows are not ranked
BLOCK_TABLE = 3  # the paper's Table 3: block IoU of every dataset whose entry has a block


def tables() -> dict[int, list[str]]:
    """Table number -> its datasets (sections), from the dataset table: each dataset's ``table``, then Table 3."""
    infos = [DATASETS.get(d) for d in DATASETS.ordered()]
    out = {t: [d.name for d in infos if d.table == t] for t in sorted({d.table for d in infos})}
    out[BLOCK_TABLE] = [d.name for d in infos if d.block]
    return out


def paper_metrics(table: int) -> set[str]:
    """The metrics the paper's ``table`` quotes (its columns are shown even where no run has them)."""
    with open(PAPER_CSV, newline="") as f:
        return {r["metric"] for r in csv.DictReader(f) if int(r["table"]) == table}


@dataclass
class Row:
    source: str  # "run", "reference" or "paper"
    method: str
    type: str
    values: dict[tuple[str, int], float] = field(default_factory=dict)  # (metric, frame or 0) -> value
    info: dict[str, str] = field(default_factory=dict)
    capped: dict[tuple[str, int], int] = field(default_factory=dict)  # (metric, frame) -> values at the cap
    notes: dict[str, str] = field(default_factory=dict)  # set-level metric -> its protocol (or a quote's source)


def paper_rows(table: int, dataset: str) -> list[Row]:
    rows: dict[str, Row] = {}
    with open(PAPER_CSV, newline="") as f:
        for r in csv.DictReader(f):
            if int(r["table"]) == table and r["dataset"] == dataset:
                row = rows.setdefault(r["method"], Row("paper", r["method"], r["type"],
                                                       info={"model": r["model"], "n_samples": "100"}))
                row.values[(r["metric"], int(r["frame"] or 0))] = float(r["value"])
    return list(rows.values())


def quoted_rows(table: int, dataset: str) -> list[Row]:
    """Numbers of later work (``later_results.csv``), each labelled with its source and protocol."""
    rows: dict[str, Row] = {}
    with open(LATER_CSV, newline="") as f:
        for r in csv.DictReader(f):
            if int(r["table"]) == table and r["dataset"] == dataset:
                row = rows.setdefault(r["method"], Row("quoted", r["method"], r["type"], info={"model": r["model"]}))
                row.values[(r["metric"], int(r["frame"] or 0))] = float(r["value"])
                row.notes[r["metric"]] = f"{r['source']}; protocol: {r['protocol']}"
    return list(rows.values())


def run_rows(results: list[RunResult], table: int, dataset: str, protocol: str, ssim_variant: str) -> list[Row]:
    """One row per group of ``comparable_groups`` (runs averaged only over seeds)."""
    rows = []
    for label, rs in comparable_groups([r for r in results if protocol in r.scores], dataset).items():
        seeds = sorted({r.seed for r in rs})
        row = Row("reference" if is_reference(rs[0].model) else "run", label, rs[0].modality,
                  info={"preset": rs[0].preset, "seeds": " ".join(map(str, seeds)), "n_samples": str(rs[0].n_samples),
                        "data_sha256": rs[0].data_sha256[:12], "clips": str(rs[0].clips_used)})
        if table == BLOCK_TABLE:
            ious = [v for r in rs if (v := r.final(protocol, PAPER.block_metric)) is not None]
            if ious:
                row.values[(PAPER.block_metric, 0)] = mean(ious)
        else:
            shared = set.intersection(*(r.scored(protocol) for r in rs))
            for col in metric_columns(shared):
                metric = col.pick(ssim_variant, shared)
                if metric and col.scope == "set":
                    row.values[(metric, 0)] = mean(r.set_scores[metric]["value"] for r in rs)
                    row.notes[metric] = " / ".join(sorted({r.set_scores[metric]["protocol"] for r in rs}))
                    continue
                for fr in (DATASETS.get(dataset).table_frames if metric else ()):
                    v = mean(r.at_frame(protocol, metric, fr) for r in rs)
                    if v != v:  # NaN: a frame the metric does not score (no block yet), an empty cell
                        continue
                    row.values[(metric, fr)] = v
                    n = sum(_capped(r, protocol, metric, fr) for r in rs)
                    if n:
                        row.capped[(metric, fr)] = n
        if row.values:
            rows.append(row)
    return rows


def _capped(r: RunResult, protocol: str, metric: str, frame: int) -> int:
    """(clip, frame) values of ``metric`` at ``frame`` that were infinite and count as the metric's cap (-1: some,
    at frames this result did not record)."""
    s = r.scores[protocol].get(metric, {})
    if "n_clamped_curve" in s:
        return s["n_clamped_curve"][frame - r.n_past - 1]
    return -1 if s.get("n_clamped") else 0


def _capped_note(rows: list[Row]) -> str:
    parts = [f"{_label(r)} {m} frame {fr}: " + ("some (per-frame counts not recorded)" if n < 0 else str(n))
             for r in rows for (m, fr), n in sorted(r.capped.items())]
    caps = sorted({f"{m} {METRICS.get(m).cap:g}" for r in rows for m, _ in r.capped if m in METRICS})
    return ("† averages in infinite values (PSNR of exact matches) counted as the metric's cap (" + ", ".join(caps)
            + "); (clip, frame) values: " + "; ".join(parts) + ".") if parts else ""


def _set_note(rows: list[Row]) -> str:
    """The protocol of every set-level value (FVD) and the source of every quoted one, rows sharing one text
    named once."""
    texts: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        for metric, text in r.notes.items():
            texts.setdefault((metric, text), []).append(_label(r))
    parts = []
    for (metric, text), labels in texts.items():
        everyone = len(labels) == sum(metric in r.notes for r in rows) and len(labels) > 1
        parts.append(f"{column_of(metric).title} ({'all rows' if everyone else ', '.join(labels)}): {text}.")
    return " ".join(parts)


def _runs_note(rows: list[Row]) -> str:
    """What the run rows of a section share (data, N, clips, seeds), or that they differ (then rows name it)."""
    runs = [r for r in rows if r.source in ("run", "reference")]
    if not runs:
        return ""
    parts = []
    for label, key in (("data index sha256", "data_sha256"), ("best of N =", "n_samples"), ("test clips", "clips"),
                       ("seeds", "seeds")):
        vals = sorted({r.info[key] for r in runs})
        if len(vals) == 1:
            parts.append(f"{label} {vals[0]}")
        elif key == "seeds":
            parts.append(f"seeds: per row ({'; '.join(vals)})")
        else:
            parts.append(f"{label}: differs (see the row labels)")
    return "Runs: " + ", ".join(parts) + "."


def _columns(table: int, dataset: str, ssim_variant: str, rows: list[Row]) -> list[tuple[str, int, str]]:
    """(metric, frame, header) of a section: per metric column (``METRICS`` order) the variant shown, at each report
    frame, for the columns the rows have or the paper's table quotes."""
    if table == BLOCK_TABLE:
        return [(PAPER.block_metric, 0, "Localization IoU")]
    frames = DATASETS.get(dataset).table_frames
    have = {m for r in rows for m, _ in r.values} | paper_metrics(table)
    out = []
    for col in metric_columns(have):
        metric = ssim_variant if ssim_variant in col.metrics else col.pick(ssim_variant, have)
        out += [(metric, 0, col.title)] if col.scope == "set" else [(metric, f, f"{col.title} Fr {f}") for f in frames]
    return out


def _ranks(rows: list[Row], key: tuple[str, int]) -> dict[int, int]:
    """Row position -> rank (1 best, 2 second) within each source group, in the metric's direction."""
    out: dict[int, int] = {}
    higher = column_of(key[0]).higher_is_better
    for src in RANKED:
        vals = sorted({r.values[key] for r in rows if r.source == src and key in r.values}, reverse=higher)
        for i, r in enumerate(rows):
            if r.source == src and key in r.values and r.values[key] in vals[:2]:
                out[i] = vals.index(r.values[key]) + 1
    return out


def build(results: list[RunResult], table: int, protocol: str = PAPER.protocol,
          ssim_variant: str = PAPER.metric) -> list[tuple[str, list[Row], list[tuple[str, int, str]]]]:
    """Sections of one table: (dataset, rows (runs first, then paper rows), columns)."""
    out = []
    for ds in tables()[table]:
        rows = run_rows(results, table, ds, protocol, ssim_variant)
        if (protocol, ssim_variant) == (PAPER.protocol, PAPER.metric):
            rows += paper_rows(table, ds) + quoted_rows(table, ds)  # quotes are shown under the paper's protocol
        out.append((ds, rows, _columns(table, ds, ssim_variant, rows)))
    return out


def _fmt(metric: str, v: float | None) -> str:
    return "" if v is None else column_of(metric).fmt(v)


def _label(r: Row) -> str:
    return f"{r.source}: {r.method}" if r.source != "run" else r.method


def render(table: int, sections, protocol: str, ssim_variant: str) -> dict[str, str]:
    """{"csv", "md", "tex"} texts of one table."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["table", "dataset", "source", "method", "type", "protocol", "metric", "frame", "value", "rank",
                "n_samples", "seeds", "clips", "data_sha256"])
    md = [f"## Table {table} ({protocol}, SSIM variant {ssim_variant})", ""]
    tex = [f"% Table {table}: {protocol}, SSIM variant {ssim_variant}; bold best, underlined second"]
    for ds, rows, cols in sections:
        info = DATASETS.get(ds)
        md += [f"**{info.title}** ({info.n_past} seen frames)", "",
               "| Method | Type | " + " | ".join(c[2] for c in cols) + " |", "|---|---|" + "---|" * len(cols)]
        tex += [r"\begin{tabular}{ll" + "r" * len(cols) + "}", r"\multicolumn{%d}{l}{%s, %d seen frames} \\" %
                (len(cols) + 2, info.title, info.n_past), "Method & Type & " + " & ".join(c[2] for c in cols) +
                r" \\ \hline"]
        ranks = {c[:2]: _ranks(rows, c[:2]) for c in cols}
        for i, r in enumerate(rows):
            cells_md, cells_tex = [], []
            for metric, fr, _ in cols:
                v = r.values.get((metric, fr))
                s, rk = _fmt(metric, v), ranks[(metric, fr)].get(i)
                mark = "†" if (metric, fr) in r.capped else ""
                cells_md.append((f"**{s}**" if rk == 1 else f"<u>{s}</u>" if rk == 2 else s) + mark)
                cells_tex.append((rf"\textbf{{{s}}}" if rk == 1 else rf"\underline{{{s}}}" if rk == 2 else s)
                                 + (r"$^\dagger$" if mark else ""))
                if v is not None:
                    w.writerow([table, ds, r.source, r.method, r.type, "quoted" if r.source == "quoted" else protocol,
                                metric, fr or "", s, rk or "",
                                r.info.get("n_samples", ""), r.info.get("seeds", ""), r.info.get("clips", ""),
                                r.info.get("data_sha256", "")])
            md.append(f"| {_label(r)} | {r.type} | " + " | ".join(cells_md) + " |")
            name = _label(r).replace("&", r"\&")
            tex.append(f"{name} & {r.type} & " + " & ".join(cells_tex) + r" \\")
        if not rows:
            md.append("| (no runs) | |" + " |" * len(cols))
        note = " ".join(n for n in (_runs_note(rows), _capped_note(rows), _set_note(rows)) if n)
        md += ["", note, ""] if note else [""]
        tex += [r"\end{tabular}", ""]
    md.append('Rows "paper: ..." are the numbers published in the paper (its SSIM = `ssim_paper`, best of 100 per '
              "frame), quoted for reference, not re-run. Bold: best; underlined: second; ranked separately among "
              "runs, among references and among paper rows." + (
                  ' Rows "quoted: ..." are numbers of later work, quoted from the source the note names under their '
                  "own protocol (not re-run, not ranked)." if any(r.source == "quoted" for _, rows, _ in
                                                                                sections for r in rows) else ""))
    return {"csv": buf.getvalue(), "md": "\n".join(md) + "\n", "tex": "\n".join(tex) + "\n"}


def write_tables(results: list[RunResult], out_dir: str | Path, protocol: str = PAPER.protocol,
                 ssim_variant: str = PAPER.metric, overwrite: bool = False) -> list[Path]:
    """Write every table as CSV, Markdown and LaTeX; files with other contents are replaced only with ``overwrite``."""
    from s2sbench.safety.claims import claim_files
    from s2sbench.safety.files import atomic_write_bytes, check_writable

    out_dir = Path(out_dir)
    files = {}
    for t in tables():
        texts = render(t, build(results, t, protocol, ssim_variant), protocol, ssim_variant)
        for ext, text in texts.items():
            files[out_dir / f"table{t}.{ext}"] = text.encode()
    claim_files(files, overwrite)
    check_writable(out_dir)
    for p, data in files.items():
        atomic_write_bytes(p, data)
    return list(files)
