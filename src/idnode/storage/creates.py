"""Runs of new records written together: the layer that makes bulk registration cheap.

A group commit (``Store.apply``) normally runs each operation in a savepoint, so that a
failing one rolls back alone. For the commonest batch, creates of distinct handles that do
not exist yet, everything that could make one fail is known before any row is written: the
values' checks, and whether the handle exists, which one query per run answers inside the
write transaction (under the store's write lock, so nobody can create it in between). Such
a run then needs no savepoints: its rows, log entries, index entries, hashes and counts are
written with one multi-row statement per table (``_insert_records``, ``_append_txns``,
``_index_many``), which is what lets ``idnode import`` and the SNMS batch API approach the
speed of the database itself.

The result is the same as running the creates one by one (the tests compare the two): the
same records, log entries in the same order, the same index, counts and digests. A create
that overwrites an existing record, or carries a compare-and-set expectation, is not part
of a run; the store runs it on its own, in its savepoint.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

from idnode.errors import HandleExists, InvalidValue, RegistryError, TooManyValues
from idnode.identifiers.handle import ascii_upper
from idnode.identifiers.value import HandleValue
from idnode.storage.backfill import Backfill
from idnode.storage.core import by_index, check_utf8, prefix_of
from idnode.storage.digest import hash_and_bucket
from idnode.storage.index import IndexEntry, index_entries
from idnode.storage.ops import OP_CREATE, CreateHandle, Record, WriteOp, WriteResult

__all__ = ["NewRecord", "Prepared", "RunCreates", "is_plain_create", "new_record",
           "plain_create_runs"]

#: One new record as the backends write it: key, handle text, values in index order, and
#: all of them encoded (count + wires) as the record row and the log entry hold them.
NewRecord = tuple[str, str, tuple[HandleValue, ...], bytes]


def is_plain_create(op: WriteOp) -> bool:
    """A create that can join a run: no overwrite and no compare-and-set."""
    return type(op) is CreateHandle and not op.overwrite and op.expect is None


class Prepared(NamedTuple):
    """A plain create worked out before its transaction: everything but the writing. (A
    named tuple: one is made per create, in a third of a frozen dataclass's time.)"""

    key: str
    text: str
    values: tuple[HandleValue, ...]
    encoded: bytes
    digest: bytes
    bucket: int
    entries: list[IndexEntry]


class RunCreates(Backfill):
    """Writes a run of plain creates of distinct handles without savepoints."""

    def prepare_creates(self, ops: Sequence[WriteOp],
                        encoded: Sequence[bytes | None] | None = None,
                        ) -> list[Prepared | RegistryError | None]:
        """Work out, outside any transaction and lock, what each plain create of ``ops``
        will write (``None`` for other operations, the error for values that fail their
        checks). Hand the list to :meth:`apply` with the same ``ops``: the bulk importer
        does this on its reading thread while the previous batch is written.

        :param encoded: for each of ``ops``, its values as
            :func:`~idnode.identifiers.value.encode_values` writes them, if they are in index
            order: made by the caller with the values, so that they need not be encoded
            again (None: worked out here).
        """
        memo: dict[int, bytes] = {}
        plain: set[str] = set()
        given = encoded if encoded is not None else [None] * len(ops)
        return [self._prepare(op, memo, plain, done) if is_plain_create(op) else None
                for op, done in zip(ops, given, strict=True)]

    def _prepare(self, op: WriteOp, memo: dict[int, bytes], plain: set[str],
                 given: bytes | None = None) -> Prepared | RegistryError:
        """``memo``: wire forms by value object, for the call; the importer and the SNMS
        batch put the same HS_ADMIN, TEMPLATE_ID and TEMPLATE objects in every create.
        ``plain``: value types found not indexed, for the call. ``given``: see
        :meth:`prepare_creates`."""
        assert isinstance(op, CreateHandle)
        try:
            check_utf8(op.handle.text)
            values = self._checked(op.values)
        except RegistryError as exc:
            return exc
        key, text = op.handle.key, op.handle.text
        if given is not None and values is op.values:  # in order (else _checked sorts)
            encoded = given
        else:
            wires = []
            for value in values:  # the ops (and so the values) outlive the call: ids are stable
                wire = memo.get(id(value))
                if wire is None:
                    wire = memo[id(value)] = value.to_wire()
                wires.append(wire)
            encoded = len(values).to_bytes(4, "big") + b"".join(wires)
        entries: list[IndexEntry] = []
        types = self.index_types
        if types:  # most values' types are not indexed: each type is looked up once
            for value in values:
                if value.type not in plain:
                    if ascii_upper(value.type) in types:
                        entries = index_entries(key, values, types)
                        break
                    plain.add(value.type)
        digest, bucket = hash_and_bucket(key, text, encoded)
        return Prepared(key, text, values, encoded, digest, bucket, entries)

    def _create_run(self, ops: Sequence[WriteOp],
                    prepared: Sequence[Prepared | RegistryError | None]) -> list[WriteResult]:
        """Create each of ``ops`` (distinct keys, :func:`is_plain_create`), inside the open
        write transaction. A create whose values fail their checks, or whose handle exists,
        gets its error as its result and writes nothing. ``prepared``: from
        :meth:`prepare_creates` (same length; ``None`` items are worked out here)."""
        results: list[WriteResult] = [None] * len(ops)
        ready: list[tuple[int, Prepared]] = []
        memo: dict[int, bytes] = {}
        plain: set[str] = set()
        for n, (op, done) in enumerate(zip(ops, prepared, strict=True)):
            item = done if done is not None else self._prepare(op, memo, plain)
            if isinstance(item, Prepared):
                ready.append((n, item))
            else:
                results[n] = item
        existing = self._existing_keys([item.key for _, item in ready])
        rows: list[NewRecord] = []
        entries: list[tuple[str, list[IndexEntry]]] = []
        pending = self._buffered()
        digests = pending.digests
        counts: dict[str, int] = {}
        for n, item in ready:
            key = item.key
            if key in existing:
                results[n] = HandleExists(handle=item.text)
                continue
            rows.append((key, item.text, item.values, item.encoded))
            if item.entries:
                entries.append((key, item.entries))
            digests.append((key, item.bucket, item.digest,
                            int.from_bytes(item.digest, "big"), 1))
            prefix = prefix_of(key)
            counts[prefix] = counts.get(prefix, 0) + 1
            results[n] = new_record(item.text, key, item.values)
        pending.counts.extend(counts.items())  # a run has no savepoints to undo them in
        if rows:
            self._insert_records(rows)
            if entries:
                self._index_many(entries)
            now = time.time()
            self._append_txns([(now, OP_CREATE, key, text, values, encoded)
                               for key, text, values, encoded in rows])
        return results

    # -- the checks every stored value passes -------------------------------------------
    def _checked(self, values: Sequence[HandleValue]) -> tuple[HandleValue, ...]:
        """``values`` sorted by index, after the checks every stored value must pass."""
        self._check_count(len(values))
        previous = 0
        for value in values:  # the usual case, already in order: one pass, no sort
            if value.index <= previous:
                break
            previous = value.index
        else:
            return tuple(values)
        seen: set[int] = set()
        for value in values:
            if value.index == 0:
                raise InvalidValue(reason=f"index 0 cannot be stored ({value.type} value)")
            if value.index in seen:
                raise InvalidValue(reason=f"index {value.index} given twice")
            seen.add(value.index)
        return by_index(values)

    def _check_count(self, count: int) -> None:
        if count > self.max_values:
            raise TooManyValues(count=count, limit=self.max_values)


_new = object.__new__
_set_handle, _set_key, _set_values = (Record.__dict__[name].__set__
                                      for name in ("handle", "key", "values"))


def new_record(handle: str, key: str, values: tuple[HandleValue, ...]) -> Record:
    """``Record(handle, key, values)`` in half the time (a frozen dataclass's __init__ sets
    each field the slow way); one is made per new record of a run."""
    record: Record = _new(Record)
    _set_handle(record, handle)
    _set_key(record, key)
    _set_values(record, values)
    return record


def plain_create_runs(ops: Sequence[WriteOp]) -> list[tuple[int, int]]:
    """The ``[start, end)`` spans of ``ops`` worth running as one run: at least two
    consecutive plain creates of distinct keys."""
    spans: list[tuple[int, int]] = []
    start, keys = 0, set[str]()
    for n, op in enumerate(ops):
        if is_plain_create(op):
            assert isinstance(op, CreateHandle)
            key = op.handle.key
            if key not in keys:
                keys.add(key)
                continue
            # the same handle twice: the second starts a new run, after the first commits
            if n - start >= 2:
                spans.append((start, n))
            start, keys = n, {key}
            continue
        if n - start >= 2:
            spans.append((start, n))
        start, keys = n + 1, set()
    if len(ops) - start >= 2:
        spans.append((start, len(ops)))
    return spans
