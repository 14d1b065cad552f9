"""``s2sbench leaderboard build RUNS_DIR --out DIR`` and ``s2sbench leaderboard show DATASET``."""
from __future__ import annotations

import click

from ._errors import friendly_errors


@click.group("leaderboard")
def leaderboard_grp() -> None:
    """Merge run results into byte-stable per-dataset CSVs, and show them."""


@leaderboard_grp.command("build")
@click.argument("runs_dir", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), default="leaderboard", show_default=True)
def build_cmd(runs_dir, out):
    """One CSV per dataset from every result.json under RUNS_DIR (fixed columns, sorted rows, same bytes on rebuild)."""
    from ..leaderboard import build

    with friendly_errors():
        paths = build(runs_dir, out)
    for p in paths:
        click.echo(f"wrote {p}")


@leaderboard_grp.command("show")
@click.argument("dataset")
@click.option("--dir", "board_dir", type=click.Path(file_okay=False), default="leaderboard", show_default=True)
@click.option("--protocol", default=None, help="Only rows of this protocol (best_per_frame, best_sequence, mean).")
def show_cmd(dataset, board_dir, protocol):
    """Print DATASET's leaderboard CSV as a table."""
    from ..leaderboard import show

    with friendly_errors():
        click.echo(show(dataset, board_dir, protocol))


COMMANDS = [leaderboard_grp]
