"""The ``[dns]`` section of ``config.toml``: the DNS face (``docs/identifiers.md``).

Off unless ``listen`` is set. The face answers two zones: ``zone``, the OID resolution
system (ORS, ITU-T X.672) zone whose names are OIDs with their arcs reversed, and
``handle_zone``, under which identifiers are encoded as DNS names. ``oids`` maps OID arcs
to the handle prefixes whose records answer for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from idnode.config_roles import _float, _int, _keys, _str
from idnode.errors import ConfigError

__all__ = ["DNS_EXAMPLE", "DnsConfig", "parse_dns"]

_KEYS = ("listen", "zone", "handle_zone", "ttl", "oids", "oid_mapping", "max_udp_payload",
         "max_tcp_connections", "tcp_idle_timeout")


@dataclass(frozen=True, slots=True)
class DnsConfig:
    """Validated ``[dns]``; zone names are absolute and lower-case (``oid-res.org.``).

    :ivar listen: (host, port) for UDP and TCP, or None: the face is off.
    :ivar oids: (OID arc, handle prefix) pairs: the arc's record is ``0.NA/<prefix>`` and
        a deeper OID ``arc.x.y`` is the handle ``<prefix>/x.y``.
    :ivar oid_mapping: the prefix whose mapping records (``<prefix>/MAP.OID.<arc>``, as
        ``idnode.schemes`` reads them) map the OIDs ``oids`` does not; None: none are read.
    """

    listen: tuple[str, int] | None = None
    zone: str = "oid-res.org."
    handle_zone: str = "hdl.example.cn."
    ttl: int = 300
    oids: tuple[tuple[str, str], ...] = field(default=())
    oid_mapping: str | None = None
    max_udp_payload: int = 1232
    max_tcp_connections: int = 256
    tcp_idle_timeout: float = 10.0


def _zone(key: str, value: Any) -> str:
    import dns.exception
    import dns.name
    text = _str(key, value).strip()
    try:
        name = dns.name.from_text(text if text.endswith(".") else text + ".")
    except dns.exception.DNSException as exc:
        raise ConfigError(key=key, reason=f"{text!r} is not a domain name: {exc}") from None
    if name == dns.name.root:
        raise ConfigError(key=key, reason="the root zone cannot be served")
    return str(name).lower()


def _prefix(key: str, value: Any) -> str:
    from idnode.identifiers.handle import ascii_upper, strip_prefix_handle
    bare = ascii_upper(strip_prefix_handle(_str(key, value).strip()))
    if not bare or "/" in bare or any(ch <= " " for ch in bare):
        raise ConfigError(key=key, reason=f"{value!r} is not a handle prefix")
    return bare


def _oids(value: Any) -> tuple[tuple[str, str], ...]:
    from idnode.dnsface.oid import parse_oid
    if not isinstance(value, dict):
        raise ConfigError(key="dns.oids", reason='expected a table of "ARC" = "PREFIX"')
    out = []
    for arc, prefix in value.items():
        key = f"dns.oids.{arc}"
        try:
            arcs = parse_oid(arc)
        except ValueError as exc:
            raise ConfigError(key=key, reason=str(exc)) from None
        out.append((".".join(map(str, arcs)), _prefix(key, prefix)))
    if len({a for a, _ in out}) != len(out):
        raise ConfigError(key="dns.oids", reason="an OID arc is listed twice")
    return tuple(sorted(out))


def parse_dns(table: Any) -> DnsConfig:
    """Validate ``[dns]``."""
    from idnode.config import parse_address
    data = _keys("dns", table, _KEYS)
    d = DnsConfig()
    listen_text = _str("dns.listen", data.get("listen", "off"))
    listen = None
    if listen_text != "off":
        address = parse_address(listen_text, "dns.listen")
        listen = (address.host, address.port)
    zone = _zone("dns.zone", data.get("zone", d.zone))
    handle_zone = _zone("dns.handle_zone", data.get("handle_zone", d.handle_zone))
    if zone.endswith("." + handle_zone) or handle_zone.endswith("." + zone) \
            or zone == handle_zone:
        raise ConfigError(key="dns.handle_zone", reason=f"{handle_zone} and dns.zone {zone} "
                          "must not contain one another")
    return DnsConfig(
        listen=listen,
        zone=zone,
        handle_zone=handle_zone,
        ttl=_int("dns.ttl", data.get("ttl", d.ttl), 0, 7 * 86_400),
        oids=_oids(data.get("oids", {})),
        oid_mapping=None if data.get("oid_mapping", "off") == "off"
        else _prefix("dns.oid_mapping", data["oid_mapping"]),
        max_udp_payload=_int("dns.max_udp_payload",
                             data.get("max_udp_payload", d.max_udp_payload), 512, 4096),
        max_tcp_connections=_int("dns.max_tcp_connections",
                                 data.get("max_tcp_connections", d.max_tcp_connections),
                                 1, 100_000),
        tcp_idle_timeout=_float("dns.tcp_idle_timeout",
                                data.get("tcp_idle_timeout", d.tcp_idle_timeout), 0.5, 3600),
    )


DNS_EXAMPLE = """
# [dns] serves the node's records over DNS (UDP and TCP): NAPTR for OIDs in the ORS zone
# (ITU-T X.672, arcs reversed: 1.2.156.3001 is 3001.156.2.1.<zone>) and TXT, URI and NAPTR
# for identifiers under handle_zone (88.100.1/ABC is abc._.1.100.88.<handle_zone>).
# See docs/identifiers.md, "The DNS face".
# [dns]
# listen = "127.0.0.1:5353"      # or "off" (the default)
# zone = "oid-res.org."          # the ORS zone this node answers for
# handle_zone = "hdl.example.cn."
# ttl = 300                      # the longest TTL of an answer (and of a negative one)
# max_udp_payload = 1232         # largest UDP answer (EDNS0); larger ones get TC=1
# max_tcp_connections = 256      # per worker
# tcp_idle_timeout = 10
# oid_mapping = "off"            # or "88": read OID mapping records 88/MAP.OID.<arc>
# [dns.oids]                     # OID arc = handle prefix
# "1.2.156.3001" = "88.100.1"
"""
