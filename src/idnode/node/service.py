"""Glue between the transports and the edge: datagrams and stream sessions.

UDP rules that keep the node from being an amplifier: undecodable datagrams shorter than a
minimal error reply are dropped; an error reply to a malformed datagram is never longer than
the datagram; an answer longer than ``udp_max_answer_packets`` packets per request packet is
replaced by a short RC 2 reply with the TC flag, telling the client to retry over TCP.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from idnode.errors import ProtocolError
from idnode.node.context import Connection, RequestContext
from idnode.node.edge import Edge, error_reply
from idnode.protocol.bodies import ErrorBody
from idnode.protocol.constants import (
    ENVELOPE_SIZE,
    HEADER_SIZE,
    UDP_PACKET_SIZE,
    ResponseCode,
)
from idnode.protocol.framing import Reassembler, StreamDecoder, split_datagrams
from idnode.protocol.message import Message, decode_envelope, decode_message

__all__ = ["TRUNCATED_TEXT", "DatagramService", "StreamService", "StreamSession"]

log = logging.getLogger("idnode.server")

#: Start of the message of an RC 2 reply that tells a UDP client to retry over TCP.
TRUNCATED_TEXT = "answer too large for UDP"
_MIN_REPLY = ENVELOPE_SIZE + HEADER_SIZE + 8
#: Most answer bytes a TCP session holds back to write together with the next answers.
_HOLD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class UdpSettings:
    max_message: int = 262_144
    max_answer_packets: int = 1


class DatagramService:
    """Turns request datagrams into answer datagrams."""

    def __init__(self, edge: Edge, settings: UdpSettings,
                 fast: Callable[[bytes, tuple[str, int]], list[bytes] | None] | None = None
                 ) -> None:
        self.edge = edge
        self.settings = settings
        self.fast = fast
        self.reassembler = Reassembler()
        self._peers: dict[tuple[str, int], Connection] = {}

    def _connection(self, peer: tuple[str, int]) -> Connection:
        conn = self._peers.get(peer)
        if conn is None:
            if len(self._peers) > 65_536:
                self._peers.clear()
            conn = self._peers[peer] = Connection(("udp", peer[0], peer[1]), "udp", peer)
        return conn

    def datagram(self, data: bytes, peer: tuple[str, int]
                 ) -> list[bytes] | Awaitable[list[bytes]] | None:
        """Answer datagrams now, a coroutine producing them, or None (nothing to send)."""
        if self.fast is not None:
            answer = self.fast(data, peer)
            if answer is not None:
                return answer
        try:
            env = decode_envelope(data, self.settings.max_message)
        except ProtocolError:
            return None  # not even an envelope: drop, never amplify garbage
        packets = max(1, -(-env.message_length // (UDP_PACKET_SIZE - ENVELOPE_SIZE)))
        try:
            if env.truncated or env.message_length != len(data) - ENVELOPE_SIZE:
                message = self.reassembler.feed(peer, data)
                if message is None:
                    return None
            else:
                message = decode_message(env, memoryview(data)[ENVELOPE_SIZE:])
        except ProtocolError as exc:
            return self._malformed(data, env.request_id, str(exc))
        ctx = RequestContext(self._connection(peer), request_packets=packets)
        return self._answer(ctx, message)

    def _malformed(self, data: bytes, request_id: int, reason: str) -> list[bytes] | None:
        if len(data) < _MIN_REPLY:
            return None
        room = len(data) - _MIN_REPLY
        text = reason.encode("utf-8")[:room].decode("utf-8", "ignore")
        reply = Message(0, ResponseCode.PROTOCOL_ERROR, body=ErrorBody(text).to_wire(),
                        request_id=request_id)
        return [reply.to_frame()]

    async def _answer(self, ctx: RequestContext, request: Message) -> list[bytes]:
        # The budget covers the whole answer, also one of several messages (a listing).
        budget = UDP_PACKET_SIZE * ctx.request_packets * self.settings.max_answer_packets
        frames: list[Message] = []
        size = 0
        async for response in self.edge.respond(ctx, request):
            frames.append(response)
            size += ENVELOPE_SIZE + len(response.body) + len(response.credential) + 28
            if size > budget:
                text = f"{TRUNCATED_TEXT} (more than {budget} bytes); retry over TCP"
                short = error_reply(request, ResponseCode.ERROR, text)
                payload = short.to_wire()
                return [short.envelope(len(payload), truncated=True).to_wire() + payload]
        out: list[bytes] = []
        for response in frames:
            frame = response.to_frame()
            out.extend([frame] if len(frame) <= UDP_PACKET_SIZE else split_datagrams(response))
        return out


class StreamSession:
    """One TCP connection: decodes frames, answers them in order, keeps the channel open.

    The connection stays open until the client closes it or it is idle for ``idle_timeout``
    (IDIS SDKs send every request of a channel over one connection without keep-alive).
    """

    _ids = itertools.count(1)

    def __init__(self, service: StreamService, peer: tuple[str, int],
                 send: Callable[[bytes], None], close: Callable[[], None],
                 pause: Callable[[], None], resume: Callable[[], None]) -> None:
        self.service = service
        self.conn = Connection(("tcp", next(self._ids)), service.transport, peer)
        self._send = send
        self._close = close
        self._pause = pause
        self._resume = resume
        self._decoder = StreamDecoder(service.max_message)
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._paused = False
        # Cleared while the transport's write buffer is above its high-water mark: a client
        # that sends requests but does not read answers stops being answered (and, once 64
        # requests are queued, stops being read) instead of growing the buffer without bound.
        self._writable = asyncio.Event()
        self._writable.set()
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run())
        # Frames answered in one pass of the loop, written together (one send, not one each).
        self._out: list[bytes] = []
        self._held = 0
        self._last_active = self._loop.time()
        self._idle: asyncio.TimerHandle | None = self._loop.call_later(
            self.service.idle_timeout, self._idle_check)

    def _touch(self) -> None:
        # Re-arming a timer per request costs more than the rest of the bookkeeping; the
        # timer re-arms itself instead, so the connection still closes exactly
        # ``idle_timeout`` after its last activity.
        self._last_active = self._loop.time()

    def _idle_check(self) -> None:
        idle = self._loop.time() - self._last_active
        if idle >= self.service.idle_timeout:
            self._idle = None
            self._flush()
            self._close()
        else:
            self._idle = self._loop.call_later(self.service.idle_timeout - idle,
                                               self._idle_check)

    def _emit(self, frame: bytes) -> None:
        if not self._out:
            if self._queue.empty() or len(frame) >= _HOLD_BYTES:
                self._send(frame)  # nothing pipelined behind it: no reason to wait
                return
            # More requests are queued: hold the frame until they are answered (or until
            # this task yields to the loop, e.g. to wait for a commit), then send together.
            self._loop.call_soon(self._flush)
        self._out.append(frame)
        self._held += len(frame)
        if self._held >= _HOLD_BYTES:
            self._flush()  # the transport now sees the bytes and can apply backpressure

    def _flush(self) -> None:
        if self._out:
            data = b"".join(self._out) if len(self._out) > 1 else self._out[0]
            self._out.clear()
            self._held = 0
            self._send(data)

    def data_received(self, data: bytes) -> None:
        self._touch()
        try:
            self._decoder.receive_data(data)
            while (message := self._decoder.next_message()) is not None:
                self._queue.put_nowait(message)
        except ProtocolError as exc:
            # The stream has lost framing: say why once, then close.
            self._flush()
            self._send(Message(0, ResponseCode.PROTOCOL_ERROR,
                               body=ErrorBody(str(exc)).to_wire()).to_frame())
            self._queue.put_nowait(None)
            return
        if self._queue.qsize() > 64 and not self._paused:
            self._paused = True
            self._pause()

    def eof_received(self) -> None:
        self._queue.put_nowait(None)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def connection_lost(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        self._writable.set()  # nothing will be written any more; let the task finish
        self._queue.put_nowait(None)

    async def _until_writable(self) -> None:
        if not self._writable.is_set():
            self._flush()
            await self._writable.wait()

    async def _run(self) -> None:
        while True:
            message = await self._queue.get()
            if message is None:
                self._flush()
                self._close()
                return
            if self._paused and self._queue.qsize() < 16:
                self._paused = False
                self._resume()
            ctx = RequestContext(self.conn)
            try:
                await self._until_writable()
                async for response in self.service.edge.respond(ctx, message):
                    self._emit(response.to_frame())
                    await self._until_writable()
                if self._out and self._queue.empty():
                    self._flush()
            except Exception:
                log.exception("TCP session failed")
                self._flush()
                self._close()
                return
            self._touch()

    async def drain(self) -> None:
        """Finish what is queued (used at shutdown)."""
        self._queue.put_nowait(None)
        await self._task


class StreamService:
    """:param transport: what requests' contexts call the channel (``tcp``; ``tls`` on the
    replication listener)."""

    def __init__(self, edge: Edge, *, max_message: int, idle_timeout: float,
                 transport: str = "tcp") -> None:
        self.edge = edge
        self.transport = transport
        self.max_message = max_message
        self.idle_timeout = idle_timeout
