"""An in-process cluster of idnode nodes on loopback, for resolver tests (and others).

Every node is a real :class:`~idnode.node.worker.Worker` (UDP, TCP and optionally the HTTP
face) with a ``memory:`` store, started in the test's event loop on ports chosen by the OS.
Records are written straight into the running node's store; a bump of a foreign slot of the
node's generation file makes the worker drop its caches (and re-read its homed prefixes), as
a write by another worker process would.

::

    async with Cluster(tmp_path) as cluster:
        root = await cluster.add_node("root", ["0.NA"])
        ent = await cluster.add_node("ent", ["88.1"], {"88.1/a": [url("https://x")]})
        root.put("0.NA/88.1", [site_value(1, ent.site())])
        resolver = Resolver([root.site()], FAST)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from idnode.auth.keys import generate_private_key, save_private_key
from idnode.config import Address, NodeConfig
from idnode.config_roles import RecursiveConfig, SiteConfig, SiteServer
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import Interface, InterfaceProtocol, ServerRecord, SiteData
from idnode.node.cache import Generation
from idnode.node.worker import Listeners, Worker, bind_listeners
from idnode.resolver import ResolverSettings, save_bootstrap

__all__ = ["FAST", "Cluster", "Node", "alias", "site_value", "text_value", "url"]

SERVER_KEY = generate_private_key("RSA", 1024)
#: Settings for tests: short timeouts so a dead server costs little.
FAST = ResolverSettings(udp_timeouts=(0.2, 0.3), tcp_timeout=1.0)
_FOREIGN_SLOT = 63
_QUERY, _BOTH = 2, 3
_LOOPBACK = "127.0.0.1"


def url(text: str, index: int = 1, ttl: int = 86400) -> HandleValue:
    return HandleValue(index, "URL", text.encode(), ttl=ttl)


def text_value(index: int, type_: str, text: str, ttl: int = 86400) -> HandleValue:
    return HandleValue(index, type_, text.encode(), ttl=ttl)


def alias(target: str, index: int = 1, ttl: int = 86400) -> HandleValue:
    return HandleValue(index, "HS_ALIAS", target.encode(), ttl=ttl)


def site_value(index: int, site: SiteData, type_: str = "HS_SITE",
               ttl: int = 86400) -> HandleValue:
    return HandleValue(index, type_, site.to_bytes(), ttl=ttl)


@dataclasses.dataclass
class Node:
    """One running node."""

    name: str
    home: Path
    config: NodeConfig
    worker: Worker
    udp: tuple[str, int] | None
    tcp: tuple[str, int] | None
    http: tuple[str, int] | None
    server_id: int = 1
    shared_site: SiteData | None = None
    stopped: bool = False

    def server(self, *, transports: Sequence[str] = ("udp", "tcp", "http"),
               server_id: int | None = None) -> ServerRecord:
        """This node as a server record with the interfaces named in ``transports``."""
        interfaces = []
        if "tcp" in transports and self.tcp is not None:
            interfaces.append(Interface(_BOTH, InterfaceProtocol.TCP, self.tcp[1]))
        if "udp" in transports and self.udp is not None:
            interfaces.append(Interface(_QUERY, InterfaceProtocol.UDP, self.udp[1]))
        if "http" in transports and self.http is not None:
            interfaces.append(Interface(_QUERY, InterfaceProtocol.HTTP, self.http[1]))
        return ServerRecord.from_ip(self.server_id if server_id is None else server_id,
                                    _LOOPBACK, interfaces=tuple(interfaces))

    def site(self, *, primary: bool = True, serial: int = 1, desc: str | None = None,
             transports: Sequence[str] = ("udp", "tcp", "http")) -> SiteData:
        """The site clients use to reach this node: its shared site when it belongs to one,
        else a one-server site."""
        if self.shared_site is not None:
            return self.shared_site
        return SiteData(serial=serial, primary=primary,
                        attributes=((b"desc", (desc or self.name).encode()),),
                        servers=(self.server(transports=transports),))

    @property
    def label(self) -> str:
        """The ``host:port`` the resolver names this node by (its first query endpoint)."""
        first = self.udp or self.tcp or self.http
        assert first is not None
        return f"{first[0]}:{first[1]}"

    def put(self, handle: str, values: Sequence[HandleValue]) -> None:
        """Create or replace ``handle`` in this node's store, visible at once."""
        assert self.worker.store is not None
        self.worker.store.create_handle(Handle.parse(handle), values, overwrite=True)
        self.touch()

    def delete(self, handle: str) -> None:
        assert self.worker.store is not None
        self.worker.store.delete_handle(Handle.parse(handle))
        self.touch()

    def touch(self) -> None:
        """Make the worker drop its caches before the next request (a foreign commit)."""
        Generation(self.home / "run" / "generation", _FOREIGN_SLOT).bump()

    def requests(self, handle: str | None = None, opcode: str = "RESOLUTION") -> int:
        """Requests of ``opcode`` (for ``handle``) in this node's access log so far."""
        self.worker.access_log.flush()
        log = self.home / "access.log"
        if not log.exists():
            return 0
        count = 0
        for line in log.read_text().splitlines():
            if f" {opcode} " in line and (handle is None or line.endswith(" " + handle)):
                count += 1
        return count

    async def stop(self) -> None:
        """Stop the node: its ports close (a dead server)."""
        if not self.stopped:
            self.stopped = True
            await self.worker.stop()


