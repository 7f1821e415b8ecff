"""The ``[reports]`` section of ``config.toml``: upward reporting (数据上报配置).

An enterprise node (企业节点) reports to its secondary node (二级节点): registration log
entries (标识注册日志上报), resolution counts from the access log (标识解析日志上报), a
metadata snapshot (元数据上报) and its resolution route (解析路由上报). Without the section
the node reports nothing. The wire format and the delivery rules are in ``docs/reports.md``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from idnode.errors import ConfigError, RegistryError

__all__ = ["MAX_BATCH_ITEMS", "REPORTER_NAME", "REPORTS_EXAMPLE", "STREAMS", "ReportsConfig",
           "parse_reports"]

#: The report streams, in the order a cycle handles them.
STREAMS: tuple[str, ...] = ("registrations", "resolutions", "metadata", "routes")
#: The most items one batch may carry (the receiver refuses more).
MAX_BATCH_ITEMS = 10_000

#: a reporter's name: what tells the servers of one source's site apart
REPORTER_NAME = re.compile(r"[A-Za-z0-9._-]{0,64}")

_KEYS = ("to", "certificate", "identity", "private_key", "secret_file", "source", "reporter",
         "interval", "streams", "batch_max", "timeout", "backoff_max")


@dataclass(frozen=True, slots=True)
class ReportsConfig:
    """Validated ``[reports]``; paths are absolute. Holds paths, never key material.

    :ivar to: base URL of the receiving node's web face (no trailing slash).
    :ivar identity: ``index:handle`` the reports are sent as.
    :ivar source: the enterprise prefix reported for, ASCII upper case.
    :ivar reporter: this server's name among the servers reporting for ``source`` (each
        numbers its batches apart); "" when it is the only one.
    :ivar private_key: PEM key of the identity's HS_PUBKEY (signed sessions), or
    :ivar secret_file: file holding the identity's HS_SECKEY secret (HTTP Basic).
    :ivar certificate: PEM certificate(s) trusted for the receiver's TLS instead of the
        system CAs (a self-signed certificate is thereby pinned).
    """

    to: str
    identity: str
    source: str
    reporter: str = ""
    private_key: Path | None = None
    secret_file: Path | None = None
    certificate: Path | None = None
    interval: float = 60.0
    streams: tuple[str, ...] = STREAMS
    batch_max: int = 5000
    timeout: float = 30.0
    backoff_max: float = 300.0


def _str(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key=key, reason=f"expected a non-empty string, got {value!r}")
    return value.strip()


def _number(key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key=key, reason=f"expected a number, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(key=key, reason=f"{value} is outside {low:g}…{high:g}")
    return float(value)


def _int(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key=key, reason=f"expected an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(key=key, reason=f"{value} is outside {low}…{high}")
    return value


def _path(home: Path, key: str, value: Any) -> Path:
    path = Path(_str(key, value))
    return path if path.is_absolute() else home / path


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(text: str, key: str = "reports.to") -> str:
    """``https://host[:port][/base]``, or ``http://`` to a loopback address only."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError for a bad port
    except ValueError as exc:
        raise ConfigError(key=key, reason=f"{text!r} is not a URL: {exc}") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(key=key, reason=f"{text!r} is not an https:// URL")
    if parts.username is not None or parts.query or parts.fragment:
        raise ConfigError(key=key, reason="give the base URL only (no user, query or "
                                          "fragment); credentials come from "
                                          "reports.private_key or reports.secret_file")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(key=key, reason=f"plain http:// is allowed to a loopback address "
                                          f"only (credentials would cross the network in "
                                          f"clear), not {parts.hostname}")
    return text.rstrip("/")


def _source(value: Any) -> str:
    text = _str("reports.source", value)
    bare = text[5:] if text[:5].upper() == "0.NA/" else text
    if ("/" in bare or not bare.isprintable() or " " in bare or bare.upper() == "0.NA"
            or bare.startswith(".") or bare.endswith(".")):
        raise ConfigError(key="reports.source", reason=f"{text!r} is not an enterprise "
                                                       "prefix such as 88.118.8")
    return "".join(ch.upper() if ch.isascii() else ch for ch in bare)


