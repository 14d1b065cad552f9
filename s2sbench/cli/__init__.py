"""The ``s2sbench`` command line: a thin click layer; each command calls one library function.

Commands live in the modules of this package (one topic per file), each exposing ``COMMANDS``, a list of click
commands; this group collects them, so adding a command never edits a central list. Command modules import
heavy libraries inside the command functions so that ``s2sbench --help`` stays fast.
Known user errors (bad data, unknown names, bad configs, a missing optional package: ``s2sbench.optional``,
refused outputs: ``s2sbench.safety``) and file-system errors (permission denied, disk full, a busy port) are printed
as one ``Error:`` line and exit 1; usage errors exit 2 (click); Ctrl-C exits 130 (every file is written atomically,
so nothing half-written is left).
"""
from __future__ import annotations

import os

# Before torch is imported: idle OpenMP threads sleep instead of spinning. Spinning threads made training steps
# 5-8x slower on a loaded 2-core machine; set OMP_WAIT_POLICY=ACTIVE to override on a dedicated one.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import importlib  # noqa: E402
import pkgutil

import click

from s2sbench import __version__


class _Group(click.Group):
    def invoke(self, ctx: click.Context):  # noqa: D102
        from s2sbench.config import ConfigError
        from s2sbench.data.clip import ClipError
        from s2sbench.data.shards import ShardError
        from s2sbench.optional import MissingExtraError
        from s2sbench.registry import RegistryError
        from s2sbench.safety import SafetyError

        try:
            return super().invoke(ctx)
        except (ShardError, ClipError, ConfigError, RegistryError, SafetyError, FileNotFoundError,
                MissingExtraError) as e:
            raise click.ClickException(str(e)) from None
        except KeyboardInterrupt:
            click.echo("\nInterrupted (nothing half-written is left under a final name)", err=True)
            ctx.exit(130)
        except BrokenPipeError:  # output piped into a reader that stopped (`| head`)
            ctx.exit(1)
        except OSError as e:  # permission denied, disk full, address in use: the environment, not a bug
            where = f"{e.filename}: " if e.filename else ""
            raise click.ClickException(f"{where}{e.strerror or e} (check the path's permissions and free space, "
                                       f"or choose another --out)") from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="s2sbench")
def main() -> None:
    """s2sbench: build the Sound2Sight benchmark datasets, run the models, score them as the paper did."""


for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    for _cmd in getattr(importlib.import_module(f"{__name__}.{_mod}"), "COMMANDS", []):
        main.add_command(_cmd)

if __name__ == "__main__":
    main()
