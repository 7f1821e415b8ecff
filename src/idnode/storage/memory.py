"""An in-memory store with the same semantics as the database backends, for tests.

A write transaction collects its changes in an overlay (records, homing changes, log
entries, index and count changes, metadata) and publishes them under one lock at commit, so
readers never see half a group. Savepoints are copies of the overlay, which is small: one
group's worth of changes.

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

_LogEntry = tuple[float, str, str, str, tuple[HandleValue, ...]]
#: (add, key, entry): one index change, applied in order at commit.
_IndexChange = tuple[bool, str, IndexEntry]
#: Above every value index, so ``(data, key, _END)`` sorts after all of ``key``'s entries.
_END = 1 << 32


@dataclass(slots=True)
class _Overlay:
    """Uncommitted changes of the current write transaction."""

    records: dict[str, Record | None] = field(default_factory=dict)  # None = deleted
    homed: dict[str, bool] = field(default_factory=dict)
    log: list[_LogEntry] = field(default_factory=list)
    index: list[_IndexChange] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    meta: dict[str, str | None] = field(default_factory=dict)  # None = deleted
    cleared: bool = False  # the index was emptied before ``index`` applies

    def copy(self) -> _Overlay:
        return _Overlay(dict(self.records), dict(self.homed), list(self.log), list(self.index),
                        dict(self.counts), dict(self.meta), self.cleared)


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
        self._log: list[Txn] = []
        self._forward: dict[str, list[tuple[str, str, int]]] = {}  # type → sorted entries
        self._reverse: dict[str, list[tuple[str, str, int]]] = {}
        self._counts: dict[str, int] = {}
        self._meta_rows = {META_TYPES: encode_types(self.index_types)}  # an empty index
        self._overlay: _Overlay | None = None

    # -- write contract -----------------------------------------------------------------
    def _transaction(self) -> AbstractContextManager[None]:
        return self._transaction_cm()

    @contextmanager
    def _transaction_cm(self) -> Iterator[None]:
        self._overlay = _Overlay()
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

    def _put(self, key: str, handle: str | None, values: Sequence[HandleValue],
             removed: Sequence[int]) -> None:
        old = self._load(key)
        merged = {} if old is None else {value.index: value for value in old.values}
        for index in removed:
            merged.pop(index, None)
        merged.update((value.index, value) for value in values)
        text = handle if handle is not None else (old.handle if old else key)
        ordered = tuple(merged[index] for index in sorted(merged))
        self._current().records[key] = Record(text, key, ordered)

    def _drop(self, key: str) -> tuple[HandleValue, ...] | None:
        old = self._load(key)
        if old is None:
            return None
        self._current().records[key] = None
        return old.values

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

    def _append_txn(self, timestamp: float, op: str, key: str, handle: str,
                    values: tuple[HandleValue, ...]) -> None:
        self._current().log.append((timestamp, op, key, handle, values))

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
            next_id = self._log[-1].txn_id + 1 if self._log else 1
            for offset, (timestamp, op, key, handle, values) in enumerate(overlay.log):
                self._log.append(Txn(next_id + offset, timestamp, op, key, handle, values))
            self._publish_index(overlay)

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
            # ids are dense from 1 here, so the position follows from the id.
            first = max(0, txn_id)
            return self._log[first:first + limit]

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


def _change(entries: list[tuple[str, str, int]], entry: tuple[str, str, int],
            add: bool) -> None:
    at = bisect.bisect_left(entries, entry)
    present = at < len(entries) and entries[at] == entry
    if add and not present:
        entries.insert(at, entry)
    elif not add and present:
        del entries[at]
