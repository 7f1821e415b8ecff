"""The node configuration file (``config.toml`` in the node home) and its validation.

The file is TOML written by ``idnode init`` with a comment on every key. ``load_config``
rejects unknown keys, wrong types and out-of-range values with a :class:`ConfigError` naming
the key (``limits.max_message_bytes``), so a typo never silently falls back to a default.
Parsing happens once at start-up, never on the request path.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from idnode.config_dns import DNS_EXAMPLE, DnsConfig, parse_dns
from idnode.config_identity import IDENTITY_EXAMPLE, IdentityConfig, parse_identity
from idnode.config_replication import (
    REPLICATION_EXAMPLE,
    EscrowConfig,
    ReplicationConfig,
    parse_escrow,
    parse_replication,
)
from idnode.config_reports import REPORTS_EXAMPLE, ReportsConfig, parse_reports
from idnode.config_roles import (
    ROLES,
    RecursiveConfig,
    SiteConfig,
    parse_recursive,
    parse_site,
)
from idnode.errors import ConfigError

__all__ = ["CONFIG_NAME", "Address", "HttpConfig", "NodeConfig", "load_config", "parse_address",
           "render_config"]

CONFIG_NAME = "config.toml"


@dataclass(frozen=True, slots=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"


def parse_address(text: str, key: str = "address") -> Address:
    """``HOST:PORT`` or ``[V6]:PORT`` → :class:`Address`; ``off`` is not accepted here."""
    raw = text.strip()
    if raw.startswith("["):
        host, sep, port_text = raw[1:].partition("]:")
    else:
        host, sep, port_text = raw.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ConfigError(key=key, reason=f"{text!r} is not HOST:PORT")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ConfigError(key=key, reason=f"port {port} out of range")
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ConfigError(key=key, reason=f"{host!r} is not an IP address") from None
    return Address(host, port)


@dataclass(frozen=True, slots=True)
class Limits:
    max_message_bytes: int = 262_144
    max_values_per_handle: int = 2048
    max_handle_bytes: int = 2048
    udp_max_answer_packets: int = 1
    tcp_idle_timeout: float = 300.0
    max_tcp_connections: int = 4096
    auth_timeout: float = 60.0
    max_pending_challenges: int = 65_536
    max_pending_challenge_bytes: int = 32 * 1024 * 1024
    pbkdf2_max_iterations: int = 10_000
    auth_failures_per_minute: int = 30
    list_page_size: int = 1000
    write_batch_max: int = 256
    login_lifetime: float = 86_400.0
    login_first: str = "idis"


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """The ``[http]`` section: TLS, credentials and limits of the web face."""

    tls_certificate: Path | None = None
    tls_private_key: Path | None = None
    request_client_certificates: bool = True
    allow_credentials_over_http: bool = False
    max_body_bytes: int = 4 * 1024 * 1024
    idle_timeout: float = 60.0
    max_connections: int = 10_000
    search_requires_auth: bool = True
    session_lifetime: int = 86_400


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Validated node configuration. Paths are absolute (resolved against the node home)."""

    home: Path
    prefixes: tuple[str, ...]
    server_admins: tuple[str, ...]
    role: str = "authoritative"
    server_id: int = 1
    workers: int = 1
    udp: Address | None = Address("127.0.0.1", 2641)
    tcp: Address | None = Address("127.0.0.1", 2641)
    http: Address | None = Address("127.0.0.1", 8000)
    https: Address | None = None
    web: HttpConfig = field(default_factory=HttpConfig)
    storage_url: str = ""
    reverse_index_types: tuple[str, ...] = ("URL", "CHECKSUM")
    storage_sync: str = "full"
    server_key: Path = Path()
    access_log: str = "-"
    log_level: str = "info"
    cache_max_handles: int = 100_000
    limits: Limits = field(default_factory=Limits)
    site: SiteConfig | None = None
    recursive: RecursiveConfig = field(default_factory=RecursiveConfig)
    replication: ReplicationConfig = field(default_factory=ReplicationConfig)
    escrow: tuple[EscrowConfig, ...] = ()
    #: ``[reports]``: upward reporting (数据上报配置); None = the node reports nothing
    reports: ReportsConfig | None = None
    #: ``[dns]``: the DNS face (ORS NAPTR for OIDs, identifiers as DNS names); off by default
    dns: DnsConfig = field(default_factory=DnsConfig)
    #: ``[identity]``: identities homed elsewhere, resolved recursively; off by default
    identity: IdentityConfig = field(default_factory=IdentityConfig)

    @property
    def is_recursive(self) -> bool:
        return self.role == "recursive"


