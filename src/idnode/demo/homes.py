"""Creating the demo's node homes and loading their records, in process.

Keys dominate the cost of a home (an RSA 2048 key takes ~50 ms), and OpenSSL releases the
GIL while it generates one, so every key is made first on a thread pool; then the homes are
written (also on the pool: their fsyncs overlap), and the delegation and sample records go
straight into each node's storage before any node starts.

Records beyond what :func:`~idnode.node.homes.create_home` provisions:

- root: ``0.NA/88`` with the top-level sites as HS_SITE (for ``88/…``) and HS_SITE.PREFIX
  (where ``0.NA/88.x`` lives); each top-level node holds the same record;
- top-level: ``0.NA/88.<sn>`` with the secondary's site as HS_SITE and HS_SITE.PREFIX;
- secondary: ``0.NA/88.<sn>.<ent>`` with the enterprise's sites (primary, then mirror);
- enterprise: the same record for its own prefix, and the sample identifiers. A server of a
  multi-server site holds only the samples that hash to it (§10.3); the prefix record and
  the admin identity are on every server, since each authorizes writes locally.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives import serialization

from idnode.auth.keys import PrivateKey, generate_private_key
from idnode.demo import sync
from idnode.demo.errors import DemoError
from idnode.demo.samples import PREFIX_TTL, SAMPLES, gs1_mapping
from idnode.demo.topology import HOST, Node, Site, Topology
from idnode.errors import RegistryError
from idnode.identifiers.handle import Handle, prefix_handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.identifiers.values.site import SiteData
from idnode.node.homes import TLS_NONE, HomeSpec, create_home
from idnode.storage import CreateHandle, WriteOp, open_store

__all__ = ["MANIFEST", "Homes", "create_homes", "existing_homes", "prepare_directory",
           "read_manifest"]

MANIFEST = "demo.json"
_VERSION = 2

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class Homes:
    """The demo directory's homes: node name → home path, and what creating them took."""

    paths: dict[str, Path]
    created: bool
    seconds: float
    keys: int = 0


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The demo directory's manifest, or None when there is none."""
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DemoError(f"{directory / MANIFEST} is unreadable ({exc}); run again with "
                        "--fresh") from None
    return data if isinstance(data, dict) else None


def prepare_directory(directory: Path, fresh: bool) -> dict[str, Any] | None:
    """Empty the demo directory when ``fresh`` (only if it is one), and return the manifest
    of a complete demo to reuse, or None when the homes must be created.

    :raises DemoError: the directory holds something other than a demo, or an incomplete
        demo (without ``fresh``).
    """
    if not directory.exists():
        return None
    is_demo = (directory / MANIFEST).is_file()
    if not is_demo and any(directory.iterdir()):
        # --fresh deletes; only ever a directory this command made.
        raise DemoError(f"{directory} exists and is not a demo directory (no {MANIFEST}); "
                        "choose another directory")
    manifest = read_manifest(directory) if is_demo and not fresh else None
    if manifest is not None and manifest.get("version") != _VERSION:
        # The demo's own directory, laid out by another idnode: make it again.
        print(f"{directory} was made by another idnode version; making it again",
              flush=True)
        fresh = True
    if fresh and is_demo:
        shutil.rmtree(directory)
    if fresh or not is_demo:
        return None
    if manifest is None:
        raise DemoError(f"{directory}: unreadable {MANIFEST}; run again with --fresh")
    if not manifest.get("complete"):
        raise DemoError(f"{directory} holds an incomplete demo (interrupted while it was "
                        "created); run again with --fresh")
    return manifest


def _write_manifest(directory: Path, topology: Topology, complete: bool) -> None:
    data = {"version": _VERSION, "complete": complete, "basePort": topology.base_port,
            "recursivePort": topology.recursive_port,
            "nodes": [node.name for node in topology.nodes]}
    path = directory / MANIFEST
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def existing_homes(directory: Path, topology: Topology) -> Homes:
    """The homes of a complete demo directory."""
    return Homes({n.name: directory / n.name for n in topology.nodes}, False, 0.0)


