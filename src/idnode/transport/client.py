"""Client side of the UDP and TCP transports (``handle-protocol.md`` §9).

* :func:`udp_exchange` sends one request as one or more datagrams and waits for the
  matching answer, retrying after each timeout in turn (500, 1000 and 1500 ms by default, as
  CNRI's client does), reassembling multi-packet answers and ignoring datagrams that belong
  to no request of ours. A server whose answer does not fit UDP says so with a single TC
  datagram carrying RC 2 and "answer too large for UDP…": that raises
  :class:`TruncatedAnswer` so the caller can go to TCP at once instead of timing out.
* :class:`TcpConnection` is one keep-alive connection carrying many requests, one exchange
  at a time (callers hold :attr:`TcpConnection.lock` for a whole exchange); answers are
  matched by request id and stray frames are skipped.

Addresses are used exactly as given. What to send and what the answers mean is the client's
business (:mod:`idnode.client`); this module only moves messages.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from types import TracebackType

from idnode.errors import ProtocolError, RegistryError
from idnode.protocol.bodies import ErrorBody
from idnode.protocol.constants import MAX_MESSAGE_SIZE, OpFlag, ResponseCode
from idnode.protocol.digest import split_digest
from idnode.protocol.framing import Reassembler, StreamDecoder, split_datagrams
from idnode.protocol.message import Envelope, Message, decode_envelope

__all__ = [
    "DEFAULT_UDP_TIMEOUTS",
    "TRUNCATION_NOTICE",
    "TcpConnection",
    "TransportError",
    "TransportTimeout",
    "TruncatedAnswer",
    "udp_exchange",
]

#: CNRI's UDP retry schedule: wait 0.5 s, resend, wait 1 s, resend, wait 1.5 s.
DEFAULT_UDP_TIMEOUTS = (0.5, 1.0, 1.5)
#: How a server's error text starts when its answer is too large for UDP.
TRUNCATION_NOTICE = "answer too large for UDP"
_READ_SIZE = 65_536

Address = tuple[str, int]


class TransportError(RegistryError):
    """The server could not be reached, or the connection failed mid-exchange."""

    response_code = int(ResponseCode.CLIENT_CHANNEL_ERROR)
    fmt = "{reason}"


class TransportTimeout(TransportError):
    """No answer within the time allowed."""

    response_code = int(ResponseCode.CLIENT_TIMEOUT)


class TruncatedAnswer(TransportError):
    """The server's answer does not fit UDP; ask again over TCP."""


def _format(addr: Address) -> str:
    host, port = addr
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _os_text(exc: BaseException) -> str:
    return (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)).lower()


def _is_truncation_notice(env: Envelope, message: Message) -> bool:
    if not env.truncated or message.response_code != ResponseCode.ERROR:
        return False
    bodies = [message.body]
    if message.has_flag(OpFlag.RETURN_REQUEST_DIGEST):
        # The notice may or may not carry the digest prefix the RD flag promises.
        with contextlib.suppress(ProtocolError):
            bodies.insert(0, split_digest(message.body)[1])
    for body in bodies:
        with contextlib.suppress(ProtocolError):
            if ErrorBody.from_wire(body).message.startswith(TRUNCATION_NOTICE):
                return True
    return False


class _UdpAnswer(asyncio.DatagramProtocol):
    """Collects the datagrams of one answer; everything else is dropped."""

    def __init__(self, request_id: int, max_message: int) -> None:
        self._request_id = request_id
        self._max_message = max_message
        self._reassembler = Reassembler(max_pending=4, max_message=max_message)
        self.answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if self.answer.done():
            return
        try:
            env = decode_envelope(data, self._max_message)
            if env.request_id != self._request_id:
                return  # a late answer to an earlier request, or noise
            message = self._reassembler.feed(addr, data)
        except ProtocolError:
            return  # undecodable datagrams are ignored, never fatal
        if message is None or message.is_request:
            return
        if _is_truncation_notice(env, message):
            self.answer.set_exception(TruncatedAnswer(reason=TRUNCATION_NOTICE))
        else:
            self.answer.set_result(message)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable surfaces here on a connected UDP socket.
        if not self.answer.done():
            self.answer.set_exception(TransportError(reason=f"UDP: {_os_text(exc)}"))