class Cluster:
    """Nodes started in the running event loop; :meth:`close` stops them all."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.nodes: dict[str, Node] = {}

    async def __aenter__(self) -> Cluster:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    def _config(self, name: str, prefixes: Sequence[str], *, udp: bool, tcp: bool,
                http: bool) -> NodeConfig:
        home = self.tmp_path / name
        (home / "keys").mkdir(parents=True)
        key = home / "keys" / "server.key"
        save_private_key(key, SERVER_KEY)
        port0 = Address(_LOOPBACK, 0)
        return NodeConfig(home=home, prefixes=tuple(prefixes),
                          server_admins=(f"300:{prefixes[0]}/ADMIN",) if prefixes else (),
                          udp=port0 if udp else None, tcp=port0 if tcp else None,
                          http=port0 if http else None, storage_url="memory:",
                          server_key=key, access_log="access.log")

    async def _start(self, name: str, config: NodeConfig, listeners: Listeners,
                     records: Mapping[str, Sequence[HandleValue]], server_id: int = 1,
                     shared_site: SiteData | None = None) -> Node:
        worker = Worker(config, 0, listeners)
        await worker.start()
        assert worker.store is not None
        node = Node(name, config.home, config, worker, _name(listeners.udp),
                    _name(listeners.tcp), _name(listeners.http), server_id, shared_site)
        self.nodes[name] = node
        for prefix in config.prefixes:
            worker.store.home_prefix(prefix)
        for handle, values in records.items():
            worker.store.create_handle(Handle.parse(handle), values, overwrite=True)
        node.touch()
        return node

    async def add_node(self, name: str, prefixes: Sequence[str],
                       records: Mapping[str, Sequence[HandleValue]] | None = None, *,
                       udp: bool = True, tcp: bool = True, http: bool = False,
                       changes: Mapping[str, Any] | None = None) -> Node:
        """Start a node homing ``prefixes`` and holding ``records``; ``changes`` replace
        fields of its :class:`NodeConfig` (``{"identity": IdentityConfig(...)}``)."""
        config = self._config(name, prefixes, udp=udp, tcp=tcp, http=http)
        if changes:
            config = dataclasses.replace(config, **changes)
        listeners = bind_listeners(config, reuse_port=False)
        return await self._start(name, config, listeners, records or {})

    async def add_recursive(self, name: str, roots: Sequence[SiteData], *,
                            http: bool = True, **settings: object) -> Node:
        """Start a recursive node resolving from ``roots`` (written to a bootstrap file);
        ``settings`` are ``[recursive]`` keys (``udp_timeouts``, ``negative_ttl``, …)."""
        config = self._config(name, (), udp=True, tcp=True, http=http)
        bootstrap = config.home / "bootstrap.json"
        save_bootstrap(bootstrap, roots)
        config = dataclasses.replace(config, role="recursive", recursive=RecursiveConfig(
            bootstrap=bootstrap, **settings))  # type: ignore[arg-type]
        listeners = bind_listeners(config, reuse_port=False)
        return await self._start(name, config, listeners, {})

    async def add_site(self, names: Sequence[str], prefixes: Sequence[str],
                       records: Mapping[str, Sequence[HandleValue]] | None = None, *,
                       serial: int = 1, primary: bool = True, desc: str = "") -> list[Node]:
        """Start one multi-server site: every server homes ``prefixes``; each record is
        written only to the server the hash rule (§10.3) gives it."""
        prepared = []
        for name in names:
            config = self._config(name, prefixes, udp=True, tcp=True, http=False)
            prepared.append((name, config, bind_listeners(config, reuse_port=False)))
        servers = []
        for i, (_, _, listeners) in enumerate(prepared):
            udp, tcp = _name(listeners.udp), _name(listeners.tcp)
            assert udp is not None and tcp is not None
            servers.append(SiteServer(i + 1, _LOOPBACK, tcp=tcp[1], udp=udp[1]))
        site_config = SiteConfig(serial=serial, primary=primary, description=desc,
                                 servers=tuple(servers))
        site = SiteData(serial=serial, primary=primary,
                        attributes=((b"desc", desc.encode()),) if desc else (),
                        servers=tuple(
                            ServerRecord.from_ip(s.server_id, _LOOPBACK, interfaces=(
                                Interface(_QUERY, InterfaceProtocol.UDP, s.udp),
                                Interface(_BOTH, InterfaceProtocol.TCP, s.tcp)))
                            for s in servers))
        nodes = []
        for i, (name, plain, listeners) in enumerate(prepared):
            mine = {h: v for h, v in (records or {}).items() if site.server_index(h) == i}
            config = dataclasses.replace(plain, server_id=i + 1, site=site_config)
            nodes.append(await self._start(name, config, listeners, mine, i + 1, site))
        return nodes

    async def close(self) -> None:
        for node in list(self.nodes.values()):
            await node.stop()
        self.nodes.clear()


def _name(sock: object) -> tuple[str, int] | None:
    if sock is None:
        return None
    host, port = sock.getsockname()[:2]  # type: ignore[attr-defined]
    return str(host), int(port)