def _parallel(pool: ThreadPoolExecutor, func: Callable[[_T], _R],
              items: Sequence[_T]) -> list[_R]:
    return list(pool.map(func, items))


def create_homes(directory: Path, topology: Topology) -> Homes:
    """Create every node home under ``directory`` and load its records.

    :raises RegistryError: a home or record could not be created.
    :raises OSError: a file could not be written.
    """
    started = time.perf_counter()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_manifest(directory, topology, complete=False)
    paths = {node.name: directory / node.name for node in topology.nodes}
    admins = sorted({n.admin for n in topology.nodes if n.role != "recursive"})
    with ThreadPoolExecutor(max_workers=max(2, min(8, 2 * (os.cpu_count() or 1)))) as pool:
        keys = _parallel(pool, lambda _: generate_private_key("RSA", 2048),
                         range(len(topology.nodes) + len(admins)))
        server_keys = dict(zip((n.name for n in topology.nodes), keys, strict=False))
        admin_keys = dict(zip(admins, keys[len(topology.nodes):], strict=True))
        for site in topology.sites.values():
            if len(site.servers) > 1:
                _share_public_keys(topology, site, paths, server_keys)

        def home(node: Node) -> tuple[str, SiteData | None]:
            made = create_home(HomeSpec(
                home=paths[node.name], role=node.role, prefixes=node.prefixes,
                roots=(topology.root.address,) if node.role == "recursive" else (),
                udp=node.address, tcp=node.address, http=f"{HOST}:{node.http}", https="off",
                tls=TLS_NONE, server_id=node.server_id,
                extra_config=_site_config(topology, node)
                + sync.extra_config(topology, node.name, paths),
                server_key=server_keys[node.name],
                admin_key=admin_keys.get(node.admin), sync="normal"))
            return node.name, made.site

        sites = {name: site for name, site in _parallel(pool, home, topology.nodes)
                 if site is not None}
        sync.prepare_certificates(paths, server_keys)
        _allow_credentials_over_http(paths[sync.SECONDARY])
        by_site = {s.name: sites[s.servers[0]] for s in topology.sites.values()}
        _parallel(pool, lambda node: _load(paths[node.name],
                                           _records(topology, node, by_site)
                                           + sync.extra_records(node.name, server_keys)),
                  [n for n in topology.nodes if n.role != "recursive"])
    _write_manifest(directory, topology, complete=True)
    return Homes(paths, True, time.perf_counter() - started, len(keys))


def _share_public_keys(topology: Topology, site: Site, paths: dict[str, Path],
                       keys: dict[str, PrivateKey]) -> None:
    """Give every server of a multi-server site the others' public keys (its HS_SITE lists
    them all)."""
    for node in topology.site_nodes(site.name):
        key_dir = paths[node.name] / "keys"
        key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for other in topology.site_nodes(site.name):
            if other is node:
                continue
            pem = keys[other.name].public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            fd = os.open(key_dir / f"server-{other.server_id}.pub",
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)


