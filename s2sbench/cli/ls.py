"""``s2sbench ls``: what is registered (datasets, dataset sources, models, metrics, audio features)."""
from __future__ import annotations

import click


@click.command("ls")
@click.argument("what", required=False, type=click.Choice(["datasets", "sources", "models", "metrics", "features"]))
@click.option("--params", is_flag=True, help="With models: build each at its paper config and count parameters.")
@click.option("--dataset", default="m3so-nb", show_default=True, help="Data spec used for --params.")
def ls_cmd(what: str | None, params: bool, dataset: str) -> None:
    """List registered datasets, dataset sources, models, metrics and audio features."""
    from s2sbench.data.audio import AUDIO_FEATURES
    from s2sbench.data.datasets import DATASETS
    from s2sbench.models import MODELS

    if what in (None, "datasets"):
        click.echo("datasets:")
        for name in DATASETS.keys():
            d = DATASETS.get(name)
            click.echo(f"  {name:18s} {d.n_past} seen / {d.n_future_test} predicted at test; {d.summary} "
                       f"[source {d.source}]")
    if what in (None, "sources"):
        from s2sbench.data.sources import SOURCES

        click.echo("dataset sources:")
        for name in SOURCES.keys():
            s = SOURCES.get(name)
            click.echo(f"  {name:18s} [{s.kind}] {s.summary}")
    if what in (None, "models"):
        click.echo("models:")
        spec = None
        if params:
            from s2sbench.models import DataSpec
            spec = DataSpec.for_dataset(dataset)
        for name in MODELS.keys():
            cls = MODELS.get(name)
            flags = ("audio" if cls.uses_audio else "video-only") + (", stochastic" if cls.stochastic else "")
            if not cls.__module__.startswith("s2sbench."):  # registered by another package's entry point
                flags += f", from {cls.__module__}"
            extra = ""
            if spec is not None:
                n = cls(spec, None).num_parameters()
                extra = f"  {n / 1e6:8.3f} M params ({dataset})"
            click.echo(f"  {name:24s} [{flags}]{extra}")
    if what in (None, "metrics"):
        try:
            from s2sbench.eval.metrics import METRICS
        except ImportError:
            METRICS = None
        if METRICS is not None:
            click.echo("metrics:")
            for name in METRICS.keys():
                m = METRICS.get(name)
                click.echo(f"  {name:12s} ({'higher' if m.higher_is_better else 'lower'} is better, v{m.version}) "
                           f"{m.description}")
    if what in (None, "features"):
        click.echo("audio features: " + ", ".join(AUDIO_FEATURES.keys()))


COMMANDS = [ls_cmd]
