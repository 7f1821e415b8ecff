"""Small builders shared by the storage tests."""

from __future__ import annotations

from idnode.identifiers.handle import Handle
from idnode.identifiers.value import PERM_DEFAULT, HandleValue, Reference


def h(text: str) -> Handle:
    """A parsed handle."""
    return Handle.parse(text)


def v(index: int, data: str = "x", type_: str = "URL", *, ttl: int = 86400,
      timestamp: int = 0, permissions: int = PERM_DEFAULT,
      references: tuple[Reference, ...] = ()) -> HandleValue:
    """A value with text data."""
    return HandleValue(index, type_, data.encode(), ttl=ttl, timestamp=timestamp,
                       permissions=permissions, references=references)
