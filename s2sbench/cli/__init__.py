"""The ``s2sbench`` command line: a thin click layer; each command calls one library function.

Commands live in the modules of this package (one topic per file), each exposing ``COMMANDS``, a list of click
commands; this group collects them, so adding a command never edits a central list. Command modules import
heavy libraries inside the command functions so that ``s2sbench --help`` stays fast.

Errors are handled here, once for every command:

- the project's own errors (``s2sbench.errors.S2SError``: a bad option, input or output, a failed tool) and the
  environment's (permission denied, disk full, a busy port) are printed as one ``Error:`` line, exit 1;
- usage errors exit 2 (click); Ctrl-C exits 130 (every file is written atomically, so nothing half-written is left);
- anything else is a bug: its traceback is shown, followed by one line asking to report it, exit 1.
"""
from __future__ import annotations

import os

# Before torch is imported: idle OpenMP threads sleep instead of spinning, which keeps training fast on a machine
# whose cores are shared (docs/performance.md); set OMP_WAIT_POLICY=ACTIVE to override on a dedicated one.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import errno
import importlib
import pkgutil

import click

from s2sbench import __version__

# OSError numbers that the environment causes (not a bug): shown as one line naming the file.
ENVIRONMENT_ERRNOS = {errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENOTDIR, errno.EISDIR,
                      errno.ENAMETOOLONG, errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EMFILE, errno.ENFILE}
BUG_NOTE = (f"This is a bug in s2sbench {__version__}: please report it with the command you ran and the traceback "
            f"above.")


class _Group(click.Group):
    def invoke(self, ctx: click.Context):  # noqa: D102
        from s2sbench.errors import S2SError

        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except S2SError as e:
            raise click.ClickException(str(e)) from None
        except KeyboardInterrupt:
            click.echo("\nInterrupted (nothing half-written is left under a final name)", err=True)
            ctx.exit(130)
        except BrokenPipeError:  # output piped into a reader that stopped (`| head`)
            ctx.exit(1)
        except OSError as e:
            if e.errno not in ENVIRONMENT_ERRNOS:
                _note_bug(e)
                raise
            where = f"{e.filename}: " if e.filename else ""
            raise click.ClickException(f"{where}{e.strerror or e} (check the path's permissions and free space, "
                                       f"or choose another --out)") from None
        except Exception as e:
            _note_bug(e)
            raise


def _note_bug(e: BaseException) -> None:
    """Python prints the note after the traceback (3.11+); 3.10 gets the line before it."""
    if hasattr(e, "add_note"):
        e.add_note(BUG_NOTE)
    else:
        click.echo(BUG_NOTE, err=True)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="s2sbench")
def main() -> None:
    """s2sbench: build the Sound2Sight benchmark datasets, run the models, score them as the paper did."""


for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    for _cmd in getattr(importlib.import_module(f"{__name__}.{_mod}"), "COMMANDS", []):
        main.add_command(_cmd)

if __name__ == "__main__":
    main()
