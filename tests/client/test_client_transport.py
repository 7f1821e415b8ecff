"""udp_exchange and TcpConnection over loopback, against tiny in-test servers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import cast

import pytest

from idnode.identifiers.value import HandleValue
from idnode.protocol.bodies import ErrorBody, ResolutionRequest, ResolutionResponse
from idnode.protocol.constants import OpCode, OpFlag, ResponseCode
from idnode.protocol.framing import Reassembler, split_datagrams
from idnode.protocol.message import Message
from idnode.transport.client import (
    TcpConnection,
    TransportError,
    TransportTimeout,
    TruncatedAnswer,
    udp_exchange,
)

FAST = (0.2, 0.2, 0.2)


def resolution(request_id: int = 77, handle: str = "88.1/x") -> Message:
    return Message(opcode=OpCode.RESOLUTION, opflags=0x19000000, request_id=request_id,
                   body=ResolutionRequest(handle).to_wire())


def answer_with(request: Message, count: int) -> Message:
    values = tuple(HandleValue(i, "URL", f"https://example.com/{i:04d}".encode() * 3)
                   for i in range(1, count + 1))
    return request.reply(ResponseCode.SUCCESS,
                         ResolutionResponse("88.1/x", values).to_wire())


Reply = Callable[[Message, tuple[str, int], Callable[[bytes], None]], None]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.reassembler = Reassembler()
        self.received: list[Message] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (3.11's selector datagram transport is not a DatagramTransport subclass)
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        message = self.reassembler.feed(addr, data)
        if message is not None:
            self.received.append(message)
            assert self.transport is not None
            transport = self.transport
            self.reply(message, addr, lambda datagram: transport.sendto(datagram, addr))


@contextlib.asynccontextmanager
async def udp_server(reply: Reply) -> AsyncIterator[tuple[tuple[str, int], _Udp]]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _Udp(reply), local_addr=("127.0.0.1", 0))
    try:
        yield transport.get_extra_info("sockname")[:2], protocol
    finally:
        transport.close()


# -- UDP ----------------------------------------------------------------------------------

def test_udp_single_datagram() -> None:
    async def go() -> None:
        def reply(request: Message, _: object, send: Callable[[bytes], None]) -> None:
            send(answer_with(request, 1).to_frame())

        async with udp_server(reply) as (addr, _):
            response = await udp_exchange(addr, resolution(), timeouts=FAST)
        assert response.request_id == 77
        assert len(ResolutionResponse.from_wire(response.body).values) == 1

    asyncio.run(go())


def test_udp_multi_packet_answer_is_reassembled_in_any_order() -> None:
    async def go() -> None:
        def reply(request: Message, _: object, send: Callable[[bytes], None]) -> None:
            datagrams = split_datagrams(answer_with(request, 40))
            assert len(datagrams) > 3
            for datagram in reversed(datagrams):  # order on the wire is not guaranteed
                send(datagram)

        async with udp_server(reply) as (addr, _):
            response = await udp_exchange(addr, resolution(), timeouts=FAST)
        values = ResolutionResponse.from_wire(response.body).values
        assert [v.index for v in values] == list(range(1, 41))

    asyncio.run(go())


def test_udp_multi_packet_request() -> None:
    async def go() -> None:
        big = Message(opcode=OpCode.RESOLUTION, request_id=5, body=ResolutionRequest(
            "88.1/x", types=tuple(f"TYPE{i}" for i in range(200))).to_wire())

        def reply(request: Message, _: object, send: Callable[[bytes], None]) -> None:
            send(answer_with(request, 1).to_frame())

        async with udp_server(reply) as (addr, server):
            await udp_exchange(addr, big, timeouts=FAST)
        assert server.received[0].body == big.body

    asyncio.run(go())


def test_udp_retries_after_a_dropped_datagram() -> None:
    async def go() -> None:
        seen: list[float] = []

        def reply(request: Message, _: object, send: Callable[[bytes], None]) -> None:
            seen.append(time.monotonic())
            if len(seen) > 1:  # the first request datagram is "lost"
                send(answer_with(request, 1).to_frame())

        async with udp_server(reply) as (addr, _):
            response = await udp_exchange(addr, resolution(), timeouts=(0.3, 1.0))
        assert response.response_code == ResponseCode.SUCCESS
        assert len(seen) == 2
        assert seen[1] - seen[0] >= 0.25  # resent after the first timeout

    asyncio.run(go())


def test_udp_ignores_stray_datagrams() -> None:
    async def go() -> None:
        def reply(request: Message, _: object, send: Callable[[bytes], None]) -> None:
            send(b"\x00garbage")
            send(answer_with(request.with_(request_id=request.request_id + 1), 1).to_frame())
            send(request.to_frame())  # a request is no answer
            send(answer_with(request, 2).to_frame())

        async with udp_server(reply) as (addr, _):
            response = await udp_exchange(addr, resolution(), timeouts=FAST)
        assert response.request_id == 77
        assert len(ResolutionResponse.from_wire(response.body).values) == 2

    asyncio.run(go())


def test_udp_timeout() -> None:
    async def go() -> None:
        async with udp_server(lambda *_: None) as (addr, server):
            with pytest.raises(TransportTimeout, match="after 3 attempts"):
                await udp_exchange(addr, resolution(), timeouts=(0.05, 0.05, 0.05))
        assert len(server.received) == 3

    asyncio.run(go())


def test_udp_truncation_notice() -> None:
    async def go() -> None:
        def reply(request: Message, _: object, send: Callable[[bytes], None]) -> None:
            notice = request.reply(ResponseCode.ERROR, ErrorBody(
                "answer too large for UDP (900 bytes; limit 512); retry over TCP").to_wire())
            payload = notice.to_wire()
            send(notice.envelope(len(payload), truncated=True).to_wire() + payload)

        async with udp_server(reply) as (addr, _):
            with pytest.raises(TruncatedAnswer):
                await udp_exchange(addr, resolution(), timeouts=(5.0,))

    asyncio.run(go())


def test_udp_error_without_tc_is_an_answer() -> None:
    async def go() -> None:
        def reply(request: Message, _: object, send: Callable[[bytes], None]) -> None:
            send(request.reply(ResponseCode.ERROR, ErrorBody(
                "answer too large for UDP").to_wire()).to_frame())

        async with udp_server(reply) as (addr, _):
            response = await udp_exchange(addr, resolution(), timeouts=FAST)
        assert response.response_code == ResponseCode.ERROR

    asyncio.run(go())


# -- TCP ----------------------------------------------------------------------------------

async def _tcp_server(handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                        object]) -> tuple[asyncio.Server, tuple[str, int]]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)  # type: ignore[arg-type]
    return server, server.sockets[0].getsockname()[:2]


def test_tcp_keep_alive_many_requests_and_stray_frames() -> None:
    async def go() -> None:
        connections = 0

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            from idnode.protocol.framing import StreamDecoder
            decoder = StreamDecoder()
            while data := await reader.read(4096):
                decoder.receive_data(data)
                while (request := decoder.next_message()) is not None:
                    # a frame for some other request first, then the answer in two writes
                    writer.write(answer_with(request.with_(request_id=1), 1).to_frame())
                    frame = answer_with(request, 3).to_frame()
                    writer.write(frame[:30])
                    await writer.drain()
                    writer.write(frame[30:])
            writer.close()

        server, addr = await _tcp_server(handler)
        async with server, await TcpConnection.open(addr) as connection:
            for request_id in (10, 11, 12):
                async with connection.lock:
                    response = await connection.request(resolution(request_id))
                assert response.request_id == request_id
                assert len(ResolutionResponse.from_wire(response.body).values) == 3
            assert connection.usable
        assert connections == 1

    asyncio.run(go())


def test_tcp_timeout_marks_the_connection_unusable() -> None:
    async def go() -> None:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # never answers
            writer.close()

        server, addr = await _tcp_server(handler)
        async with server:
            connection = await TcpConnection.open(addr)
            with pytest.raises(TransportTimeout, match=r"within 0\.1 s"):
                await connection.request(resolution(), timeout=0.1)
            assert not connection.usable
            await connection.close()

    asyncio.run(go())


def test_tcp_server_closing_is_a_transport_error() -> None:
    async def go() -> None:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(10)
            writer.close()

        server, addr = await _tcp_server(handler)
        async with server:
            connection = await TcpConnection.open(addr)
            with pytest.raises(TransportError, match="closed the TCP connection"):
                await connection.request(resolution())
            assert not connection.usable
            await connection.close()

    asyncio.run(go())


def test_tcp_connect_refused() -> None:
    async def go() -> None:
        server, addr = await _tcp_server(lambda r, w: None)
        server.close()
        await server.wait_closed()
        with pytest.raises(TransportError, match=r"cannot connect to 127\.0\.0\.1:"):
            await TcpConnection.open(addr)

    asyncio.run(go())


def test_resolution_flags_are_as_sent() -> None:
    # The transport adds nothing: what is sent is exactly the caller's message.
    async def go() -> None:
        def reply(request: Message, _: object, send: Callable[[bytes], None]) -> None:
            send(answer_with(request, 1).to_frame())

        async with udp_server(reply) as (addr, server):
            await udp_exchange(addr, resolution(), timeouts=FAST)
        assert server.received[0].opflags == 0x19000000
        assert not server.received[0].has_flag(OpFlag.KEEP_ALIVE)

    asyncio.run(go())
