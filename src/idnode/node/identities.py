"""Identities homed on other nodes (分布式身份, ``idis.md`` §5.1), fetched recursively.

A user is a handle whose HS_PUBKEY is public; an HS_VLIST group is a handle too. When this
node does not hold such a record, :class:`RemoteIdentities` asks a recursive node (递归节点,
``[identity] recursive``) for the record's public HS_PUBKEY, HS_VLIST and HS_ADMIN values,
one resolution with the existing client (:class:`~idnode.client.HandleClient`, UDP then
TCP), and caches the answer:

* positive answers for the smallest value TTL, capped by ``cache_ttl``; "no such handle"
  (RC 100) and "no such value" (RC 200) for ``negative_ttl``; at most ``max_entries``
  records, least recently used dropped first;
* concurrent misses for one handle share one upstream request;
* every lookup is bounded by ``timeout``; an unreachable or failing recursive node raises
  :class:`~idnode.errors.AuthenticationFailed` naming it, and nothing is cached. After the
  node failed to answer, lookups that the cache cannot answer fail at once for
  :data:`RETRY_AFTER` seconds, so a decision walking several remote groups costs one
  timeout, not one per group.

Only publicly readable values are asked for and kept (the PO flag, and a type filter that
cannot match HS_SECKEY), so secret keys of remote identities are never fetched. Which
handles may be looked up here, and which stay local, is decided by
:meth:`idnode.node.records.Records.identity_values`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from idnode.client import HandleClient
from idnode.config_identity import IdentityConfig
from idnode.errors import AuthenticationFailed, RegistryError, RemoteError
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.node.cache import LruCache
from idnode.protocol.constants import ResponseCode
from idnode.resolver import record_ttl

__all__ = ["IDENTITY_TYPES", "RETRY_AFTER", "RemoteIdentities"]

log = logging.getLogger("idnode.identity")

#: the value types authentication and authorisation read from a remote record
IDENTITY_TYPES = ("HS_PUBKEY", "HS_VLIST", "HS_ADMIN")

#: seconds a recursive node that did not answer is not asked again
RETRY_AFTER = 5.0

Values = tuple[HandleValue, ...] | None


@dataclass(frozen=True, slots=True)
class _Entry:
    values: Values
    expires: float


class RemoteIdentities:
    """Public identity records fetched through one recursive node, cached (one per worker).

    :param settings: the validated ``[identity]`` section (``recursive`` must be set).
    :param local_only: handle keys never looked up remotely (the server admins).
    :ivar upstream_requests: resolutions sent to the recursive node.
    :ivar cache_hits: lookups answered from the cache.
    """

    def __init__(self, settings: IdentityConfig, local_only: Iterable[str] = ()) -> None:
        if settings.recursive is None:
            raise ValueError("[identity] needs the recursive node's address")
        self.settings = settings
        self.server = settings.recursive
        host, port = self.server
        self.label = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.local_only = frozenset(local_only)
        timeout = settings.timeout
        # UDP gets a third of the budget, TCP the rest; the whole lookup is also bounded.
        self._client = HandleClient(self.server, timeout=timeout,
                                    udp_timeouts=(timeout / 3,))
        self._cache: LruCache[str, _Entry] = LruCache(settings.max_entries)
        self._flights: dict[str, asyncio.Future[Values]] = {}
        self._seen: LruCache[str, bool] = LruCache(settings.max_entries)
        self.upstream_requests = 0
        self.cache_hits = 0
        #: while the recursive node is considered down: (until, why), monotonic time
        self._down: tuple[float, str] | None = None

    async def values_of(self, handle: Handle) -> Values:
        """The public HS_PUBKEY / HS_VLIST / HS_ADMIN values of ``handle`` (``()`` when it
        has none of them, ``None`` when it does not exist or must stay local).

        :raises AuthenticationFailed: the recursive node is unreachable, too slow or failed.
        """
        key = handle.key
        if key in self.local_only:
            return None
        entry = self._cache.get(key)
        if entry is not None:
            if entry.expires > time.monotonic():
                self.cache_hits += 1
                return entry.values
            self._cache.discard(key)
        flight = self._flights.get(key)
        if flight is None:
            if self._down is not None:
                until, why = self._down
                if time.monotonic() < until:
                    raise self._unreachable(handle, f"{why}; not asked again for "
                                                    f"{until - time.monotonic():.1f} s")
                self._down = None
            flight = asyncio.ensure_future(self._fetch(handle))
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._landed(key, done))
        # One waiter giving up (its client left) does not cancel the others' request.
        return await asyncio.shield(flight)

    def _landed(self, key: str, flight: asyncio.Future[Values]) -> None:
        self._flights.pop(key, None)
        if not flight.cancelled():
            flight.exception()  # retrieved, even when every waiter gave up

    async def _fetch(self, handle: Handle) -> Values:
        self.upstream_requests += 1
        settings = self.settings
        try:
            async with asyncio.timeout(settings.timeout):
                answer = await self._client.resolve(handle.text, types=IDENTITY_TYPES)
        except RemoteError as exc:
            if exc.response_code == ResponseCode.HANDLE_NOT_FOUND:
                return self._keep(handle, None, settings.negative_ttl)
            if exc.response_code == ResponseCode.VALUES_NOT_FOUND:
                return self._keep(handle, (), settings.negative_ttl)
            raise AuthenticationFailed(reason=f"cannot resolve identity {handle.text} through "
                                              f"the recursive node {self.label}: {exc}") \
                from None
        except (TimeoutError, RegistryError, OSError) as exc:
            await self._drop_connection()
            why = (f"no answer within {settings.timeout:g} s" if isinstance(exc, TimeoutError)
                   else str(exc) or type(exc).__name__)
            self._down = (time.monotonic() + RETRY_AFTER, why)
            raise self._unreachable(handle, why) from None
        values = tuple(v for v in answer.values
                       if v.public_read and any(v.matches_type(t) for t in IDENTITY_TYPES))
        if self._seen.get(handle.key) is None:
            self._seen.put(handle.key, True)
            log.info("identity %s fetched through recursive node %s: %s", handle.text,
                     self.label, ", ".join(f"{v.index}:{v.type}" for v in values) or "none")
        return self._keep(handle, values, record_ttl(values, settings.cache_ttl))

    def _unreachable(self, handle: Handle, why: str) -> AuthenticationFailed:
        return AuthenticationFailed(reason=f"cannot resolve identity {handle.text}: the "
                                           f"recursive node {self.label} is unreachable "
                                           f"({why})")

    def _keep(self, handle: Handle, values: Values, ttl: int) -> Values:
        if ttl > 0:
            self._cache.put(handle.key, _Entry(values, time.monotonic() + ttl))
        return values

    async def _drop_connection(self) -> None:
        """After a timeout the kept TCP connection may be mid-answer: open a fresh one."""
        with contextlib.suppress(RegistryError, OSError):
            await self._client.close()

    async def close(self) -> None:
        for flight in list(self._flights.values()):
            flight.cancel()
        await self._drop_connection()
