"""One worker: storage, cache, stages, edge and listeners, assembled from the config.

A node role is the list of stages :func:`stages_for` returns; this issue's role is the
authoritative node (``guard`` → ``auth`` → ``authoritative``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from idnode.auth.identity import Identity
from idnode.auth.keys import PrivateKey, load_private_key, public_key_data
from idnode.auth.permissions import Authorizer
from idnode.config import Address, NodeConfig, parse_address
from idnode.config_roles import HASH_OPTIONS, ROLES, SiteConfig
from idnode.errors import ConfigError, RegistryError
from idnode.http import HttpServer, HttpSettings, TlsSettings
from idnode.identifiers.handle import Handle
from idnode.identifiers.values.site import Interface, ServerRecord, SiteData
from idnode.node.accesslog import AccessLog
from idnode.node.cache import Generation
from idnode.node.edge import Edge
from idnode.node.fastpath import FastResolver, records_lookup
from idnode.node.identities import RemoteIdentities
from idnode.node.pipeline import Stage, build_chain
from idnode.node.records import Records
from idnode.node.service import DatagramService, StreamService, StreamSession, UdpSettings
from idnode.node.stages.auth import Auth, AuthSettings
from idnode.node.stages.authoritative import Authoritative, AuthoritativeSettings
from idnode.node.stages.guard import Guard, GuardSettings
from idnode.node.stages.recursive import Recursive, RecursiveSettings, cache_lookup
from idnode.node.stages.referral import Referral, ReferralSettings
from idnode.node.writes import WriteQueue
from idnode.protocol.constants import MAJOR_VERSION, MINOR_VERSION
from idnode.replication.board import MirrorBoard
from idnode.replication.replica import Replica
from idnode.replication.service import ReplicationService
from idnode.replication.stage import REPLICATION_TRANSPORT, Replication
from idnode.replication.tls import server_context
from idnode.reports import Reporter
from idnode.reports.routes import site_writer
from idnode.resolver import Resolver, ResolverSettings, load_bootstrap
from idnode.storage import Store, open_store
from idnode.transport.sockets import bind_tcp, bind_udp
from idnode.transport.tcp import TcpServer
from idnode.transport.udp import UdpServer
from idnode.web.app import WebApp

__all__ = ["Assembly", "Listeners", "Worker", "assemble", "bind_listeners", "build_site",
           "stages_for"]

log = logging.getLogger("idnode.server")

_BOTH, _QUERY = 3, 2
_UDP, _TCP, _HTTP = 0, 1, 2


def build_site(config: NodeConfig, udp: tuple[str, int] | None, tcp: tuple[str, int] | None,
               server_key: PrivateKey, http: tuple[str, int] | None = None) -> SiteData:
    """This server's HS_SITE: the configured ``[site]``, else a one-server primary site from
    the listeners. TCP is listed first (IDIS SDKs take the first fitting interface)."""
    own_key = public_key_data(server_key).to_bytes()
    if config.site is not None:
        return _configured_site(config.site, config.server_id, own_key)
    interfaces = []
    if tcp is not None:
        interfaces.append(Interface(_BOTH, _TCP, tcp[1]))
    if udp is not None:
        interfaces.append(Interface(_QUERY, _UDP, udp[1]))
    if http is not None:
        interfaces.append(Interface(_QUERY, _HTTP, http[1]))
    host = (tcp or udp or http or ("127.0.0.1", 0))[0]
    record = ServerRecord.from_ip(config.server_id, host, public_key=own_key,
                                  interfaces=tuple(interfaces))
    return SiteData(protocol_major=MAJOR_VERSION, protocol_minor=MINOR_VERSION, serial=1,
                    primary=True, attributes=((b"desc", _description(config).encode()),),
                    servers=(record,))


def _description(config: NodeConfig) -> str:
    name = ROLES.get(config.role, config.role)
    return f"idnode {name}" + (f" for {', '.join(config.prefixes)}" if config.prefixes else "")


def _configured_site(site: SiteConfig, server_id: int, own_key: bytes) -> SiteData:
    records = []
    for server in site.servers:
        interfaces = []
        if server.tcp:
            interfaces.append(Interface(_BOTH, _TCP, server.tcp))
        if server.udp:
            interfaces.append(Interface(_QUERY, _UDP, server.udp))
        if server.http:
            interfaces.append(Interface(_QUERY, _HTTP, server.http))
        key = own_key if server.server_id == server_id else _public_key_file(server.public_key)
        records.append(ServerRecord.from_ip(server.server_id, server.address, public_key=key,
                                            interfaces=tuple(interfaces)))
    attributes = ((b"desc", site.description.encode()),) if site.description else ()
    return SiteData(protocol_major=MAJOR_VERSION, protocol_minor=MINOR_VERSION,
                    serial=site.serial, primary=site.primary, multi_primary=site.multi_primary,
                    hash_option=HASH_OPTIONS[site.hash], attributes=attributes,
                    servers=tuple(records))


def _public_key_file(path: Path | None) -> bytes:
    """Another server's public key (PEM) in HS_PUBKEY form; empty when not configured."""
    if path is None:
        return b""
    from cryptography.hazmat.primitives.asymmetric import dsa, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(key="site.servers.public_key", reason=f"{path}: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey | dsa.DSAPublicKey):
        raise ConfigError(key="site.servers.public_key", reason=f"{path}: not an RSA or DSA "
                                                                "public key")
    return public_key_data(key).to_bytes()


def site_index(site: SiteData, server_id: int) -> int:
    """This server's position in its site's server list (the hash rule's index)."""
    for i, server in enumerate(site.servers):
        if server.server_id == server_id:
            return i
    raise ConfigError(key="node.server_id", reason=f"server {server_id} is not in the site")


@dataclass(slots=True)
class Listeners:
    udp: socket.socket | None
    tcp: socket.socket | None
    http: socket.socket | None = None
    https: socket.socket | None = None
    #: the TLS replication listener (``replication.listen``)
    replication: socket.socket | None = None
    #: the DNS face (``dns.listen``), UDP and TCP
    dns_udp: socket.socket | None = None
    dns_tcp: socket.socket | None = None

    def sockets(self) -> list[socket.socket]:
        return [s for s in (self.udp, self.tcp, self.http, self.https, self.replication,
                            self.dns_udp, self.dns_tcp) if s is not None]


@dataclass(slots=True)
class Assembly:
    """The request-handling parts of one worker, without sockets."""

    records: Records
    writes: WriteQueue
    edge: Edge
    datagrams: DatagramService
    streams: StreamService
    fast: FastResolver
    authorizer: Authorizer
    site: SiteData
    resolver: Resolver | None = None
    replica: Replica | None = None
    #: identities homed elsewhere, fetched through ``[identity] recursive``; None = off
    identities: RemoteIdentities | None = None


def bind_listeners(config: NodeConfig, *, reuse_port: bool) -> Listeners:
    """Bind every configured listening socket (each worker does, with ``SO_REUSEPORT``)."""
    def tcp(addr: Address | None) -> socket.socket | None:
        return None if addr is None else bind_tcp(addr.host, addr.port, reuse_port=reuse_port)
    udp = config.udp
    listen = config.replication.listen
    listeners = Listeners(None if udp is None else bind_udp(udp.host, udp.port,
                                                            reuse_port=reuse_port),
                          tcp(config.tcp), tcp(config.http), tcp(config.https),
                          None if listen is None else bind_tcp(listen[0], listen[1],
                                                               reuse_port=reuse_port))
    dns = config.dns.listen
    if dns is not None:
        listeners.dns_udp = bind_udp(dns[0], dns[1], reuse_port=reuse_port)
        # Port 0: TCP takes the port UDP got, so both serve one address.
        listeners.dns_tcp = bind_tcp(dns[0], dns[1] or int(listeners.dns_udp.getsockname()[1]),
                                     reuse_port=reuse_port)
    return listeners


def stages_for(config: NodeConfig, records: Records, writes: WriteQueue,
               authorizer: Authorizer, site: SiteData,
               resolver: Resolver | None = None,
               replica: Replica | None = None) -> list[Stage]:
    """The stages of the node's role.

    Authoritative roles (root, top-level, secondary, enterprise): ``guard`` → ``referral``
    → ``auth`` → ``replication`` → ``authoritative``. The recursive role: ``guard`` →
    ``recursive``.
    """
    limits = config.limits
    guard = Guard(GuardSettings(max_values=limits.max_values_per_handle))
    if config.is_recursive:
        assert resolver is not None
        return [guard, Recursive(RecursiveSettings(max_handle_bytes=limits.max_handle_bytes),
                                 resolver, site)]
    if replica is None:
        replica = Replica(config.replication, records.store, MirrorBoard(None, ()),
                          config.server_id)
    return [
        guard,
        Referral(ReferralSettings(), records),
        Auth(AuthSettings(timeout=limits.auth_timeout,
                          max_pending=limits.max_pending_challenges,
                          max_pending_bytes=limits.max_pending_challenge_bytes,
                          max_values=limits.max_values_per_handle,
                          pbkdf2_max_iterations=limits.pbkdf2_max_iterations,
                          failures_per_minute=limits.auth_failures_per_minute,
                          login_lifetime=limits.login_lifetime,
                          login_first=limits.login_first), records),
        Replication(replica, records),
        Authoritative(AuthoritativeSettings(max_values=limits.max_values_per_handle,
                                            max_handle_bytes=limits.max_handle_bytes,
                                            list_page_size=limits.list_page_size),
                      records, writes, authorizer, site),
    ]


def build_resolver(config: NodeConfig) -> Resolver:
    """The recursive node's resolver, from ``[recursive]``: the bootstrap file's sites, or
    one-server sites for the configured root addresses (primed once serving starts)."""
    rec = config.recursive
    if rec.bootstrap is not None:
        roots = load_bootstrap(rec.bootstrap)
    else:
        roots = [_root_site(parse_address(text, "recursive.roots")) for text in rec.roots]
    settings = ResolverSettings(udp_timeouts=rec.udp_timeouts, tcp_timeout=rec.tcp_timeout,
                                max_ttl=rec.max_ttl, negative_ttl=rec.negative_ttl,
                                max_recursion_count=rec.max_recursion_count,
                                upstream_max_inflight=rec.upstream_max_inflight,
                                failure_threshold=rec.failure_threshold,
                                open_seconds=rec.open_seconds,
                                cache_max_entries=rec.cache_max_entries)
    return Resolver(roots, settings)


def _root_site(address: Address) -> SiteData:
    interfaces = (Interface(_QUERY, _UDP, address.port), Interface(_QUERY, _TCP, address.port))
    return SiteData(servers=(ServerRecord.from_ip(1, address.host, interfaces=interfaces),),
                    attributes=((b"desc", f"root {address}".encode()),))


def assemble(config: NodeConfig, store: Store, generation: Generation,
             access_log: AccessLog, server_key: PrivateKey,
             udp: tuple[str, int] | None, tcp: tuple[str, int] | None,
             http: tuple[str, int] | None = None, *,
             board_path: Path | None = None) -> Assembly:
    """Build (and start the write queue of) everything a worker answers requests with.

    Must run inside the event loop that will serve the requests.

    :param board_path: the shared file of mirror positions (``None``: this process only).
    """
    limits = config.limits
    records = Records(store, generation, config.cache_max_handles)
    writes = WriteQueue(store, batch_max=limits.write_batch_max, on_commit=records.committed)
    writes.start()
    admins = tuple(Identity.parse(a) for a in config.server_admins)
    # Identities and groups may come from other nodes ([identity]); the server admins'
    # groups stay local.
    identities = records.remote = _remote_identities(config, admins)
    authorizer = Authorizer(records.identity_values, server_admins=admins,
                            admin_lookup=None if identities is None else records.values_of)
    site = build_site(config, udp, tcp, server_key, http)
    resolver: Resolver | None = None
    replica: Replica | None = None
    if config.is_recursive:
        resolver = build_resolver(config)
        lookup = cache_lookup(resolver.cache)
    else:
        records.set_share(site, site_index(site, config.server_id))
        lookup = records_lookup(records)
        replica = Replica(config.replication, store,
                          MirrorBoard(board_path, config.replication.admins),
                          config.server_id,
                          None if board_path is None else board_path.parent / "primary-checked")
        records.on_change.append(replica.reload)
        writes.confirm = replica.confirm
    edge = Edge(build_chain(stages_for(config, records, writes, authorizer, site, resolver,
                                       replica)),
                access_log, server_key)
    fast = FastResolver(lookup, access_log, max_handle_bytes=limits.max_handle_bytes,
                        authoritative=resolver is None)
    datagrams = DatagramService(edge, UdpSettings(limits.max_message_bytes,
                                                  limits.udp_max_answer_packets), fast=fast)
    streams = StreamService(edge, max_message=limits.max_message_bytes,
                            idle_timeout=limits.tcp_idle_timeout)
    return Assembly(records, writes, edge, datagrams, streams, fast, authorizer, site,
                    resolver, replica, identities)


def _remote_identities(config: NodeConfig,
                       admins: tuple[Identity, ...]) -> RemoteIdentities | None:
    """``[identity]``: the recursive lookup of identities homed elsewhere, if enabled. The
    server admins named in the config are never looked up remotely."""
    if not config.identity.enable or config.is_recursive:
        return None
    local_only = []
    for admin in admins:
        with contextlib.suppress(RegistryError):
            local_only.append(Handle.parse(admin.handle).key)
    return RemoteIdentities(config.identity, local_only)


class Worker:
    """Everything one worker process (or the single process) runs."""

    def __init__(self, config: NodeConfig, slot: int, listeners: Listeners) -> None:
        self.config = config
        self.slot = slot
        self.listeners = listeners
        self.store: Store | None = None
        self.writes: WriteQueue | None = None
        self.udp: UdpServer | None = None
        self.tcp: TcpServer | None = None
        self.http: HttpServer | None = None
        self.https: HttpServer | None = None
        self.resolver: Resolver | None = None
        self.identities: RemoteIdentities | None = None
        self.replication_listener: TcpServer | None = None
        self.replication: ReplicationService | None = None
        self.dns_udp: UdpServer | None = None
        self.dns_tcp: TcpServer | None = None
        self.app: WebApp | None = None
        self.reporter: Reporter | None = None
        self._reporting: asyncio.Future[None] | None = None
        self._priming: asyncio.Future[None] | None = None
        self.access_log = AccessLog(config.access_log, config.home)

    @staticmethod
    async def _prime(resolver: Resolver) -> None:
        """Learn every root site from ``0.NA/0.NA`` (like DNS priming); retried with backoff
        while the roots do not answer, since resolutions work from the configured ones."""
        delay = 1.0
        while True:
            try:
                await resolver.prime()
                return
            except RegistryError as exc:
                log.warning("priming the root sites failed (%s); retrying in %.0f s", exc,
                            delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 300.0)

    async def start(self) -> None:
        config, limits = self.config, self.config.limits
        self.store = open_store(config.storage_url, max_values=limits.max_values_per_handle,
                                sync=config.storage_sync,
                                index_types=config.reverse_index_types)
        run_dir = config.home / "run"
        run_dir.mkdir(mode=0o700, exist_ok=True)
        generation = Generation(run_dir / "generation", self.slot)
        server_key = load_private_key(config.server_key)
        parts = assemble(config, self.store, generation, self.access_log, server_key,
                         _name(self.listeners.udp), _name(self.listeners.tcp),
                         _name(self.listeners.http), board_path=run_dir / "replicas")
        self.writes = parts.writes
        self.resolver = parts.resolver
        self.identities = parts.identities
        if self.resolver is not None and config.recursive.bootstrap is None:
            self._priming = asyncio.ensure_future(self._prime(self.resolver))
        if self.listeners.udp is not None:
            self.udp = UdpServer(self.listeners.udp, parts.datagrams.datagram)
            await self.udp.start()
        if self.listeners.tcp is not None:
            streams = parts.streams

            def session(peer: tuple[str, int], send: Callable[[bytes], None],
                        close: Callable[[], None], pause: Callable[[], None],
                        resume: Callable[[], None]) -> StreamSession:
                return StreamSession(streams, peer, send, close, pause, resume)

            self.tcp = TcpServer(self.listeners.tcp, session,
                                 max_connections=limits.max_tcp_connections)
            await self.tcp.start()
        if self.listeners.http is not None or self.listeners.https is not None:
            await self._start_web(parts, server_key)
        if self.listeners.replication is not None:
            await self._start_replication_listener(parts)
        if self.listeners.dns_udp is not None or self.listeners.dns_tcp is not None:
            await self._start_dns(parts)
        if parts.replica is not None and self.slot == 0:
            self.replication = ReplicationService(config, parts.replica, parts.records,
                                                  server_key)
            await self.replication.start()
        if config.reports is not None and self.slot == 0:  # one reporter per node
            self.reporter = Reporter(config.reports, config.home, self.store,
                                     access_log=_access_log_file(config), role=config.role,
                                     sites=lambda: parts.site)
            self._reporting = asyncio.ensure_future(self.reporter.run())

    async def _start_replication_listener(self, parts: Assembly) -> None:
        assert self.listeners.replication is not None
        config = self.config
        certificate = config.replication.certificate
        assert certificate is not None
        context = server_context(certificate, config.server_key)
        # Requests are small (answers are big, and only the puller's decoder takes those).
        streams = StreamService(parts.edge, max_message=config.limits.max_message_bytes,
                                idle_timeout=max(config.limits.tcp_idle_timeout, 120.0),
                                transport=REPLICATION_TRANSPORT)

        def session(peer: tuple[str, int], send: Callable[[bytes], None],
                    close: Callable[[], None], pause: Callable[[], None],
                    resume: Callable[[], None]) -> StreamSession:
            return StreamSession(streams, peer, send, close, pause, resume)

        self.replication_listener = TcpServer(self.listeners.replication, session,
                                              max_connections=256, ssl=context)
        await self.replication_listener.start()

    async def _start_dns(self, parts: Assembly) -> None:
        from idnode.dnsface import DnsDatagrams, build_face, stream_factory
        dns = self.config.dns
        face = build_face(dns, parts.records, parts.resolver)
        if self.listeners.dns_udp is not None:
            self.dns_udp = UdpServer(self.listeners.dns_udp, DnsDatagrams(face).datagram)
            await self.dns_udp.start()
        if self.listeners.dns_tcp is not None:
            self.dns_tcp = TcpServer(self.listeners.dns_tcp,
                                     stream_factory(face, dns.tcp_idle_timeout),
                                     max_connections=dns.max_tcp_connections)
            await self.dns_tcp.start()

    async def _start_web(self, parts: Assembly, server_key: PrivateKey) -> None:
        from idnode.web.factory import build_web_app
        config, web = self.config, self.config.web
        app = build_web_app(config, parts.records, parts.authorizer, parts.edge,
                            self.access_log, server_key, parts.site, parts.resolver,
                            write_site=site_writer(parts.records.get, parts.writes.submit),
                            submit=parts.writes.submit)
        self.app = app
        settings = HttpSettings(max_body_bytes=web.max_body_bytes,
                                idle_timeout=web.idle_timeout,
                                max_connections=web.max_connections)
        if self.listeners.http is not None:
            self.http = HttpServer(self.listeners.http, app, settings)
            await self.http.start()
        if self.listeners.https is not None:
            assert web.tls_certificate is not None and web.tls_private_key is not None
            tls = TlsSettings(web.tls_certificate, web.tls_private_key,
                              request_client_cert=web.request_client_certificates)
            self.https = HttpServer(self.listeners.https, app, settings, tls)
            await self.https.start()

    async def stop(self) -> None:
        """Stop accepting, finish in-flight requests and writes, close storage."""
        if self.udp is not None:
            await self.udp.close()
        if self.tcp is not None:
            await self.tcp.close()
        if self.dns_udp is not None:
            await self.dns_udp.close()
        if self.dns_tcp is not None:
            await self.dns_tcp.close(grace=2.0)
        if self.replication is not None:
            await self.replication.close()
        if self.replication_listener is not None:
            await self.replication_listener.close(grace=2.0)
        for web in (self.http, self.https):
            if web is not None:
                await web.close()
        if self.app is not None:
            self.app.close()
        if self._reporting is not None:
            self._reporting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reporting
        if self.reporter is not None:
            await self.reporter.close()
        if self._priming is not None:
            self._priming.cancel()
        if self.resolver is not None:
            await self.resolver.close()
        if self.identities is not None:
            await self.identities.close()
        if self.writes is not None:
            await self.writes.close()
        if self.store is not None:
            self.store.close()
        self.access_log.close()


def _access_log_file(config: NodeConfig) -> Path | None:
    """The access log's file (the reporter tails it), or None for stdout or off."""
    if config.access_log in ("-", "off"):
        return None
    path = Path(config.access_log)
    return path if path.is_absolute() else config.home / path


def _name(sock: socket.socket | None) -> tuple[str, int] | None:
    if sock is None:
        return None
    host, port = sock.getsockname()[:2]
    return str(host), int(port)
