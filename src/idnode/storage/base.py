"""The storage API, written once over a small private contract per backend.

:class:`Store` implements everything a caller sees: validation, the rules of each write
operation, group commit with one savepoint per operation, and journaling every successful
write to the transaction log in the same database transaction. A backend (memory, SQLite,
PostgreSQL) implements only the low-level methods listed below; none of them decides
anything about handles.

Write contract (called with the store's write lock held, inside :meth:`Store._transaction`):

- ``_transaction()``: a context manager around one database transaction. It takes whatever
  cross-process write lock the backend needs *first*, so transaction ids are assigned in
  commit order; it commits on a normal exit and rolls back on an exception.
- ``_savepoint()``: a context manager around one operation; releases on a normal exit and
  rolls back to the savepoint on an exception (which it re-raises).
- ``_load(key)``: the record as the current transaction sees it.
- ``_put(key, handle, values, removed)``: make sure the handle row exists (``handle`` is
  ``None`` when it exists and keeps its text), upsert ``values`` by index and delete the
  values at ``removed``.
- ``_drop(key)``: delete the handle and its values; False when there was none.
- ``_set_homed(prefix, homed)``: add or remove a homed prefix; False when nothing changed.
- ``_append_txn(timestamp, op, key, handle, values)``: append one log entry.

Read contract (any thread, outside write transactions): ``_get``, ``_exists``,
``_scan_handles``, ``_scan_records``, ``_is_homed``, ``_homed``, ``_last_txn_id``,
``_txns_after`` and ``_close``. Backends list their driver's exception classes in
``driver_errors``; this module turns those into :class:`~idnode.errors.StorageError`.
"""

from __future__ import annotations

import itertools
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, ClassVar, NoReturn

from idnode.errors import (
    HandleExists,
    HandleNotFound,
    InvalidHandle,
    InvalidValue,
    ProtocolError,
    RegistryError,
    StorageError,
    TooManyValues,
    ValueExists,
    ValuesNotFound,
    WriteConflict,
)
from idnode.identifiers.handle import (
    Handle,
    ascii_upper,
    handle_key,
    prefix_handle,
    strip_prefix_handle,
)
from idnode.identifiers.value import HandleValue, decode_values
from idnode.protocol.constants import MAX_VALUES_PER_HANDLE
from idnode.protocol.wire import Parser
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

__all__ = [
    "Store",
    "decode_value",
    "decode_value_list",
    "normalise_prefix",
    "prefix_range",
    "record_from_rows",
    "records_from_rows",
]

# A generous bound for decoding stored value lists; the real limit is checked on write.
_DECODE_LIMIT = 1 << 20


#: The storage schema this idnode writes; both SQL backends record it in ``meta``.
SCHEMA_VERSION = 1


def check_schema_version(stored: object | None, where: str) -> None:
    """Refuse a store written by a newer idnode (``stored`` is ``meta.schema_version``)."""
    if stored is None:
        return
    try:
        version = int(str(stored))
    except ValueError:
        raise StorageError(reason=f"{where}: unreadable schema version {stored!r}") from None
    if version > SCHEMA_VERSION:
        raise StorageError(reason=f"{where} has schema version {version}, newer than "
                                  f"{SCHEMA_VERSION} understood by this idnode; upgrade")


def normalise_prefix(prefix: str) -> str:
    """``0.na/88.1`` or ``88.1`` → ``88.1``; ASCII letters upper-cased.

    :raises InvalidHandle: empty, containing ``/`` or a control character.
    """
    bare = ascii_upper(strip_prefix_handle(prefix))
    if not bare or "/" in bare or any(ch < " " or ch == "\x7f" for ch in bare):
        raise InvalidHandle(handle=prefix, reason="not a prefix")
    _check_utf8(bare)
    return bare


def _check_utf8(text: str) -> None:
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


