"""The resolver's record cache: TTL expiry on the monotonic clock, LRU eviction.

Keys are normalised handle keys (:func:`~idnode.identifiers.handle.handle_key`). One cache holds
both the final records a resolution returns (under the key of the handle asked for, so an
alias's key maps to its target's values) and the prefix records ``0.NA/…`` the walk reads.
A negative entry (``values is None``) remembers an RC 100 answer.

The recursive node's UDP fast path reads this cache too, synchronously, so :meth:`get` and
:meth:`put` never await and never touch the network.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from idnode.identifiers.value import TTL_ABSOLUTE, HandleValue

__all__ = ["CacheEntry", "ResolverCache", "record_ttl"]


@dataclass(slots=True, eq=False)
class CacheEntry:
    """One cached answer.

    :ivar handle: the canonical handle text as first resolved.
    :ivar values: the public values, or ``None`` for a negative (RC 100) entry.
    :ivar expires: the :func:`time.monotonic` deadline.
    :ivar message: for negative entries, the reason text.
    :ivar aliases: the HS_ALIAS targets followed to reach ``values``.
    :ivar wire_tail: free for the server to memoize encoded bytes.
    """

    handle: str
    values: tuple[HandleValue, ...] | None
    expires: float
    message: str = ""
    aliases: tuple[str, ...] = ()
    wire_tail: bytes | None = None


def record_ttl(values: Iterable[HandleValue], max_ttl: int, now: float | None = None) -> int:
    """Seconds a record may be cached: the smallest TTL among its values, capped.

    A relative TTL counts in seconds; an absolute one runs until that unix time. A record
    without values gets ``max_ttl`` (nothing in it asks for less).

    :param now: the unix time (``time.time()`` by default).
    """
    wall = time.time() if now is None else now
    ttl = max_ttl
    for value in values:
        left = int(value.ttl - wall) if value.ttl_type == TTL_ABSOLUTE else value.ttl
        ttl = min(ttl, max(left, 0))
    return max(ttl, 0)


class ResolverCache:
    """A bounded LRU of :class:`CacheEntry`, expiring by monotonic time.

    :param max_entries: entries kept at most; the least recently used go first. 0 disables
        the cache (nothing is kept).
    """

    __slots__ = ("_entries", "hits", "max_entries", "misses")

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 0:
            raise ValueError(f"max_entries must be >= 0, not {max_entries}")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: str, now: float | None = None) -> CacheEntry | None:
        """The live entry for ``key``, or ``None`` (an expired entry is removed).

        :param now: the monotonic time (``time.monotonic()`` by default).
        """
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        if entry.expires <= (time.monotonic() if now is None else now):
            del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, key: str, entry: CacheEntry) -> None:
        """Store ``entry`` under ``key``, evicting the least recently used beyond the bound."""
        if self.max_entries == 0:
            return
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
