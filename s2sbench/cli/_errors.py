"""``friendly_errors``: turns the harness's expected failures into one ``Error:`` line (the group handles the rest)."""
from __future__ import annotations

import contextlib
from typing import Iterator

import click


@contextlib.contextmanager
def friendly_errors() -> Iterator[None]:
    from s2sbench.download.media import MediaError
    from s2sbench.train.distributed import DistributedError
    from s2sbench.train.trainer import TrainingError

    try:
        yield
    except (TrainingError, DistributedError, MediaError, ValueError) as e:
        raise click.ClickException(str(e)) from None
