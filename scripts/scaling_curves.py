"""Compute-scaling curves: how the board's scores grow with a model's CPU budget, beside the reference predictors.

Each model is trained once per seed under the ``board`` preset and continued with ``--resume`` to each larger CPU
budget (``train.cpu_budget_min``); after each budget the run is evaluated (the board's 50 test clips x 100 samples,
without the learned metrics) and its ``result.json`` is copied to ``OUT/<dataset>/<model>/cpu<B>.json``. The three
reference predictors are run once on the same clips. Finished points are skipped, so the script resumes across
sittings (the training runs live under ``--runs``; without them a budget is trained from scratch). ``--report``
writes ``OUT/<dataset>.csv``, ``OUT/<dataset>.md`` and ``OUT/<dataset>.png`` from the finished points:
the paper's metric under the paper's protocol at the paper's table frames, and the ground-truth metrics, against the
CPU minutes each run used.

    python scripts/scaling_curves.py --budgets 5 15 45 120 --jobs 2
    python scripts/scaling_curves.py --report
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from s2sbench.data.datasets import DATASETS
from s2sbench.eval.metrics import METRICS
from s2sbench.eval.protocols import PAPER
from s2sbench.models import MODELS
from s2sbench.report.results import RunResult

MODELS_DEFAULT = ("svg_lp", "sound2sight", "sound2sight_no_audio", "audio_only")
SETS = ("eval.learned_metrics=false",  # LPIPS/FVD are not what these curves track
        "train.steps=1000000")  # the budget alone stops a run: the board preset's 3000-step cap bound SVG-LP at 28 min


def _cli(args: list[str], log: Path) -> None:
    cmd = [sys.executable, "-m", "s2sbench", "run", *args, "--threads", "1", "--quiet"]
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {done.returncode}); see {log}")


def _keep(result: Path, target: Path) -> None:
    """Copy ``result`` to ``target`` atomically (a half-written point never sits under its final name)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    shutil.copyfile(result, tmp)
    os.replace(tmp, target)


def chain(model: str, dataset: str, budgets: list[float], seed: int, runs: Path, out: Path) -> None:
    """Train ``model`` to each budget in turn (continuing the same run), keeping each budget's result."""
    work = runs / dataset / f"{model}-seed{seed}"
    for b in sorted(budgets):
        point = out / dataset / model / f"cpu{b:g}-seed{seed}.json"
        if point.exists():
            continue
        args = ["--model", model, "--dataset", dataset, "--preset", "board", "--seed", str(seed), "--out", str(work),
                "--set", f"train.cpu_budget_min={b:g}", *[x for s in SETS for x in ("--set", s)]]
        resume = (work / "last.pt").exists()
        _cli([*args, "--resume"] if resume else [*args, "--overwrite"] if work.exists() else args,
             out / dataset / f"{model}.log")
        _keep(work / "result.json", point)
        print(f"{model}: {b:g} CPU min done -> {point}", flush=True)


def references(dataset: str, seed: int, runs: Path, out: Path) -> None:
    for name in (m for m in MODELS.keys() if getattr(MODELS.get(m), "reference", False)):
        point = out / dataset / name / f"reference-seed{seed}.json"
        if point.exists():
            continue
        work = runs / dataset / f"{name}-seed{seed}"
        args = ["--model", name, "--dataset", dataset, "--preset", "board", "--seed", str(seed), "--out", str(work),
                *[x for s in SETS for x in ("--set", s)]]
        _cli([*args, "--overwrite"] if work.exists() else args, out / dataset / f"{name}.log")
        _keep(work / "result.json", point)


