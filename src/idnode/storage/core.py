"""What every layer of :class:`~idnode.storage.base.Store` shares.

The store is written as a stack of layers over the backend contract
(:class:`~idnode.storage.contract.Backend`), each in its own module, bottom to top: this
one, :mod:`.derived` (the index, counts and digests kept in step with every write),
:mod:`.backfill` (the bulk job that fills them) beside :mod:`.replicated` (replication and
the log's upkeep), and :mod:`.base` (:class:`~idnode.storage.base.Store` itself: reads,
writes and the rules of each operation). This module holds the bottom layer,
:class:`StoreCore` (the settings, the write lock and the error helpers), and the checks and
normal forms of prefixes, handle text and records that several layers apply.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import ClassVar, NoReturn

from idnode.errors import InvalidHandle, InvalidValue, StorageError
from idnode.identifiers.handle import ascii_upper, handle_key, strip_prefix_handle
from idnode.identifiers.value import HandleValue
from idnode.protocol.constants import MAX_VALUES_PER_HANDLE
from idnode.storage.contract import Backend
from idnode.storage.index import DEFAULT_INDEX_TYPES, check_index_types
from idnode.storage.ops import Record

__all__ = [
    "StoreCore",
    "by_index",
    "check_utf8",
    "checked_record",
    "normalise_prefix",
    "prefix_of",
    "prefix_range",
]


def normalise_prefix(prefix: str) -> str:
    """``0.na/88.1`` or ``88.1`` → ``88.1``; ASCII letters upper-cased.

    :raises InvalidHandle: empty, containing ``/`` or a control character.
    """
    bare = ascii_upper(strip_prefix_handle(prefix))
    if not bare or "/" in bare or any(ch < " " or ch == "\x7f" for ch in bare):
        raise InvalidHandle(handle=prefix, reason="not a prefix")
    check_utf8(bare)
    return bare


def check_utf8(text: str) -> None:
    """:raises InvalidHandle: ``text`` cannot be encoded as UTF-8."""
    # Lone surrogates pass Handle.parse but no database can store them.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidHandle(handle=text, reason="not valid Unicode") from None


def prefix_range(prefix: str) -> tuple[str, str]:
    """The key range ``[P/, P0)`` holding every handle under the normalised ``prefix``.

    ``0`` is the character after ``/``, so the range is exactly the keys starting ``P/``.
    """
    return prefix + "/", prefix + "0"


def prefix_of(key: str) -> str:
    """The prefix part of a handle key (what the per-prefix counts are kept by)."""
    return key.partition("/")[0]


def by_index(values: Iterable[HandleValue]) -> tuple[HandleValue, ...]:
    """``values`` sorted by index."""
    return tuple(sorted(values, key=lambda value: value.index))


def checked_record(record: Record) -> Record:
    """``record`` with its values in index order, after checking that it is one.

    :raises ValueError: the key is not the handle's, or an index occurs twice.
    """
    if record.key != handle_key(record.handle):
        raise ValueError(f"record key {record.key!r} is not that of {record.handle!r}")
    values = record.values
    if any(a.index >= b.index for a, b in pairwise(values)):
        values = by_index(values)
        if any(a.index == b.index for a, b in pairwise(values)):
            raise ValueError(f"an index occurs twice in the record of {record.handle!r}")
        record = Record(record.handle, record.key, values)
    return record


class StoreCore(Backend):
    """The bottom layer of :class:`~idnode.storage.base.Store`: its settings, the lock that
    serialises writes, and turning closed stores and driver errors into
    :class:`StorageError`."""

    #: The driver's exception classes; they surface as :class:`StorageError`.
    driver_errors: ClassVar[tuple[type[Exception], ...]] = ()

    def __init__(self, url: str, *, max_values: int = MAX_VALUES_PER_HANDLE,
                 index_types: Sequence[str] = DEFAULT_INDEX_TYPES) -> None:
        if max_values < 1:
            raise InvalidValue(reason=f"max_values must be at least 1, not {max_values}")
        self.url = url
        self.max_values = max_values
        self.index_types = check_index_types(index_types)
        self._write_lock = threading.Lock()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(reason=f"{self.url} is closed")

    def _fail(self, what: str, exc: Exception) -> NoReturn:
        raise StorageError(reason=f"{what} in {self.url} failed: {exc}") from exc
