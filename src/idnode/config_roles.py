"""The parts of ``config.toml`` that place a node in the hierarchy: its role, its site and,
for a recursive node, how it resolves.

``[node] role`` names what the node is (工业互联网标识解析体系 tier). Every role but
``recursive`` runs the same authoritative stages; the role decides what ``idnode init``
provisions, the default ports and, for ``recursive``, the stage list.

``[site]`` describes the HS_SITE this server belongs to when the site has several servers
(handles are partitioned among them by the hash rule) or is a mirror. Without it the node is
a one-server primary site built from its listeners.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from idnode.errors import ConfigError

__all__ = ["HASH_OPTIONS", "ROLES", "RecursiveConfig", "SiteConfig", "SiteServer",
           "parse_recursive", "parse_site"]

#: role → its name in the national system's vocabulary
ROLES: dict[str, str] = {
    "authoritative": "authoritative node",
    "root": "root node (根节点)",
    "top-level": "national top-level node (国家顶级节点)",
    "secondary": "secondary node (二级节点)",
    "enterprise": "enterprise node (企业节点)",
    "recursive": "recursive node (递归节点)",
}

HASH_OPTIONS = {"prefix": 0, "suffix": 1, "handle": 2}


@dataclass(frozen=True, slots=True)
class SiteServer:
    """One server of the site: its id, address, ports (0 = no such interface) and key."""

    server_id: int
    address: str
    tcp: int = 0
    udp: int = 0
    http: int = 0
    public_key: Path | None = None


@dataclass(frozen=True, slots=True)
class SiteConfig:
    serial: int = 1
    primary: bool = True
    multi_primary: bool = False
    hash: str = "handle"
    description: str = ""
    servers: tuple[SiteServer, ...] = ()


@dataclass(frozen=True, slots=True)
class RecursiveConfig:
    """The ``[recursive]`` section (used when ``node.role = "recursive"``)."""

    roots: tuple[str, ...] = ()
    bootstrap: Path | None = None
    max_ttl: int = 172_800
    negative_ttl: int = 60
    cache_max_entries: int = 100_000
    upstream_max_inflight: int = 32
    failure_threshold: int = 3
    open_seconds: float = 5.0
    udp_timeouts: tuple[float, ...] = (0.4, 0.8)
    tcp_timeout: float = 2.0
    max_recursion_count: int = 8


def _int(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key=key, reason=f"expected an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(key=key, reason=f"{value} is outside {low}…{high}")
    return value


def _float(key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key=key, reason=f"expected a number, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(key=key, reason=f"{value} is outside {low}…{high}")
    return float(value)


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key=key, reason=f"expected true or false, got {value!r}")
    return value


def _str(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(key=key, reason=f"expected a string, got {value!r}")
    return value


def _keys(key: str, table: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(key=key, reason="must be a table")
    for name in table:
        if name not in allowed:
            raise ConfigError(key=f"{key}.{name}", reason="unknown key; expected one of "
                              + ", ".join(allowed))
    return table


def _path(home: Path, text: str) -> Path:
    path = Path(text)
    return path if path.is_absolute() else home / path


def _server(home: Path, key: str, table: Any) -> SiteServer:
    import ipaddress
    data = _keys(key, table, ("id", "address", "tcp", "udp", "http", "public_key"))
    if "id" not in data or "address" not in data:
        raise ConfigError(key=key, reason="every site server needs 'id' and 'address'")
    address = _str(f"{key}.address", data["address"])
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise ConfigError(key=f"{key}.address", reason=f"{address!r} is not an IP address") \
            from None
    ports = {name: _int(f"{key}.{name}", data.get(name, 0), 0, 65535)
             for name in ("tcp", "udp", "http")}
    if not any(ports.values()):
        raise ConfigError(key=key, reason="a site server needs at least one of tcp, udp, http")
    key_file = data.get("public_key")
    return SiteServer(_int(f"{key}.id", data["id"], 1, 2**31 - 1), address,
                      public_key=_path(home, _str(f"{key}.public_key", key_file))
                      if key_file is not None else None, **ports)


def parse_site(home: Path, table: Any, server_id: int) -> SiteConfig:
    """Validate ``[site]`` (with its ``[[site.servers]]``) for the server ``server_id``."""
    data = _keys("site", table, ("serial", "primary", "multi_primary", "hash", "description",
                                 "servers"))
    hash_name = _str("site.hash", data.get("hash", "handle"))
    if hash_name not in HASH_OPTIONS:
        raise ConfigError(key="site.hash", reason=f"{hash_name!r} is not one of "
                          + ", ".join(HASH_OPTIONS))
    raw = data.get("servers", [])
    if not isinstance(raw, list) or not raw:
        raise ConfigError(key="site.servers", reason="list this site's servers "
                          "([[site.servers]] tables), this server among them")
    servers = tuple(_server(home, f"site.servers[{i}]", t) for i, t in enumerate(raw))
    ids = [s.server_id for s in servers]
    if len(set(ids)) != len(ids):
        raise ConfigError(key="site.servers", reason=f"server ids repeat: {ids}")
    if server_id not in ids:
        raise ConfigError(key="site.servers", reason=f"node.server_id {server_id} is not "
                          f"among the site's servers {ids}")
    return SiteConfig(serial=_int("site.serial", data.get("serial", 1), 0, 0xFFFE),
                      primary=_bool("site.primary", data.get("primary", True)),
                      multi_primary=_bool("site.multi_primary",
                                          data.get("multi_primary", False)),
                      hash=hash_name,
                      description=_str("site.description", data.get("description", "")),
                      servers=servers)


def parse_recursive(home: Path, table: Any) -> RecursiveConfig:
    """Validate ``[recursive]``."""
    from idnode.config import parse_address
    data = _keys("recursive", table, tuple(f.name for f in fields(RecursiveConfig)))
    defaults = RecursiveConfig()
    roots = data.get("roots", [])
    if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
        raise ConfigError(key="recursive.roots", reason="expected a list of HOST:PORT strings")
    for text in roots:
        parse_address(text, "recursive.roots")
    timeouts = data.get("udp_timeouts", list(defaults.udp_timeouts))
    if not isinstance(timeouts, list) or len(timeouts) > 8:
        raise ConfigError(key="recursive.udp_timeouts", reason="expected a list of at most "
                          "8 numbers (seconds per UDP try; [] skips UDP)")
    bootstrap = data.get("bootstrap")
    return RecursiveConfig(
        roots=tuple(roots),
        bootstrap=_path(home, _str("recursive.bootstrap", bootstrap))
        if bootstrap is not None else None,
        max_ttl=_int("recursive.max_ttl", data.get("max_ttl", defaults.max_ttl), 0, 172_800),
        negative_ttl=_int("recursive.negative_ttl",
                          data.get("negative_ttl", defaults.negative_ttl), 0, 86_400),
        cache_max_entries=_int("recursive.cache_max_entries",
                               data.get("cache_max_entries", defaults.cache_max_entries),
                               0, 100_000_000),
        upstream_max_inflight=_int("recursive.upstream_max_inflight",
                                   data.get("upstream_max_inflight",
                                            defaults.upstream_max_inflight), 1, 100_000),
        failure_threshold=_int("recursive.failure_threshold",
                               data.get("failure_threshold", defaults.failure_threshold),
                               1, 1000),
        open_seconds=_float("recursive.open_seconds",
                            data.get("open_seconds", defaults.open_seconds), 0.1, 3600),
        udp_timeouts=tuple(_float("recursive.udp_timeouts", t, 0.01, 60) for t in timeouts),
        tcp_timeout=_float("recursive.tcp_timeout",
                           data.get("tcp_timeout", defaults.tcp_timeout), 0.05, 120),
        max_recursion_count=_int("recursive.max_recursion_count",
                                 data.get("max_recursion_count",
                                          defaults.max_recursion_count), 1, 255),
    )
