"""The ``[identity]`` section of ``config.toml``: identities homed on other nodes.

A user is a handle whose HS_PUBKEY (usually at index 300) is public, and any node
authenticates it by resolving that key through the identifier resolution system
(分布式身份, ``idis.md`` §5.1: "企业 B 会通过标识递归解析系统，去企业 A 上获取公钥"). With
``enable = true`` an authoritative node that does not hold an identity's (or an HS_VLIST
group's) record asks the recursive node (递归节点) at ``recursive`` for its public HS_PUBKEY,
HS_VLIST and HS_ADMIN values (:mod:`idnode.node.identities`). Off by default: then only
records held here authenticate, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idnode.config_roles import _bool, _float, _int, _keys, _str
from idnode.errors import ConfigError

__all__ = ["IDENTITY_EXAMPLE", "IdentityConfig", "parse_identity"]

_KEYS = ("enable", "recursive", "cache_ttl", "negative_ttl", "max_entries", "timeout")


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    """Validated ``[identity]``.

    :ivar enable: look up identities not homed here through ``recursive``.
    :ivar recursive: (host, port) of the recursive node (idnode ``role = "recursive"``, or
        any Handle server that resolves recursively; the IDIS recursive service listens on
        3641), or None.
    :ivar cache_ttl: longest time (s) a fetched record is used; value TTLs may shorten it.
    :ivar negative_ttl: how long (s) "no such identity" is remembered (at most ``cache_ttl``).
    :ivar max_entries: records cached per worker (least recently used dropped first).
    :ivar timeout: seconds one lookup may take in all (UDP, then TCP) before the
        authentication fails.
    """

    enable: bool = False
    recursive: tuple[str, int] | None = None
    cache_ttl: int = 300
    negative_ttl: int = 30
    max_entries: int = 10_000
    timeout: float = 3.0


def parse_identity(table: Any, role: str = "authoritative") -> IdentityConfig:
    """Validate ``[identity]`` (``role`` is ``node.role``: a recursive node authenticates
    nobody, so it may not enable the section)."""
    from idnode.config import parse_address
    data = _keys("identity", table, _KEYS)
    d = IdentityConfig()
    enable = _bool("identity.enable", data.get("enable", d.enable))
    recursive = None
    if "recursive" in data:
        address = parse_address(_str("identity.recursive", data["recursive"]),
                                "identity.recursive")
        if address.port == 0:
            raise ConfigError(key="identity.recursive", reason="port 0 is not a server port")
        recursive = (address.host, address.port)
    if enable and recursive is None:
        raise ConfigError(key="identity.recursive", reason="identity.enable = true needs the "
                          'recursive node\'s HOST:PORT, e.g. "127.0.0.1:3641"')
    if enable and role == "recursive":
        raise ConfigError(key="identity.enable", reason="a recursive node authenticates "
                          "nobody; enable [identity] on authoritative nodes")
    cache_ttl = _int("identity.cache_ttl", data.get("cache_ttl", d.cache_ttl), 1, 86_400)
    negative_ttl = _int("identity.negative_ttl", data.get("negative_ttl", d.negative_ttl),
                        0, 3600)
    return IdentityConfig(
        enable=enable,
        recursive=recursive,
        cache_ttl=cache_ttl,
        negative_ttl=min(negative_ttl, cache_ttl),
        max_entries=_int("identity.max_entries", data.get("max_entries", d.max_entries),
                         1, 1_000_000),
        timeout=_float("identity.timeout", data.get("timeout", d.timeout), 0.1, 60),
    )


IDENTITY_EXAMPLE = """
# [identity] authenticates identities (身份) homed on other nodes: a user such as
# 300:88.130.2/user whose record is not held here is checked against its public HS_PUBKEY,
# and HS_VLIST groups elsewhere are expanded, by resolving them through a recursive node
# (递归解析). Only public values are fetched; secret keys (HS_SECKEY) of other nodes' users
# are never used. Records of this node's own prefixes and server_admins stay local.
# [identity]
# enable = false
# recursive = "127.0.0.1:3641"   # HOST:PORT of the recursive node (role = "recursive")
# cache_ttl = 300                # longest seconds a fetched record is used (value TTLs may
#                                # shorten it)
# negative_ttl = 30              # seconds "no such identity" is remembered
# max_entries = 10000            # records cached per worker
# timeout = 3                    # seconds a lookup may take before authentication fails
"""
