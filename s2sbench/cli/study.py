"""``s2sbench study create|serve|invite|tally|close``: a human preference study between two runs (Table 4)."""
from __future__ import annotations

from pathlib import Path

import click

DEFAULT_URL = "http://127.0.0.1:8080"


def _link(base_url: str, kind: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/{kind}/{token}/"


@click.group("study")
def study() -> None:
    """Human preference study (the paper's Table 4): which of two runs' videos look more realistic."""


@study.command("create")
@click.option("--a", "run_a", required=True, type=click.Path(file_okay=False), help="Run directory of model A.")
@click.option("--b", "run_b", required=True, type=click.Path(file_okay=False), help="Run directory of model B.")
@click.option("--n", default=50, show_default=True, help="Number of clips (pairs) to compare.")
@click.option("--out", required=True, type=click.Path(), help="New study directory (study.db + media/).")
@click.option("--seed", default=0, show_default=True, help="Seed of the clip choice and left/right order.")
@click.option("--data-root", default=None, help="Dataset directory [default: data_root of run A's result.json].")
@click.option("--scale", default=None, type=click.IntRange(1, 16),
              help="Enlargement factor of the frames [default: to about 256 px].")
@click.option("--base-url", default=DEFAULT_URL, show_default=True, help="Server address used in the admin link.")
def create_cmd(run_a: str, run_b: str, n: int, out: str, seed: int, data_root: str | None, scale: int | None,
               base_url: str) -> None:
    """Pick N clips both runs generated, render each pair as MP4s with the clip's audio, write the study."""
    from s2sbench.errors import ConfigError
    from s2sbench.study import render, store

    if Path(run_a).resolve() == Path(run_b).resolve():
        raise ConfigError(f"--a and --b are the same run ({run_a}); a study compares two runs: pass another --b")

    path, admin = render.create_study(run_a, run_b, out, n=n, seed=seed, data_root=data_root, scale=scale)
    conn = store.open_study(path)
    info = store.study_info(conn)
    conn.close()
    click.echo(f"study {path}: {n} pairs of {info['dataset']} ({info['split']}), A = {info['a']['model']}, "
               f"B = {info['b']['model']}")
    click.echo(f"admin link (live tally; keep it private): {_link(base_url, 'a', admin)}")
    click.echo(f"next: s2sbench study invite {path} --rater NAME; s2sbench study serve {path}")


@study.command("serve")
@click.argument("study_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (other than loopback only behind a TLS proxy: plain HTTP).")
@click.option("--port", default=8080, show_default=True, help="Port (0 picks a free one).")
@click.option("--timeout", default=20, show_default=True, type=click.IntRange(1, 3600),
              help="Seconds an idle connection stays open, and a request may take to arrive completely.")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="One JSON line per request on stderr (tokens replaced by <token>).")
def serve_cmd(study_dir: str, host: str, port: int, timeout: int, access_log: bool) -> None:
    """Serve the rater pages and the admin tally (on waitress) until Ctrl-C or SIGTERM."""
    from s2sbench.study.server import serve

    serve(study_dir, host, port, timeout=timeout, access_log=access_log)


@study.command("invite")
@click.argument("study_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--rater", default=None, help="Rater name (letters, digits, spaces, . @ + - _).")
@click.option("--admin", is_flag=True, help="Issue a new admin link instead (the previous one stops working).")
@click.option("--rotate", is_flag=True, help="Issue a new link for an invited rater (the old one stops working).")
@click.option("--base-url", default=DEFAULT_URL, show_default=True, help="Server address used in the link.")
def invite_cmd(study_dir: str, rater: str | None, admin: bool, rotate: bool, base_url: str) -> None:
    """Print a personal link for a rater (or the admin); the random token in it is the only way in."""
    from s2sbench.errors import ConfigError
    from s2sbench.study import store

    if admin == (rater is not None):
        raise ConfigError("give either --rater NAME or --admin")
    conn = store.open_study(study_dir)
    try:
        closed = store.closed_at(conn)
        if closed and rater is not None and not rotate:
            raise ConfigError(f"{study_dir}: the study was closed at {closed}, so a new rater could not vote; "
                              "start a new study for more raters (--admin and --rotate still work)")
        if closed and rater is not None:
            click.echo(f"warning: the study was closed at {closed}: this link shows the votes, it cannot change "
                       "them", err=True)
        if admin:
            click.echo(_link(base_url, "a", store.set_admin_token(conn)))
        else:
            click.echo(_link(base_url, "r", store.add_rater(conn, rater, rotate=rotate)))
    finally:
        conn.close()


@study.command("tally")
@click.argument("study_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Where table4.csv, table4.md and raters.csv go [default: the (first) study directory].")
@click.option("--export", default=None, type=click.Path(dir_okay=False),
              help="Also write every vote of the study to this CSV (one study only).")
@click.option("--no-paper", is_flag=True, help="Leave out the paper's Table 4 rows.")
def tally_cmd(study_dirs: tuple[str, ...], out: str | None, export: str | None, no_paper: bool) -> None:
    """Preference for A per study (Wilson 95% interval, exact binomial p), rater agreement, as Table 4."""
    from s2sbench.data.shards import atomic_write_bytes
    from s2sbench.errors import ConfigError
    from s2sbench.study import store, tally

    if export and len(study_dirs) != 1:
        raise ConfigError("--export takes one study at a time")
    summaries = []
    for d in study_dirs:
        conn = store.open_study(d)
        try:
            summaries.append(tally.summarize(conn))
            if export:
                atomic_write_bytes(export, tally.votes_csv(conn).encode())
        finally:
            conn.close()
    rows = tally.table4_rows(summaries, paper=not no_paper)
    md = tally.to_markdown(summaries, rows)
    dest = Path(out or study_dirs[0])
    dest.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(dest / "table4.csv", tally.to_csv(rows).encode())
    atomic_write_bytes(dest / "table4.md", md.encode())
    rater_rows = [{"dataset": s["dataset"], **r} for s in summaries for r in s["raters"]]
    atomic_write_bytes(dest / "raters.csv", tally.to_csv(rater_rows, tally.RATER_COLUMNS).encode())
    click.echo(md, nl=False)
    click.echo(f"\nwrote {dest / 'table4.csv'}, {dest / 'table4.md'}, {dest / 'raters.csv'}"
               + (f", {export}" if export else ""))


@study.command("close")
@click.argument("study_dir", type=click.Path(exists=True, file_okay=False))
def close_cmd(study_dir: str) -> None:
    """Close the study: from now on votes are final (a running server refuses new ones at once)."""
    from s2sbench.study import store

    conn = store.open_study(study_dir)
    try:
        when = store.close(conn)
        n = conn.execute("SELECT COUNT(*) FROM votes").fetchone()[0]
    finally:
        conn.close()
    click.echo(f"study {study_dir} closed at {when}; {n} votes are final")


COMMANDS = [study]