def decode_value(key: str, wire: bytes) -> HandleValue:
    """One stored value; corrupt bytes are a :class:`StorageError`, not a protocol error."""
    try:
        return HandleValue.from_wire(bytes(wire))
    except ProtocolError as exc:
        raise StorageError(reason=f"corrupt value stored for {key!r}: {exc}") from exc


def decode_value_list(key: str, blob: bytes) -> tuple[HandleValue, ...]:
    """A value list stored with :func:`~idnode.identifiers.value.encode_values`."""
    try:
        parser = Parser(blob, "stored values")
        values = decode_values(parser, _DECODE_LIMIT)
        parser.expect_end()
    except ProtocolError as exc:
        raise StorageError(reason=f"corrupt value list stored for {key!r}: {exc}") from exc
    return values


def record_from_rows(key: str, rows: Sequence[Sequence[Any]]) -> Record | None:
    """A record from the ``(handle, wire)`` rows of a handles-to-values LEFT JOIN.

    No rows means no record; a handle without values gives one row whose wire is NULL.
    """
    if not rows:
        return None
    values = tuple(decode_value(key, row[1]) for row in rows if row[1] is not None)
    return Record(rows[0][0], key, values)


def records_from_rows(rows: Sequence[Sequence[Any]]) -> list[Record]:
    """Records from ``(key, handle, wire)`` join rows ordered by key, then index."""
    records = []
    for key, group in itertools.groupby(rows, key=lambda row: str(row[0])):
        chunk = list(group)
        values = tuple(decode_value(key, row[2]) for row in chunk if row[2] is not None)
        records.append(Record(chunk[0][1], key, values))
    return records


def _check_expected(op: CreateHandle | DeleteHandle | AddValues | ModifyValues | RemoveValues,
                    current: Record | None) -> None:
    """Compare-and-set: refuse a write whose record changed since it was authorized."""
    if op.expect is None:
        return
    if current is None or current.values != _by_index(op.expect):
        raise WriteConflict(handle=op.handle.text)


def _by_index(values: Iterable[HandleValue]) -> tuple[HandleValue, ...]:
    return tuple(sorted(values, key=lambda value: value.index))


def _index_list(indexes: Iterable[int]) -> str:
    return ", ".join(str(index) for index in sorted(indexes))