def rows(dataset: str, out: Path) -> list[dict]:
    """One row per finished point: model, reference, CPU minutes used, steps, the headline and ground-truth scores."""
    info = DATASETS.get(dataset)
    truth = [m for m in METRICS.ordered() if METRICS.get(m).truth and METRICS.get(m).scope == "frame"]
    table = []
    for path in sorted((out / dataset).glob("*/*.json")):
        r = RunResult.load(path)
        scores = r.scores[PAPER.protocol]
        row = {"model": r.model, "reference": int(path.name.startswith("reference")), "seed": r.seed,
               "cpu_min": round((r.train or {}).get("cpu_time_s", 0.0) / 60, 2),
               "steps": (r.train or {}).get("steps", 0), "best_step": (r.train or {}).get("best_step", 0),
               "select_on": (r.train or {}).get("select_on") or ""}
        for f in info.table_frames:
            row[f"{PAPER.metric}_fr{f}"] = round(scores[PAPER.metric]["curve"][f - info.n_past - 1], 4)
        for m in truth:
            if m in scores:
                row[f"{m}_avg"] = round(scores[m]["avg"], 4)
        table.append(row)
    return sorted(table, key=lambda x: (x["reference"], x["model"], x["cpu_min"]))


def report(dataset: str, out: Path) -> None:
    table = rows(dataset, out)
    if not table:
        raise SystemExit(f"no finished points under {out / dataset}")
    cols = list(dict.fromkeys(k for r in table for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, cols, lineterminator="\n")
    w.writeheader()
    w.writerows(table)
    (out / f"{dataset}.csv").write_text(buf.getvalue())
    md = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    md += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in table]
    (out / f"{dataset}.md").write_text("\n".join(md) + "\n")
    _plot(dataset, table, out / f"{dataset}.png")
    print(f"wrote {out / dataset}.csv, .md, .png ({len(table)} points)")


def _plot(dataset: str, table: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    keys = [k for k in table[0] if k.startswith(f"{PAPER.metric}_fr") or k.endswith("_avg")]
    rows_n = (len(keys) + 2) // 3
    fig, axes = plt.subplots(rows_n, 3, figsize=(11, 3.3 * rows_n), squeeze=False)
    models = sorted({r["model"] for r in table if not r["reference"]})
    xs = sorted({r["cpu_min"] for r in table if not r["reference"]})
    for ax in axes.flat[len(keys):]:
        ax.axis("off")
    for ax, k in zip(axes.flat, keys):
        for m in models:
            pts = sorted((r["cpu_min"], r[k]) for r in table if r["model"] == m and not r["reference"] and k in r)
            ax.plot(*zip(*pts), marker="o", label=m)
        for r in (r for r in table if r["reference"] and k in r):
            ax.axhline(r[k], color="grey", ls="--", lw=1)
            ax.annotate(r["model"], (1, r[k]), xycoords=("axes fraction", "data"), fontsize=6, color="grey",
                        ha="right", va="bottom")
        if xs[-1] > 3 * xs[0]:  # budgets a factor apart: a log axis, ticked at the whole minutes used
            ax.set_xscale("log")
        ax.set_xticks(sorted({round(x) for x in xs}))
        ax.xaxis.set_major_formatter(FormatStrFormatter("%d"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(k, fontsize=9)
        ax.set_xlabel("CPU minutes (training)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{dataset}: scores against training compute ({PAPER.protocol}; references dashed grey)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default=next(iter(DATASETS.ordered())))
    ap.add_argument("--models", nargs="+", default=list(MODELS_DEFAULT))
    ap.add_argument("--budgets", nargs="+", type=float, default=[5, 15, 45, 120])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--runs", type=Path, default=Path("runs/scaling"))
    ap.add_argument("--out", type=Path, default=Path("leaderboard/scaling"))
    ap.add_argument("--report", action="store_true", help="only write the table and plot of the finished points")
    a = ap.parse_args()
    if not a.report:
        (a.out / a.dataset).mkdir(parents=True, exist_ok=True)
        references(a.dataset, a.seed, a.runs, a.out)
        with ThreadPoolExecutor(a.jobs) as pool:
            for f in [pool.submit(chain, m, a.dataset, a.budgets, a.seed, a.runs, a.out) for m in a.models]:
                f.result()
    report(a.dataset, a.out)


if __name__ == "__main__":
    main()
