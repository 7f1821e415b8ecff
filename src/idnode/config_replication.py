"""``[replication]`` and ``[[escrow]]``: a node's mirrors, and the copies it keeps for others.

A *replication group* is one primary and its mirrors. Each member lists the others under
``[[replication.peers]]`` with the TLS certificate it pins for them; the primary lists the
identities allowed to pull (``admins``); a mirror names the identity it pulls as
(``identity``, signed with its server key). Which member is primary is *state*, kept in
storage once set (``idnode promote`` changes it); ``role`` and ``primary`` here only seed it.

``[[escrow]]`` (a top-level or disaster-recovery node) keeps a continuously replicated copy
of another node's data in a store of its own (托管, escrow of a secondary node's core data).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idnode.config_roles import _float, _int, _keys, _path, _str
from idnode.errors import ConfigError

__all__ = ["REPLICATION_EXAMPLE", "EscrowConfig", "Peer", "ReplicationConfig", "parse_escrow",
           "parse_replication"]


@dataclass(frozen=True, slots=True)
class Peer:
    """Another member of the group: its replication address and pinned certificate."""

    host: str
    port: int
    certificate: Path

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ReplicationConfig:
    """The ``[replication]`` section; ``enabled`` is False when it is absent."""

    enabled: bool = False
    listen: tuple[str, int] | None = None
    certificate: Path | None = None
    role: str = "primary"
    primary: str = ""
    identity: str = ""
    admins: tuple[str, ...] = ()
    peers: tuple[Peer, ...] = ()
    #: 0: acknowledge a write once the primary committed it; N: once N mirrors have it
    sync_mirrors: int = 0
    sync_timeout: float = 5.0
    retention_days: float = 7.0
    poll_wait: float = 1.0
    batch_entries: int = 1000
    dump_page: int = 1000
    probe_interval: float = 5.0
    connect_timeout: float = 5.0

    def peer(self, address: str) -> Peer:
        for peer in self.peers:
            if peer.address == address:
                return peer
        raise ConfigError(key="replication.peers", reason=f"{address} is not a listed peer")


@dataclass(frozen=True, slots=True)
class EscrowConfig:
    """One ``[[escrow]]`` table: a copy of ``name``'s data replicated from ``source``."""

    name: str
    source: Peer
    storage_url: str


_KEYS = ("listen", "certificate", "role", "primary", "identity", "admins", "peers",
         "durability", "sync_timeout", "retention_days", "poll_wait", "batch_entries", "dump_page",
         "probe_interval", "connect_timeout")


def _address(key: str, value: Any) -> tuple[str, int]:
    from idnode.config import parse_address
    address = parse_address(_str(key, value), key)
    return address.host, address.port


def _peer(home: Path, key: str, table: Any) -> Peer:
    data = _keys(key, table, ("address", "certificate"))
    if "address" not in data or "certificate" not in data:
        raise ConfigError(key=key, reason="a peer needs 'address' (its replication listener) "
                          "and 'certificate' (the PEM file to pin)")
    host, port = _address(f"{key}.address", data["address"])
    return Peer(host, port, _path(home, _str(f"{key}.certificate", data["certificate"])))


def _durability(value: Any) -> int:
    text = _str("replication.durability", value)
    if text == "primary":
        return 0
    head, _, count = text.partition(":")
    if head == "mirrors" and count.isdigit() and 1 <= int(count) <= 64:
        return int(count)
    raise ConfigError(key="replication.durability",
                      reason=f"{text!r}: expected \"primary\" or \"mirrors:N\" (1 ≤ N ≤ 64)")


def _identities(key: str, value: Any) -> tuple[str, ...]:
    from idnode.auth.identity import Identity
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(key=key, reason="expected a list of INDEX:HANDLE strings")
    for text in value:
        Identity.parse(text)  # raises with the reason
    return tuple(value)


