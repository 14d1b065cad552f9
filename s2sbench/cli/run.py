"""``s2sbench run`` (train or load, then evaluate) and ``s2sbench evaluate CHECKPOINT``."""
from __future__ import annotations

import click

_PRESET_HELP = ("smoke (tiny model, < 1 min on CPU, pipeline check only), quick (10 CPU min), "
                "board (the leaderboard's 15 CPU min; board-5min the archived 5), "
                "paper (paper config and protocol); see s2sbench.train.presets.")


def _common(f):
    for opt in reversed([
        click.option("--device", default="auto", show_default=True, help="auto (CUDA if present), cpu, cuda, cuda:1"),
        click.option("--overwrite", is_flag=True, help="Replace the results (and checkpoints) already in the output "
                                                         "directory; without it they are never replaced."),
        click.option("--seed", default=None, type=int,
                     help="Seed of training and sampling [default: 0; evaluate: the checkpoint's run's seed, else 0]."),
        click.option("--data", type=click.Path(file_okay=False), default=None,
                     help="Dataset directory (default: $S2SBENCH_DATA/<dataset>, i.e. ./data/<dataset>)."),
        click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                     help="Override: train.KEY=V, eval.KEY=V (e.g. eval.n_samples=20), else a model Config key."),
        click.option("--threads", default=0, show_default=True, type=click.IntRange(min=0),
                     help="torch CPU threads (0: torch's default, one per core)."),
        click.option("--quiet", is_flag=True, help="No progress bars."),
    ]):
        f = opt(f)
    return f


@click.command("run")
@click.option("--model", default=None,
              help="Registered model name (`s2sbench ls models`); required here or in --config.")
@click.option("--dataset", default=None,
              help="Registered dataset name (`s2sbench ls datasets`); required here or in --config.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="TOML file of run options and [model]/[train]/[eval] tables (docs/training.md); options given "
                   "here and --set win over it. Every run saves its resolved config as RUN_DIR/config.toml.")
@click.option("--preset", default="smoke", show_default=True, help=_PRESET_HELP)
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run directory (default runs/<dataset>/<model>-<preset>-seed<seed>).")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None, help="Skip training: evaluate this.")
@click.option("--resume", is_flag=True, help="Continue training from RUN_DIR/last.pt (needed when it exists).")
@_common
@click.pass_context
def run_cmd(ctx, model, dataset, config_file, preset, out, checkpoint, resume, device, overwrite, seed, data, sets,
            threads, quiet):
    """Train MODEL on DATASET (or load --checkpoint), evaluate it on the test split, write RUN_DIR/result.json,
    samples.h5 and grid.gif (ground truth | best sample | 3 random samples), and print the per-frame table.
    Prints a header (model, data, device, budget, output) before training and a summary after; Ctrl-C saves
    RUN_DIR/last.pt and exits 130 (continue with --resume).
    Multi-GPU: `torchrun --nproc_per_node N -m s2sbench run ...` (DDP; rank 0 evaluates)."""
    from s2sbench.errors import ConfigError
    from s2sbench.train.orient import summary
    from s2sbench.train.runconfig import load_run_config
    from s2sbench.train.runner import per_frame_table, run, set_threads

    opts = dict(model=model, dataset=dataset, preset=preset, out=out, checkpoint=checkpoint, device=device, seed=seed,
                data=data, threads=threads)
    config = load_run_config(config_file) if config_file else None
    if config is not None:  # the file's options, where the command line left an option at its default
        for k, v in config.options.items():
            if ctx.get_parameter_source(k) in (None, click.core.ParameterSource.DEFAULT):
                opts[k] = v
    for k in ("model", "dataset"):
        if not opts[k]:
            raise ConfigError(f"no {k}: pass --{k} NAME or set it in a --config file")
    opts["seed"] = 0 if opts["seed"] is None else opts["seed"]
    set_threads(opts.pop("threads"))
    result, run_dir = run(opts.pop("model"), opts.pop("dataset"), **opts, sets=sets, resume=resume,
                          overwrite=overwrite, progress=not quiet, echo=click.echo, config=config)
    if result is not None:  # None on the non-zero ranks of a torchrun launch
        click.echo(per_frame_table(result))
        click.echo(f"wrote {run_dir}/result.json, samples.h5, grid.gif, config.toml")
        if not quiet:
            click.echo("\n".join(summary(result, run_dir)))


@click.command("evaluate")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--dataset", default=None, help="Dataset (default: the one recorded in the checkpoint).")
@click.option("--preset", default=None,
              help="Evaluation size (default: the preset recorded in the checkpoint, else paper: 1000 x 100); "
                   "the result's preset stays the training budget, this one is recorded as eval.preset.")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Output directory (default: beside it).")
@_common
def evaluate_cmd(checkpoint, dataset, preset, out, device, overwrite, seed, data, sets, threads, quiet):
    """Evaluate a saved CHECKPOINT on the test split (best of N, every protocol and metric); write result.json."""
    from s2sbench.train.runner import evaluate_checkpoint, per_frame_table, set_threads

    set_threads(threads)
    result, run_dir = evaluate_checkpoint(checkpoint, dataset=dataset, preset=preset, device=device, seed=seed,
                                          out=out, data=data, sets=sets, progress=not quiet,
                                          overwrite=overwrite, echo=click.echo)
    click.echo(per_frame_table(result))
    click.echo(f"wrote {run_dir}/result.json")


COMMANDS = [run_cmd, evaluate_cmd]
