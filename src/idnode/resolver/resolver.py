"""The iterative resolver: the public face over :mod:`idnode.resolver.walk`.

One :class:`Resolver` serves many concurrent resolutions on one event loop: they share its
cache, the health of every upstream server and its pooled connections, and identical
questions in flight at the same time share one request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from idnode.client.flow import response_body
from idnode.client.results import remote_error
from idnode.errors import ConfigError, HandleNotFound, RegistryError, UpstreamUnavailable
from idnode.identifiers.handle import PREFIX_NA
from idnode.identifiers.values.site import SiteData
from idnode.protocol.bodies import SiteInfoResponse
from idnode.protocol.constants import ResponseCode
from idnode.resolver.cache import ResolverCache
from idnode.resolver.exchange import Exchanger
from idnode.resolver.health import HealthBook
from idnode.resolver.settings import DEFAULT_SETTINGS, ResolverSettings
from idnode.resolver.sites import Endpoint, service_of
from idnode.resolver.trace import Trace
from idnode.resolver.walk import Resolved, Shared, Walk, site_info_request

__all__ = ["Resolver", "root_sites"]

_ROOT = f"{PREFIX_NA}/{PREFIX_NA}"


def _book(settings: ResolverSettings) -> HealthBook:
    return HealthBook(failure_threshold=settings.failure_threshold,
                      open_seconds=settings.open_seconds,
                      max_open_seconds=settings.max_open_seconds,
                      max_inflight=settings.upstream_max_inflight)


async def _site_info(exchange: Exchanger, server: tuple[str, int]) -> SiteData:
    host, port = server
    endpoints = (Endpoint("udp", host, port), Endpoint("tcp", host, port))
    answer = await exchange.ask(str(endpoints[0]), endpoints, site_info_request(), "/")
    if answer.message.response_code != ResponseCode.SUCCESS:
        raise remote_error(answer.message)
    return SiteData.from_bytes(SiteInfoResponse.from_wire(response_body(answer.message)).site)


class Resolver:
    """Resolves handles from the root sites down (Handle §10), caching every record.

    :param roots: the root (GHR-like) sites to start from, e.g. from :func:`load_bootstrap
        <idnode.resolver.load_bootstrap>` or :func:`root_sites`.
    :param settings: timeouts, limits and cache size.
    :param cache: a cache to use (a recursive node shares it with its UDP fast path).
    :raises ConfigError: no root site.
    """

    def __init__(self, roots: Sequence[SiteData], settings: ResolverSettings = DEFAULT_SETTINGS,
                 *, cache: ResolverCache | None = None) -> None:
        if not roots:
            raise ConfigError(key="roots", reason="a resolver needs at least one root site")
        self.settings = settings
        self.cache = cache if cache is not None else ResolverCache(settings.cache_max_entries)
        health = _book(settings)
        exchange = Exchanger(health, udp_timeouts=settings.udp_timeouts,
                             tcp_timeout=settings.tcp_timeout)
        self._shared = Shared(settings, self.cache, health, exchange, tuple(roots))

    @property
    def roots(self) -> tuple[SiteData, ...]:
        """The root sites resolutions start from."""
        return self._shared.roots

    @property
    def requests_sent(self) -> int:
        """Requests sent upstream so far (after sharing identical ones in flight)."""
        return self._shared.exchange.sent

    async def resolve(self, handle: str, *, authoritative: bool = False,
                      trace: Trace | None = None, recursion_count: int = 0) -> Resolved:
        """Resolve ``handle``: all its public values (callers filter by type or index).

        :param authoritative: ask with the AT flag and bypass the cache for the handle's
            record (prefix records may still come from the cache).
        :param trace: collects every question asked, as :class:`~idnode.resolver.Hop`\\ s.
        :param recursion_count: the count of the request being served (a recursive node
            passes its client's); upstream requests carry one more.
        :raises HandleNotFound: the handle, an alias target, or its prefix does not exist.
        :raises ResolutionLoop: a referral, alias or HS_SERV cycle.
        :raises RecursionTooDeep: too many referrals, aliases or recursive hops.
        :raises UpstreamUnavailable: no server of a service needed answered.
        :raises RemoteError: a server answered with another error.
        :raises InvalidHandle: ``handle`` is not a handle.
        """
        walk = Walk(self._shared, trace=trace, count=recursion_count + 1,
                    authoritative=authoritative)
        return await walk.resolve(handle)

    async def site_info(self, server: tuple[str, int]) -> SiteData:
        """The HS_SITE of the server at ``server`` (OC 2, UDP then TCP on that port).

        :raises TransportError: the server did not answer.
        :raises RemoteError: it answered with an error.
        """
        return await _site_info(self._shared.exchange, server)

    async def prime(self, *, trace: Trace | None = None) -> None:
        """Read ``0.NA/0.NA`` at the roots and start from its HS_SITE values from now on
        (like DNS priming); without that record or such values the roots stay as they are.

        :raises UpstreamUnavailable: no root server answered (other errors as
            :meth:`resolve`).
        """
        walk = Walk(self._shared, trace=trace, count=1, authoritative=False)
        try:
            resolved = await walk.resolve(_ROOT, step="root")
        except HandleNotFound:
            return  # the roots publish no list of root sites: keep the configured ones
        sites = service_of(resolved.values).sites
        if sites:
            self._shared.roots = sites

    def health_snapshot(self) -> list[dict[str, object]]:
        """Per upstream server: ``address``, ``srtt_ms``, ``failures``, ``state`` (closed,
        open, half-open), ``inflight`` and ``last_error``."""
        return self._shared.health.snapshot(time.monotonic())

    async def close(self) -> None:
        """Close pooled connections and cancel questions in flight."""
        await self._shared.exchange.close()


async def root_sites(servers: Sequence[tuple[str, int]],
                     settings: ResolverSettings = DEFAULT_SETTINGS) -> list[SiteData]:
    """The HS_SITE of each root server that answers OC 2 (asked concurrently).

    :raises UpstreamUnavailable: none answered.
    """
    exchange = Exchanger(_book(settings), udp_timeouts=settings.udp_timeouts,
                         tcp_timeout=settings.tcp_timeout)
    try:
        results = await asyncio.gather(*(_site_info(exchange, s) for s in servers),
                                       return_exceptions=True)
    finally:
        await exchange.close()
    sites: list[SiteData] = []
    problems = []
    for server, result in zip(servers, results, strict=True):
        if isinstance(result, SiteData):
            if result not in sites:
                sites.append(result)
        elif isinstance(result, RegistryError):
            problems.append(f"{server[0]}:{server[1]}: {result}")
        else:
            raise result
    if not sites:
        raise UpstreamUnavailable(handle=_ROOT, reason="no root server answered: "
                                  + ("; ".join(problems) or "none given"))
    return sites