class Store(ABC):
    """A handle store. Thread-safe: reads from any thread, writes serialised internally.

    Use :func:`idnode.storage.open_store` to get one.

    :ivar url: where the store lives (passwords redacted).
    :ivar kind: ``"sqlite"``, ``"postgresql"`` or ``"memory"``.
    :ivar max_values: the most values one record may hold.
    """

    kind: ClassVar[str]
    #: The driver's exception classes; they surface as :class:`StorageError`.
    driver_errors: ClassVar[tuple[type[Exception], ...]] = ()

    def __init__(self, url: str, *, max_values: int = MAX_VALUES_PER_HANDLE) -> None:
        if max_values < 1:
            raise InvalidValue(reason=f"max_values must be at least 1, not {max_values}")
        self.url = url
        self.max_values = max_values
        self._write_lock = threading.Lock()
        self._closed = False

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

    # -- writes -------------------------------------------------------------------------
    def apply(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Run ``ops`` in one database transaction (group commit).

        Each operation runs inside its own savepoint, so a failing operation is rolled back
        alone and the others still commit. The results are returned after the commit.

        :returns: one result per operation: the record after the write (create, add, modify,
            remove), ``None`` (delete, home, unhome), or the :class:`RegistryError` the
            operation raised (not raised).
        :raises StorageError: the transaction could not be committed; nothing was written.
        """
        if not ops:
            self._check_open()
            return []
        with self._write_lock:
            self._check_open()  # under the lock: close() cannot slip in before the write
            try:
                return self._run(ops)
            except StorageError:
                raise
            except RegistryError as exc:
                # Only a lone operation runs without a savepoint; its error was rolled back
                # with the whole transaction.
                return [exc]
            except self.driver_errors as exc:
                self._fail("writing", exc)

    def _run(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results: list[WriteResult] = []
        with self._transaction():
            if len(ops) == 1:
                # A savepoint would only duplicate the transaction: skip its round trips.
                results.append(self._execute(ops[0]))
                return results
            for op in ops:
                try:
                    with self._savepoint():
                        results.append(self._execute(op))
                except StorageError:
                    raise
                except RegistryError as exc:
                    results.append(exc)
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
            _check_utf8(op.handle.text)
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
        self._put(key, op.handle.text, values, removed)
        return self._logged(OP_CREATE, Record(op.handle.text, key, values))

    def _delete(self, op: DeleteHandle) -> None:
        if op.expect is not None:
            _check_expected(op, self._load(op.handle.key))
        if not self._drop(op.handle.key):
            raise HandleNotFound(handle=op.handle.text)
        self._append_txn(time.time(), OP_DELETE, op.handle.key, op.handle.text, ())

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
        self._put(old.key, None, values, ())
        return self._logged(OP_ADD, Record(old.handle, old.key, _by_index(merged.values())))

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
        self._put(old.key, None, values, ())
        return self._logged(OP_MODIFY, Record(old.handle, old.key, _by_index(merged.values())))

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
        self._put(old.key, None, (), sorted(wanted))
        kept = tuple(value for value in old.values if value.index not in wanted)
        return self._logged(OP_REMOVE, Record(old.handle, old.key, kept))

    def _home(self, prefix: str, *, homed: bool) -> None:
        bare = normalise_prefix(prefix)
        changed = self._set_homed(bare, homed)
        if not homed and not changed:
            raise HandleNotFound(f"prefix {bare} is not homed here",
                                 handle=prefix_handle(bare))
        self._append_txn(time.time(), OP_HOME if homed else OP_UNHOME, bare,
                         prefix_handle(bare), ())

    # -- helpers ------------------------------------------------------------------------
    def _existing(self, handle: Handle) -> Record:
        record = self._load(handle.key)
        if record is None:
            raise HandleNotFound(handle=handle.text)
        return record

    def _checked(self, values: Sequence[HandleValue]) -> tuple[HandleValue, ...]:
        """``values`` sorted by index, after the checks every stored value must pass."""
        self._check_count(len(values))
        seen: set[int] = set()
        for value in values:
            if value.index == 0:
                raise InvalidValue(reason=f"index 0 cannot be stored ({value.type} value)")
            if value.index in seen:
                raise InvalidValue(reason=f"index {value.index} given twice")
            seen.add(value.index)
        return _by_index(values)

    def _check_count(self, count: int) -> None:
        if count > self.max_values:
            raise TooManyValues(count=count, limit=self.max_values)

    def _logged(self, op: str, record: Record) -> Record:
        self._append_txn(time.time(), op, record.key, record.handle, record.values)
        return record

    @staticmethod
    def _record(result: WriteResult) -> Record:
        assert isinstance(result, Record)  # the convenience wrappers' ops always return one
        return result

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(reason=f"{self.url} is closed")

    def _fail(self, what: str, exc: Exception) -> NoReturn:
        raise StorageError(reason=f"{what} in {self.url} failed: {exc}") from exc

    # -- the backend contract -----------------------------------------------------------
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
    def _put(self, key: str, handle: str | None, values: Sequence[HandleValue],
             removed: Sequence[int]) -> None:
        """Ensure the handle row, upsert ``values`` by index, delete ``removed`` indexes."""

    @abstractmethod
    def _drop(self, key: str) -> bool:
        """Delete the handle and its values; False when it did not exist."""

    @abstractmethod
    def _set_homed(self, prefix: str, homed: bool) -> bool:
        """Add or remove a homed prefix; False when it already was in that state."""

    @abstractmethod
    def _append_txn(self, timestamp: float, op: str, key: str, handle: str,
                    values: tuple[HandleValue, ...]) -> None:
        """Append one entry to the transaction log."""

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
    def _close(self) -> None:
        """Release every connection."""
