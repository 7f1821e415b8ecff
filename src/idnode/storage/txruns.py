"""Runs of log entries kept as one row: how SQLite logs a run of new records cheaply.

A run of creates (:mod:`.creates`) writes hundreds or thousands of records in one
transaction, all logged with the same timestamp. As rows of ``txlog`` each entry costs an
insert as dear as the record's own (its values are logged whole: the log is a redo log); as
one row of ``txruns (first, last, ts, body)`` the run costs one insert, and its entries keep
consecutive ids ``first..last`` that readers see exactly as if they were ``txlog`` rows.

``body`` holds the entries in id order, each as a ``>HHI`` header (the key's length in
UTF-8 bytes, the handle's — 0 when the handle is spelled as its key — and the values'
length), then the key, the handle and the values as :func:`encode_values` writes them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

from idnode.errors import StorageError

__all__ = ["RunEntry", "encode_run", "run_entries"]

_HEADER = struct.Struct(">HHI")
#: a run entry: its id, key, handle text, encoded values, and where it starts in the body
RunEntry = tuple[int, str, str, bytes, int]


def encode_run(entries: Sequence[tuple[str, str, bytes]]) -> bytes:
    """The body of a run of ``(key, handle, encoded values)`` entries."""
    pack = _HEADER.pack
    parts: list[bytes] = []
    append = parts.append
    for key, handle, encoded in entries:
        key_bytes = key.encode("utf-8")
        if handle == key:
            append(pack(len(key_bytes), 0, len(encoded)))
            append(key_bytes)
        else:
            handle_bytes = handle.encode("utf-8")
            append(pack(len(key_bytes), len(handle_bytes), len(encoded)))
            append(key_bytes)
            append(handle_bytes)
        append(encoded)
    return b"".join(parts)


def run_entries(first: int, body: bytes, after: int = 0) -> Iterator[RunEntry]:
    """The entries of the run starting at id ``first``, from id ``after + 1`` on.

    :raises StorageError: the body is cut short (a damaged row).
    """
    unpack, size, end = _HEADER.unpack_from, _HEADER.size, len(body)
    view = memoryview(body)
    txn_id, at = first, 0
    while at < end:
        if at + size > end:
            raise StorageError(reason=f"log run {first}: entry {txn_id} is cut short")
        key_len, handle_len, vals_len = unpack(body, at)
        start, at = at, at + size
        stop = at + key_len + handle_len + vals_len
        if stop > end:
            raise StorageError(reason=f"log run {first}: entry {txn_id} is cut short")
        if txn_id > after:
            key = str(view[at:at + key_len], "utf-8")
            handle = key if handle_len == 0 else \
                str(view[at + key_len:at + key_len + handle_len], "utf-8")
            yield txn_id, key, handle, body[at + key_len + handle_len:stop], start
        txn_id, at = txn_id + 1, stop