def _toml(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def _site_config(topology: Topology, node: Node) -> str:
    """The ``[site]`` table of ``node``: its description (the ``desc`` traces show), primary
    or mirror, and every server of the site."""
    if not node.site:
        return ""
    site = topology.sites[node.site]
    lines = ["", "[site]", "serial = 1", f"primary = {'true' if site.primary else 'false'}",
             'hash = "handle"', f"description = {_toml(site.description)}"]
    for server in topology.site_nodes(site.name):
        lines += ["[[site.servers]]", f"id = {server.server_id}", f'address = "{HOST}"',
                  f"tcp = {server.port}", f"udp = {server.port}", f"http = {server.http}"]
        if server is not node:
            lines.append(f'public_key = "keys/server-{server.server_id}.pub"')
    return "\n".join(lines) + "\n"


def _admins(*prefixes: str) -> list[HandleValue]:
    return [HandleValue(100 + i, "HS_ADMIN",
                        AdminData(ALL_PERMISSIONS, f"{p}/ADMIN", 200).to_bytes(),
                        ttl=PREFIX_TTL) for i, p in enumerate(prefixes)]


def _prefix_record(prefix: str, sites: Sequence[SiteData], *, delegate: bool,
                   admins: Sequence[str]) -> CreateHandle:
    """``0.NA/<prefix>``: HS_SITE at 1…, HS_SITE.PREFIX at 11… when the sites also hold the
    prefix records of ``<prefix>.x``, HS_ADMIN from 100."""
    values = [HandleValue(1 + i, "HS_SITE", s.to_bytes(), ttl=PREFIX_TTL)
              for i, s in enumerate(sites)]
    if delegate:
        values += [HandleValue(11 + i, "HS_SITE.PREFIX", s.to_bytes(), ttl=PREFIX_TTL)
                   for i, s in enumerate(sites)]
    values += _admins(*admins)
    return CreateHandle(Handle.parse(prefix_handle(prefix)),
                        tuple(v.with_timestamp() for v in values), overwrite=True)


def _records(topology: Topology, node: Node, sites: dict[str, SiteData]) -> list[WriteOp]:
    top = [sites[s.name] for s in topology.top_level_sites()]
    ops: list[WriteOp] = []
    if node.role in ("root", "top-level"):
        ops.append(_prefix_record("88", top, delegate=True, admins=("88", "0.NA")))
    if node.role == "top-level":
        handle, values = gs1_mapping()  # heterogeneous identifiers (异构标识) map from here
        ops.append(CreateHandle(Handle.parse(handle),
                                tuple(v.with_timestamp() for v in values), overwrite=True))
        for sn in topology.by_role("secondary"):
            ops.append(_prefix_record(sn.prefixes[0], [sites[sn.site]], delegate=True,
                                      admins=(sn.prefixes[0], "88")))
    if node.role == "secondary":
        own = node.prefixes[0]
        for prefix in SAMPLES:
            if prefix.rpartition(".")[0] == own and prefix not in node.prefixes:
                record = _prefix_record(
                    prefix, [sites[s.name] for s in topology.enterprise_sites(prefix)],
                    delegate=False, admins=(prefix, own))
                if node.name == sync.SECONDARY and prefix == "88.118.9":  # its reporter
                    record = CreateHandle(record.handle, (*record.values,
                                                          sync.reporter_admin().with_timestamp()),
                                          overwrite=True)
                ops.append(record)
    if node.role == "enterprise":
        prefix = node.prefixes[0]
        ops.append(_prefix_record(
            prefix, [sites[s.name] for s in topology.enterprise_sites(prefix)],
            delegate=False, admins=(prefix, prefix.rpartition(".")[0])))
    site = topology.sites.get(node.site)
    mine = sites.get(node.site)
    for prefix in node.prefixes:
        for sample in SAMPLES.get(prefix, ()):
            if site is not None and mine is not None and len(site.servers) > 1 and \
                    mine.server_index(sample.handle) != node.server_id - 1:
                continue
            ops.append(CreateHandle(Handle.parse(sample.handle),
                                    tuple(v.with_timestamp() for v in sample.values)))
    return ops


def _allow_credentials_over_http(home: Path) -> None:
    """Let a node take credentials on its loopback HTTP listener (the demo has no TLS)."""
    path = home / "config.toml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("allow_credentials_over_http = false",
                        "allow_credentials_over_http = true")
    path.write_text(text, encoding="utf-8")


def _load(home: Path, ops: list[WriteOp]) -> None:
    from idnode.config import load_config
    config = load_config(home)
    store = open_store(config.storage_url, max_values=config.limits.max_values_per_handle,
                       sync="normal", index_types=config.reverse_index_types)
    try:
        for result in store.apply(ops):
            if isinstance(result, RegistryError):
                raise result
    finally:
        store.close()
