"""``s2sbench demo``: the README's main job on the embedded default data, in about a minute on one core.

It makes (or reuses) a small M3SO-NB set under ``$S2SBENCH_DATA/m3so-nb-demo`` (default ``data/m3so-nb-demo``:
400 / 50 / 50 clips from the embedded MNIST digits; its own directory, so that the full default ``data/m3so-nb``
that ``run`` and ``make board`` use is never a demo subset), verifies it, prints its summary and writes previews of a
few test clips (MP4 with sound) under ``runs/demo/``. Then it trains a real model, ``DEMO_MODEL`` in its tiny
configuration, for ``DEMO_BUDGET_S`` CPU seconds (``--budget``) through the harness (``s2sbench run --preset smoke``
with a CPU budget), evaluates it and every reference predictor on all the demo test clips, and prints them side by
side with what each number means and how the model compares (``explain``). The demo's own run directories
(``runs/demo/<model>-demo``) are replaced on every demo.
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import click

if TYPE_CHECKING:
    from s2sbench.report.results import RunResult

DEMO_CLIPS = 400  # training clips; validation and test get 50 each
DEMO_DATASET = "m3so-nb"  # a synthetic dataset: its source generates it
DEMO_MODEL = "audio_only"  # the paper's "Audio Only" baseline: in 30 CPU seconds it learns where the digit is
DEMO_BUDGET_S = 30.0  # CPU seconds of training


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


def run_demo_model(root: Path, runs: Path, model: str = DEMO_MODEL, budget_s: float = DEMO_BUDGET_S,
                   echo: Callable[[str], None] = click.echo) -> dict[str, "RunResult"]:
    """Train ``model`` (its tiny config) for ``budget_s`` CPU seconds on ``root``'s training split, evaluate it and
    every reference predictor on all of its test clips; returns name -> result (the model first)."""
    from s2sbench.models import MODELS
    from s2sbench.report.results import is_reference
    from s2sbench.train.runner import SMOKE_BANNER, run, set_threads

    sets = ("eval.n_clips=0", f"train.cpu_budget_min={budget_s / 60:g}", "train.steps=100000", "train.val_every=40",
            "train.checkpoint_every=40")
    echo(f"training {model} (tiny config) for {budget_s:g} CPU seconds, then evaluating it on every test clip")
    # One torch thread: the budget counts the CPU time of every thread, and a tiny model's steps do not split over
    # threads (with other load on the cores, waiting threads burn the budget: 44 steps in 30 s instead of ~400)
    set_threads(1)
    results = {}
    for name in [model] + [m for m in MODELS.ordered() if is_reference(m)]:
        quiet = name != model  # the references: no steps, a second each
        said = (lambda s: None) if quiet else (lambda s: None if s == f"Note: {SMOKE_BANNER}" else echo(s))
        result, _ = run(name, DEMO_DATASET, preset="smoke", data=root, out=runs / f"{name}-demo", sets=sets,
                        overwrite=True, progress=False, echo=said)  # the demo says itself what its numbers mean
        results[name] = result
        if not quiet:
            echo(f"{name}: {result.train['steps']} steps in {budget_s:g} CPU seconds; evaluating the references")
    return results


def _about(name: str) -> str:
    """The first sentence of a model module's docstring, without its ``name``: prefix."""
    import sys

    from s2sbench.models import MODELS

    doc = (sys.modules[MODELS.get(name).__module__].__doc__ or "").strip()
    first = doc.split(". ")[0].split("\n\n")[0].replace("\n", " ")
    first = first.split(": ", 1)[1] if first.startswith("``") and ": " in first else first
    return first.rstrip(".")


def _meaning(metric: str) -> str:
    """A metric's description without its parenthesised details, up to the first semicolon."""
    import re

    from s2sbench.eval.metrics import METRICS

    return re.sub(r" \([^)]*\)", "", METRICS.get(metric).description).split(";")[0]


