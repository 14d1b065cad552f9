"""``s2sbench demo``: the README's main job on the embedded default data.

At this stage it makes (or reuses) a small M3SO-NB set under ``$S2SBENCH_DATA/m3so-nb-demo`` (default
``data/m3so-nb-demo``: 400 / 50 / 50 clips from the embedded MNIST digits; its own directory, so that the full
default ``data/m3so-nb`` that ``run`` and ``make board`` use is never a demo subset), verifies it, prints its summary
and writes previews of a few test clips (MP4 with sound) under ``runs/demo/``, then runs the ``copy_last`` baseline
through the harness (``s2sbench run --preset smoke`` on every demo test clip) and prints its per-frame results table.
The demo's own run directory (``runs/demo/copy_last-smoke``) is replaced on every demo.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import click

DEMO_CLIPS = 400  # training clips; validation and test get 50 each
DEMO_DATASET = "m3so-nb"  # a synthetic dataset: its source generates it


def demo_dir() -> Path:
    """``$S2SBENCH_DATA/<DEMO_DATASET>-demo``: beside, never inside, the full default directory of that dataset."""
    from s2sbench.data.datasets import DATASETS

    default = DATASETS.get(DEMO_DATASET).default_dir()
    return default.with_name(default.name + "-demo")


def ensure_demo_data(root: Path | None = None, *, n: int = DEMO_CLIPS, seed: int = 0,
                     echo: Callable[[str], None] = click.echo, progress: bool = True,
                     dataset: str = DEMO_DATASET) -> Path:
    """Return a verified ``dataset`` directory: ``root`` if it already holds one, else generate ``n``/n/8/n/8 clips
    there with the dataset's source (a synthesizer).

    Any set its source made with the dataset's options that verifies is reused as it is (e.g. a full 8000-clip set).
    """
    from s2sbench.data.datasets import DATASETS
    from s2sbench.data.shards import ShardError, ShardIndex

    info = DATASETS.get(dataset)
    source = info.source_entry
    root = Path(root) if root is not None else demo_dir()
    if (root / "index.json").exists():
        try:
            index = ShardIndex.load(root)
            problems = index.verify(root) if source.made(index.source, info) else [f"not an {info.title} set"]
        except ShardError as e:
            problems = [str(e)]
        if not problems:
            echo(f"using the existing {info.title} set in {root} (verified)")
            return root
        raise click.ClickException(f"{root}: existing data unusable ({problems[0]}); remove it or pass --data DIR")
    echo(f"generating {info.title} ({n}/{n // 8}/{n // 8} clips, embedded MNIST digits, seed {seed}) into {root}")
    source.generate(root, info, n=n, seed=seed, progress=progress)
    return root


def write_demo_previews(root: Path, out_dir: Path, count: int = 3,
                        echo: Callable[[str], None] = click.echo) -> list[Path]:
    """Write the first ``count`` test clips of ``root`` as MP4 previews (video with its tones) into ``out_dir``."""
    from s2sbench.cli.datadir import write_preview
    from s2sbench.data.shards import ShardIndex

    paths = []
    for i in range(min(count, ShardIndex.load(root).splits().get("test", 0))):
        path, caption = write_preview(root, "test", i, out_dir / f"{root.name}-test-{i:06d}.mp4")
        echo(f"preview {path} ({caption})")
        paths.append(path)
    return paths


def run_demo_model(root: Path, runs: Path, model: str = "copy_last") -> str:
    """Train/evaluate ``model`` with the smoke preset on every test clip of ``root``; return the per-frame table."""
    from s2sbench.train.runner import per_frame_table, run

    result, run_dir = run(model, DEMO_DATASET, preset="smoke", data=root, out=runs / f"{model}-smoke",
                          sets=("eval.n_clips=0",), overwrite=True, echo=click.echo)
    return per_frame_table(result) + f"\n(run directory: {run_dir}: result.json, samples.h5, grid.gif)"


@click.command("demo")
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="Dataset directory [default: $S2SBENCH_DATA/m3so-nb-demo, i.e. data/m3so-nb-demo].")
@click.option("--runs", type=click.Path(path_type=Path), default=Path("runs/demo"), show_default=True,
              help="Where previews (and later results) go.")
@click.option("--n", "n", type=click.IntRange(min=8), default=DEMO_CLIPS, show_default=True,
              help="Training clips if the data has to be generated (validation and test: n/8 each).")
def demo_cmd(data: Path | None, runs: Path, n: int) -> None:
    """Main job: make (or reuse) a small M3SO-NB set, verify it, summarise it, write previews, run copy_last on it
    and print its results table."""
    from s2sbench.cli.datadir import summary_lines
    from s2sbench.data.shards import ShardIndex

    root = ensure_demo_data(data, n=n)
    for line in summary_lines(ShardIndex.load(root), root):
        click.echo(line)
    write_demo_previews(root, runs)
    click.echo(run_demo_model(root, runs))


COMMANDS = [demo_cmd]
