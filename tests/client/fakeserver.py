"""A tiny in-process Handle server for client and CLI tests, on 127.0.0.1 (UDP and TCP, one port).

It runs on its own event loop in a thread, so tests can drive it with ``asyncio.run``, the
sync client or the CLI alike. It keeps records in a dict, challenges every administrative
request (and resolutions that are not public-only) with RC 402, and checks the OC 200 answer
with the configured public key or secret. Knobs for transport tests: ``udp_drop`` ignores the
next N request datagrams, ``udp_budget`` replaces larger UDP answers with the "answer too
large for UDP" notice, ``list_page`` sets the handles per continued listing message.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

from cryptography.hazmat.primitives.asymmetric import rsa

from idnode.auth import (
    new_nonce,
    public_key_data,
    public_key_from_data,
    verify_private_key_answer,
    verify_secret_answer,
)
from idnode.identifiers.handle import handle_key
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values import Interface, ServerRecord, SiteData
from idnode.protocol.bodies import (
    AddValueRequest,
    ChallengeAnswerRequest,
    ChallengeBody,
    CreateHandleRequest,
    CreateHandleResponse,
    ErrorBody,
    HandleRequest,
    ListHandlesResponse,
    ModifyValueRequest,
    RemoveValueRequest,
    ResolutionRequest,
    ResolutionResponse,
)
from idnode.protocol.constants import UDP_PACKET_SIZE, OpCode, OpFlag, ResponseCode
from idnode.protocol.digest import compute_request_digest, with_digest
from idnode.protocol.framing import Reassembler, StreamDecoder, split_datagrams
from idnode.protocol.message import Message

ADMIN_HANDLE = "88.1/ADMIN"
ADMIN_INDEX = 300
SECRET = b"sesame"
_PUBLIC_OPS = {OpCode.RESOLUTION, OpCode.GET_SITE_INFO}


def error(request: Message, code: int, text: str = "") -> Message:
    return request.reply(code, ErrorBody(text).to_wire())


@dataclass
class FakeServer:
    key: rsa.RSAPrivateKey
    records: dict[str, tuple[HandleValue, ...]] = field(default_factory=dict)
    homed: list[str] = field(default_factory=list)
    udp_drop: int = 0
    udp_budget: int | None = None
    list_page: int = 2
    log: list[tuple[str, Message]] = field(default_factory=list)
    port: int = 0
    connections: int = 0
    writers: set[asyncio.StreamWriter] = field(default_factory=set)
    loop: asyncio.AbstractEventLoop | None = None
    _pending: dict[tuple[object, int], tuple[Message, bytes, bytes]] = field(
        default_factory=dict)

    def drop_connections(self) -> None:
        """Close every TCP connection from the server side (as an idle timeout would)."""
        assert self.loop is not None

        def close_all() -> None:
            for writer in list(self.writers):
                writer.close()

        self.loop.call_soon_threadsafe(close_all)

    # -- behaviour ----------------------------------------------------------------------
    def respond(self, request: Message, channel: object) -> list[Message]:
        if request.opcode == OpCode.CHALLENGE_RESPONSE:
            return self._answer(request, channel)
        needs_auth = request.opcode not in _PUBLIC_OPS or (
            request.opcode == OpCode.RESOLUTION and not request.has_flag(OpFlag.PUBLIC_ONLY))
        if needs_auth:
            nonce = new_nonce()
            digest = compute_request_digest(request)
            self._pending[(channel, request.request_id)] = (request, nonce, digest.digest)
            body = with_digest(digest, ChallengeBody(nonce).to_wire())
            return [request.reply(ResponseCode.AUTHENTICATION_NEEDED, body,
                                  opflags=request.opflags | OpFlag.RETURN_REQUEST_DIGEST)]
        return self._perform(request)

    def _answer(self, answer: Message, channel: object) -> list[Message]:
        pending = self._pending.pop((channel, answer.request_id), None)
        if pending is None:
            return [error(answer, ResponseCode.AUTHEN_ERROR, "no challenge pending")]
        request, nonce, digest = pending
        body = ChallengeAnswerRequest.from_wire(answer.body)
        if (body.handle, body.index) != (ADMIN_HANDLE, ADMIN_INDEX):
            return [error(request, ResponseCode.INSUFFICIENT_PERMISSIONS,
                          f"{body.index}:{body.handle} is not an administrator")]
        if body.auth_type == "HS_PUBKEY":
            public = public_key_from_data(public_key_data(self.key))
            ok = verify_private_key_answer(public, nonce, digest, body.signed_response)
        else:
            ok = verify_secret_answer(SECRET, nonce, digest, body.signed_response)
        if not ok:
            return [error(request, ResponseCode.AUTHENTICATION_FAILED, "bad signature")]
        return self._perform(request)

    def _perform(self, request: Message) -> list[Message]:
        op = request.opcode
        ok = request.reply(ResponseCode.SUCCESS)
        if op == OpCode.RESOLUTION:
            query = ResolutionRequest.from_wire(request.body)
            values = self.records.get(handle_key(query.handle))
            if values is None:
                return [error(request, ResponseCode.HANDLE_NOT_FOUND)]
            if request.has_flag(OpFlag.PUBLIC_ONLY):
                values = tuple(v for v in values if v.public_read)
            body = ResolutionResponse(query.handle, values).to_wire()
            return [request.reply(ResponseCode.SUCCESS, body)]
        if op == OpCode.GET_SITE_INFO:
            server = ServerRecord.from_ip(1, "127.0.0.1", b"", (
                Interface(3, 1, self.port), Interface(2, 0, self.port)))
            site = SiteData(servers=(server,))
            return [request.reply(ResponseCode.SUCCESS, site.to_bytes())]
        if op == OpCode.CREATE_HANDLE:
            create = CreateHandleRequest.from_wire(request.body)
            handle = create.handle
            if request.has_flag(OpFlag.MINT_NEW_SUFFIX):
                handle = f"{handle.rstrip('/')}/minted-{len(self.records) + 1}"
            if handle_key(handle) in self.records and not request.has_flag(OpFlag.OVERWRITE):
                return [error(request, ResponseCode.HANDLE_ALREADY_EXISTS,
                              f"{handle} already exists")]
            self.records[handle_key(handle)] = create.values
            if request.has_flag(OpFlag.MINT_NEW_SUFFIX):
                return [request.reply(ResponseCode.SUCCESS,
                                      CreateHandleResponse(handle).to_wire())]
            return [ok]
        if op == OpCode.LIST_HANDLES:
            prefix = HandleRequest.from_wire(request.body).handle.partition("/")[2]
            handles = sorted(h for h in self.records if h.startswith(prefix.upper() + "/"))
            pages = [handles[i:i + self.list_page]
                     for i in range(0, len(handles), self.list_page)] or [[]]
            return [request.reply(ResponseCode.SUCCESS,
                                  ListHandlesResponse(tuple(page)).to_wire(),
                                  opflags=request.opflags | (OpFlag.CONTINUOUS
                                                             if n < len(pages) - 1 else 0))
                    for n, page in enumerate(pages)]
        if op == OpCode.LIST_HOMED_PREFIXES:
            body = ListHandlesResponse(tuple(self.homed)).to_wire()
            return [request.reply(ResponseCode.SUCCESS, body)]
        if op in (OpCode.HOME_PREFIX, OpCode.UNHOME_PREFIX):
            prefix = HandleRequest.from_wire(request.body).handle
            if op == OpCode.HOME_PREFIX:
                self.homed.append(prefix)
            else:
                self.homed.remove(prefix)
            return [ok]
        return self._change(request) or [ok]

    def _change(self, request: Message) -> list[Message] | None:
        op = request.opcode
        if op == OpCode.DELETE_HANDLE:
            handle = HandleRequest.from_wire(request.body).handle
            if self.records.pop(handle_key(handle), None) is None:
                return [error(request, ResponseCode.HANDLE_NOT_FOUND)]
            return None
        decoders = {OpCode.ADD_VALUE: AddValueRequest, OpCode.MODIFY_VALUE: ModifyValueRequest,
                    OpCode.REMOVE_VALUE: RemoveValueRequest}
        body = decoders[OpCode(op)].from_wire(request.body)
        existing = self.records.get(handle_key(body.handle))
        if existing is None:
            return [error(request, ResponseCode.HANDLE_NOT_FOUND)]
        if isinstance(body, RemoveValueRequest):
            kept = tuple(v for v in existing if v.index not in body.indexes)
        else:
            new = {v.index: v for v in body.values}
            if op == OpCode.ADD_VALUE and set(new) & {v.index for v in existing} and \
                    not request.has_flag(OpFlag.OVERWRITE):
                return [error(request, ResponseCode.VALUE_ALREADY_EXISTS, "index in use")]
            kept = tuple(v for v in existing if v.index not in new) + tuple(new.values())
        self.records[handle_key(body.handle)] = kept
        return None

    # -- transports ---------------------------------------------------------------------
    def udp_answer(self, request: Message, peer: object) -> list[bytes]:
        out: list[bytes] = []
        for response in self.respond(request, ("udp", peer)):
            frame = response.to_frame()
            if self.udp_budget is not None and len(frame) > self.udp_budget:
                notice = error(request, ResponseCode.ERROR,
                               "answer too large for UDP; retry over TCP")
                payload = notice.to_wire()
                out.append(notice.envelope(len(payload), truncated=True).to_wire() + payload)
            elif len(frame) <= UDP_PACKET_SIZE:
                out.append(frame)
            else:
                out.extend(split_datagrams(response))
        return out

    async def serve_tcp(self, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> None:
        decoder = StreamDecoder()
        channel = ("tcp", id(writer))
        self.writers.add(writer)
        self.connections += 1
        try:
            while data := await reader.read(65536):
                decoder.receive_data(data)
                while (request := decoder.next_message()) is not None:
                    self.log.append(("tcp", request))
                    for response in self.respond(request, channel):
                        writer.write(response.to_frame())
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            self.writers.discard(writer)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.reassembler = Reassembler()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (3.11's selector datagram transport is not a DatagramTransport subclass)
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.server.udp_drop > 0:
            self.server.udp_drop -= 1
            return
        request = self.reassembler.feed(addr, data)
        if request is None:
            return
        self.server.log.append(("udp", request))
        assert self.transport is not None
        for datagram in self.server.udp_answer(request, addr):
            self.transport.sendto(datagram, addr)


def _free_port_pair() -> tuple[socket.socket, socket.socket]:
    """A TCP listening socket and a UDP socket bound to the same loopback port."""
    for _ in range(20):
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("127.0.0.1", 0))
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.bind(("127.0.0.1", tcp.getsockname()[1]))
        except OSError:
            tcp.close()
            udp.close()
            continue
        tcp.listen()
        return tcp, udp
    raise RuntimeError("no free port pair")


@contextlib.contextmanager
def running(server: FakeServer) -> Iterator[FakeServer]:
    loop = asyncio.new_event_loop()
    tcp_sock, udp_sock = _free_port_pair()
    server.port = tcp_sock.getsockname()[1]
    server.loop = loop

    async def start() -> tuple[asyncio.Server, asyncio.DatagramTransport]:
        tcp = await asyncio.start_server(server.serve_tcp, sock=tcp_sock)
        udp, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(server),
                                                     sock=udp_sock)
        return tcp, udp

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    tcp, udp = asyncio.run_coroutine_threadsafe(start(), loop).result(5)
    try:
        yield server
    finally:
        async def stop() -> None:
            udp.close()
            tcp.close()
            for writer in list(server.writers):
                writer.close()
            await tcp.wait_closed()
            await asyncio.sleep(0.05)  # let the connection handlers finish

        asyncio.run_coroutine_threadsafe(stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
