"""TCP server transport: byte streams to sessions created by the caller's factory."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from ssl import SSLContext
from typing import Protocol, cast

__all__ = ["Session", "SessionFactory", "TcpServer"]

log = logging.getLogger("idnode.transport")


class Session(Protocol):
    def data_received(self, data: bytes) -> None: ...
    def eof_received(self) -> None: ...
    def pause_writing(self) -> None: ...
    def resume_writing(self) -> None: ...
    def connection_lost(self) -> None: ...
    async def drain(self) -> None: ...


#: factory(peer, send, close, pause_reading, resume_reading) -> Session
SessionFactory = Callable[
    [tuple[str, int], Callable[[bytes], None], Callable[[], None], Callable[[], None],
     Callable[[], None]],
    Session,
]


class _Protocol(asyncio.Protocol):
    def __init__(self, server: TcpServer) -> None:
        self.server = server
        self.session: Session | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass the asyncio ABCs.
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        if len(self.server.sessions) >= self.server.max_connections or self.server.closing:
            transport.abort()
            return
        peer = transport.get_extra_info("peername") or ("?", 0)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.session = self.server.factory(
            (str(peer[0]), int(peer[1])), self._send, transport.close,
            transport.pause_reading, transport.resume_reading)
        self.server.sessions.add(self.session)

    def _send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        if self.session is not None:
            self.session.data_received(data)

    def pause_writing(self) -> None:
        if self.session is not None:
            self.session.pause_writing()

    def resume_writing(self) -> None:
        if self.session is not None:
            self.session.resume_writing()

    def eof_received(self) -> bool:
        if self.session is not None:
            self.session.eof_received()
        # Keep the write side open until the session has answered (TLS cannot half-close).
        return self.server.ssl is None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.session is not None:
            self.session.connection_lost()
            self.server.sessions.discard(self.session)


class TcpServer:
    def __init__(self, sock: socket.socket, factory: SessionFactory, *,
                 max_connections: int = 4096, ssl: SSLContext | None = None) -> None:
        self.sock = sock
        self.ssl = ssl
        self.factory = factory
        self.max_connections = max_connections
        self.sessions: set[Session] = set()
        self.closing = False
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Protocol(self), sock=self.sock,
                                                ssl=self.ssl)

    async def close(self, grace: float = 10.0) -> None:
        """Stop accepting, let every session finish what it has received, then close."""
        self.closing = True
        if self._server is not None:
            self._server.close()
        sessions = list(self.sessions)
        if sessions:
            await asyncio.wait([asyncio.ensure_future(s.drain()) for s in sessions],
                               timeout=grace)
