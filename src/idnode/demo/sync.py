"""The demo's data flows between nodes, set up as an operator would (``docs/operations.md``,
``docs/reports.md``):

- the disaster-recovery node (灾备节点) is a **mirror of the Beijing top-level node**: it
  loads a dump and follows Beijing's transaction log over the TLS replication listener;
- Beijing **escrows** (托管) the data of the secondary node 88.118 (二级节点) in a store of
  its own, continuously;
- the enterprise node 88.118.9 **reports upward** (上报) to its secondary node 88.118:
  registrations, resolution counts, metadata and its route, every few seconds.

Each pulling node proves who it is with its server key (an HS_PUBKEY identity held where it
pulls from); each listener's certificate is pinned by the others.
"""

from __future__ import annotations

from pathlib import Path

from idnode.auth.keys import PrivateKey, public_key_data
from idnode.demo.topology import HOST, REPLICATION_LISTENERS, Topology
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.replication.tls import ensure_certificate
from idnode.storage import CreateHandle, WriteOp

__all__ = ["MIRROR", "PRIMARY", "REPORTER", "SECONDARY", "allows_credentials_over_http",
           "extra_config", "extra_records", "prepare_certificates", "reporter_admin",
           "reporting_identity"]

#: the members: the top-level primary, its DR mirror, the escrowed secondary, the reporter
PRIMARY, MIRROR, SECONDARY, REPORTER = ("top-beijing", "dr-nanjing", "sn-88.118",
                                        "ent-88.118.9")
_LISTENERS = REPLICATION_LISTENERS
_REPORT_INTERVAL = 5


def _identity(name: str) -> str:
    return f"300:88/repl-{name}"


def reporting_identity() -> str:
    return "300:88.118/ENT-88.118.9"


def _certificate(paths: dict[str, Path], name: str) -> Path:
    return paths[name] / "replication.crt"


def prepare_certificates(paths: dict[str, Path], keys: dict[str, PrivateKey]) -> None:
    """Each listener's certificate, made before any node starts so peers can pin it."""
    for name in _LISTENERS:
        ensure_certificate(_certificate(paths, name), keys[name], HOST)


def extra_config(topology: Topology, name: str, paths: dict[str, Path]) -> str:
    """The ``[replication]``, ``[[escrow]]`` or ``[reports]`` TOML of node ``name``."""
    def peer(other: str) -> list[str]:
        return ["", "[[replication.peers]]",
                f'address = "{HOST}:{topology.replication_port(other)}"',
                f'certificate = "{_certificate(paths, other)}"']
    if name == PRIMARY:
        lines = ["", "[replication]", f'listen = "{HOST}:{topology.replication_port(name)}"',
                 'role = "primary"', f'identity = "{_identity(PRIMARY)}"',
                 f'admins = ["{_identity(MIRROR)}", "{_identity(PRIMARY)}"]',
                 *peer(MIRROR),
                 "", "[[escrow]]", 'name = "88.118"',
                 f'source = "{HOST}:{topology.replication_port(SECONDARY)}"',
                 f'certificate = "{_certificate(paths, SECONDARY)}"']
    elif name == MIRROR:
        lines = ["", "[replication]", f'listen = "{HOST}:{topology.replication_port(name)}"',
                 'role = "mirror"', f'identity = "{_identity(MIRROR)}"',
                 f'primary = "{HOST}:{topology.replication_port(PRIMARY)}"',
                 f'admins = ["{_identity(PRIMARY)}", "{_identity(MIRROR)}"]',
                 *peer(PRIMARY)]
    elif name == SECONDARY:
        lines = ["", "[replication]", f'listen = "{HOST}:{topology.replication_port(name)}"',
                 f'admins = ["{_identity(PRIMARY)}"]']
    elif name == REPORTER:
        secondary = topology.node(SECONDARY)
        lines = ["", "[reports]", f'to = "{secondary.http_url}"',
                 f'identity = "{reporting_identity()}"', 'private_key = "keys/server.key"',
                 'source = "88.118.9"', f"interval = {_REPORT_INTERVAL}"]
    else:
        return ""
    return "\n".join(lines) + "\n"


def allows_credentials_over_http(name: str) -> bool:
    """The secondary receives reports over plain HTTP on loopback (a demo shortcut)."""
    return name == SECONDARY


def extra_records(name: str, keys: dict[str, PrivateKey]) -> list[WriteOp]:
    """Identities the pullers and the reporter authenticate as, where they are checked."""
    def pubkey(handle: str, key_of: str, *admin: HandleValue) -> CreateHandle:
        return CreateHandle(Handle.parse(handle), tuple(v.with_timestamp() for v in (
            HandleValue(300, "HS_PUBKEY", public_key_data(keys[key_of]).to_bytes()),
            *admin)))
    if name == PRIMARY:  # replicated to the mirror, which then knows both members too
        return [pubkey(_identity(PRIMARY)[4:], PRIMARY), pubkey(_identity(MIRROR)[4:], MIRROR)]
    if name == SECONDARY:
        return [pubkey(_identity(PRIMARY)[4:], PRIMARY),
                pubkey(reporting_identity()[4:], REPORTER)]
    return []


def reporter_admin() -> HandleValue:
    """The HS_ADMIN on ``0.NA/88.118.9`` (at the secondary) that lets the reporter report
    for its prefix and update its route."""
    return HandleValue(110, "HS_ADMIN",
                       AdminData(ALL_PERMISSIONS, reporting_identity()[4:], 300).to_bytes())
