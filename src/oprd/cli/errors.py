"""Turn known input errors into one ``error: ...`` line on stderr and exit code 2.

Use as ``with handle_errors():`` around a command body (or ``@handle_errors()`` on it). With
``OPRD_DEBUG=1`` the exception propagates instead, traceback included.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from oprd.errors import OprdInputError


@contextmanager
def handle_errors() -> Iterator[None]:
    """Map :class:`OprdInputError` to ``error: <message>`` on stderr and ``typer.Exit(2)``."""
    try:
        yield
    except OprdInputError as exc:
        if os.environ.get("OPRD_DEBUG") == "1":
            raise
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
