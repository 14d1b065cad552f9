"""``s2sbench leaderboard build RUNS_DIR --out DIR`` and ``s2sbench leaderboard show DATASET``."""
from __future__ import annotations

import click

from s2sbench.eval.protocols import PAPER


@click.group("leaderboard")
def leaderboard_grp() -> None:
    """Merge run results into byte-stable per-dataset CSVs, and show them."""


@leaderboard_grp.command("build")
@click.argument("runs_dir", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), default="leaderboard", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace CSVs in --out that differ (e.g. the committed leaderboard).")
def build_cmd(runs_dir, out, overwrite):
    """One CSV per dataset from every result.json under RUNS_DIR (fixed columns, sorted rows, same bytes on rebuild).
    An existing CSV with other contents is replaced only with --overwrite."""
    from s2sbench.report.leaderboard import build

    paths = build(runs_dir, out, overwrite)
    for p in paths:
        click.echo(f"wrote {p}")


@leaderboard_grp.command("show")
@click.argument("dataset")
@click.option("--dir", "board_dir", type=click.Path(file_okay=False), default="leaderboard", show_default=True)
@click.option("--protocol", default=PAPER.protocol, show_default=True,
              help="Only rows of this protocol (best_per_frame, best_sequence, mean; 'all': every one).")
@click.option("--ssim", "variant", default=PAPER.metric, show_default=True,
              help="Only rows of this SSIM variant (ssim_paper, ssim; 'all': both).")
@click.option("--columns", default=None, metavar="COL,COL,...|all",
              help="CSV columns to show instead of the narrow default (model, ref, metric averages, skill); 'all'.")
def show_cmd(dataset, board_dir, protocol, variant, columns):
    """Print DATASET's leaderboard as a table ranked by its headline score (the paper's SSIM under the paper's
    protocol by default), reference predictors marked `ref`."""
    from s2sbench.report.leaderboard import show

    cols = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    click.echo(show(dataset, board_dir, None if protocol == "all" else protocol,
                    None if variant == "all" else variant, cols))


@leaderboard_grp.command("run")
@click.option("--runs", "runs_dir", type=click.Path(file_okay=False), default="leaderboard/runs", show_default=True,
              help="Run directories go to RUNS/<dataset>/<model>-<preset>-seed<seed>.")
@click.option("--preset", default="board", show_default=True, help="Budget preset of every run.")
@click.option("--dataset", "datasets", multiple=True,
              help="Datasets (repeatable; default: every synthetic dataset, i.e. those its source generates).")
@click.option("--model", "models", multiple=True, help="Models (default: every registered model).")
@click.option("--seed", "seeds", multiple=True, type=int, default=(0,), show_default=True)
@click.option("--jobs", default=1, show_default=True, type=int, help="Runs at once.")
@click.option("--threads", default=0, show_default=True, type=int,
              help="torch threads per run (0: cores // jobs).")
@click.option("--data", "data", multiple=True, metavar="DATASET=DIR",
              help="Data directory of a dataset (default: its default directory, generated if synthetic).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Passed to every run's `s2sbench run --set` (e.g. eval.metrics=-lpips offline without the LPIPS "
                   "weights); recorded in each run's config.")
@click.option("--dry-run", is_flag=True, help="Print the commands, run nothing.")
def run_cmd(runs_dir, preset, datasets, models, seeds, jobs, threads, data, sets, dry_run):
    """Run every (dataset, model, seed) of a board that has no result.json yet (interrupted ones resume), each as
    its own `s2sbench run` process logging to RUN_DIR/run.log."""
    from s2sbench.data.datasets import DATASETS
    from s2sbench.models import MODELS
    from s2sbench.train.board import plan, run_board

    datasets = list(datasets) or [d for d in DATASETS.ordered() if DATASETS.get(d).synthetic]
    runs = plan(runs_dir, datasets, list(models) or MODELS.keys(), list(seeds), preset, tuple(sets))
    dirs = dict(d.split("=", 1) for d in data if "=" in d)
    if len(dirs) != len(data):
        bad = [d for d in data if "=" not in d]
        raise click.BadParameter(f"expected DATASET=DIR, got {bad}", param_hint="--data")
    if dry_run:
        for r in runs:
            click.echo(" ".join(["s2sbench"] + r.command(threads or 1, dirs.get(r.dataset))[3:]))
        return
    failed = run_board(runs, jobs=jobs, threads=threads, data=dirs, echo=click.echo)
    if failed:
        raise click.ClickException(f"{len(failed)} run(s) failed: " +
                                   ", ".join(f"{r.dataset}/{r.model}" for r in failed))


COMMANDS = [leaderboard_grp]
