"""The hot-record cache of a worker, and the generation counters that keep it coherent.

A SQLite read costs more than the whole UDP exchange (``performance-notes.md``), so each worker
keeps recently resolved records (and recent "not found" answers) in memory. Coherence across
the worker processes of one node comes from :class:`Generation`: a small shared file with one
64-bit counter per worker. A worker bumps its own slot after every commit; before answering
from its cache, a worker compares the whole slot array with the copy it saw last and drops its
cache when anything moved. A write acknowledged by any worker is therefore never followed by
a stale answer from another.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections import OrderedDict
from pathlib import Path
from typing import Generic, TypeVar

__all__ = ["MAX_WORKERS", "TOOL_SLOT", "Generation", "LruCache"]

MAX_WORKERS = 64
#: The slot of command-line tools that change a running node's store (``idnode promote``).
TOOL_SLOT = MAX_WORKERS
_SLOT = struct.Struct("<Q")
_SIZE = (MAX_WORKERS + 1) * _SLOT.size

K = TypeVar("K")
V = TypeVar("V")


class Generation:
    """Per-worker change counters in a shared memory-mapped file (or private memory)."""

    __slots__ = ("_map", "_seen", "_slot")

    def __init__(self, path: Path | None, slot: int) -> None:
        if not 0 <= slot <= TOOL_SLOT:
            raise ValueError(f"worker slot {slot} out of range")
        self._slot = slot * _SLOT.size
        if path is None:
            self._map: mmap.mmap = mmap.mmap(-1, _SIZE)
        else:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_size < _SIZE:
                    os.ftruncate(fd, _SIZE)
                self._map = mmap.mmap(fd, _SIZE)
            finally:
                os.close(fd)
        self._seen = self._map[:]

    def bump(self) -> None:
        """Record that this worker committed a write.

        The worker has already applied its own change to its cache, so its own slot is marked
        seen; changes of other workers since the last :meth:`changed` stay visible.
        """
        (value,) = _SLOT.unpack_from(self._map, self._slot)
        _SLOT.pack_into(self._map, self._slot, value + 1)
        seen = bytearray(self._seen)
        _SLOT.pack_into(seen, self._slot, value + 1)
        self._seen = bytes(seen)

    def changed(self) -> bool:
        """True once after any worker (this one included) bumped since the last call."""
        current = self._map[:]
        if current == self._seen:
            return False
        self._seen = current
        return True

    def close(self) -> None:
        self._map.close()


class LruCache(Generic[K, V]):
    """A bounded least-recently-used mapping; ``max_items`` 0 disables caching."""

    __slots__ = ("_data", "hits", "max_items", "misses")

    def __init__(self, max_items: int) -> None:
        self._data: OrderedDict[K, V] = OrderedDict()
        self.max_items = max_items
        self.hits = 0
        self.misses = 0

    def get(self, key: K) -> V | None:
        data = self._data
        value = data.get(key)
        if value is None:
            self.misses += 1
            return None
        data.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: K, value: V) -> None:
        if self.max_items <= 0:
            return
        data = self._data
        data[key] = value
        data.move_to_end(key)
        if len(data) > self.max_items:
            data.popitem(last=False)

    def discard(self, key: K) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
