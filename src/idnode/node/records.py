"""Reads for the node: storage behind the hot-record cache, and the set of homed prefixes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from idnode.errors import InvalidHandle
from idnode.identifiers.handle import PREFIX_NA, Handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import SiteData
from idnode.node.cache import Generation, LruCache
from idnode.storage import Record, Store, normalise_prefix
from idnode.storage.ops import HomePrefix, UnhomePrefix, WriteOp

if TYPE_CHECKING:
    from idnode.node.identities import RemoteIdentities

__all__ = ["Cached", "Records"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Cached:
    """A cache entry: the record (``None`` for a cached "not found") and, for the UDP fast
    path, every value already in wire form plus the encoded public-only answer tail."""

    record: Record | None
    wires: tuple[bytes, ...] = ()
    public_tail: bytes = b""

    @classmethod
    def of(cls, record: Record | None) -> Cached:
        if record is None:
            return cls(None)
        wires = tuple(v.to_wire() for v in record.values)
        public = [w for v, w in zip(record.values, wires, strict=True) if v.public_read]
        tail = len(public).to_bytes(4, "big") + b"".join(public)
        return cls(record, wires, tail if public else b"")


class Records:
    """Cached record lookups for one worker.

    SQLite and memory reads are cheap enough to run on the event loop; other backends
    (PostgreSQL) are read on a thread so a slow query never stalls other clients.
    """

    def __init__(self, store: Store, generation: Generation, max_cached: int) -> None:
        self.store = store
        self.generation = generation
        self.cache: LruCache[str, Cached] = LruCache(max_cached)
        self._inline = store.kind in ("sqlite", "memory")
        self._homed: frozenset[str] = frozenset(store.homed_prefixes())
        # A multi-server site: (site, this server's index); handles hashing elsewhere
        # belong to another server of the site.
        self._share: tuple[SiteData, int] | None = None
        # Bumped by every local commit: a read that overlapped one is not cached.
        self._epoch = 0
        #: called (on the loop) whenever another process or worker changed the store
        self.on_change: list[Callable[[], None]] = []
        #: identities homed elsewhere, fetched recursively (``[identity]``); None = off
        self.remote: RemoteIdentities | None = None

    def check_generation(self) -> None:
        """Drop everything cached if any worker committed since the last check."""
        if self.generation.changed():
            self._epoch += 1  # a read in flight may predate that commit: don't cache it
            self.cache.clear()
            self._homed = frozenset(self.store.homed_prefixes())
            for listener in self.on_change:
                listener()

    def cached(self, key: str) -> Cached | None:
        """The cache entry for ``key`` if present (no storage access)."""
        self.check_generation()
        return self.cache.get(key)

    async def get(self, key: str) -> Record | None:
        entry = self.cached(key)
        if entry is not None:
            return entry.record
        epoch = self._epoch
        record = await self.read(self.store.get_record, key)
        if epoch == self._epoch:
            self.cache.put(key, Cached.of(record))
        return record

    async def values_of(self, handle: str) -> tuple[HandleValue, ...] | None:
        """Values of ``handle`` held here, or None (also for text that is not a handle)."""
        try:
            key = Handle.parse(handle).key
        except InvalidHandle:
            return None
        record = await self.get(key)
        return None if record is None else record.values

    async def identity_values(self, handle: str) -> tuple[HandleValue, ...] | None:
        """Values of an identity's or group's record, for authentication and authorisation.

        A record held here answers, and so does "not here" for a handle whose prefix this
        node homes (its own records are authoritative). Otherwise, with ``[identity]``
        enabled, the record's public HS_PUBKEY / HS_VLIST / HS_ADMIN values come from the
        recursive node (:class:`~idnode.node.identities.RemoteIdentities`).

        :raises AuthenticationFailed: the recursive node could not be asked.
        """
        try:
            parsed = Handle.parse(handle)
        except InvalidHandle:
            return None
        record = await self.get(parsed.key)
        if record is not None:
            return record.values
        if self.remote is None or self.homed_for(parsed):
            return None
        return await self.remote.values_of(parsed)

    def is_remote(self, handle: Handle) -> bool:
        """Whether :meth:`identity_values` would ask the recursive node for ``handle``
        (when it is not held here)."""
        return (self.remote is not None and not self.homed_for(handle)
                and handle.key not in self.remote.local_only)

    async def list_handles(self, prefix: str, *, after: str = "", limit: int) -> list[str]:
        """One page of handles under ``prefix`` (keyset paging), read like records are."""
        return await self.read(self.store.list_handles, prefix, after=after, limit=limit)

    async def read(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a storage read: inline for SQLite and memory, on a thread otherwise."""
        if self._inline:
            return fn(*args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    def forget(self, key: str) -> None:
        """Drop ``key`` from the cache (and any read of it in flight)."""
        self._epoch += 1
        self.cache.discard(key)

    @property
    def homed(self) -> frozenset[str]:
        self.check_generation()
        return self._homed

    def committed(self, ops: Sequence[WriteOp]) -> None:
        """Called on the loop after this worker committed ``ops``, before anyone is answered.

        This worker drops just the keys it wrote (all of them when a prefix was homed or
        unhomed, since that changes which handles it answers for); the other workers see the
        generation move and drop their caches.
        """
        self._epoch += 1
        if any(isinstance(op, HomePrefix | UnhomePrefix) for op in ops):
            self.cache.clear()
            homed = set(self._homed)
            for op in ops:  # applied in commit order, without a storage round trip
                if isinstance(op, HomePrefix):
                    homed.add(normalise_prefix(op.prefix))
                elif isinstance(op, UnhomePrefix):
                    homed.discard(normalise_prefix(op.prefix))
            self._homed = frozenset(homed)
        else:
            for op in ops:
                handle = getattr(op, "handle", None)
                if isinstance(handle, Handle):
                    self.cache.discard(handle.key)
        self.generation.bump()

    def replicated(self, keys: Sequence[str], *, homed_changed: bool) -> None:
        """Called on the loop after replication changed ``keys`` in the store (like
        :meth:`committed`, for writes that arrive as records, not operations)."""
        self._epoch += 1
        if homed_changed:
            self.cache.clear()
            self._homed = frozenset(self.store.homed_prefixes())
        else:
            for key in keys:
                self.cache.discard(key)
        self.generation.bump()

    def responsible_for(self, handle: Handle) -> bool:
        """Whether this node answers for ``handle``.

        Ordinary handles need their prefix homed. A prefix handle ``0.NA/a.b.c`` is served
        where ``a.b.c`` or one of its parents is homed (a parent holds the delegation records
        of derived prefixes), or where ``0.NA`` itself is homed (a root node).
        """
        return self.responsible_for_key(handle.key)

    def set_share(self, site: SiteData, index: int) -> None:
        """Answer only for the handles that hash to server ``index`` of ``site`` (§10.3)."""
        self._share = (site, index) if len(site.servers) > 1 else None

    def share_owner(self, key: str) -> int | None:
        """The index of the site's server holding ``key`` when that is not this server."""
        if self._share is None:
            return None
        site, mine = self._share
        owner = site.server_index(key)  # the hash upper-cases, so key and text agree
        return None if owner == mine else owner

    def responsible_for_key(self, key: str) -> bool:
        """:meth:`responsible_for` on a normalised key (the UDP fast path has no Handle)."""
        if self._share is not None and self.share_owner(key) is not None:
            return False
        return self._homed_for(key)

    def homed_for(self, handle: Handle) -> bool:
        """Whether ``handle``'s prefix is homed here, whichever server of the site holds it."""
        return self._homed_for(handle.key)

    def _homed_for(self, key: str) -> bool:
        homed = self.homed
        head, _, rest = key.partition("/")
        if head != PREFIX_NA:
            return head in homed
        if PREFIX_NA in homed:
            return True
        prefix = rest
        while prefix:
            if prefix in homed:
                return True
            prefix = prefix.rpartition(".")[0]
        return False
