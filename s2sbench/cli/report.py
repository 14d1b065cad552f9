"""``s2sbench tables RUNS_DIR`` (the paper's Tables 1-3 with its published rows) and ``s2sbench plots RUNS_DIR``."""
from __future__ import annotations

import click


def _check(kind: str):
    """Validate a protocol / SSIM variant against its registry when the command runs (keeps --help free of torch);
    not given: the paper's (``s2sbench.eval.protocols.PAPER``)."""
    def check(ctx, param, value):
        if value is None:
            from s2sbench.eval.protocols import PAPER
            value = PAPER.protocol if kind == "protocol" else PAPER.metric
        if kind == "protocol":
            from s2sbench.eval.protocols import PROTOCOLS as known
        else:
            from s2sbench.report.columns import variants
            known = variants()
        if value not in known:
            raise click.BadParameter(f"{value!r} is not one of {', '.join(known)}")
        return value
    return check


_protocol = click.option("--protocol", default=None, show_default="the paper's", callback=_check("protocol"),
                         help="Protocol the runs are read under (PROTOCOLS: best_per_frame, best_sequence, mean; the "
                              "paper's rows appear only with best_per_frame).")
_variant = click.option("--ssim", "ssim_variant", default=None, show_default="the paper's", callback=_check("ssim"),
                        help="SSIM variant, a metric of the ssim family (ssim_paper = the paper's, ssim).")
_overwrite = click.option("--overwrite", is_flag=True, help="Replace files already in --out with other contents.")


@click.command("tables")
@click.argument("runs_dir", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output directory (default RUNS_DIR/tables).")
@_protocol
@_variant
@_overwrite
def tables_cmd(runs_dir, out, protocol, ssim_variant, overwrite):
    """Tables 1-3 as in the paper from every result.json under RUNS_DIR, next to the paper's numbers (rows
    "paper: ..."): CSV, Markdown and LaTeX, bold best and underlined second. Prints the Markdown."""
    from pathlib import Path

    from s2sbench.report.results import require_results
    from s2sbench.report.tables import write_tables

    results = require_results(runs_dir)
    paths = write_tables(results, Path(out) if out else Path(runs_dir) / "tables", protocol, ssim_variant,
                         overwrite)
    for p in paths:
        if p.suffix == ".md":
            click.echo(p.read_text())
    click.echo(f"wrote {len(paths)} files to {paths[0].parent}")


@click.command("plots")
@click.argument("runs_dir", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output directory (default RUNS_DIR/plots).")
@_protocol
@_variant
@_overwrite
def plots_cmd(runs_dir, out, protocol, ssim_variant, overwrite):
    """PNG figures per dataset: per-frame curves, best-of-K, sample diversity (frames and optical flow)."""
    from pathlib import Path

    from s2sbench.optional import require
    from s2sbench.report.plots import write_plots
    from s2sbench.report.results import require_results

    require("matplotlib", "plots")  # a missing extra is named before anything else is read
    results = require_results(runs_dir)
    paths = write_plots(results, Path(out) if out else Path(runs_dir) / "plots", protocol, ssim_variant,
                        overwrite)
    if not paths:
        raise click.ClickException(f"{runs_dir}: no run has curves to plot under --protocol {protocol}")
    for p in paths:
        click.echo(f"wrote {p}")


COMMANDS = [tables_cmd, plots_cmd]
