"""The one error of the bulk import: its input or checkpoint cannot be used."""

from __future__ import annotations

from idnode.errors import InvalidValue

__all__ = ["ImportRefused"]


class ImportRefused(InvalidValue):
    """A bad file format, header or checkpoint: nothing is imported (the CLI exits 2)."""

    fmt = "{reason}"
