"""An in-memory store with the same semantics as the database backends, for tests.

A write transaction collects its changes in an overlay (records, homing changes, log
entries) and publishes them under one lock at commit, so readers never see half a group.
Savepoints are copies of the overlay, which is small: one group's worth of changes.
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
from idnode.storage.ops import Record, Txn

__all__ = ["MemoryStore"]

_LogEntry = tuple[float, str, str, str, tuple[HandleValue, ...]]


@dataclass(slots=True)
class _Overlay:
    """Uncommitted changes of the current write transaction."""

    records: dict[str, Record | None] = field(default_factory=dict)  # None = deleted
    homed: dict[str, bool] = field(default_factory=dict)
    log: list[_LogEntry] = field(default_factory=list)

    def copy(self) -> _Overlay:
        return _Overlay(dict(self.records), dict(self.homed), list(self.log))


class MemoryStore(Store):
    """Dict-based store; nothing survives :meth:`close`."""

    kind = "memory"

    def __init__(self, url: str = "memory:", *,
                 max_values: int = MAX_VALUES_PER_HANDLE) -> None:
        super().__init__(url, max_values=max_values)
        self._lock = threading.Lock()  # guards the committed state below
        self._records: dict[str, Record] = {}
        self._keys: list[str] = []  # sorted, for range scans
        self._homed_set: set[str] = set()
        self._log: list[Txn] = []
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

    def _drop(self, key: str) -> bool:
        if self._load(key) is None:
            return False
        self._current().records[key] = None
        return True

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

    def _close(self) -> None:
        with self._lock:
            self._records.clear()
            self._keys.clear()
            self._homed_set.clear()
            self._log.clear()
