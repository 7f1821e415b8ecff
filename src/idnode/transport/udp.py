"""UDP server transport: datagrams in, the handler's answer datagrams out."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import cast

__all__ = ["DatagramHandler", "UdpServer"]

log = logging.getLogger("idnode.transport")

DatagramHandler = Callable[[bytes, tuple[str, int]], list[bytes] | Awaitable[list[bytes]] | None]


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: UdpServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's UDP transport does not subclass asyncio.DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        server = self.server
        if server.closing:
            return
        try:
            result = server.handler(data, addr)
        except Exception:
            log.exception("UDP handler failed")
            return
        if result is None:
            return
        if isinstance(result, list):
            send = self.transport.sendto  # type: ignore[union-attr]
            for datagram in result:
                send(datagram, addr)
            return
        task = asyncio.ensure_future(self._later(result, addr))
        server.in_flight.add(task)
        task.add_done_callback(server.in_flight.discard)

    async def _later(self, result: Awaitable[list[bytes]], addr: tuple[str, int]) -> None:
        try:
            datagrams = await result
        except Exception:
            log.exception("UDP handler failed")
            return
        if self.transport is not None and not self.transport.is_closing():
            for datagram in datagrams:
                self.transport.sendto(datagram, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)


class UdpServer:
    """Serves one bound UDP socket with ``handler``."""

    def __init__(self, sock: socket.socket, handler: DatagramHandler) -> None:
        self.sock = sock
        self.handler = handler
        self.closing = False
        self.in_flight: set[asyncio.Future[None]] = set()
        self._transport: asyncio.DatagramTransport | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self),
                                                           sock=self.sock)
        self._transport = transport

    async def close(self, grace: float = 10.0) -> None:
        """Stop taking datagrams, let answers in flight go out, close the socket."""
        self.closing = True
        if self.in_flight:
            await asyncio.wait(self.in_flight, timeout=grace)
        if self._transport is not None:
            self._transport.close()
