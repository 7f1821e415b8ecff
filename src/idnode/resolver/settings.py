"""The resolver's settings (a recursive node fills them from ``[recursive]``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_SETTINGS", "ResolverSettings"]


@dataclass(frozen=True, slots=True)
class ResolverSettings:
    """How a :class:`~idnode.resolver.Resolver` asks, caches and protects itself.

    :ivar udp_timeouts: the UDP retry schedule per server (seconds); TCP follows.
    :ivar tcp_timeout: seconds for a TCP connect, a TCP answer or an HTTP-tunnel exchange.
    :ivar max_ttl: the longest a record is cached, whatever its TTL says (two days).
    :ivar negative_ttl: how long an RC 100 answer is cached.
    :ivar max_referrals: referrals (RC 302/303) followed for one question, and HS_SERV
        indirections nested for one resolution.
    :ivar max_aliases: HS_ALIAS values followed for one resolution.
    :ivar max_recursion_count: the highest recursion count a request may reach.
    :ivar upstream_max_inflight: requests in flight to one server at most; beyond that the
        server counts as unavailable for the question.
    :ivar failure_threshold: consecutive failures of a server that open its circuit.
    :ivar open_seconds: how long an open circuit first stays open (doubling on re-opens).
    :ivar cache_max_entries: records cached at most (LRU).
    :ivar max_open_seconds: the cap of the circuit breaker's doubling back-off.
    """

    udp_timeouts: tuple[float, ...] = (0.4, 0.8)
    tcp_timeout: float = 2.0
    max_ttl: int = 172_800
    negative_ttl: int = 60
    max_referrals: int = 8
    max_aliases: int = 8
    max_recursion_count: int = 8
    upstream_max_inflight: int = 32
    failure_threshold: int = 3
    open_seconds: float = 5.0
    cache_max_entries: int = 100_000
    max_open_seconds: float = 60.0


#: The defaults, shared (the settings are immutable).
DEFAULT_SETTINGS = ResolverSettings()