def _reporter(value: Any) -> str:
    if not isinstance(value, str) or not REPORTER_NAME.fullmatch(value):
        raise ConfigError(key="reports.reporter", reason=f"{value!r} is not a name of up to "
                                                         "64 letters, digits, '.', '_', '-'")
    return value


def _streams(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(key="reports.streams", reason="expected a non-empty list of "
                                                        + ", ".join(STREAMS))
    unknown = [v for v in value if v not in STREAMS]
    if unknown:
        raise ConfigError(key="reports.streams", reason=f"unknown stream {unknown[0]!r}; "
                                                        "expected " + ", ".join(STREAMS))
    if len(set(value)) != len(value):
        raise ConfigError(key="reports.streams", reason="a stream is listed twice")
    return tuple(s for s in STREAMS if s in value)  # the fixed order


def parse_reports(home: Path, table: Any) -> ReportsConfig:
    """Validate ``[reports]``.

    :raises ConfigError: an unknown key, a missing or malformed value; the key is named.
    """
    if not isinstance(table, dict):
        raise ConfigError(key="reports", reason="must be a table")
    for name in table:
        if name not in _KEYS:
            raise ConfigError(key=f"reports.{name}", reason="unknown key; expected one of "
                              + ", ".join(_KEYS))
    for required in ("to", "identity", "source"):
        if required not in table:
            raise ConfigError(key=f"reports.{required}", reason="required when [reports] "
                                                                "is present")
    identity = _str("reports.identity", table["identity"])
    from idnode.auth.identity import Identity
    try:
        Identity.parse(identity)
    except RegistryError as exc:
        raise ConfigError(key="reports.identity", reason=str(exc)) from None
    has_key, has_secret = "private_key" in table, "secret_file" in table
    if has_key == has_secret:
        raise ConfigError(key="reports.private_key", reason="give exactly one of "
                                                            "private_key (HS_PUBKEY) or "
                                                            "secret_file (HS_SECKEY)")
    defaults = ReportsConfig("", "", "")
    return ReportsConfig(
        to=check_url(_str("reports.to", table["to"])),
        identity=identity,
        source=_source(table["source"]),
        reporter=_reporter(table.get("reporter", "")),
        private_key=_path(home, "reports.private_key", table["private_key"])
        if has_key else None,
        secret_file=_path(home, "reports.secret_file", table["secret_file"])
        if has_secret else None,
        certificate=_path(home, "reports.certificate", table["certificate"])
        if "certificate" in table else None,
        interval=_number("reports.interval", table.get("interval", defaults.interval),
                         1, 86_400),
        streams=_streams(table["streams"]) if "streams" in table else STREAMS,
        batch_max=_int("reports.batch_max", table.get("batch_max", defaults.batch_max),
                       1, MAX_BATCH_ITEMS),
        timeout=_number("reports.timeout", table.get("timeout", defaults.timeout), 1, 600),
        backoff_max=_number("reports.backoff_max",
                            table.get("backoff_max", defaults.backoff_max), 1, 86_400),
    )


REPORTS_EXAMPLE = """
# [reports] sends this node's reports upward (数据上报配置), normally from an enterprise
# node (企业节点) to its secondary node (二级节点): registration log entries, resolution
# counts per minute, a metadata snapshot and its resolution route. See docs/reports.md.
# [reports]
# to = "https://snms.example.cn:8443"      # the receiver's web face (http:// loopback only)
# certificate = "keys/secondary.crt"       # trust only this for its TLS (else system CAs)
# source = "88.118.8"                      # the enterprise prefix reported for
# reporter = "s1"                          # per server when several report for one source
# identity = "300:88.118.8/ADMIN"          # an admin of 0.NA/<source> at the receiver
# private_key = "keys/admin.key"           # its HS_PUBKEY key; or secret_file = "…"
# interval = 60                            # seconds between cycles
# streams = ["registrations", "resolutions", "metadata", "routes"]
# batch_max = 5000                         # items per batch (at most 10000)
# timeout = 30                             # seconds per HTTP request
# backoff_max = 300                        # longest wait between retries while it is down
"""