def explain(results: dict[str, "RunResult"], run_dir: Path) -> str:
    """The demo's summary: the trained model beside the reference predictors on the same clips, what each number
    means and how the model compares, computed from the results (the first result is the model)."""
    from s2sbench.eval.protocols import PAPER
    from s2sbench.report.columns import metric_columns, metrics_in

    (model, r), refs = next(iter(results.items())), dict(list(results.items())[1:])
    have = metrics_in(results.values(), PAPER.protocol)
    shown = [(c, m) for c in metric_columns(have) if (m := c.pick(PAPER.metric, have))]
    score = {n: {m: x.scores[PAPER.protocol][m]["avg"] for _, m in shown} for n, x in results.items()}
    steps = r.train["steps"] if r.train else 0
    names = {model: f"{model} (trained {steps} steps)", **{n: f"{n} (reference)" for n in refs}}
    width = max(len(v) for v in names.values())
    lines = [f"Results on {r.clips_used} {r.dataset} test clips: {r.n_past} seen frames, {r.n_future} predicted from "
             f"them and the audio; "
             + (f"{r.n_samples} samples a clip, each frame scored by its best sample" if r.stochastic else
                "one prediction a clip (a deterministic model)") + f" ({PAPER.protocol}, the paper's protocol)",
             " " * width + "".join(f"  {c.title:>10s}" for c, _ in shown)]
    for n in results:
        lines.append(names[n].ljust(width) + "".join(f"  {score[n][m]:10.{c.digits}f}" for c, m in shown))
    lines += ["", "What the numbers mean:"]
    for n in refs:
        lines.append(f"  {n}: {_about(n)}. A reference, not a model: what a score is worth without one.")
    for c, m in shown:
        better = "higher" if c.higher_is_better else "lower"
        beaten = [n for n in refs if (score[model][m] > score[n][m]) == c.higher_is_better
                  and score[model][m] != score[n][m]]
        verdict = ("better than every reference" if len(beaten) == len(refs) else
                   "worse than every reference" if not beaten else
                   f"better than {', '.join(beaten)}; worse than "
                   f"{', '.join(n for n in refs if n not in beaten)}")
        lines.append(f"  {c.title} ({m}: {_meaning(m)}; {better} is better): {model} "
                     f"{score[model][m]:.{c.digits}f}, {verdict}.")
    ssim = shown[0][1]
    best_ref = max(refs, key=lambda n: score[n][ssim])
    lines += [f"  The clips are mostly black, so {best_ref} already scores {ssim} {score[best_ref][ssim]:.4f}: "
              f"an {ssim} below it says little; the digit scores (where the digit is) tell a model that follows "
              f"the sound from one that draws the background.",
              f"  {model} trained for {steps} steps of a tiny configuration; the paper trained 72,072 steps on a "
              f"GPU. `s2sbench run --model {model} --dataset m3so-nb --preset quick` trains 10 CPU minutes;",
              "  `s2sbench leaderboard show m3so-nb` shows every model at a 5-CPU-minute budget.",
              f"(run directory: {run_dir}: result.json, samples.h5, grid.gif with labelled rows)"]
    return "\n".join(textwrap.fill(line, 118, subsequent_indent="    ", break_on_hyphens=False)
                     if len(line) > 118 else line for line in lines)


@click.command("demo")
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="Dataset directory [default: $S2SBENCH_DATA/m3so-nb-demo, i.e. data/m3so-nb-demo].")
@click.option("--runs", type=click.Path(path_type=Path), default=Path("runs/demo"), show_default=True,
              help="Where previews (and later results) go.")
@click.option("--n", "n", type=click.IntRange(min=8), default=DEMO_CLIPS, show_default=True,
              help="Training clips if the data has to be generated (validation and test: n/8 each).")
@click.option("--budget", type=click.FloatRange(min=1), default=DEMO_BUDGET_S, show_default=True,
              help=f"CPU seconds of training for {DEMO_MODEL}.")
def demo_cmd(data: Path | None, runs: Path, n: int, budget: float) -> None:
    """Main job: make (or reuse) a small M3SO-NB set, verify it, summarise it, write previews, train a tiny model for
    a few CPU seconds, evaluate it beside the reference predictors and say what the numbers mean."""
    from s2sbench.cli.datadir import summary_lines
    from s2sbench.data.shards import ShardIndex

    root = ensure_demo_data(data, n=n)
    for line in summary_lines(ShardIndex.load(root), root):
        click.echo(line)
    write_demo_previews(root, runs)
    results = run_demo_model(root, runs, budget_s=budget)
    click.echo(explain(results, runs / f"{DEMO_MODEL}-demo"))


COMMANDS = [demo_cmd]
