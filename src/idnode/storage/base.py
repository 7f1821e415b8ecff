"""The storage API, written once over a small private contract per backend.

:class:`Store` implements everything a caller sees; a backend implements only the low-level
methods of :class:`~idnode.storage.contract.Backend`. It is built from layers, each in its
own module (:mod:`.core` describes the stack): :mod:`.derived` keeps the reverse index, the
per-prefix handle counts and the digests (:mod:`.digest`) in step with every write (same
savepoint), :mod:`.backfill` runs the job that (re)builds them, and :mod:`.replicated` holds
the primitives of replication (replaying a primary's log with its ids, installing pages of
a dump) and the log's upkeep.

This module holds the top layer, :class:`Store` itself: the reads and searches, validation,
group commit with one savepoint per operation, the rules of each write operation and
journaling every successful write to the transaction log in the same database transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import ClassVar

from idnode.errors import (
    HandleExists,
    HandleNotFound,
    InvalidValue,
    RegistryError,
    StorageError,
    ValueExists,
    ValuesNotFound,
    WriteConflict,
)
from idnode.identifiers.handle import Handle, handle_key, prefix_handle
from idnode.identifiers.value import HandleValue
from idnode.storage.contract import BATCH_SIZE
from idnode.storage.core import (
    by_index,
    check_utf8,
    normalise_prefix,
    prefix_range,
)
from idnode.storage.creates import Prepared, plain_create_runs
from idnode.storage.digest import BUCKETS
from idnode.storage.index import MAX_SEARCH_LIMIT, plan_search
from idnode.storage.ops import (
    OP_ADD,
    OP_CREATE,
    OP_DELETE,
    OP_HOME,
    OP_MODIFY,
    OP_REMOVE,
    OP_UNHOME,
    AddValues,
    CreateHandle,
    DeleteHandle,
    HomePrefix,
    ModifyValues,
    Record,
    RemoveValues,
    Txn,
    UnhomePrefix,
    WriteOp,
    WriteResult,
)
from idnode.storage.plans import PlannedRuns, RunPlan
from idnode.storage.replicated import Replicated
from idnode.storage.search import find

__all__ = ["PRUNE_BATCH", "Store", "normalise_prefix", "prefix_range"]

# Still defined here for code that imports it from this module; .backfill logs to it.
log = logging.getLogger("idnode.storage")

# BATCH_SIZE and PRUNE_BATCH are read from this module's globals when a job or a prune
# starts, and handed down to the layers, so setting them here (as tests do) takes effect.
#: Log entries deleted per transaction by :meth:`Store.prune_txns` (a SQLite run of creates,
#: one row however many entries it holds, counts as one).
PRUNE_BATCH = 10_000
#: Keys per query of :meth:`Store.get_records` (SQLite allows a few thousand parameters).
_KEYS_PER_QUERY = 500


def _check_expected(op: CreateHandle | DeleteHandle | AddValues | ModifyValues | RemoveValues,
                    current: Record | None) -> None:
    """Compare-and-set: refuse a write whose record changed since it was authorized."""
    if op.expect is None:
        return
    if current is None or current.values != by_index(op.expect):
        raise WriteConflict(handle=op.handle.text)


def _index_list(indexes: Iterable[int]) -> str:
    return ", ".join(str(index) for index in sorted(indexes))


class Store(Replicated, PlannedRuns):
    """A handle store. Thread-safe: reads from any thread, writes serialised internally.

    Use :func:`idnode.storage.open_store` to get one.

    :ivar url: where the store lives (passwords redacted).
    :ivar kind: ``"sqlite"``, ``"postgresql"`` or ``"memory"``.
    :ivar max_values: the most values one record may hold.
    :ivar index_types: the value types the reverse index holds (ASCII upper case).
    :ivar search_scan_limit: the most index entries one :meth:`search` may examine.
    """

    kind: ClassVar[str]
    search_scan_limit: int = 200_000

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- reads --------------------------------------------------------------------------
    def get_record(self, key: str) -> Record | None:
        """The record stored under ``key`` (a :attr:`Handle.key`), or ``None``."""
        self._check_open()
        try:
            return self._get(key)
        except self.driver_errors as exc:
            self._fail("reading a record", exc)

    def exists(self, key: str) -> bool:
        """Whether a record is stored under ``key``."""
        self._check_open()
        try:
            return self._exists(key)
        except self.driver_errors as exc:
            self._fail("reading a record", exc)

    def list_handles(self, prefix: str, *, after: str = "", limit: int = 1000) -> list[str]:
        """Handle texts under ``prefix``, ordered by key.

        :param prefix: a bare prefix (``88.1``; ``0.NA/88.1`` is accepted too), matched
            ASCII-case-insensitively.
        :param after: keyset paging: only handles whose key is greater (the key or the text
            of the last handle of the previous page).
        :param limit: the most handles to return.
        """
        self._check_open()
        low, high = prefix_range(normalise_prefix(prefix))
        if limit <= 0:
            return []
        # One effective lower bound, so every page is a single index range scan.
        after_key = handle_key(after) if after else ""
        start, inclusive = (after_key, False) if after_key >= low else (low, True)
        if start >= high:
            return []
        try:
            return self._scan_handles(start, inclusive, high, limit)
        except self.driver_errors as exc:
            self._fail("listing handles", exc)

    def dump(self, *, after: str = "", limit: int = 1000) -> list[Record]:
        """All records with a key greater than ``after``, ordered by key (keyset paging)."""
        self._check_open()
        if limit <= 0:
            return []
        try:
            return self._scan_records(handle_key(after) if after else "", limit)
        except self.driver_errors as exc:
            self._fail("dumping records", exc)

    def is_homed(self, prefix: str) -> bool:
        """Whether ``prefix`` (bare or ``0.NA/`` form, any ASCII case) is homed here."""
        self._check_open()
        try:
            return self._is_homed(normalise_prefix(prefix))
        except self.driver_errors as exc:
            self._fail("reading homed prefixes", exc)

    def homed_prefixes(self) -> list[str]:
        """The homed prefixes, normalised (ASCII upper case), sorted."""
        self._check_open()
        try:
            return self._homed()
        except self.driver_errors as exc:
            self._fail("reading homed prefixes", exc)

    def last_txn_id(self) -> int:
        """The id of the newest transaction log entry; 0 when the log is empty."""
        self._check_open()
        try:
            return self._last_txn_id()
        except self.driver_errors as exc:
            self._fail("reading the transaction log", exc)

    def txns_after(self, txn_id: int, limit: int = 1000) -> list[Txn]:
        """Log entries with an id greater than ``txn_id``, oldest first."""
        self._check_open()
        if limit <= 0:
            return []
        try:
            return self._txns_after(txn_id, limit)
        except self.driver_errors as exc:
            self._fail("reading the transaction log", exc)

    def get_records(self, keys: Sequence[str]) -> dict[str, Record]:
        """The records stored under ``keys``, by key (missing ones left out), all read from
        one snapshot."""
        self._check_open()
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Record] = {}
        try:
            with self._reading():
                for start in range(0, len(wanted), _KEYS_PER_QUERY):
                    found.update(self._get_many(wanted[start:start + _KEYS_PER_QUERY]))
        except self.driver_errors as exc:
            self._fail("reading records", exc)
        return found

    def bucket_digests(self) -> list[tuple[int, bytes, int]]:
        """``(bucket, XOR of its record hashes, record count)`` of every non-empty bucket,
        ascending (:mod:`.digest`); read from the 4096 aggregates, not the records."""
        self._check_open()
        try:
            return self._bucket_digests()
        except self.driver_errors as exc:
            self._fail("reading digests", exc)

    def bucket_hashes(self, bucket: int) -> list[tuple[str, bytes]]:
        """``(key, record hash)`` of every record in ``bucket``, by key.

        :raises ValueError: ``bucket`` is not in ``range(BUCKETS)``.
        """
        if not 0 <= bucket < BUCKETS:
            raise ValueError(f"bucket {bucket} is not in 0..{BUCKETS - 1}")
        self._check_open()
        try:
            return self._bucket_hashes(bucket)
        except self.driver_errors as exc:
            self._fail("reading digests", exc)

    def search(self, criteria: Sequence[tuple[str, str]], *, limit: int, offset: int = 0,
               prefix: str | None = None) -> list[str]:
        """Handles (their text) having, for every ``(type, pattern)`` criterion, an indexed
        value of that type whose data matches the pattern; distinct, ordered by key.

        Types compare ASCII-case-insensitively; in a pattern ``*`` matches any run of
        characters and everything else is literal, case-sensitively. Only indexed values
        are found (see :mod:`idnode.storage.index`); a type outside :attr:`index_types`
        finds nothing. The criterion with an exact pattern or else the longest literal
        beginning or end drives an index range scan; the others are checked against its
        candidates, from their own range when that is small, else on the records. A wildcard
        pattern's matches are all gathered to be ordered by key, so its anchor range may
        hold at most :attr:`search_scan_limit` entries; a record checked counts as 20.

        :param limit: 1 to 100 000 handles.
        :param offset: how many matching handles to skip.
        :param prefix: only handles under this prefix (bare or ``0.NA/`` form, any case).
        :raises InvalidValue: a bad limit, offset or pattern (a wildcard pattern needs a
            literal beginning or end of at least 3 characters), or a search that would
            examine more than :attr:`search_scan_limit` index entries.
        """
        self._check_open()
        if not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise InvalidValue(reason=f"search limit must be 1 to {MAX_SEARCH_LIMIT}, "
                                      f"not {limit}")
        if offset < 0:
            raise InvalidValue(reason=f"search offset must not be negative ({offset})")
        plan = plan_search(criteria)
        start, stop = ("", None) if prefix is None else prefix_range(normalise_prefix(prefix))
        if any(criterion.type not in self.index_types for criterion in plan):
            return []
        try:
            with self._reading():
                found = find(self, self.index_types, self.search_scan_limit, plan[0],
                             plan[1:], start, stop, offset + limit)
            return found[offset:]
        except self.driver_errors as exc:
            self._fail("searching", exc)

    def count_handles(self, prefix: str) -> int:
        """How many handles are stored under ``prefix`` (bare or ``0.NA/`` form, any case);
        one lookup in a counter kept with every create and delete."""
        self._check_open()
        bare = normalise_prefix(prefix)
        try:
            return self._count_of(bare)
        except self.driver_errors as exc:
            self._fail("counting handles", exc)

    def rebuild_index(self) -> None:
        """Rebuild the reverse index for :attr:`index_types` from the records: a bulk job in
        transactions of :data:`BATCH_SIZE` handles in key order, progress logged at INFO.
        Searches during the rebuild may miss handles not reached yet."""
        self._check_open()
        try:
            self._run_index_jobs(restart=True, batch=BATCH_SIZE)
        except self.driver_errors as exc:
            self._fail("rebuilding the reverse index", exc)

    # -- writes -------------------------------------------------------------------------
    def apply(self, ops: Sequence[WriteOp],
              prepared: Sequence[Prepared | RegistryError | None] | None = None,
              plan: RunPlan | None = None) -> list[WriteResult]:
        """Run ``ops`` in one database transaction (group commit).

        Each operation runs inside its own savepoint, so a failing operation is rolled back
        alone and the others still commit. The results are returned after the commit.

        :param prepared: :meth:`prepare_creates` of ``ops``, worked out beforehand.
        :param plan: :meth:`plan_run` of ``ops`` and ``prepared``; when it holds, the
            returned list is ``plan.results`` itself (every create succeeded).
        :returns: one result per operation: the record after the write (create, add, modify,
            remove), ``None`` (delete, home, unhome), or the :class:`RegistryError` the
            operation raised (not raised).
        :raises StorageError: the transaction could not be committed; nothing was written.
        """
        if prepared is not None and len(prepared) != len(ops):
            raise ValueError(f"{len(prepared)} prepared creates for {len(ops)} operations")
        if plan is not None and (prepared is None or len(plan.keys) != len(ops)):
            raise ValueError("a run's plan without its prepared creates, or for other ones")
        if not ops:
            self._check_open()
            return []
        with self._write_lock:
            self._check_open()  # under the lock: close() cannot slip in before the write
            try:
                if plan is not None:
                    with self._writing():
                        return self._planned_run(ops, prepared or (), plan)
                return self._run(ops, prepared)
            except StorageError:
                raise
            except RegistryError as exc:
                # Raised by a lone operation (it runs without a savepoint) or from inside a
                # run of creates (.creates): the whole transaction was rolled back, so every
                # operation failed with it.
                return [exc] * len(ops)
            except self.driver_errors as exc:
                self._fail("writing", exc)

    def _run(self, ops: Sequence[WriteOp],
             prepared: Sequence[Prepared | RegistryError | None] | None) -> list[WriteResult]:
        results: list[WriteResult] = []
        with self._writing():
            if len(ops) == 1:
                # A savepoint would only duplicate the transaction: skip its round trips.
                results.append(self._execute(ops[0]))
                return results
            pending = self._buffered()
            n = 0
            for start, end in [*plain_create_runs(ops), (len(ops), len(ops))]:
                for op in ops[n:start]:
                    mark = pending.mark()
                    try:
                        with self._savepoint():
                            results.append(self._execute(op))
                    except StorageError:
                        raise
                    except RegistryError as exc:
                        # Any other error aborts the whole transaction, buffer and all.
                        pending.undo(mark)
                        results.append(exc)
                if start < end:  # new records of distinct handles: no savepoints (.creates)
                    results.extend(self._create_run(
                        ops[start:end], [None] * (end - start) if prepared is None
                        else prepared[start:end]))
                n = end
        return results

    def _apply_one(self, op: WriteOp) -> WriteResult:
        result = self.apply([op])[0]
        if isinstance(result, RegistryError):
            raise result
        return result

    def create_handle(self, handle: Handle, values: Sequence[HandleValue], *,
                      overwrite: bool = False) -> Record:
        """Create ``handle``; with ``overwrite``, replace an existing record entirely.

        :raises HandleExists: it exists and ``overwrite`` is false.
        """
        return self._record(self._apply_one(CreateHandle(handle, tuple(values), overwrite)))

    def delete_handle(self, handle: Handle) -> None:
        """Delete ``handle``. :raises HandleNotFound: there is no such handle."""
        self._apply_one(DeleteHandle(handle))

    def add_values(self, handle: Handle, values: Sequence[HandleValue], *,
                   overwrite: bool = False) -> Record:
        """Add ``values``; with ``overwrite``, replace values whose index exists.

        :raises HandleNotFound: no such handle.
        :raises ValueExists: an index is taken and ``overwrite`` is false.
        """
        return self._record(self._apply_one(AddValues(handle, tuple(values), overwrite)))

    def modify_values(self, handle: Handle, values: Sequence[HandleValue]) -> Record:
        """Replace existing values, matched by index.

        :raises ValuesNotFound: an index is not present.
        """
        return self._record(self._apply_one(ModifyValues(handle, tuple(values))))

    def remove_values(self, handle: Handle, indexes: Sequence[int]) -> Record:
        """Remove the values at ``indexes``. :raises ValuesNotFound: one is not present."""
        return self._record(self._apply_one(RemoveValues(handle, tuple(indexes))))

    def home_prefix(self, prefix: str) -> None:
        """Home ``prefix`` (idempotent)."""
        self._apply_one(HomePrefix(prefix))

    def unhome_prefix(self, prefix: str) -> None:
        """Unhome ``prefix``. :raises HandleNotFound: it is not homed."""
        self._apply_one(UnhomePrefix(prefix))

    # -- the log's upkeep (the rest of it is in .replicated) ------------------------------
    def prune_txns(self, *, before: float, keep: int = 1) -> int:
        """Delete the log entries written before the unix time ``before``, except the newest
        ``keep`` entries (so :meth:`position` never goes back), in transactions of at most
        :data:`PRUNE_BATCH` entries; the entries are found outside the write lock.

        :returns: how many entries were deleted.
        :raises ValueError: ``keep`` is less than 1.
        """
        return self._prune_txns(before, keep, PRUNE_BATCH)

    def bulk_writes(self) -> None:
        """Tune this store object for a bulk job (an import) that writes large groups and
        calls :meth:`checkpoint` after each, while another process writes (SQLite: commits
        leave most of the copying of the write-ahead log to those checkpoints, and the
        logged record hashes are folded in larger passes; nothing to do elsewhere). Other
        store objects on the same database are not affected. End with
        :meth:`end_bulk_writes`."""

    def end_bulk_writes(self) -> None:
        """Undo :meth:`bulk_writes`, leaving the database as other writes keep it (SQLite:
        the record hashes the job logged are folded but for half of ``FOLD_AT``, the
        write-ahead log checkpointed).

        :raises StorageError: the database could not be written.
        """

    def checkpoint(self) -> None:
        """Copy what the write-ahead log holds into the database without holding up
        writers (SQLite; nothing to do elsewhere).

        :raises StorageError: the database could not be read or written.
        """

    def close(self) -> None:
        """Release connections; later calls raise :class:`StorageError`. Idempotent."""
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            self._close()

    # -- the rules of each operation ----------------------------------------------------
    def _execute(self, op: WriteOp) -> WriteResult:
        if not isinstance(op, HomePrefix | UnhomePrefix):
            check_utf8(op.handle.text)
        match op:
            case CreateHandle():
                return self._create(op)
            case DeleteHandle():
                self._delete(op)
                return None
            case AddValues():
                return self._add(op)
            case ModifyValues():
                return self._modify(op)
            case RemoveValues():
                return self._remove(op)
            case HomePrefix():
                self._home(op.prefix, homed=True)
                return None
            case UnhomePrefix():
                self._home(op.prefix, homed=False)
                return None
        raise InvalidValue(reason=f"not a write operation: {op!r}")

    def _create(self, op: CreateHandle) -> Record:
        values = self._checked(op.values)
        key = op.handle.key
        old = self._load(key)
        _check_expected(op, old)
        if old is not None and not op.overwrite:
            raise HandleExists(handle=op.handle.text)
        kept = {value.index for value in values}
        removed = [] if old is None else [i for i in old.indexes() if i not in kept]
        record = Record(op.handle.text, key, values)
        self._put(record)
        self._reindex(key, () if old is None else old.values, values, removed)
        if old is None:
            self._tally(key, 1)
        self._rehash(key, old, record)
        return self._logged(OP_CREATE, record)

    def _delete(self, op: DeleteHandle) -> None:
        key = op.handle.key
        if op.expect is not None:
            _check_expected(op, self._load(key))
        dropped = self._drop(key)
        if dropped is None:
            raise HandleNotFound(handle=op.handle.text)
        self._forget(dropped)
        self._append_txn(time.time(), OP_DELETE, key, op.handle.text, ())

    def _add(self, op: AddValues) -> Record:
        old = self._existing(op.handle)
        _check_expected(op, old)
        values = self._checked(op.values)
        merged = {value.index: value for value in old.values}
        taken = [value.index for value in values if value.index in merged]
        if taken and not op.overwrite:
            raise ValueExists(handle=old.handle,
                              reason=f"index {_index_list(taken)} already in use")
        merged.update((value.index, value) for value in values)
        self._check_count(len(merged))
        record = Record(old.handle, old.key, by_index(merged.values()))
        self._put(record)
        self._reindex(old.key, old.values, values, ())
        self._rehash(old.key, old, record)
        return self._logged(OP_ADD, record)

    def _modify(self, op: ModifyValues) -> Record:
        old = self._existing(op.handle)
        _check_expected(op, old)
        values = self._checked(op.values)
        merged = {value.index: value for value in old.values}
        missing = [value.index for value in values if value.index not in merged]
        if missing:
            raise ValuesNotFound(handle=old.handle,
                                 reason=f"no value at index {_index_list(missing)}")
        merged.update((value.index, value) for value in values)
        record = Record(old.handle, old.key, by_index(merged.values()))
        self._put(record)
        self._reindex(old.key, old.values, values, ())
        self._rehash(old.key, old, record)
        return self._logged(OP_MODIFY, record)

    def _remove(self, op: RemoveValues) -> Record:
        old = self._existing(op.handle)
        _check_expected(op, old)
        wanted = set(op.indexes)
        if len(wanted) != len(op.indexes):
            raise InvalidValue(reason=f"index listed twice in removal from {old.handle}")
        present = set(old.indexes())
        missing = wanted - present
        if missing:
            raise ValuesNotFound(handle=old.handle,
                                 reason=f"no value at index {_index_list(missing)}")
        record = Record(old.handle, old.key,
                        tuple(value for value in old.values if value.index not in wanted))
        self._put(record)
        self._reindex(old.key, old.values, (), wanted)
        self._rehash(old.key, old, record)
        return self._logged(OP_REMOVE, record)

    def _home(self, prefix: str, *, homed: bool) -> None:
        bare = normalise_prefix(prefix)
        changed = self._set_homed(bare, homed)
        if not homed and not changed:
            raise HandleNotFound(f"prefix {bare} is not homed here",
                                 handle=prefix_handle(bare))
        self._append_txn(time.time(), OP_HOME if homed else OP_UNHOME, bare,
                         prefix_handle(bare), ())

    # -- the back-fill job (run by .backfill) --------------------------------------------
    def _finish_open(self) -> None:
        """Run (or help another process finish) any pending back-fill; called by backends
        at the end of opening. Closes the store when that fails."""
        try:
            self._run_index_jobs(restart=False, batch=BATCH_SIZE)
        except BaseException as exc:
            self.close()
            if isinstance(exc, self.driver_errors):
                self._fail("back-filling the reverse index", exc)
            raise

    # -- helpers ------------------------------------------------------------------------
    def _existing(self, handle: Handle) -> Record:
        record = self._load(handle.key)
        if record is None:
            raise HandleNotFound(handle=handle.text)
        return record

    def _logged(self, op: str, record: Record) -> Record:
        self._append_txn(time.time(), op, record.key, record.handle, record.values)
        return record

    @staticmethod
    def _record(result: WriteResult) -> Record:
        assert isinstance(result, Record)  # the convenience wrappers' ops always return one
        return result