async def udp_exchange(addr: Address, request: Message, *,
                       timeouts: Sequence[float] = DEFAULT_UDP_TIMEOUTS,
                       max_message: int = MAX_MESSAGE_SIZE) -> Message:
    """Send ``request`` over UDP to ``addr`` and return the answer with its request id.

    The request is sent again after each timeout in ``timeouts`` but the last.

    :raises TruncatedAnswer: the server says the answer is too large for UDP.
    :raises TransportTimeout: no answer after the last timeout.
    :raises TransportError: the socket failed (for example ICMP port unreachable).
    """
    loop = asyncio.get_running_loop()
    datagrams = split_datagrams(request)
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _UdpAnswer(request.request_id, max_message), remote_addr=addr)
    except OSError as exc:
        raise TransportError(reason=f"cannot reach {_format(addr)} over UDP: "
                                    f"{_os_text(exc)}") from None
    try:
        for wait in timeouts:
            for datagram in datagrams:
                transport.sendto(datagram)
            try:
                return await asyncio.wait_for(asyncio.shield(protocol.answer), wait)
            except TimeoutError:
                continue
        raise TransportTimeout(reason=f"no answer from {_format(addr)} over UDP after "
                                      f"{len(timeouts)} attempts")
    finally:
        transport.close()
        if not protocol.answer.done():
            protocol.answer.cancel()


class TcpConnection:
    """A keep-alive TCP connection to one server carrying many requests.

    Hold :attr:`lock` for a whole exchange (request, challenge, answer, continued answers)
    so exchanges of concurrent tasks do not interleave on the stream.

    :param reader: the connection's stream reader.
    :param writer: the connection's stream writer.
    :param peer: the server address, for messages.
    :param max_message: the largest message accepted.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 peer: Address, *, max_message: int = MAX_MESSAGE_SIZE) -> None:
        self._reader = reader
        self._writer = writer
        self._peer = peer
        self._decoder = StreamDecoder(max_message)
        self._broken = False
        self.lock = asyncio.Lock()

    @classmethod
    async def open(cls, addr: Address, *, timeout: float = 10.0,
                   max_message: int = MAX_MESSAGE_SIZE) -> TcpConnection:
        """Connect to ``addr``.

        :raises TransportError: refused, unreachable or timed out.
        """
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(addr[0], addr[1])
        except TimeoutError:
            raise TransportTimeout(reason=f"cannot connect to {_format(addr)} over TCP: "
                                          "timed out") from None
        except OSError as exc:
            raise TransportError(reason=f"cannot connect to {_format(addr)} over TCP: "
                                        f"{_os_text(exc)}") from None
        return cls(reader, writer, addr, max_message=max_message)

    @property
    def peer(self) -> Address:
        return self._peer

    @property
    def usable(self) -> bool:
        """False once the connection failed, was closed, or the server closed its side."""
        return not (self._broken or self._writer.is_closing() or self._reader.at_eof())

    async def send(self, message: Message) -> None:
        """Write one frame (envelope + message).

        :raises TransportError: the connection failed.
        """
        try:
            self._writer.write(message.to_frame())
            await self._writer.drain()
        except OSError as exc:
            self._broken = True
            raise TransportError(reason=f"TCP connection to {_format(self._peer)} failed: "
                                        f"{_os_text(exc)}") from None

    async def receive(self, request_id: int, *, timeout: float = 10.0) -> Message:
        """Read frames until the response with ``request_id`` arrives; skip others.

        A timeout or a decoding error leaves the stream in an unknown place, so the
        connection is then marked unusable.

        :raises TransportTimeout: nothing within ``timeout`` seconds.
        :raises TransportError: the server closed the connection.
        :raises ProtocolError: the server sent undecodable bytes.
        """
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message = await self._next_message()
                    if message.request_id == request_id and not message.is_request:
                        return message
        except TimeoutError:
            self._broken = True
            raise TransportTimeout(reason=f"no answer from {_format(self._peer)} over TCP "
                                          f"within {timeout:g} s") from None
        except ProtocolError:
            self._broken = True
            raise

    async def _next_message(self) -> Message:
        while (message := self._decoder.next_message()) is None:
            try:
                data = await self._reader.read(_READ_SIZE)
            except OSError as exc:
                self._broken = True
                raise TransportError(reason=f"TCP connection to {_format(self._peer)} "
                                            f"failed: {_os_text(exc)}") from None
            if not data:
                self._broken = True
                raise TransportError(reason=f"{_format(self._peer)} closed the TCP "
                                            "connection")
            self._decoder.receive_data(data)
        return message

    async def request(self, message: Message, *, timeout: float = 10.0) -> Message:
        """Send ``message`` and return the response with its request id."""
        await self.send(message)
        return await self.receive(message.request_id, timeout=timeout)

    async def close(self) -> None:
        self._broken = True
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def __aenter__(self) -> TcpConnection:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()
