"""An in-memory store with the same semantics as the database backends, for tests.

A write transaction collects its changes in an overlay (records, homing changes, log
entries and deletions, index and count changes, digests, metadata) and publishes them under
one lock at commit, so readers never see half a group. Savepoints are copies of the overlay,
which is small: one group's worth of changes.

The reverse index is, per type, two sorted lists of ``(data, key, idx)`` and
``(reversed data, key, idx)``: a range is two bisections, never a scan.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

from idnode.identifiers.value import HandleValue
from idnode.protocol.constants import MAX_VALUES_PER_HANDLE
from idnode.storage.base import Store
from idnode.storage.contract import META_TYPES
from idnode.storage.index import DEFAULT_INDEX_TYPES, Criterion, IndexEntry, encode_types
from idnode.storage.ops import Record, Txn

__all__ = ["MemoryStore"]

#: (add, key, entry): one index change, applied in order at commit.
_IndexChange = tuple[bool, str, IndexEntry]
#: Above every value index, so ``(data, key, _END)`` sorts after all of ``key``'s entries.
_END = 1 << 32


@dataclass(slots=True)
class _Overlay:
    """Uncommitted changes of the current write transaction."""

    next_id: int  # the id the next local log entry gets
    records: dict[str, Record | None] = field(default_factory=dict)  # None = deleted
    homed: dict[str, bool] = field(default_factory=dict)
    log: list[Txn] = field(default_factory=list)
    dropped_txns: set[int] = field(default_factory=set)  # committed entries deleted
    index: list[_IndexChange] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    meta: dict[str, str | None] = field(default_factory=dict)  # None = deleted
    hashes: dict[tuple[int, str], bytes | None] = field(default_factory=dict)
    buckets: dict[int, tuple[bytes, int] | None] = field(default_factory=dict)
    cleared: bool = False  # the index was emptied before ``index`` applies

    def copy(self) -> _Overlay:
        return _Overlay(self.next_id, dict(self.records), dict(self.homed), list(self.log),
                        set(self.dropped_txns), list(self.index), dict(self.counts),
                        dict(self.meta), dict(self.hashes), dict(self.buckets), self.cleared)


class MemoryStore(Store):
    """Dict-based store; nothing survives :meth:`close`."""

    kind = "memory"

    def __init__(self, url: str = "memory:", *, max_values: int = MAX_VALUES_PER_HANDLE,
                 index_types: Sequence[str] = DEFAULT_INDEX_TYPES) -> None:
        super().__init__(url, max_values=max_values, index_types=index_types)
        # Guards the committed state below; re-entrant so a search can hold it throughout.
        self._lock = threading.RLock()
        self._records: dict[str, Record] = {}
        self._keys: list[str] = []  # sorted, for range scans
        self._homed_set: set[str] = set()
        self._log: list[Txn] = []  # by id
        self._next_id = 1  # never goes back: ids are not reused once pruned
        self._forward: dict[str, list[tuple[str, str, int]]] = {}  # type → sorted entries
        self._reverse: dict[str, list[tuple[str, str, int]]] = {}
        self._counts: dict[str, int] = {}
        self._hashes: dict[int, dict[str, bytes]] = {}  # bucket → key → record hash
        self._buckets: dict[int, tuple[bytes, int]] = {}  # bucket → (xor, count)
        self._meta_rows = {META_TYPES: encode_types(self.index_types)}  # an empty index
        self._overlay: _Overlay | None = None

    # -- write contract -----------------------------------------------------------------
    def _transaction(self) -> AbstractContextManager[None]:
        return self._transaction_cm()

    @contextmanager
    def _transaction_cm(self) -> Iterator[None]:
        self._overlay = _Overlay(self._next_id)
        try:
            yield
            self._publish(self._overlay)
        finally:
            self._overlay = None

    def _savepoint(self) -> AbstractContextManager[None]:
        return self._savepoint_cm()

    @contextmanager
    def _savepoint_cm(self) -> Iterator[None]:
        overlay = self._current()
        saved = overlay.copy()
        try:
            yield
        except BaseException:
            self._overlay = saved
            raise

    def _load(self, key: str) -> Record | None:
        overlay = self._current()
        if key in overlay.records:
            return overlay.records[key]
        with self._lock:
            return self._records.get(key)

    def _load_range(self, after: str, through: str | None) -> list[Record]:
        overlay = self._current()
        with self._lock:
            first = bisect.bisect_right(self._keys, after)
            last = (len(self._keys) if through is None
                    else bisect.bisect_right(self._keys, through))
            found = {key: self._records[key] for key in self._keys[first:last]}
        for key, record in overlay.records.items():
            if key > after and (through is None or key <= through):
                if record is None:
                    found.pop(key, None)
                else:
                    found[key] = record
        return [found[key] for key in sorted(found)]

    def _put(self, record: Record) -> None:
        self._current().records[record.key] = record

    def _drop(self, key: str) -> Record | None:
        old = self._load(key)
        if old is None:
            return None
        self._current().records[key] = None
        return old

    def _index(self, key: str, entries: Sequence[IndexEntry]) -> None:
        self._current().index.extend((True, key, entry) for entry in entries)

    def _unindex(self, key: str, entries: Sequence[IndexEntry]) -> None:
        self._current().index.extend((False, key, entry) for entry in entries)

    def _count(self, prefix: str, delta: int) -> None:
        counts = self._current().counts
        counts[prefix] = counts.get(prefix, 0) + delta

    def _meta(self, name: str) -> str | None:
        overlay = self._current()
        if name in overlay.meta:
            return overlay.meta[name]
        with self._lock:
            return self._meta_rows.get(name)

    def _set_meta(self, name: str, value: str | None) -> None:
        self._current().meta[name] = value

    def _clear_index(self) -> None:
        overlay = self._current()
        overlay.index.clear()
        overlay.cleared = True

    def _load_batch(self, after: str, limit: int) -> list[Record]:
        return self._scan_records(after, limit)  # a back-fill changes no records

    def _set_homed(self, prefix: str, homed: bool) -> bool:
        overlay = self._current()
        if prefix in overlay.homed:
            before = overlay.homed[prefix]
        else:
            with self._lock:
                before = prefix in self._homed_set
        overlay.homed[prefix] = homed
        return before != homed

    def _load_homed(self) -> set[str]:
        overlay = self._current()
        with self._lock:
            homed = set(self._homed_set)
        for prefix, state in overlay.homed.items():
            if state:
                homed.add(prefix)
            else:
                homed.discard(prefix)
        return homed

    def _write_hashes(self, rows: Sequence[tuple[int, str, bytes]],
                      gone: Sequence[tuple[int, str]]) -> None:
        hashes = self._current().hashes
        for bucket, key, digest in rows:
            hashes[bucket, key] = digest
        for bucket, key in gone:
            hashes[bucket, key] = None

    def _load_buckets(self, buckets: Sequence[int]) -> dict[int, tuple[bytes, int]]:
        overlay = self._current()
        found: dict[int, tuple[bytes, int]] = {}
        with self._lock:
            for bucket in buckets:
                row = (overlay.buckets[bucket] if bucket in overlay.buckets
                       else self._buckets.get(bucket))
                if row is not None:
                    found[bucket] = row
        return found

    def _write_buckets(self, rows: Sequence[tuple[int, bytes, int]],
                       gone: Sequence[int]) -> None:
        buckets = self._current().buckets
        for bucket, xor, count in rows:
            buckets[bucket] = (xor, count)
        for bucket in gone:
            buckets[bucket] = None

    def _append_txn(self, timestamp: float, op: str, key: str, handle: str,
                    values: tuple[HandleValue, ...]) -> None:
        overlay = self._current()
        overlay.log.append(Txn(overlay.next_id, timestamp, op, key, handle, values))
        overlay.next_id += 1

    def _copy_txn(self, txn: Txn) -> None:
        overlay = self._current()
        overlay.log.append(txn)
        overlay.next_id = max(overlay.next_id, txn.txn_id + 1)

    def _reserve_txn_ids(self, upto: int) -> None:
        overlay = self._current()
        overlay.next_id = max(overlay.next_id, upto + 1)

    def _log_view(self) -> list[Txn]:
        """The log as the write transaction sees it (a copy)."""
        overlay = self._current()
        with self._lock:
            kept = [txn for txn in self._log if txn.txn_id not in overlay.dropped_txns]
        return kept + overlay.log

    def _newest_txn_id(self) -> int:
        view = self._log_view()
        return view[-1].txn_id if view else 0

    def _nth_newest_txn_id(self, n: int) -> int | None:
        view = self._log_view()
        return view[-n].txn_id if len(view) >= n else None

    def _delete_txns(self, ids: Sequence[int], below: int, before: float) -> int:
        overlay = self._current()
        wanted = set(ids)
        deleted = 0
        with self._lock:
            for txn in self._log:
                if (txn.txn_id in wanted and txn.txn_id < below and txn.timestamp < before
                        and txn.txn_id not in overlay.dropped_txns):
                    overlay.dropped_txns.add(txn.txn_id)
                    deleted += 1
        return deleted

    def _cut_txns(self, after: int) -> list[Txn]:
        overlay = self._current()
        tail = [txn for txn in self._log_view() if txn.txn_id > after]
        overlay.dropped_txns.update(txn.txn_id for txn in tail)
        overlay.log = [txn for txn in overlay.log if txn.txn_id <= after]
        return tail

    def _current(self) -> _Overlay:
        assert self._overlay is not None, "write outside a transaction"
        return self._overlay

    def _publish(self, overlay: _Overlay) -> None:
        with self._lock:
            for key, record in overlay.records.items():
                present = key in self._records
                if record is None:
                    if present:
                        del self._records[key]
                        del self._keys[bisect.bisect_left(self._keys, key)]
                    continue
                if not present:
                    bisect.insort(self._keys, key)
                self._records[key] = record
            for prefix, homed in overlay.homed.items():
                if homed:
                    self._homed_set.add(prefix)
                else:
                    self._homed_set.discard(prefix)
            if overlay.dropped_txns:
                self._log = [txn for txn in self._log
                             if txn.txn_id not in overlay.dropped_txns]
            self._log.extend(overlay.log)
            self._next_id = overlay.next_id
            self._publish_index(overlay)
            self._publish_digests(overlay)

    def _publish_index(self, overlay: _Overlay) -> None:
        if overlay.cleared:
            self._forward.clear()
            self._reverse.clear()
        for add, key, (type_, data, idx) in overlay.index:
            _change(self._forward.setdefault(type_, []), (data, key, idx), add)
            _change(self._reverse.setdefault(type_, []), (data[::-1], key, idx), add)
        for prefix, delta in overlay.counts.items():
            self._counts[prefix] = self._counts.get(prefix, 0) + delta
        for name, value in overlay.meta.items():
            if value is None:
                self._meta_rows.pop(name, None)
            else:
                self._meta_rows[name] = value

    def _publish_digests(self, overlay: _Overlay) -> None:
        for (bucket, key), digest in overlay.hashes.items():
            rows = self._hashes.setdefault(bucket, {})
            if digest is None:
                rows.pop(key, None)
            else:
                rows[key] = digest
        for bucket, row in overlay.buckets.items():
            if row is None:
                self._buckets.pop(bucket, None)
            else:
                self._buckets[bucket] = row

    # -- read contract ------------------------------------------------------------------
    def _get(self, key: str) -> Record | None:
        with self._lock:
            return self._records.get(key)

    def _exists(self, key: str) -> bool:
        with self._lock:
            return key in self._records

    def _scan_handles(self, start: str, inclusive: bool, stop: str, limit: int) -> list[str]:
        with self._lock:
            find = bisect.bisect_left if inclusive else bisect.bisect_right
            first = find(self._keys, start)
            last = min(bisect.bisect_left(self._keys, stop), first + limit)
            return [self._records[key].handle for key in self._keys[first:last]]

    def _scan_records(self, after: str, limit: int) -> list[Record]:
        with self._lock:
            first = bisect.bisect_right(self._keys, after)
            return [self._records[key] for key in self._keys[first:first + limit]]

    def _is_homed(self, prefix: str) -> bool:
        with self._lock:
            return prefix in self._homed_set

    def _homed(self) -> list[str]:
        with self._lock:
            return sorted(self._homed_set)

    def _last_txn_id(self) -> int:
        with self._lock:
            return self._log[-1].txn_id if self._log else 0

    def _txns_after(self, txn_id: int, limit: int) -> list[Txn]:
        with self._lock:
            # ids have gaps (replicated, pruned, truncated logs): bisect by id.
            first = bisect.bisect_right(self._log, txn_id, key=_txn_id)
            return self._log[first:first + limit]

    def _oldest_txn_id(self) -> int:
        with self._lock:
            return self._log[0].txn_id if self._log else 0

    def _prunable_txn_ids(self, after: int, below: int, before: float,
                          limit: int) -> list[int]:
        with self._lock:
            found: list[int] = []
            for at in range(bisect.bisect_right(self._log, after, key=_txn_id), len(self._log)):
                txn = self._log[at]
                if txn.txn_id >= below or len(found) >= limit:
                    break
                if txn.timestamp >= before:  # the log is in commit order: stop here
                    break
                found.append(txn.txn_id)
            return found

    def _read_meta(self, name: str) -> str | None:
        with self._lock:
            return self._meta_rows.get(name)

    def _bucket_digests(self) -> list[tuple[int, bytes, int]]:
        with self._lock:
            return [(bucket, *self._buckets[bucket]) for bucket in sorted(self._buckets)]

    def _bucket_hashes(self, bucket: int) -> list[tuple[str, bytes]]:
        with self._lock:
            rows = self._hashes.get(bucket, {})
            return [(key, rows[key]) for key in sorted(rows)]

    def _count_of(self, prefix: str) -> int:
        with self._lock:
            return self._counts.get(prefix, 0)

    # -- searches -----------------------------------------------------------------------
    def _reading(self) -> AbstractContextManager[None]:
        return self._reading_cm()

    @contextmanager
    def _reading_cm(self) -> Iterator[None]:
        with self._lock:  # no commit can publish while a search holds the lock
            yield

    def _exact_keys(self, type_: str, data: str, start: str, inclusive: bool,
                    stop: str | None, limit: int) -> list[tuple[str, str]]:
        with self._lock:
            entries = self._forward.get(type_, [])
            first = (bisect.bisect_left(entries, (data, start)) if inclusive
                     else bisect.bisect_right(entries, (data, start, _END)))
            # Stored data never holds NUL, so (data + NUL,) sorts after all of data's entries.
            last = bisect.bisect_left(entries, (data, stop) if stop is not None
                                      else (data + "\0",))
            rows = entries[first:min(last, first + limit)]
            return [(key, self._records[key].handle) for _, key, _ in rows]

    def _range_exceeds(self, criterion: Criterion, cap: int) -> bool:
        with self._lock:
            first, last = self._bounds(criterion)
            return last - first > cap

    def _range_keys(self, criterion: Criterion, start: str, stop: str | None,
                    limit: int) -> list[tuple[str, str]]:
        with self._lock:
            keys = self._range_key_set(criterion, start, stop, None)
            return [(key, self._records[key].handle) for key in sorted(keys)[:limit]]

    def _range_key_set(self, criterion: Criterion, start: str, stop: str | None,
                       limit: int | None) -> set[str]:
        with self._lock:
            first, last = self._bounds(criterion)
            if limit is not None:
                last = min(last, first + limit)
            side = self._reverse if criterion.reverse else self._forward
            entries = side.get(criterion.type, [])[first:last]
            return {key for column, key, _ in entries
                    if start <= key and (stop is None or key < stop)
                    and criterion.matches(column[::-1] if criterion.reverse else column)}

    def _bounds(self, criterion: Criterion) -> tuple[int, int]:
        """The slice of the scanned list that lies in ``criterion``'s range."""
        side = self._reverse if criterion.reverse else self._forward
        entries = side.get(criterion.type, [])
        first = bisect.bisect_left(entries, (criterion.low,))
        last = (len(entries) if criterion.high is None
                else bisect.bisect_left(entries, (criterion.high,)))
        return first, last

    def _get_many(self, keys: Sequence[str]) -> dict[str, Record]:
        with self._lock:
            return {key: self._records[key] for key in keys if key in self._records}

    def _close(self) -> None:
        with self._lock:
            self._records.clear()
            self._keys.clear()
            self._homed_set.clear()
            self._log.clear()
            self._forward.clear()
            self._reverse.clear()
            self._counts.clear()
            self._hashes.clear()
            self._buckets.clear()


def _txn_id(txn: Txn) -> int:
    return txn.txn_id


def _change(entries: list[tuple[str, str, int]], entry: tuple[str, str, int],
            add: bool) -> None:
    at = bisect.bisect_left(entries, entry)
    present = at < len(entries) and entries[at] == entry
    if add and not present:
        entries.insert(at, entry)
    elif not add and present:
        del entries[at]
