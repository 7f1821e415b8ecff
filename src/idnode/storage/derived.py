"""Keeping what is derived from the records in step with every write.

:class:`DerivedData` is the layer of :class:`~idnode.storage.base.Store` (see
:mod:`.core`) that every write goes through: the write transaction (``_writing``), the
reverse index (:mod:`.index`), the per-prefix handle counts and the digests
(:mod:`.digest`). Index entries are written at once, in the write's savepoint; count and
digest changes are buffered and written just before the commit, each touched prefix and
bucket once however many of its records changed. Each record's values are encoded once per
write, for its hash and, by the backends, for its row and its log entry.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from idnode.identifiers.value import HandleValue
from idnode.storage.core import StoreCore, prefix_of
from idnode.storage.digest import bucket_of, hash_record
from idnode.storage.index import index_changes, index_entries
from idnode.storage.ops import Record

__all__ = ["DerivedData"]

_ZERO_HASH = bytes(16)
#: One buffered digest change: (key, bucket, new hash or None for gone, old XOR new as an
#: int, change of the bucket's count).
_Change = tuple[str, int, bytes | None, int, int]
#: A planned run's digest changes (.plans.RunPlan): its (bucket, key, hash) rows, and per
#: bucket the XOR of its new hashes and how many.
_Planned = tuple[list[tuple[int, str, bytes]], dict[int, list[int]]]


@dataclass(slots=True)
class _Pending:
    """A write transaction's buffered digest and count changes, written once just before it
    commits: a group of creates then writes each touched bucket and prefix row once."""

    digests: list[_Change] = field(default_factory=list)
    counts: list[tuple[str, int]] = field(default_factory=list)
    #: planned runs' changes, made before any of ``digests`` (a plan is a whole write)
    planned: list[_Planned] = field(default_factory=list)

    def mark(self) -> tuple[int, int]:
        return len(self.digests), len(self.counts)

    def undo(self, mark: tuple[int, int]) -> None:
        """Forget the changes made since ``mark`` (their savepoint rolled back)."""
        del self.digests[mark[0]:]
        del self.counts[mark[1]:]


class DerivedData(StoreCore):
    """The write transaction, and the index, counts and digests kept with every write."""

    # Class-level defaults, so the layers share one constructor (StoreCore's); each write
    # transaction sets them on the instance and clears them when it ends.
    # The open write transaction's buffered changes (None outside one).
    _pending: _Pending | None = None
    # The last values encoded by _wires() and _encode(): a create stores, hashes and logs
    # the same tuple of values, and encoding them is most of each step's cost.
    _wire_cache: tuple[Sequence[HandleValue], list[bytes]] | None = None
    _encoding: tuple[Sequence[HandleValue], bytes] | None = None

    # -- transactions, counts and digests --------------------------------------------------
    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction (``_transaction()``) whose buffered count and digest
        changes are written just before it commits: each touched prefix and bucket once,
        however many of its records changed. A write that rolls back a savepoint must
        :meth:`_Pending.undo` what it buffered since."""
        self._pending = _Pending()
        try:
            with self._transaction():
                yield
                self._flush_counts()
                self._flush_digests()
        finally:
            self._pending = None
            self._wire_cache = self._encoding = None

    def _buffered(self) -> _Pending:
        assert self._pending is not None, "a record written outside _writing()"
        return self._pending

    def _tally(self, key: str, delta: int) -> None:
        """Buffer a change of the handle count of ``key``'s prefix."""
        self._buffered().counts.append((prefix_of(key), delta))

    def _flush_counts(self) -> None:
        totals: dict[str, int] = {}
        for prefix, delta in self._buffered().counts:
            totals[prefix] = totals.get(prefix, 0) + delta
        for prefix, total in totals.items():
            if total:
                self._count(prefix, total)

    def _rehash(self, key: str, old: Record | None, new: Record | None) -> None:
        """Buffer the digest change of the record ``key`` going from ``old`` to ``new``
        (``None``: no record)."""
        changes = self._buffered().digests
        old_hash = None if old is None else self._hash(old)
        new_hash = None if new is None else self._hash(new)
        if old_hash == new_hash:
            return
        delta = (0 if old_hash is None else int.from_bytes(old_hash, "big")) ^ \
            (0 if new_hash is None else int.from_bytes(new_hash, "big"))
        changes.append((key, bucket_of(key), new_hash, delta,
                        (new is not None) - (old is not None)))

    def _hash(self, record: Record) -> bytes:
        return hash_record(record.key, record.handle, self._encode(record.values))

    def _wires(self, values: Sequence[HandleValue]) -> list[bytes]:
        """Each value's wire form, remembered for the same sequence (see ``_wire_cache``)."""
        last = self._wire_cache
        if last is not None and last[0] is values:
            return last[1]
        wires = [value.to_wire() for value in values]
        self._wire_cache = (values, wires)
        return wires

    def _encode(self, values: Sequence[HandleValue]) -> bytes:
        """``encode_values(values)`` (a count, then each value's wire form), remembered for
        the same sequence."""
        last = self._encoding
        if last is not None and last[0] is values:
            return last[1]
        encoded = len(values).to_bytes(4, "big") + b"".join(self._wires(values))
        self._encoding = (values, encoded)
        return encoded

    def _flush_digests(self) -> None:
        """Write the transaction's buffered digest changes: each record's last hash, and
        each touched bucket's aggregate once."""
        pending = self._buffered()
        changes, planned = pending.digests, pending.planned
        if not changes and not planned:
            return
        rows: list[tuple[int, str, bytes]] = []
        deltas: dict[int, list[int]] = {}
        if len(planned) == 1 and not changes:  # a planned run alone: merged beforehand
            rows, deltas = planned[0]
        else:
            for logged, summed in planned:  # logged first: they were written first
                rows.extend(logged)
                _add_deltas(deltas, ((bucket, delta, count)
                                     for bucket, (delta, count) in summed.items()))
        hashes: dict[str, tuple[int, bytes | None]] = {}
        for key, bucket, new_hash, _, _ in changes:
            hashes[key] = (bucket, new_hash)
        _add_deltas(deltas, ((bucket, delta, count) for _, bucket, _, delta, count in changes))
        if hashes:
            rows = [*rows, *((bucket, key, digest) for key, (bucket, digest) in hashes.items()
                             if digest is not None)]
        self._write_hashes(
            rows, [(bucket, key) for key, (bucket, digest) in hashes.items() if digest is None])
        touched = sorted(bucket for bucket, (delta, count) in deltas.items() if delta or count)
        if not touched:
            return
        current = self._load_buckets(touched)
        updated: list[tuple[int, bytes, int]] = []
        gone: list[int] = []
        for bucket in touched:
            delta, count = deltas[bucket]
            xor, total = current.get(bucket, (_ZERO_HASH, 0))
            merged = int.from_bytes(xor, "big") ^ delta
            total += count
            if merged == 0 and total == 0:
                gone.append(bucket)
            else:  # a negative or inconsistent total is kept: a comparison will show it
                updated.append((bucket, merged.to_bytes(16, "big"), total))
        self._write_buckets(updated, gone)

    # -- the reverse index --------------------------------------------------------------
    def _reindex(self, key: str, old: Iterable[HandleValue], values: Sequence[HandleValue],
                 removed: Collection[int]) -> None:
        """Keep the index in step with a ``_put``, inside the same savepoint."""
        if old == () and not removed:  # a new record: nothing to compare, so skip it
            added = index_entries(key, values, self.index_types)
            if added:
                self._index(key, added)
            return
        gone, added = index_changes(key, old, values, removed, self.index_types)
        if gone:
            self._unindex(key, gone)
        if added:
            self._index(key, added)

    # -- whole records ------------------------------------------------------------------
    def _forget(self, dropped: Record) -> None:
        """Take a record just dropped out of the index, the counts and the digests."""
        gone = index_entries(dropped.key, dropped.values, self.index_types)
        if gone:
            self._unindex(dropped.key, gone)
        self._tally(dropped.key, -1)
        self._rehash(dropped.key, dropped, None)


def _add_deltas(into: dict[int, list[int]], deltas: Iterable[tuple[int, int, int]]) -> None:
    """Add ``(bucket, XOR of hashes, count)`` changes to the per-bucket sums ``into``."""
    for bucket, delta, count in deltas:
        pending = into.get(bucket)
        if pending is None:
            into[bucket] = [delta, count]
        else:
            pending[0] ^= delta
            pending[1] += count
