"""One resolution: from the root sites down to the handle (``handle-protocol.md`` §10).

For ``P/S`` with ``P = 88.118.8``:

1. **Where does ``0.NA/P`` live?** Start at the root sites. For each proper ancestor ``A``
   of ``P``, shortest first (``88``, ``88.118``), read ``0.NA/A`` where we are; its
   HS_SITE.PREFIX / HS_SERV.PREFIX values, if any, name the service holding the derived
   prefix records, and we move there. A missing ancestor record keeps us where we are.
2. **Read ``0.NA/P`` there.** Missing: the prefix is not registered. Its HS_SITE /
   HS_SITE.6 / HS_SERV values are the service for ``P/S``.
3. **Ask that service** for ``P/S``: any site (the healthiest, fastest first), in each site
   the server the hash rule picks; a site whose server does not answer gives way to the
   next (a mirror). Referrals (RC 302/303) are followed, RC 300 refreshes the site
   (OC 2) and retries once, RC 301 re-walks from the root once.
4. **HS_ALIAS**: a record with an alias resolves to its target instead.

Every record read is cached by its TTL (:mod:`idnode.resolver.cache`), so most resolutions
need one question or none. A prefix handle ``0.NA/X`` itself lives where ``X``'s parent's
delegation says, else at the root.

Where this departs from the house style (§2.6): the decisions are pure functions kept apart
(site order in :mod:`~idnode.resolver.sites`, TTLs in :mod:`~idnode.resolver.cache`, circuit
states in :mod:`~idnode.resolver.health`), but the walk itself is an async loop rather than a
``next_request()`` / ``on_result()`` state object: HS_SERV and alias targets recurse into
whole resolutions, which a flat state machine would have to model as a stack. There is still
one copy of the logic; :class:`~idnode.resolver.SyncResolver` runs this loop on a private
event loop.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

from idnode.client.flow import response_body
from idnode.client.results import remote_error
from idnode.errors import (
    HandleNotFound,
    ProtocolError,
    RecursionTooDeep,
    RegistryError,
    RemoteError,
    ResolutionLoop,
    UpstreamUnavailable,
)
from idnode.identifiers.handle import PREFIX_NA, Handle, ascii_upper, handle_key
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import SiteData
from idnode.protocol.bodies import (
    HandleRequest,
    ReferralBody,
    ResolutionRequest,
    ResolutionResponse,
    SiteInfoResponse,
)
from idnode.protocol.constants import OpCode, OpFlag, ResponseCode
from idnode.protocol.message import Message
from idnode.resolver.cache import CacheEntry, ResolverCache, record_ttl
from idnode.resolver.exchange import Answer, Exchanger
from idnode.resolver.health import HealthBook
from idnode.resolver.settings import ResolverSettings
from idnode.resolver.sites import (
    PREFIX_SERVICE_TYPES,
    SERVICE_TYPES,
    Endpoint,
    Service,
    Target,
    plan,
    server_label,
    service_of,
)
from idnode.resolver.trace import Hop, Trace
from idnode.transport.client import TransportError

__all__ = ["Resolved", "Shared", "Walk", "site_info_request"]

#: CNRI clients let a request expire 12 hours after it was made.
_EXPIRATION = 12 * 3600
#: Levels of a prefix walked at most (``88.118.8`` has three).
MAX_PREFIX_DEPTH = 16
_ROOT_KEY = f"{PREFIX_NA}/{PREFIX_NA}"
_ALIAS = "HS_ALIAS"
_SITE_TYPES = frozenset(SERVICE_TYPES + PREFIX_SERVICE_TYPES)
_PUBLIC_ONLY = int(OpFlag.PUBLIC_ONLY)
_AUTHORITATIVE = int(OpFlag.AUTHORITATIVE)
_OK = int(ResponseCode.SUCCESS)
_NOT_FOUND = int(ResponseCode.HANDLE_NOT_FOUND)
_STALE_SITE = int(ResponseCode.OUT_OF_DATE_SITE_INFO)
_NOT_RESPONSIBLE = int(ResponseCode.SERVER_NOT_RESP)
_REFERRALS = (int(ResponseCode.SERVICE_REFERRAL), int(ResponseCode.PREFIX_REFERRAL))


@dataclass(frozen=True, slots=True)
class Resolved:
    """A resolution's answer.

    :ivar handle: the handle as requested.
    :ivar values: the public values of the final record (after aliases).
    :ivar ttl: seconds the answer may still be cached.
    :ivar aliases: the handles followed through HS_ALIAS, in order.
    :ivar from_cache: the answer came from the cache without asking anyone.
    """

    handle: str
    values: tuple[HandleValue, ...]
    ttl: int
    aliases: tuple[str, ...]
    from_cache: bool


@dataclass(slots=True)
class Shared:
    """What every resolution of one resolver uses."""

    settings: ResolverSettings
    cache: ResolverCache
    health: HealthBook
    exchange: Exchanger
    roots: tuple[SiteData, ...]


def _prefix_key(prefix: str) -> str:
    return f"{PREFIX_NA}/{ascii_upper(prefix)}"


def _ancestors(prefix: str) -> list[str]:
    """``88.118.8`` → ``["88", "88.118"]``."""
    parts = prefix.split(".")
    if len(parts) > MAX_PREFIX_DEPTH:
        raise RecursionTooDeep(reason=f"prefix {prefix} has more than {MAX_PREFIX_DEPTH} "
                                      "levels")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _values_of(response: Message) -> tuple[HandleValue, ...] | None:
    """The public values of an RC 1 answer, or ``None`` for RC 100."""
    if response.response_code == _NOT_FOUND:
        return None
    values = ResolutionResponse.from_wire(response_body(response)).values
    return tuple(v for v in values if v.public_read)


def _alias_target(values: tuple[HandleValue, ...]) -> str | None:
    for value in values:
        if ascii_upper(value.type) == _ALIAS:
            target = value.data.decode("utf-8", "replace").strip()
            if target:
                return target
    return None


def _service_id(sites: list[SiteData]) -> frozenset[str]:
    return frozenset(server_label(s) for site in sites for s in site.servers)


def site_info_request(recursion_count: int = 1) -> Message:
    """An OC 2 request (the request id is set when it is sent)."""
    return Message(opcode=OpCode.GET_SITE_INFO, body=HandleRequest("/").to_wire(),
                   recursion_count=min(recursion_count, 255),
                   expiration=int(time.time()) + _EXPIRATION)


class Walk:
    """One call of :meth:`Resolver.resolve <idnode.resolver.Resolver.resolve>`.

    :param count: the recursion count this resolution's requests carry.
    :param authoritative: set AT on the questions for handle records and bypass the cache
        for them (prefix records are still cached).
    """

    def __init__(self, shared: Shared, *, trace: Trace | None, count: int,
                 authoritative: bool) -> None:
        self.shared = shared
        self.settings = shared.settings
        self.cache = shared.cache
        self.trace = trace
        self.count = count
        self.authoritative = authoritative
        self._serv: list[str] = []  # HS_SERV handles being resolved, for cycle checks

    # -- trace ------------------------------------------------------------------------------
    def _hop(self, step: str, handle: str, server: str, transport: str, site: str,
             code: int, seconds: float, note: str = "") -> None:
        if self.trace is not None:
            self.trace.add(Hop(step, handle, server, transport, site, code, seconds * 1000,
                               note))

    def _cached(self, key: str, step: str, handle: str) -> CacheEntry | None:
        started = time.monotonic()
        entry = self.cache.get(key, started)
        if entry is not None:
            code = _OK if entry.values is not None else _NOT_FOUND
            note = f"ttl {max(0, int(entry.expires - started))} s"
            if entry.aliases:
                note += ", via " + " → ".join(entry.aliases)
            self._hop(step, handle, "cache", "cache", "", code, time.monotonic() - started,
                      note)
        return entry

    def _store(self, key: str, handle: str, values: tuple[HandleValue, ...] | None,
               message: str) -> CacheEntry:
        now = time.monotonic()
        if values is None:
            entry = CacheEntry(handle, None, now + self.settings.negative_ttl, message)
            if self.settings.negative_ttl > 0:
                self.cache.put(key, entry)
            return entry
        ttl = record_ttl(values, self.settings.max_ttl)
        entry = CacheEntry(handle, values, now + ttl)
        if ttl > 0:
            self.cache.put(key, entry)
        return entry

    # -- handles and aliases ----------------------------------------------------------------
    async def resolve(self, handle: str, step: str = "handle") -> Resolved:
        """Resolve ``handle``, following HS_ALIAS.

        :raises HandleNotFound: the handle, an alias target or the prefix does not exist.
        :raises ResolutionLoop: an alias, referral or HS_SERV cycle.
        :raises RecursionTooDeep: too many aliases, referrals, or recursive hops.
        :raises UpstreamUnavailable: no server of a service needed answered.
        :raises RemoteError: a server answered with another error.
        """
        limit = self.settings.max_recursion_count
        if self.count > limit:
            raise RecursionTooDeep(reason=f"{handle}: the request would reach recursion "
                                          f"count {self.count}, over the limit of {limit}")
        Handle.parse(handle)
        chain = [handle]
        keys = [handle_key(handle)]
        deadlines: list[float] = []  # per fetched record of the chain
        cached: CacheEntry | None = None
        final: tuple[HandleValue, ...] = ()
        while True:
            current, key = chain[-1], keys[-1]
            this_step = step if len(chain) == 1 else "alias"
            if not self.authoritative:
                cached = self._cached(key, this_step, current)
            if cached is not None:
                if cached.values is None:
                    raise HandleNotFound(cached.message or f"handle not found: {current}",
                                         handle=current)
                final = cached.values
                break
            values = await self._fetch_record(current, this_step)
            if values is None:
                message = f"handle not found: {current}"
                self._store(key, current, None, message)
                raise HandleNotFound(message, handle=current)
            deadlines.append(time.monotonic() + record_ttl(values, self.settings.max_ttl))
            target = _alias_target(values)
            if target is None:
                final = values
                break
            target_key = Handle.parse(target).key
            if target_key in keys:
                raise ResolutionLoop(reason="alias loop: " + " → ".join([*chain, target]))
            if len(chain) > self.settings.max_aliases:
                raise RecursionTooDeep(reason=f"more than {self.settings.max_aliases} "
                                              f"aliases from {handle}: "
                                              + " → ".join([*chain, target]))
            chain.append(target)
            keys.append(target_key)
        tail = cached.aliases if cached is not None else ()
        ends = deadlines + ([cached.expires] if cached is not None else [])
        now = time.monotonic()
        # Each fetched handle of the chain maps to the final values, for as long as every
        # record after it may be cached.
        for i in range(len(deadlines)):
            expires = min(ends[i:])
            if expires > now:
                self.cache.put(keys[i], CacheEntry(chain[i], final, expires,
                                                   aliases=(*chain[i + 1:], *tail)))
        return Resolved(handle, final, max(0, math.ceil(min(ends) - now)), (*chain[1:], *tail),
                        cached is not None and len(chain) == 1)

    async def _fetch_record(self, handle: str, step: str) -> tuple[HandleValue, ...] | None:
        """Ask the responsible service for ``handle``'s record (``None``: RC 100).

        An RC 301 answer means a cached prefix record sent us to the wrong place: the
        prefix records on the path are dropped and the walk starts again, once.
        """
        parsed = Handle.parse(handle)
        rewalked = False
        while True:
            service, path = await self._service_for(parsed)
            try:
                return _values_of(await self._ask(service, handle, step, final=True))
            except RemoteError as exc:
                if exc.response_code != _NOT_RESPONSIBLE or rewalked:
                    raise
            rewalked = True
            for key in path:
                self.cache.drop(key)

    # -- prefixes ---------------------------------------------------------------------------
    async def _service_for(self, handle: Handle) -> tuple[Service, list[str]]:
        """The service holding ``handle`` and the prefix-record keys that led there."""
        if handle.is_prefix_handle:
            bare = handle.home_prefix
            if bare == PREFIX_NA:
                return Service(self.shared.roots), []
            return await self._prefix_location(bare)
        prefix = handle.key.partition("/")[0]
        values, path = await self._prefix_record(prefix, handle.text)
        service = service_of(values, source=path[-1])
        if not service:
            raise UpstreamUnavailable(handle=handle.text,
                                      reason=f"its prefix record {path[-1]} names no service "
                                             "(no HS_SITE, HS_SITE.6 or HS_SERV value)")
        return service, path

    async def _prefix_location(self, prefix: str) -> tuple[Service, list[str]]:
        """Where ``0.NA/<prefix>`` lives: the root, or the service its closest delegating
        ancestor names."""
        service = Service(self.shared.roots)
        path = []
        for ancestor in _ancestors(prefix):
            key = _prefix_key(ancestor)
            path.append(key)
            values = await self._ancestor(ancestor, service)
            if values:
                delegated = service_of(values, prefix=True, source=key)
                if delegated:
                    service = delegated
        return service, path

    async def _ancestor(self, prefix: str, service: Service) -> tuple[HandleValue, ...] | None:
        key = _prefix_key(prefix)
        handle = key
        step = f"prefix {prefix}"
        entry = self._cached(key, step, handle)
        if entry is not None:
            return entry.values
        try:
            response = await self._ask(service, handle, step)
        except RemoteError as exc:
            if exc.response_code == _NOT_RESPONSIBLE:
                return None  # no delegation there; the walk stays where it is
            raise
        values = _values_of(response)
        self._store(key, handle, values, f"prefix {prefix} is not registered")
        return values

    async def _prefix_record(self, prefix: str, asked: str
                             ) -> tuple[tuple[HandleValue, ...], list[str]]:
        key = _prefix_key(prefix)
        path = [*(_prefix_key(a) for a in _ancestors(prefix)), key]
        step = f"prefix {prefix}"
        entry = self._cached(key, step, key)
        if entry is None:
            location, _ = await self._prefix_location(prefix)
            values = _values_of(await self._ask(location, key, step))
            entry = self._store(key, key, values, f"prefix {prefix} is not registered")
        if entry.values is None:
            raise HandleNotFound(f"handle not found: {asked}: prefix {prefix} is not "
                                 "registered", handle=asked)
        return entry.values, path

    # -- services ---------------------------------------------------------------------------
    async def _sites(self, service: Service) -> list[SiteData]:
        sites = list(service.sites)
        for serv in service.serv:
            sites.extend(await self._serv_sites(serv))
        return sites

    async def _serv_sites(self, handle: str) -> list[SiteData]:
        """The HS_SITE values of an HS_SERV handle (``0.NA/0.NA``: the root sites)."""
        key = handle_key(handle)
        if key == _ROOT_KEY:
            return list(self.shared.roots)
        if key in {handle_key(h) for h in self._serv}:
            raise ResolutionLoop(reason="HS_SERV loop: " + " → ".join([*self._serv, handle]))
        if len(self._serv) >= self.settings.max_referrals:
            raise RecursionTooDeep(reason="HS_SERV chain too long: "
                                          + " → ".join([*self._serv, handle]))
        self._serv.append(handle)
        try:
            resolved = await self.resolve(handle, step="service")
        finally:
            self._serv.pop()
        return list(service_of(resolved.values).sites)

    async def _ask(self, service: Service, handle: str, step: str, *,
                   final: bool = False) -> Message:
        """Ask ``service`` for ``handle``, following referrals; the answer has RC 1 or 100.

        :raises RemoteError: any other answer (301 included: the caller decides).
        """
        sites = await self._sites(service)
        authoritative = final and self.authoritative
        key = handle_key(handle)
        visited = {(_service_id(sites), key)}
        chain: list[str] = []
        source = service.source
        while True:
            response, target = await self._query(sites, handle, step, source, authoritative)
            code = response.response_code
            if code in (_OK, _NOT_FOUND):
                return response
            if code not in _REFERRALS:
                raise remote_error(response)
            try:
                referral = ReferralBody.from_wire(response_body(response))
            except ProtocolError as exc:
                raise RemoteError(f"{target.label} sent an unreadable referral for {handle}: "
                                  f"{exc}", response_code=code) from None
            prefix = code == ResponseCode.PREFIX_REFERRAL
            referred = service_of(referral.values, prefix=prefix) or \
                service_of(referral.values, prefix=not prefix)
            sites = await self._sites(referred)
            if not sites:
                raise RemoteError(f"{target.label} referred {handle} to {referral.handle} "
                                  "without naming a site", response_code=code)
            chain.append(target.label)
            ident = (_service_id(sites), key)
            if ident in visited:
                following = self._plan(sites, handle, False)
                nxt = following[0].label if following else "?"
                raise ResolutionLoop(reason=f"referral loop for {handle}: "
                                            + " → ".join([*chain, nxt]))
            if len(chain) > self.settings.max_referrals:
                raise RecursionTooDeep(reason=f"more than {self.settings.max_referrals} "
                                              f"referrals for {handle}: "
                                              + " → ".join(chain))
            visited.add(ident)
            step = "referral"
            source = ""

    def _plan(self, sites: list[SiteData], handle: str, authoritative: bool) -> list[Target]:
        health = self.shared.health
        now = time.monotonic()
        return plan(sites, handle, usable=lambda label: health.usable(label, now),
                    srtt=health.srtt, primary_first=authoritative)

    async def _query(self, sites: list[SiteData], handle: str, step: str, source: str,
                     authoritative: bool) -> tuple[Message, Target]:
        """One answer from the best site that gives one (RC 300 handled here)."""
        targets = self._plan(sites, handle, authoritative)
        if not targets:
            raise UpstreamUnavailable(handle=handle, reason="no site of its service has a "
                                                            "server with a query interface")
        failures = []
        for target in targets:
            try:
                answer = await self._exchange(target, handle, step, target.site.serial,
                                              authoritative)
                used = target
                if answer.message.response_code == _STALE_SITE:
                    used, answer = await self._refresh(target, answer, handle, step, source,
                                                       authoritative)
            except TransportError as exc:
                failures.append(str(exc))  # this site's server failed: try the next site
                continue
            return answer.message, used
        raise UpstreamUnavailable(handle=handle, reason="; ".join(failures))

    async def _exchange(self, target: Target, handle: str, step: str, serial: int,
                        authoritative: bool) -> Answer:
        flags = _PUBLIC_ONLY | (_AUTHORITATIVE if authoritative else 0)
        request = Message(opcode=OpCode.RESOLUTION, opflags=flags, site_serial=serial,
                          recursion_count=min(self.count, 255),
                          expiration=int(time.time()) + _EXPIRATION,
                          body=ResolutionRequest(handle).to_wire())
        return await self._send(step, handle, target.label, target.endpoints,
                                target.site_name, request)

    async def _send(self, step: str, handle: str, label: str, endpoints: tuple[Endpoint, ...],
                    site: str, request: Message) -> Answer:
        started = time.monotonic()
        try:
            answer = await self.shared.exchange.ask(label, endpoints, request, handle)
        except RegistryError as exc:
            self._hop(step, handle, label, "", site, 0, time.monotonic() - started, str(exc))
            raise
        notes = list(answer.notes)
        if answer.shared:
            notes.append("shared with a concurrent question")
        self._hop(step, handle, str(answer.endpoint), answer.endpoint.transport, site,
                  answer.message.response_code, time.monotonic() - started, "; ".join(notes))
        return answer

    async def _refresh(self, target: Target, stale: Answer, handle: str, step: str,
                       source: str, authoritative: bool) -> tuple[Target, Answer]:
        """RC 300: read the site afresh from the server (OC 2) and ask again, once."""
        info = await self._send("site info", handle, target.label, target.endpoints,
                                target.site_name, site_info_request(self.count))
        if info.message.response_code != _OK:
            raise remote_error(stale.message)
        try:
            fresh = SiteData.from_bytes(
                SiteInfoResponse.from_wire(response_body(info.message)).site)
        except RegistryError:
            raise remote_error(stale.message) from None
        if source:
            self._replace_site(source, target.site, fresh)
        targets = self._plan([fresh], handle, authoritative)
        if not targets:
            raise remote_error(stale.message)
        again = await self._exchange(targets[0], handle, step, fresh.serial, authoritative)
        if again.message.response_code == _STALE_SITE:
            raise remote_error(again.message)
        return targets[0], again

    def _replace_site(self, key: str, old: SiteData, new: SiteData) -> None:
        """Put ``new`` in place of ``old`` in the cached record ``key``."""
        entry = self.cache.get(key)
        if entry is None or entry.values is None:
            return
        old_data, new_data = old.to_bytes(), new.to_bytes()
        values = tuple(dataclasses.replace(v, data=new_data)
                       if ascii_upper(v.type) in _SITE_TYPES and v.data == old_data else v
                       for v in entry.values)
        if values != entry.values:
            self.cache.put(key, CacheEntry(entry.handle, values, entry.expires, entry.message,
                                           entry.aliases))
