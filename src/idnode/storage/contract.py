"""What a storage backend implements, and the helpers backends share.

:class:`~idnode.storage.base.Store` writes the public API once over the low-level methods
of :class:`Backend`; a backend (memory, SQLite, PostgreSQL) implements only these, and none
of them decides anything about handles.

Write contract (called with the store's write lock held, inside ``_transaction()``):

- ``_transaction()``: a context manager around one database transaction. It takes whatever
  cross-process write lock the backend needs *first*, so transaction ids are assigned in
  commit order; it commits on a normal exit and rolls back on an exception.
- ``_savepoint()``: a context manager around one operation; releases on a normal exit and
  rolls back to the savepoint on an exception (which it re-raises).
- ``_load(key)``: the record as the current transaction sees it; ``_load_range(after,
  through)``: the records with ``after < key <= through`` (``None``: no upper bound).
- ``_put(record)``: store ``record`` whole, in place of any record of its key (every
  backend keeps a record as one row, so nothing of the old one needs reading).
- ``_drop(key)``: delete the handle and its values; return the record (``None`` when there
  was no handle).
- ``_index(key, entries)`` / ``_unindex(key, entries)``: add or remove reverse-index entries
  (:mod:`.index`); ``_count(prefix, delta)``: adjust a per-prefix handle count. The store
  calls them right after ``_put``/``_drop``, in the same savepoint, so the index and the
  counts commit or roll back with the data.
- ``_write_hashes(rows, gone)``, ``_load_buckets(buckets)`` and ``_write_buckets(rows,
  gone)``: the digests (:mod:`.digest`). The store buffers a transaction's digest changes
  and writes them once, just before the commit.
- ``_set_homed(prefix, homed)``: add or remove a homed prefix; False when nothing changed;
  ``_load_homed()``: the homed set as the transaction sees it.
- ``_append_txn(timestamp, op, key, handle, values)``: append one log entry;
  ``_existing_keys``, ``_insert_records``, ``_index_many`` and ``_append_txns`` do the same
  for a run of new records at once (:mod:`.creates`); they have one-by-one defaults;
  ``_copy_txn(txn)``: append a primary's entry with its id; ``_reserve_txn_ids(upto)``: make
  the next appended id greater than ``upto``; ``_newest_txn_id()``, ``_nth_newest_txn_id``,
  ``_delete_txns`` and ``_cut_txns`` for the log's upkeep.
- For the back-fill job and the public metadata: ``_meta``, ``_set_meta``, ``_clear_index``
  and ``_load_batch``.

Read contract (any thread, outside write transactions): ``_get``, ``_exists``,
``_scan_handles``, ``_scan_records``, ``_is_homed``, ``_homed``, ``_last_txn_id``,
``_oldest_txn_id``, ``_prunable_txn_ids``, ``_txns_after``, ``_count_of``, ``_read_meta``,
``_bucket_digests``, ``_bucket_hashes``, ``_close``; and for searches and other reads that
need one snapshot, inside ``_reading()``, ``_exact_keys``, ``_range_exceeds``,
``_range_keys``, ``_range_key_set`` and ``_get_many`` (and any of the others). Backends
list their driver's exception classes in ``driver_errors``; the store turns those into
:class:`~idnode.errors.StorageError`.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from idnode.errors import ProtocolError, StorageError
from idnode.identifiers.value import HandleValue, decode_values
from idnode.protocol.wire import Parser
from idnode.storage.index import Criterion, IndexEntry, IndexJob, encode_types
from idnode.storage.ops import Record, Txn

__all__ = [
    "BATCH_SIZE",
    "DIGEST_TABLES",
    "INDEX_TABLES",
    "META_FLOOR",
    "META_JOB",
    "META_TYPES",
    "SCHEMA_VERSION",
    "Backend",
    "Upgrade",
    "check_schema_version",
    "decode_value_list",
    "prunable_prefix",
    "upgrade_meta",
]

log = logging.getLogger("idnode.storage")

# A generous bound for decoding stored value lists; the real limit is checked on write.
_DECODE_LIMIT = 1 << 20


#: The storage schema this idnode writes; both SQL backends record it in ``meta``.
#: 1: handles, values, log, homed prefixes. 2: + the reverse index and per-prefix counts.
#: 3: + the record hashes and bucket digests (:mod:`.digest`), and the log's floor.
#: 4: SQLite keeps a record's values in its handle row and logs record hashes before folding
#: them in (the PostgreSQL layout is unchanged; only its recorded version moves).
#: 5: SQLite logs a run of creates as one row (:mod:`.txruns`); older idnodes would not see
#: those entries, hence the version (PostgreSQL: unchanged again).
SCHEMA_VERSION = 5
#: ``meta`` keys: the types the reverse index is complete for (JSON list; absent while a
#: back-fill runs), the back-fill in progress (:class:`~.index.IndexJob`), and the log's
#: floor (the position of a dump a mirror was loaded from; absent: 0).
META_TYPES = "index_types"
META_JOB = "index_job"
META_FLOOR = "txn_floor"
#: Handles per transaction of a back-fill.
BATCH_SIZE = 4000
#: The tables a back-fill fills: the reverse index with the counts, and the digests.
INDEX_TABLES = ("value_index", "value_index_rev", "handle_counts")
DIGEST_TABLES = ("record_hashes", "bucket_digests")


def check_schema_version(stored: object | None, where: str) -> int | None:
    """The schema version of a store (``stored`` is ``meta.schema_version``; ``None`` for a
    new store). Older versions are upgraded on open (:func:`upgrade_meta`).

    :raises StorageError: written by a newer idnode, or unreadable.
    """
    if stored is None:
        return None
    try:
        version = int(str(stored))
    except ValueError:
        raise StorageError(reason=f"{where}: unreadable schema version {stored!r}") from None
    if version > SCHEMA_VERSION:
        raise StorageError(reason=f"{where} has schema version {version}, newer than "
                                  f"{SCHEMA_VERSION} understood by this idnode; upgrade")
    return version


@dataclass(frozen=True, slots=True)
class Upgrade:
    """What opening a store at an older schema version changes, once the tables exist.

    :ivar meta: ``meta`` rows to write (``None``: delete the row).
    :ivar clear: the tables to empty first, so that the back-fill starts from nothing.
    """

    meta: dict[str, str | None] = field(default_factory=dict)
    clear: tuple[str, ...] = ()


def upgrade_meta(version: int | None, types: frozenset[str], where: str,
                 job: str | None = None) -> Upgrade:
    """What to change when opening a store at schema ``version`` (``None``: a new store) for
    the indexed ``types``; ``job`` is its ``meta`` back-fill row, if any.

    Version 3 or 4 → 5: only the recorded version changes here.
    Version 2 → 3: the digests start empty and a back-fill job for them alone is recorded.
    Version 1 (or 2 with a back-fill still under way) → 3: the reverse index, the handle
    counts and the digests all start empty and one job back-fills them. Either job is run by
    :meth:`Store._finish_open` in batches, resumably.
    """
    if version is None:
        return Upgrade({"schema_version": str(SCHEMA_VERSION), META_TYPES: encode_types(types)})
    if version >= SCHEMA_VERSION:
        return Upgrade()
    if version in (3, 4):  # the layout changes are the backend's; nothing to refill
        log.info("%s: upgrading the storage schema from version %d to %d", where, version,
                 SCHEMA_VERSION)
        return Upgrade({"schema_version": str(SCHEMA_VERSION)})
    if version == 2 and job is None:
        log.info("%s: upgrading the storage schema from version 2 to %d; the digests will be "
                 "back-filled", where, SCHEMA_VERSION)
        return Upgrade({"schema_version": str(SCHEMA_VERSION),
                        META_JOB: IndexJob(frozenset(), counts=False, index=False,
                                           digests=True).encode()},
                       DIGEST_TABLES)
    log.info("%s: upgrading the storage schema from version %d to %d; the reverse index, "
             "the handle counts and the digests will be back-filled", where, version,
             SCHEMA_VERSION)
    return Upgrade({"schema_version": str(SCHEMA_VERSION), META_TYPES: None,
                    META_JOB: IndexJob(types, counts=True, digests=True).encode()},
                   INDEX_TABLES + DIGEST_TABLES)


def decode_value_list(key: str, blob: bytes) -> tuple[HandleValue, ...]:
    """A value list stored with :func:`~idnode.identifiers.value.encode_values`."""
    try:
        parser = Parser(blob, "stored values")
        values = decode_values(parser, _DECODE_LIMIT)
        parser.expect_end()
    except ProtocolError as exc:
        raise StorageError(reason=f"corrupt value list stored for {key!r}: {exc}") from exc
    return values


def prunable_prefix(rows: Sequence[Sequence[Any]], before: float) -> list[int]:
    """The ids of ``(id, ts)`` rows (in id order) up to the first with ``ts >= before``."""
    ids = []
    for row in rows:
        if float(row[1]) >= before:
            break
        ids.append(int(row[0]))
    return ids


class Backend(ABC):
    """The low-level methods every backend implements (see the module docstring)."""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[None]:
        """One write transaction: lock, then begin; commit or roll back on exit."""

    @abstractmethod
    def _savepoint(self) -> AbstractContextManager[None]:
        """One operation inside the transaction: release, or roll back to it and re-raise."""

    @abstractmethod
    def _load(self, key: str) -> Record | None:
        """The record as the current write transaction sees it."""

    @abstractmethod
    def _load_range(self, after: str, through: str | None) -> list[Record]:
        """Records with ``after < key <= through`` (``None``: no upper bound), by key, as the
        write transaction sees them."""

    @abstractmethod
    def _put(self, record: Record) -> None:
        """Store ``record`` whole, replacing any record of its key."""

    @abstractmethod
    def _drop(self, key: str) -> Record | None:
        """Delete the handle and its values; the record, or None when it did not exist."""

    @abstractmethod
    def _index(self, key: str, entries: Sequence[IndexEntry]) -> None:
        """Add index entries of ``key`` (ignoring ones already present)."""

    @abstractmethod
    def _unindex(self, key: str, entries: Sequence[IndexEntry]) -> None:
        """Remove index entries of ``key`` (ignoring missing ones)."""

    @abstractmethod
    def _count(self, prefix: str, delta: int) -> None:
        """Add ``delta`` to the handle count of ``prefix``."""

    @abstractmethod
    def _meta(self, name: str) -> str | None:
        """A ``meta`` row as the write transaction sees it."""

    @abstractmethod
    def _set_meta(self, name: str, value: str | None) -> None:
        """Write (``None``: delete) a ``meta`` row."""

    @abstractmethod
    def _clear_index(self) -> None:
        """Empty the reverse index."""

    @abstractmethod
    def _load_batch(self, after: str, limit: int) -> list[Record]:
        """Records with ``key > after``, by key, as the write transaction sees them."""

    @abstractmethod
    def _write_hashes(self, rows: Sequence[tuple[int, str, bytes]],
                      gone: Sequence[tuple[int, str]]) -> None:
        """Upsert the record hashes ``(bucket, key, hash)``; delete those of ``gone``."""

    @abstractmethod
    def _load_buckets(self, buckets: Sequence[int]) -> dict[int, tuple[bytes, int]]:
        """The ``(xor, count)`` aggregates of the stored ones of ``buckets``."""

    @abstractmethod
    def _write_buckets(self, rows: Sequence[tuple[int, bytes, int]],
                       gone: Sequence[int]) -> None:
        """Upsert the aggregates ``(bucket, xor, count)``; delete the rows of ``gone``."""

    @abstractmethod
    def _set_homed(self, prefix: str, homed: bool) -> bool:
        """Add or remove a homed prefix; False when it already was in that state."""

    @abstractmethod
    def _load_homed(self) -> set[str]:
        """The homed prefixes as the write transaction sees them."""

    @abstractmethod
    def _append_txn(self, timestamp: float, op: str, key: str, handle: str,
                    values: tuple[HandleValue, ...]) -> None:
        """Append one entry to the transaction log."""

    # Runs of new records (.creates); a backend overrides these with multi-row statements.
    def _existing_keys(self, keys: Sequence[str]) -> set[str]:
        """Those of ``keys`` that have a record, as the write transaction sees it."""
        return {key for key in keys if self._load(key) is not None}

    def _insert_records(self, rows: Sequence[tuple[str, str, tuple[HandleValue, ...],
                                                    bytes]]) -> None:
        """Write new records ``(key, handle, values, encoded)``; none exists yet."""
        for key, handle, values, _ in rows:
            self._put(Record(handle, key, values))

    def _index_many(self, rows: Sequence[tuple[str, Sequence[IndexEntry]]]) -> None:
        """:meth:`_index` for each ``(key, entries)``."""
        for key, entries in rows:
            self._index(key, entries)

    def _append_txns(self, rows: Sequence[tuple[float, str, str, str,
                                                 tuple[HandleValue, ...], bytes]]) -> None:
        """Append log entries ``(timestamp, op, key, handle, values, encoded values)``, in
        order."""
        for timestamp, op, key, handle, values, _ in rows:
            self._append_txn(timestamp, op, key, handle, values)

    @abstractmethod
    def _copy_txn(self, txn: Txn) -> None:
        """Append ``txn`` to the log as it is, id included (greater than every id there)."""

    @abstractmethod
    def _reserve_txn_ids(self, upto: int) -> None:
        """Make every id the log assigns from now on greater than ``upto``."""

    @abstractmethod
    def _newest_txn_id(self) -> int:
        """The newest log entry's id as the write transaction sees it, 0 when empty."""

    @abstractmethod
    def _nth_newest_txn_id(self, n: int) -> int | None:
        """The id of the ``n``-th newest log entry (1: the newest); None when fewer."""

    @abstractmethod
    def _delete_txns(self, ids: Sequence[int], below: int, before: float) -> int:
        """Delete the log entries of ``ids`` with ``id < below`` and ``timestamp < before``;
        how many were deleted."""

    @abstractmethod
    def _cut_txns(self, after: int) -> list[Txn]:
        """Delete the log entries with ``id > after``; them, oldest first."""

    @abstractmethod
    def _get(self, key: str) -> Record | None:
        """The committed record under ``key``."""

    @abstractmethod
    def _exists(self, key: str) -> bool:
        """Whether a committed record exists under ``key``."""

    @abstractmethod
    def _scan_handles(self, start: str, inclusive: bool, stop: str, limit: int) -> list[str]:
        """Handle texts with ``start <(=) key < stop``, by key, at most ``limit``."""

    @abstractmethod
    def _scan_records(self, after: str, limit: int) -> list[Record]:
        """Records with ``key > after``, by key, at most ``limit``."""

    @abstractmethod
    def _is_homed(self, prefix: str) -> bool:
        """Whether the normalised ``prefix`` is homed."""

    @abstractmethod
    def _homed(self) -> list[str]:
        """All homed prefixes, sorted."""

    @abstractmethod
    def _last_txn_id(self) -> int:
        """The newest log entry's id, 0 when empty."""

    @abstractmethod
    def _txns_after(self, txn_id: int, limit: int) -> list[Txn]:
        """Log entries with ``id > txn_id``, oldest first, at most ``limit``."""

    @abstractmethod
    def _oldest_txn_id(self) -> int:
        """The oldest log entry's id, 0 when empty."""

    @abstractmethod
    def _prunable_txn_ids(self, after: int, below: int, before: float,
                          limit: int) -> list[int]:
        """Ids of the log entries with ``after < id < below``, ascending, up to (not
        including) the first whose timestamp is not before ``before``, at most ``limit``.

        The log is in commit order, so retention stops at the first entry still within it:
        a prune reads what it deletes and no more, however long the log (an entry written
        under a clock that stepped back waits for the entries before it).
        """

    @abstractmethod
    def _read_meta(self, name: str) -> str | None:
        """A committed ``meta`` row."""

    @abstractmethod
    def _bucket_digests(self) -> list[tuple[int, bytes, int]]:
        """Every stored bucket aggregate ``(bucket, xor, count)``, by bucket."""

    @abstractmethod
    def _bucket_hashes(self, bucket: int) -> list[tuple[str, bytes]]:
        """``(key, hash)`` of the records of ``bucket``, by key."""

    @abstractmethod
    def _reading(self) -> AbstractContextManager[None]:
        """One consistent snapshot for the reads made inside it (by this thread)."""

    @abstractmethod
    def _exact_keys(self, type_: str, data: str, start: str, inclusive: bool,
                    stop: str | None, limit: int) -> list[tuple[str, str]]:
        """(key, handle) of entries ``(type_, data)`` with ``start <(=) key < stop``, by
        key (a key repeats when several of its values match), at most ``limit`` rows."""

    @abstractmethod
    def _range_exceeds(self, criterion: Criterion, cap: int) -> bool:
        """Whether more than ``cap`` entries lie in ``criterion``'s scan range."""

    @abstractmethod
    def _range_keys(self, criterion: Criterion, start: str, stop: str | None,
                    limit: int) -> list[tuple[str, str]]:
        """(key, handle) of the handles with an entry in ``criterion``'s scan range that
        matches its pattern and ``start <= key < stop``; distinct, by key, at most
        ``limit``."""

    @abstractmethod
    def _range_key_set(self, criterion: Criterion, start: str, stop: str | None,
                       limit: int) -> set[str]:
        """The keys of the first ``limit`` entries in ``criterion``'s scan range that match
        its pattern and have ``start <= key < stop``."""

    @abstractmethod
    def _get_many(self, keys: Sequence[str]) -> dict[str, Record]:
        """The committed records of ``keys`` (missing ones left out)."""

    @abstractmethod
    def _count_of(self, prefix: str) -> int:
        """The handle count of the normalised ``prefix``."""

    @abstractmethod
    def _close(self) -> None:
        """Release every connection."""