def _path(home: Path, text: str) -> Path:
    path = Path(text)
    return path if path.is_absolute() else home / path


def _storage_url(home: Path, url: str) -> str:
    if url.startswith("sqlite:") and not url.startswith("sqlite:///"):
        return "sqlite:///" + str(_path(home, url[len("sqlite:"):]))
    return url


_Checker = Callable[[str, Any], Any]


def _int(low: int, high: int) -> _Checker:
    def check(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key=key, reason=f"expected an integer, got {value!r}")
        if not low <= value <= high:
            raise ConfigError(key=key, reason=f"{value} is outside {low}…{high}")
        return value
    return check


def _float(low: float, high: float) -> _Checker:
    def check(key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key=key, reason=f"expected a number, got {value!r}")
        if not low <= value <= high:
            raise ConfigError(key=key, reason=f"{value} is outside {low}…{high}")
        return float(value)
    return check


def _str(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(key=key, reason=f"expected a string, got {value!r}")
    return value


def _choice(*options: str) -> _Checker:
    def check(key: str, value: Any) -> str:
        if value not in options:
            raise ConfigError(key=key, reason=f"{value!r} is not one of {', '.join(options)}")
        return str(value)
    return check


def _str_list(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(key=key, reason="expected a list of strings")
    return tuple(value)


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key=key, reason=f"expected true or false, got {value!r}")
    return value


def _listener(key: str, value: Any) -> Address | None:
    text = _str(key, value)
    return None if text == "off" else parse_address(text, key)


_LIMIT_CHECKS: dict[str, _Checker] = {
    "max_message_bytes": _int(1024, 64 * 1024 * 1024),
    "max_values_per_handle": _int(1, 1_000_000),
    "max_handle_bytes": _int(16, 65_536),
    "udp_max_answer_packets": _int(1, 512),
    "tcp_idle_timeout": _float(1, 86_400),
    "max_tcp_connections": _int(1, 1_000_000),
    "auth_timeout": _float(1, 3600),
    "max_pending_challenges": _int(16, 10_000_000),
    "max_pending_challenge_bytes": _int(65_536, 2**34),
    "pbkdf2_max_iterations": _int(1000, 10_000_000),
    "auth_failures_per_minute": _int(1, 1_000_000),
    "list_page_size": _int(1, 100_000),
    "write_batch_max": _int(1, 10_000),
    "login_lifetime": _float(60, 30 * 86_400),
    "login_first": _choice("idis", "always", "never"),
}

_SECTIONS: dict[str, dict[str, _Checker]] = {
    "node": {"role": _choice(*ROLES), "prefixes": _str_list, "server_admins": _str_list,
             "server_id": _int(1, 2**31 - 1), "workers": _int(1, 64)},
    "listen": {"udp": _listener, "tcp": _listener, "http": _listener, "https": _listener},
    "storage": {"url": _str, "sync": _choice("full", "normal"),
                "reverse_index_types": _str_list},
    "http": {"tls_certificate": _str, "tls_private_key": _str,
             "request_client_certificates": _bool, "allow_credentials_over_http": _bool,
             "max_body_bytes": _int(1024, 1024 * 1024 * 1024),
             "idle_timeout": _float(1, 86_400), "max_connections": _int(1, 1_000_000),
             "search_requires_auth": _bool, "session_lifetime": _int(60, 30 * 86_400)},
    "keys": {"server_private_key": _str},
    "log": {"access_log": _str, "level": _choice("debug", "info", "warning", "error")},
    "cache": {"max_handles": _int(0, 100_000_000)},
    "limits": _LIMIT_CHECKS,
}


_OWN_PARSERS = ("site", "recursive", "replication", "escrow", "reports", "dns",
                "identity")


def _validated(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for section, table in data.items():
        if section in _OWN_PARSERS:
            out[section] = table  # validated by config_roles
            continue
        checks = _SECTIONS.get(section)
        if checks is None:
            raise ConfigError(key=section, reason="unknown section; expected one of "
                              + ", ".join([*_SECTIONS, *_OWN_PARSERS]))
        if not isinstance(table, dict):
            raise ConfigError(key=section, reason="must be a table")
        out[section] = {}
        for key, value in table.items():
            check = checks.get(key)
            if check is None:
                raise ConfigError(key=f"{section}.{key}", reason="unknown key; expected one of "
                                  + ", ".join(checks))
            out[section][key] = check(f"{section}.{key}", value)
    return out


def load_config(home: Path) -> NodeConfig:
    """Read and validate ``home/config.toml``.

    :raises ConfigError: missing file, TOML syntax error, unknown key, bad value.
    """
    home = home.resolve()
    path = home / CONFIG_NAME
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(key=str(path), reason="no config file; run 'idnode init' first") \
            from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(key=str(path), reason=f"not valid TOML: {exc}") from None
    conf = _validated(raw)
    node = conf.get("node", {})
    role = node.get("role", "authoritative")
    prefixes = node.get("prefixes", ())
    if not prefixes and role != "recursive":
        raise ConfigError(key="node.prefixes", reason="at least one prefix is required")
    server_id = node.get("server_id", 1)
    site = parse_site(home, conf["site"], server_id) if "site" in conf else None
    recursive = parse_recursive(home, conf.get("recursive", {}))
    if role == "recursive" and not recursive.roots and recursive.bootstrap is None:
        raise ConfigError(key="recursive.roots", reason="a recursive node needs root servers "
                          "(recursive.roots) or a bootstrap file (recursive.bootstrap)")
    replication = (parse_replication(home, conf["replication"]) if "replication" in conf
                   else ReplicationConfig())
    escrow = tuple(replace(e, storage_url=_storage_url(home, e.storage_url))
                   for e in parse_escrow(home, conf.get("escrow", [])))
    listen = conf.get("listen", {})
    storage = conf.get("storage", {})
    if "url" not in storage:
        if role != "recursive":
            raise ConfigError(key="storage.url", reason="required")
        storage["url"] = "memory:"  # a recursive node keeps only its cache
    keys = conf.get("keys", {})
    if "server_private_key" not in keys:
        raise ConfigError(key="keys.server_private_key", reason="required")
    log = conf.get("log", {})
    web = _web_config(home, conf.get("http", {}), listen)
    return NodeConfig(
        home=home,
        prefixes=prefixes,
        server_admins=node.get("server_admins", ()),
        role=role,
        site=site,
        recursive=recursive,
        replication=replication,
        escrow=escrow,
        server_id=server_id,
        workers=node.get("workers", 1),
        udp=listen.get("udp", Address("127.0.0.1", 2641)),
        tcp=listen.get("tcp", Address("127.0.0.1", 2641)),
        http=listen.get("http", Address("127.0.0.1", 8000)),
        https=listen.get("https"),
        web=web,
        storage_url=_storage_url(home, storage["url"]),
        reverse_index_types=storage.get("reverse_index_types", ("URL", "CHECKSUM")),
        storage_sync=storage.get("sync", "full"),
        server_key=_path(home, keys["server_private_key"]),
        access_log=log.get("access_log", "-"),
        log_level=log.get("level", "info"),
        cache_max_handles=conf.get("cache", {}).get("max_handles", 100_000),
        limits=Limits(**conf.get("limits", {})),
        reports=parse_reports(home, conf["reports"]) if "reports" in conf else None,
        dns=parse_dns(conf["dns"]) if "dns" in conf else DnsConfig(),
        identity=(parse_identity(conf["identity"], role) if "identity" in conf
                  else IdentityConfig()),
    )


def _web_config(home: Path, http: dict[str, Any], listen: dict[str, Any]) -> HttpConfig:
    cert, key = http.get("tls_certificate"), http.get("tls_private_key")
    if listen.get("https") is not None and (cert is None or key is None):
        raise ConfigError(key="http.tls_certificate", reason="listen.https needs "
                          "http.tls_certificate and http.tls_private_key")
    if http.get("allow_credentials_over_http"):
        plain = listen.get("http", Address("127.0.0.1", 8000))
        if plain is not None and not plain.is_loopback:
            raise ConfigError(key="http.allow_credentials_over_http",
                              reason=f"allowed for loopback testing only, but listen.http is "
                                     f"{plain}")
    options = {k: v for k, v in http.items() if k not in ("tls_certificate",
                                                          "tls_private_key")}
    return HttpConfig(tls_certificate=_path(home, cert) if cert else None,
                      tls_private_key=_path(home, key) if key else None, **options)


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(_toml_str(i) for i in items) + "]"


def render_config(*, prefixes: tuple[str, ...], server_admins: tuple[str, ...],
                  udp: str, tcp: str, http: str, storage_url: str,
                  server_key: str = "keys/server.key", https: str = "off",
                  tls_certificate: str = "keys/tls.crt",
                  tls_private_key: str = "keys/tls.key", role: str = "authoritative",
                  roots: tuple[str, ...] = (), server_id: int = 1) -> str:
    """The documented ``config.toml`` that ``idnode init`` writes."""
    lim = Limits()
    recursive = _render_recursive(roots) if role == "recursive" else _SITE_EXAMPLE
    if role != "recursive":
        recursive += REPLICATION_EXAMPLE + REPORTS_EXAMPLE + IDENTITY_EXAMPLE
    recursive += DNS_EXAMPLE
    return f"""\
# idnode node configuration. Every key is documented; 'idnode serve' refuses unknown keys.
# Relative paths are relative to this directory (the node home).

[node]
# The node's role: {", ".join(ROLES)}. Every role but "recursive" serves its
# prefixes authoritatively (and refers requests for delegated prefixes, RC 302/303); the
# recursive node resolves on behalf of clients through the hierarchy and caches.
role = {_toml_str(role)}
# Prefixes this node is home for (served authoritatively; others get RC 301).
prefixes = {_toml_list(prefixes)}
# Identities (index:handle) with full administrative rights on this server.
server_admins = {_toml_list(server_admins)}
# This server's id within its site (HS_SITE serverId).
server_id = {server_id}
# Worker processes sharing the listening ports (SO_REUSEPORT where the OS allows).
workers = 1

[listen]
# HOST:PORT to listen on, or "off". Binding a non-loopback address is an explicit choice.
udp = {_toml_str(udp)}
tcp = {_toml_str(tcp)}
# HTTP interface: REST API, proxy resolution, reverse lookup, API docs, protocol tunnel.
# Credentials are refused over plain HTTP (see [http]); use the HTTPS listener for writes.
http = {_toml_str(http)}
# The same over TLS, with the certificate in [http].
https = {_toml_str(https)}

[storage]
# "sqlite:PATH" (embedded default) or "postgresql://user@host:port/db[?schema=name]".
url = {_toml_str(storage_url)}
# SQLite durability: "full" fsyncs every commit (safe against power loss);
# "normal" is safe against process crashes only.
sync = "full"
# Value types the reverse lookup (/hrls/handles/?URL=...) can search; only public, textual
# values up to 1024 bytes are indexed. Changing the list rebuilds the index at next start.
reverse_index_types = ["URL", "CHECKSUM"]

[http]
# The TLS certificate chain and private key (PEM) of the HTTPS listener. 'idnode init'
# writes a self-signed pair; replace them with your CA-issued ones (same paths, or edit).
tls_certificate = {_toml_str(tls_certificate)}
tls_private_key = {_toml_str(tls_private_key)}
# Ask TLS clients for a certificate (optional for them): Handle.Net clients authenticate
# with one whose subject is UID=300:PREFIX/ADMIN and whose key is that HS_PUBKEY.
request_client_certificates = true
# Accept credentials over plain HTTP. For loopback testing only (refused otherwise).
allow_credentials_over_http = false
# Largest request body, in bytes.
max_body_bytes = 4194304
# Seconds an idle keep-alive connection is kept open.
idle_timeout = 60
# Most simultaneous HTTP connections per listener and worker.
max_connections = 10000
# Whether reverse lookup needs credentials (pyhandle always sends them).
search_requires_auth = true
# Seconds an authenticated session of the Handle scheme lives (/api/sessions).
session_lifetime = 86400

[keys]
# The server's private key (PEM, mode 0600); its public key is published in HS_SITE and
# used to sign responses when a client sets the CT flag.
server_private_key = {_toml_str(server_key)}

[log]
# Access log: "-" for standard output, or a file path. One line per request.
access_log = "logs/access.log"
# debug, info, warning or error.
level = "info"

[cache]
# Hot-record cache per worker (handles); 0 disables it. Writes invalidate it at once.
max_handles = 100000

[limits]
# Largest message accepted or sent, in bytes (protocol maximum 262144).
max_message_bytes = {lim.max_message_bytes}
# Most values one handle may hold.
max_values_per_handle = {lim.max_values_per_handle}
# Longest handle, in UTF-8 bytes.
max_handle_bytes = {lim.max_handle_bytes}
# Most 512-byte datagrams in one UDP answer, per datagram of the request. 1 means an answer
# never outgrows the request's packet count (no amplification); larger answers tell the
# client to retry over TCP. Raise it only for legacy clients that cannot fall back.
udp_max_answer_packets = {lim.udp_max_answer_packets}
# Seconds an idle TCP connection is kept open.
tcp_idle_timeout = {lim.tcp_idle_timeout:g}
# Most simultaneous TCP connections per worker.
max_tcp_connections = {lim.max_tcp_connections}
# Seconds a client has to answer an authentication challenge.
auth_timeout = {lim.auth_timeout:g}
# Most outstanding challenges per worker (oldest dropped first).
max_pending_challenges = {lim.max_pending_challenges}
# Most bytes of requests held while their challenges are outstanding (oldest dropped first).
max_pending_challenge_bytes = {lim.max_pending_challenge_bytes}
# Highest PBKDF2 iteration count accepted in an HS_SECKEY answer (bounds CPU per request).
pbkdf2_max_iterations = {lim.pbkdf2_max_iterations}
# Failed authentications one client address may have per minute (per worker); beyond it its
# answers get RC 3 until the minute has passed. Bounds online guessing of secrets.
auth_failures_per_minute = {lim.auth_failures_per_minute}
# Handles per message when listing handles (OC 105).
list_page_size = {lim.list_page_size}
# Most writes committed together in one storage transaction (group commit).
write_batch_max = {lim.write_batch_max}
# Seconds an IDIS login (OC 2001 key login / OC 2000 password login) holds on a TCP
# connection; after that the connection's requests get RC 407 (log in again).
login_lifetime = {lim.login_lifetime:g}
# Who gets RC 408 (log in first) instead of a challenge for a request that needs
# authentication on a TCP connection that has not logged in: "idis" = requests of protocol
# 2.10 (the IDIS SDKs; CNRI clients send 2.1-2.9 or 2.11), "always", or "never".
login_first = {_toml_str(lim.login_first)}
{recursive}"""


_SITE_EXAMPLE = """
# [site] describes this server's HS_SITE when the site has several servers (handles are
# partitioned among them by the hash rule; a server answers RC 301 for another's share) or
# is a mirror. Without it the node is a one-server primary site built from [listen].
# [site]
# serial = 1                 # bump when the server list changes (clients see RC 300)
# primary = true             # false for a mirror site
# hash = "handle"            # handle, prefix or suffix
# description = "Shanghai top-level node"
# [[site.servers]]
# id = 1                     # node.server_id of that server
# address = "127.0.0.1"
# tcp = 2641
# udp = 2641
# http = 8000
# public_key = "keys/server1.pub"   # PEM; optional for the other servers
"""


def _render_recursive(roots: tuple[str, ...]) -> str:
    r = RecursiveConfig()
    return f"""
[recursive]
# Root servers (HOST:PORT) to start from; the node learns every root site from 0.NA/0.NA.
roots = {_toml_list(roots)}
# Or a bootstrap file: a JSON list of root sites (CNRI siteinfo.json form).
# bootstrap = "bootstrap.json"
# Longest time any answer is cached (two days at most), and how long "not found" is.
max_ttl = {r.max_ttl}
negative_ttl = {r.negative_ttl}
# Records kept in the cache (least recently used dropped first).
cache_max_entries = {r.cache_max_entries}
# Requests in flight to any one upstream server; beyond it that server counts as busy.
upstream_max_inflight = {r.upstream_max_inflight}
# Consecutive failures after which an upstream server is skipped for open_seconds
# (doubling while it stays dead), so a dead enterprise node costs no waiting.
failure_threshold = {r.failure_threshold}
open_seconds = {r.open_seconds:g}
# Seconds per UDP try, then TCP with tcp_timeout, then HTTP when the server has it.
udp_timeouts = [{", ".join(f"{t:g}" for t in r.udp_timeouts)}]
tcp_timeout = {r.tcp_timeout:g}
# Requests that already passed this many recursive nodes are refused (RC 6).
max_recursion_count = {r.max_recursion_count}
"""
