"""Services as sites: reading them from values, and choosing where to send a question.

A *service* is a list of sites (HS_SITE values); each site holds a full copy of the
service's handles, spread over its servers by the hash rule (§10.3). Resolutions may go to
any site: :func:`plan` orders them by health and smoothed RTT, and picks in each the one
server that holds the handle.

Everything here is pure: decoding, ordering and naming.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from idnode.errors import RegistryError
from idnode.identifiers.handle import ascii_upper
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import InterfaceProtocol, ServerRecord, SiteData

__all__ = [
    "PREFIX_SERVICE_TYPES",
    "SERVICE_TYPES",
    "Endpoint",
    "Service",
    "Target",
    "endpoints",
    "plan",
    "server_label",
    "service_of",
    "service_value_types",
    "site_name",
]

#: HS_SITE-like types naming the service of ``P/…`` in a record ``0.NA/P``.
SERVICE_TYPES = ("HS_SITE", "HS_SITE.6")
#: …and the service holding the derived prefix records ``0.NA/P.x``
#: (HS_NA_DELEGATE is the legacy name of HS_SITE.PREFIX).
PREFIX_SERVICE_TYPES = ("HS_SITE.PREFIX", "HS_NA_DELEGATE")
_SERV = "HS_SERV"
_SERV_PREFIX = "HS_SERV.PREFIX"


def service_value_types(*, prefix: bool) -> frozenset[str]:
    """Every type naming a service: of ``P/…`` (HS_SITE, HS_SITE.6, HS_SERV), or with
    ``prefix`` of the derived prefix records ``0.NA/P.x`` (HS_SITE.PREFIX, HS_SERV.PREFIX)."""
    if prefix:
        return frozenset((*PREFIX_SERVICE_TYPES, _SERV_PREFIX))
    return frozenset((*SERVICE_TYPES, _SERV))

#: Transports in the order they are tried for one server.
_ORDER = (("udp", InterfaceProtocol.UDP), ("tcp", InterfaceProtocol.TCP),
          ("http", InterfaceProtocol.HTTP))


@dataclass(frozen=True, slots=True)
class Service:
    """A service as a record describes it: its sites and the handles (HS_SERV) whose
    HS_SITE values are further sites.

    :ivar source: the cache key of the record the sites came from (so a stale site can be
        replaced there), or ``""``.
    """

    sites: tuple[SiteData, ...] = ()
    serv: tuple[str, ...] = ()
    source: str = ""

    def __bool__(self) -> bool:
        return bool(self.sites or self.serv)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One way to reach a server: ``"udp"``, ``"tcp"`` or ``"http"`` at ``host:port``."""

    transport: str
    host: str
    port: int

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Target:
    """The server of one site that holds a handle, and how to reach it."""

    site: SiteData
    server: ServerRecord
    label: str
    endpoints: tuple[Endpoint, ...]

    @property
    def site_name(self) -> str:
        return site_name(self.site)


def _decode_sites(values: Iterable[HandleValue], types: Sequence[str]) -> list[SiteData]:
    sites = []
    for value in values:
        if ascii_upper(value.type) in types:
            # A malformed site is skipped: the others may still serve.
            with contextlib.suppress(RegistryError):
                sites.append(SiteData.from_bytes(value.data))
    return sites


def service_of(values: Iterable[HandleValue], *, prefix: bool = False,
               source: str = "") -> Service:
    """The service a record's values describe.

    :param prefix: read HS_SITE.PREFIX / HS_SERV.PREFIX (where the derived prefix records
        live) instead of HS_SITE / HS_SITE.6 / HS_SERV.
    """
    values = tuple(values)
    site_types = PREFIX_SERVICE_TYPES if prefix else SERVICE_TYPES
    serv_type = _SERV_PREFIX if prefix else _SERV
    serv = tuple(v.data.decode("utf-8", "replace").strip() for v in values
                 if ascii_upper(v.type) == serv_type and v.data.strip())
    return Service(tuple(_decode_sites(values, site_types)), serv, source)


def site_name(site: SiteData) -> str:
    return site.attribute("desc") or ""


def endpoints(server: ServerRecord) -> tuple[Endpoint, ...]:
    """The query interfaces of ``server`` in the order they are tried: UDP, TCP, HTTP."""
    host = str(server.ip)
    out = []
    for name, protocol in _ORDER:
        interface = server.interface_for(protocol)
        if interface is not None and 0 < interface.port < 65536:
            out.append(Endpoint(name, host, interface.port))
    return tuple(out)


def server_label(server: ServerRecord) -> str:
    """``host:port`` naming a server for health and messages: its first query endpoint."""
    found = endpoints(server)
    if found:
        return str(found[0])
    return f"{server.ip}:?"


def plan(sites: Sequence[SiteData], handle: str, *, usable: Callable[[str], bool],
         srtt: Callable[[str], float | None], primary_first: bool = False) -> list[Target]:
    """The servers to try for ``handle``, best first: one per site (the hash rule's choice).

    Sites whose server is usable come first, then lower smoothed RTT (unknown counts as
    good: 0), then primary sites, then the order given. With ``primary_first`` (an
    authoritative question) primary sites lead whatever their RTT. Sites without servers or
    without a query interface are left out.
    """
    ranked = []
    for position, site in enumerate(sites):
        try:
            server = site.server_for(handle)
        except RegistryError:
            continue  # no servers, or an unknown hash option
        found = endpoints(server)
        if not found:
            continue
        label = str(found[0])
        rtt = srtt(label)
        key = (not site.primary if primary_first else False, not usable(label),
               0.0 if rtt is None else rtt, not site.primary, position)
        ranked.append((key, Target(site, server, label, found)))
    ranked.sort(key=lambda item: item[0])
    return [target for _, target in ranked]
