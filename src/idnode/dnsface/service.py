"""DNS over UDP and TCP (RFC 1035 §4.2, RFC 7766) for the transport servers.

UDP: one response datagram per query; queries beyond ``MAX_IN_FLIGHT`` being answered are
dropped (a DNS client retries), so a flood cannot pile up work. TCP: messages framed by a
two-byte length, several per connection, answered in order; reading pauses while
``MAX_PENDING`` queries wait, and a connection idle for ``idle_timeout`` is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from idnode.dnsface.answer import DnsFace

__all__ = ["MAX_IN_FLIGHT", "MAX_PENDING", "DnsDatagrams", "DnsStream"]

log = logging.getLogger("idnode.dns")

MAX_IN_FLIGHT = 1024
MAX_PENDING = 32
_HEADER = 12


class DnsDatagrams:
    """The UDP handler (``transport.udp.DatagramHandler``)."""

    def __init__(self, face: DnsFace) -> None:
        self.face = face
        self.in_flight = 0

    def datagram(self, data: bytes, addr: tuple[str, int]) -> Awaitable[list[bytes]] | None:
        if len(data) < _HEADER or data[2] & 0x80 or self.in_flight >= MAX_IN_FLIGHT:
            return None
        self.in_flight += 1
        return self._answer(data)

    async def _answer(self, data: bytes) -> list[bytes]:
        try:
            out = await self.face.respond(data, tcp=False)
        finally:
            self.in_flight -= 1
        return [out] if out is not None else []


class DnsStream:
    """One TCP connection (``transport.tcp.Session``)."""

    def __init__(self, face: DnsFace, send: Callable[[bytes], None], close: Callable[[], None],
                 pause: Callable[[], None], resume: Callable[[], None],
                 idle_timeout: float) -> None:
        self.face = face
        self._send, self._close = send, close
        self._pause, self._resume = pause, resume
        self._idle = idle_timeout
        self._buffer = bytearray()
        self._pending: deque[bytes] = deque()
        self._paused = False
        self._eof = False
        self._closed = False
        self._writable = asyncio.Event()
        self._writable.set()
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(self._idle, self._idle_out)

    def _idle_out(self) -> None:
        if self._task is None or self._task.done():
            self._shut()
        else:
            self._arm()

    def _shut(self) -> None:
        if not self._closed:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            self._close()

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        self._arm()
        self._buffer += data
        while len(self._buffer) >= 2:
            size = int.from_bytes(self._buffer[:2], "big")
            if size < _HEADER:  # no DNS message is that short: the stream is garbage
                self._buffer.clear()
                self._eof = True
                break
            if len(self._buffer) < 2 + size:
                break
            self._pending.append(bytes(self._buffer[2:2 + size]))
            del self._buffer[:2 + size]
        if len(self._pending) >= MAX_PENDING and not self._paused:
            self._paused = True
            self._pause()
        self._kick()

    def _kick(self) -> None:
        if self._task is None or self._task.done():
            if self._pending:
                self._task = asyncio.ensure_future(self._work())
            elif self._eof:
                self._shut()

    async def _work(self) -> None:
        while self._pending and not self._closed:
            frame = self._pending.popleft()
            if self._paused and len(self._pending) < MAX_PENDING // 2:
                self._paused = False
                self._resume()
            try:
                out = await self.face.respond(frame, tcp=True)
            except Exception:  # respond() answers anything; this is a bug: drop the line
                log.exception("DNS over TCP failed")
                self._shut()
                return
            await self._writable.wait()
            if out is not None and not self._closed:
                self._send(len(out).to_bytes(2, "big") + out)
        if self._eof:
            self._shut()

    def eof_received(self) -> None:
        self._eof = True
        self._kick()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def connection_lost(self) -> None:
        self._closed = True
        self._writable.set()
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def drain(self) -> None:
        if self._task is not None and not self._task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._shut()
