"""The paper's Tables 1-3 rendered from run results, next to the paper's published numbers (rows labelled "paper").

- Table 1: M3SO-NB (frames 6/15/25) and M3SO (31/42/70); Table 2: AudioSet-Drums and YouTube-Painting (16/30/45):
  SSIM and PSNR at those 1-based frames. Table 3: block IoU on M3SO (final predicted frame).
- Run rows: one per (model, preset), averaged over the seeds found, read under one protocol and SSIM variant
  (default: the paper's, ``best_per_frame`` and ``ssim_paper``). Paper rows: ``paper_results.csv``, transcribed from
  the paper (scikit-image-0.15 SSIM, best of 100 per frame); they are quoted, not re-run.
- Bold = best, underlined = second best per column, ranked separately among the runs and among the paper's rows.
- Written as CSV (long format: one value per line), Markdown and LaTeX.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean

from s2sbench.data.datasets import DATASETS
from s2sbench.report.results import RunResult, comparable_groups

PAPER_CSV = Path(__file__).with_name("paper_results.csv")
TABLES = {1: ("m3so-nb", "m3so"), 2: ("audioset-drums", "youtube-painting"), 3: ("m3so",)}
TITLES = {"m3so-nb": "M3SO-NB", "m3so": "M3SO", "audioset-drums": "AudioSet-Drums",
          "youtube-painting": "YouTube-Painting"}


@dataclass
class Row:
    source: str  # "run" or "paper"
    method: str
    type: str
    values: dict[tuple[str, int], float] = field(default_factory=dict)  # (metric, frame or 0) -> value
    info: dict[str, str] = field(default_factory=dict)


def paper_rows(table: int, dataset: str) -> list[Row]:
    rows: dict[str, Row] = {}
    with open(PAPER_CSV, newline="") as f:
        for r in csv.DictReader(f):
            if int(r["table"]) == table and r["dataset"] == dataset:
                row = rows.setdefault(r["method"], Row("paper", r["method"], r["type"],
                                                       info={"model": r["model"], "n_samples": "100"}))
                row.values[(r["metric"], int(r["frame"] or 0))] = float(r["value"])
    return list(rows.values())


def run_rows(results: list[RunResult], table: int, dataset: str, protocol: str, ssim_variant: str) -> list[Row]:
    """One row per group of ``comparable_groups`` (runs averaged only over seeds)."""
    rows = []
    for label, rs in comparable_groups([r for r in results if protocol in r.scores], dataset).items():
        seeds = sorted({r.seed for r in rs})
        row = Row("run", label, rs[0].modality,
                  info={"preset": rs[0].preset, "seeds": " ".join(map(str, seeds)), "n_samples": str(rs[0].n_samples),
                        "data_sha256": rs[0].data_sha256[:12], "clips": str(rs[0].clips_used)})
        if table == 3:
            ious = [r.block_iou[protocol] for r in rs if r.block_iou and protocol in r.block_iou]
            if ious:
                row.values[("block_iou", 0)] = mean(ious)
        else:
            for metric in (ssim_variant, "psnr"):
                if all(metric in r.scores[protocol] for r in rs):
                    for fr in DATASETS.get(dataset).table_frames:
                        row.values[(metric, fr)] = mean(r.at_frame(protocol, metric, fr) for r in rs)
        if row.values:
            rows.append(row)
    return rows


def _runs_note(rows: list[Row]) -> str:
    """What the run rows of a section share (data, N, clips, seeds), or that they differ (then rows name it)."""
    runs = [r for r in rows if r.source == "run"]
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


def _columns(table: int, dataset: str, ssim_variant: str) -> list[tuple[str, int, str]]:
    if table == 3:
        return [("block_iou", 0, "Localization IoU")]
    frames = DATASETS.get(dataset).table_frames
    return [(ssim_variant, f, f"SSIM Fr {f}") for f in frames] + [("psnr", f, f"PSNR Fr {f}") for f in frames]


def _ranks(rows: list[Row], key: tuple[str, int]) -> dict[int, int]:
    """Row position -> rank (1 best, 2 second) within each source group; higher is better for every column."""
    out: dict[int, int] = {}
    for src in ("run", "paper"):
        vals = sorted({r.values[key] for r in rows if r.source == src and key in r.values}, reverse=True)
        for i, r in enumerate(rows):
            if r.source == src and key in r.values and r.values[key] in vals[:2]:
                out[i] = vals.index(r.values[key]) + 1
    return out


def build(results: list[RunResult], table: int, protocol: str = "best_per_frame",
          ssim_variant: str = "ssim_paper") -> list[tuple[str, list[Row], list[tuple[str, int, str]]]]:
    """Sections of one table: (dataset, rows (runs first, then paper rows), columns)."""
    out = []
    for ds in TABLES[table]:
        rows = run_rows(results, table, ds, protocol, ssim_variant)
        if ssim_variant == "ssim_paper" and protocol == "best_per_frame":
            rows += paper_rows(table, ds)  # the paper's numbers are only comparable under its own protocol
        out.append((ds, rows, _columns(table, ds, ssim_variant)))
    return out


def _fmt(metric: str, v: float | None) -> str:
    return "" if v is None else f"{v:.2f}" if metric == "psnr" else f"{v:.4f}"


def _label(r: Row) -> str:
    return f"paper: {r.method}" if r.source == "paper" else r.method


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
        md += [f"**{TITLES[ds]}** ({info.n_past} seen frames)", "",
               "| Method | Type | " + " | ".join(c[2] for c in cols) + " |", "|---|---|" + "---|" * len(cols)]
        tex += [r"\begin{tabular}{ll" + "r" * len(cols) + "}", r"\multicolumn{%d}{l}{%s, %d seen frames} \\" %
                (len(cols) + 2, TITLES[ds], info.n_past), "Method & Type & " + " & ".join(c[2] for c in cols) +
                r" \\ \hline"]
        ranks = {c[:2]: _ranks(rows, c[:2]) for c in cols}
        for i, r in enumerate(rows):
            cells_md, cells_tex = [], []
            for metric, fr, _ in cols:
                v = r.values.get((metric, fr))
                s, rk = _fmt(metric, v), ranks[(metric, fr)].get(i)
                cells_md.append(f"**{s}**" if rk == 1 else f"<u>{s}</u>" if rk == 2 else s)
                cells_tex.append(rf"\textbf{{{s}}}" if rk == 1 else rf"\underline{{{s}}}" if rk == 2 else s)
                if v is not None:
                    w.writerow([table, ds, r.source, r.method, r.type, protocol, metric, fr or "", s, rk or "",
                                r.info.get("n_samples", ""), r.info.get("seeds", ""), r.info.get("clips", ""),
                                r.info.get("data_sha256", "")])
            md.append(f"| {_label(r)} | {r.type} | " + " | ".join(cells_md) + " |")
            name = _label(r).replace("&", r"\&")
            tex.append(f"{name} & {r.type} & " + " & ".join(cells_tex) + r" \\")
        if not rows:
            md.append("| (no runs) | |" + " |" * len(cols))
        note = _runs_note(rows)
        md += ["", note, ""] if note else [""]
        tex += [r"\end{tabular}", ""]
    md.append('Rows "paper: ..." are the numbers published in the paper (its SSIM = `ssim_paper`, best of 100 per '
              "frame), quoted for reference, not re-run. Bold: best; underlined: second; ranked separately among "
              "runs and among paper rows.")
    return {"csv": buf.getvalue(), "md": "\n".join(md) + "\n", "tex": "\n".join(tex) + "\n"}


def write_tables(results: list[RunResult], out_dir: str | Path, protocol: str = "best_per_frame",
                 ssim_variant: str = "ssim_paper", overwrite: bool = False) -> list[Path]:
    """Write every table as CSV, Markdown and LaTeX; files with other contents are replaced only with ``overwrite``."""
    from s2sbench.safety.claims import claim_files
    from s2sbench.safety.files import atomic_write_bytes, check_writable

    out_dir = Path(out_dir)
    files = {}
    for t in TABLES:
        texts = render(t, build(results, t, protocol, ssim_variant), protocol, ssim_variant)
        for ext, text in texts.items():
            files[out_dir / f"table{t}.{ext}"] = text.encode()
    claim_files(files, overwrite)
    check_writable(out_dir)
    for p, data in files.items():
        atomic_write_bytes(p, data)
    return list(files)