def parse_replication(home: Path, table: Any) -> ReplicationConfig:
    """Validate ``[replication]``."""
    from idnode.auth.identity import Identity
    data = _keys("replication", table, _KEYS)
    d = ReplicationConfig()
    raw_peers = data.get("peers", [])
    if not isinstance(raw_peers, list):
        raise ConfigError(key="replication.peers", reason="expected [[replication.peers]] "
                          "tables")
    peers = tuple(_peer(home, f"replication.peers[{i}]", t) for i, t in enumerate(raw_peers))
    role = _str("replication.role", data.get("role", "primary"))
    if role not in ("primary", "mirror"):
        raise ConfigError(key="replication.role", reason=f"{role!r} is not primary or mirror")
    primary = _str("replication.primary", data.get("primary", ""))
    identity = _str("replication.identity", data.get("identity", ""))
    if identity:
        Identity.parse(identity)
    listen = data.get("listen", "off")
    config = ReplicationConfig(
        enabled=True,
        listen=None if listen == "off" else _address("replication.listen", listen),
        certificate=_path(home, _str("replication.certificate",
                                     data.get("certificate", "replication.crt"))),
        role=role,
        primary=primary,
        identity=identity,
        admins=_identities("replication.admins", data.get("admins", [])),
        peers=peers,
        sync_mirrors=_durability(data.get("durability", "primary")),
        sync_timeout=_float("replication.sync_timeout",
                            data.get("sync_timeout", d.sync_timeout), 0.01, 3600),
        retention_days=_float("replication.retention_days",
                              data.get("retention_days", d.retention_days), 0.0001, 36_500),
        poll_wait=_float("replication.poll_wait", data.get("poll_wait", d.poll_wait),
                         0.01, 60),
        batch_entries=_int("replication.batch_entries",
                           data.get("batch_entries", d.batch_entries), 1, 100_000),
        dump_page=_int("replication.dump_page", data.get("dump_page", d.dump_page), 1,
                       10_000),
        probe_interval=_float("replication.probe_interval",
                              data.get("probe_interval", d.probe_interval), 0.1, 3600),
        connect_timeout=_float("replication.connect_timeout",
                               data.get("connect_timeout", d.connect_timeout), 0.1, 120),
    )
    # A mirror without a primary follows no one: a read-only node whose storage is kept
    # up to date by other means (a PostgreSQL hot standby).
    if role == "mirror" and primary:
        config.peer(primary)  # must be a listed peer (its certificate is pinned)
    if (primary or peers) and not identity:
        raise ConfigError(key="replication.identity", reason="a member that pulls from or "
                          "probes its peers needs an identity (INDEX:HANDLE with this "
                          "server's key as its HS_PUBKEY)")
    if config.sync_mirrors and config.sync_mirrors > max(len(peers), 1):
        raise ConfigError(key="replication.durability", reason=f"{config.sync_mirrors} "
                          f"mirrors requested but only {len(peers)} peers are listed")
    return config


def parse_escrow(home: Path, tables: Any) -> tuple[EscrowConfig, ...]:
    """Validate the ``[[escrow]]`` tables."""
    if not isinstance(tables, list):
        raise ConfigError(key="escrow", reason="expected [[escrow]] tables")
    out = []
    for i, table in enumerate(tables):
        key = f"escrow[{i}]"
        data = _keys(key, table, ("name", "source", "certificate", "storage"))
        for required in ("name", "source", "certificate"):
            if required not in data:
                raise ConfigError(key=key, reason=f"'{required}' is required")
        name = _str(f"{key}.name", data["name"])
        if not name or "/" in name or name.startswith("."):
            raise ConfigError(key=f"{key}.name", reason=f"{name!r} is not a usable name "
                              "(it names the escrow's store file)")
        source = _peer(home, key, {"address": data["source"],
                                   "certificate": data["certificate"]})
        storage = _str(f"{key}.storage", data.get("storage", f"sqlite:escrow/{name}.db"))
        out.append(EscrowConfig(name, source, storage))
    names = [e.name for e in out]
    if len(set(names)) != len(names):
        raise ConfigError(key="escrow", reason=f"escrow names repeat: {names}")
    return tuple(out)


REPLICATION_EXAMPLE = """
# [replication] makes this node a member of a primary/mirror group (主备); [[escrow]] keeps
# a copy of another node's data here (托管). See docs/operations.md.
# [replication]
# listen = "127.0.0.1:2643"               # TLS listener for OC 1000–1002 (replication.crt)
# role = "primary"                        # or "mirror" (with primary = "HOST:PORT")
# identity = "300:88.118/repl-a"          # this member; its server key is the HS_PUBKEY
# admins = ["300:88.118/repl-b"]          # who may pull from this member
# durability = "primary"                  # or "mirrors:1": acknowledge once a mirror has it
# retention_days = 7                      # transaction log kept this long
# [[replication.peers]]
# address = "10.0.0.2:2643"
# certificate = "peers/b.crt"             # the peer's replication.crt, pinned
# [[escrow]]
# name = "88.118"
# source = "10.1.0.5:2643"
# certificate = "escrow/88.118.crt"
"""
