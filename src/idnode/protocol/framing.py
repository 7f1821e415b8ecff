"""UDP, TCP and HTTP-tunnel framing (``handle-protocol.md`` §9), without I/O.

- **UDP:** every datagram is an envelope + a chunk of at most 492 bytes of the message. All
  chunks carry the same request id and the total message length; the sequence number is the
  chunk number and chunk *k* sits at offset *k* x 492. :func:`split_datagrams` cuts a message,
  :class:`Reassembler` puts chunks back together with bounded memory.
- **TCP:** a stream of envelope + message frames. :class:`StreamDecoder` is an h11-style
  buffer (``receive_data`` / ``next_message`` / ``receive_eof``); the TC flag means nothing
  on TCP, a frame is always one whole message.
- **HTTP tunnel:** the request and response bodies are envelope + message.

The ``*_frame`` variants return the envelope and the raw message bytes without decoding them,
for callers that must decrypt first (EC envelope flag, session encryption).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from idnode.errors import ProtocolError
from idnode.protocol.constants import ENVELOPE_SIZE, MAX_MESSAGE_SIZE, UDP_PAYLOAD_SIZE
from idnode.protocol.message import Envelope, Message, decode_envelope, decode_message

__all__ = [
    "TUNNEL_CONTENT_TYPE",
    "Frame",
    "Reassembler",
    "StreamDecoder",
    "decode_tunnel_body",
    "encode_tunnel_body",
    "split_datagrams",
]

TUNNEL_CONTENT_TYPE = "application/x-hdl-message"


@dataclass(frozen=True, slots=True)
class Frame:
    """An envelope and the complete (not yet decoded) message bytes that follow it."""

    envelope: Envelope
    payload: bytes

    def decode(self) -> Message:
        """Decode the message; raises :class:`~idnode.errors.ProtocolError`."""
        return decode_message(self.envelope, self.payload)


# -- UDP ------------------------------------------------------------------------------------

def split_datagrams(message: Message, chunk_size: int = UDP_PAYLOAD_SIZE) -> list[bytes]:
    """Cut ``message`` into UDP datagrams of envelope + at most ``chunk_size`` bytes.

    The TC flag is set on every datagram iff there is more than one.
    """
    payload = message.to_wire()
    count = -(-len(payload) // chunk_size)
    truncated = count > 1
    return [
        message.envelope(len(payload), sequence=k, truncated=truncated).to_wire()
        + payload[k * chunk_size:(k + 1) * chunk_size]
        for k in range(count)
    ]


def _chunk_count(length: int, chunk_size: int) -> int:
    return -(-length // chunk_size)


def _same_message(a: Envelope, b: Envelope) -> bool:
    # Everything but the sequence number must agree between chunks of one message.
    return (a.major, a.minor, a.flags, a.suggested_minor, a.session_id, a.message_length) == \
        (b.major, b.minor, b.flags, b.suggested_minor, b.session_id, b.message_length)


@dataclass(slots=True)
class _Pending:
    """Chunks received so far of one multi-packet message."""

    envelope: Envelope
    created: float
    total: int
    chunks: dict[int, bytes] = field(default_factory=dict)
    size: int = 0


class Reassembler:
    """Rebuilds multi-packet UDP messages, keyed by (peer, request id).

    Memory is bounded: at most ``max_pending`` incomplete messages holding at most
    ``max_bytes`` of chunk data in total. When a limit is hit, expired messages go first,
    then the oldest. A datagram that holds a whole message never touches that storage.

    :param max_pending: incomplete messages kept at once.
    :param max_bytes: chunk bytes kept at once.
    :param timeout: seconds after its first chunk that an incomplete message is dropped.
    :param clock: monotonic seconds; injectable for tests.
    :param max_message: largest message length accepted in an envelope.
    :param chunk_size: payload bytes per datagram (492 on the wire).
    """

    __slots__ = ("_clock", "_pending", "_used", "chunk_size", "max_bytes", "max_message",
                 "max_pending", "timeout")

    def __init__(self, max_pending: int = 1024, max_bytes: int = 8 * 1024 * 1024,
                 timeout: float = 5.0, clock: Callable[[], float] = time.monotonic, *,
                 max_message: int = MAX_MESSAGE_SIZE,
                 chunk_size: int = UDP_PAYLOAD_SIZE) -> None:
        self.max_pending = max_pending
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_message = max_message
        self.chunk_size = chunk_size
        self._clock = clock
        self._pending: OrderedDict[tuple[object, int], _Pending] = OrderedDict()
        self._used = 0

    def __len__(self) -> int:
        """Number of incomplete messages held."""
        return len(self._pending)

    @property
    def buffered_bytes(self) -> int:
        return self._used

    def feed(self, peer: object, datagram: bytes) -> Message | None:
        """Take one datagram from ``peer`` (any hashable address); return the message
        once it is complete.

        :returns: the decoded message, or ``None`` while chunks are missing.
        :raises ProtocolError: a malformed datagram or inconsistent chunks (the partial
            message is dropped).
        """
        frame = self.feed_frame(peer, datagram)
        return None if frame is None else frame.decode()

    def feed_frame(self, peer: object, datagram: bytes) -> Frame | None:
        """Like :meth:`feed`, but return the undecoded :class:`Frame`."""
        env = decode_envelope(datagram, self.max_message)
        chunk = bytes(memoryview(datagram)[ENVELOPE_SIZE:])
        total = _chunk_count(env.message_length, self.chunk_size)
        if total == 1:
            # Fast path: the whole message is in this datagram, nothing is stored.
            if env.sequence != 0:
                raise ProtocolError(reason=f"chunk {env.sequence} of a one-chunk message")
            if len(chunk) != env.message_length:
                raise ProtocolError(reason=f"datagram carries {len(chunk)} bytes of a "
                                           f"{env.message_length}-byte message")
            return Frame(env, chunk)
        return self._add_chunk(peer, env, chunk, total)

    def _add_chunk(self, peer: object, env: Envelope, chunk: bytes, total: int) -> Frame | None:
        seq = env.sequence
        if seq >= total:
            raise ProtocolError(reason=f"chunk {seq} beyond the {total} chunks of a "
                                       f"{env.message_length}-byte message")
        expected = (env.message_length - seq * self.chunk_size if seq == total - 1
                    else self.chunk_size)
        if len(chunk) != expected:
            raise ProtocolError(reason=f"chunk {seq} has {len(chunk)} bytes, "
                                       f"expected {expected}")
        key = (peer, env.request_id)
        now = self._clock()
        self._expire(now)
        pending = self._pending.get(key)
        if pending is not None and not _same_message(pending.envelope, env):
            self._drop(key)
            raise ProtocolError(reason=f"chunk {seq} of request {env.request_id} does not "
                                       "match the earlier chunks")
        if pending is not None and seq in pending.chunks:
            return None  # a duplicate: UDP may deliver a datagram twice
        if len(chunk) > self.max_bytes:
            raise ProtocolError(reason="chunk exceeds the reassembly budget")
        self._make_room(key, len(chunk))
        if pending is None:
            pending = _Pending(env, now, total)
            self._pending[key] = pending
        pending.chunks[seq] = chunk
        pending.size += len(chunk)
        self._used += len(chunk)
        if len(pending.chunks) < total:
            return None
        self._drop(key)
        payload = b"".join(pending.chunks[k] for k in range(total))
        return Frame(pending.envelope, payload)

    def _expire(self, now: float) -> None:
        # Insertion order is creation order, so expired entries are at the front.
        while self._pending:
            key, oldest = next(iter(self._pending.items()))
            if now - oldest.created < self.timeout:
                break
            self._drop(key)

    def _make_room(self, key: tuple[object, int], size: int) -> None:
        new_entry = key not in self._pending
        while ((new_entry and len(self._pending) >= self.max_pending)
               or self._used + size > self.max_bytes):
            # Evict the oldest message other than the one this chunk belongs to.
            victim = next((k for k in self._pending if k != key), None)
            if victim is None:
                self._drop(key)
                raise ProtocolError(reason="message exceeds the reassembly budget")
            self._drop(victim)

    def _drop(self, key: tuple[object, int]) -> None:
        pending = self._pending.pop(key, None)
        if pending is not None:
            self._used -= pending.size

    def expire(self) -> int:
        """Drop incomplete messages older than ``timeout``; return how many are left."""
        self._expire(self._clock())
        return len(self._pending)


# -- TCP ------------------------------------------------------------------------------------

class StreamDecoder:
    """Splits a TCP byte stream into messages (h11 style, no I/O).

    Feed bytes with :meth:`receive_data` and call :meth:`next_message` until it returns
    ``None`` (more data needed). An envelope that declares more than ``max_message`` bytes
    raises at once, before its payload is buffered. After a :class:`ProtocolError` the stream
    cannot be resynchronised: every later call raises again and the connection should close.

    :param max_message: largest message length accepted in an envelope.
    :param max_buffer: most unread bytes held; defaults to two whole frames.
    """

    __slots__ = ("_buffer", "_eof", "_error", "max_buffer", "max_message")

    def __init__(self, max_message: int = MAX_MESSAGE_SIZE, max_buffer: int | None = None
                 ) -> None:
        self.max_message = max_message
        self.max_buffer = (2 * (ENVELOPE_SIZE + max_message) if max_buffer is None
                           else max_buffer)
        self._buffer = bytearray()
        self._eof = False
        self._error: ProtocolError | None = None

    @property
    def closed(self) -> bool:
        """True once EOF was received and every complete message has been taken."""
        return self._eof and not self._buffer

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Append bytes read from the socket.

        :raises ProtocolError: after EOF, over ``max_buffer``, or an oversized envelope.
        """
        self._check()
        if self._eof:
            raise self._fail("data received after EOF")
        if len(self._buffer) + len(data) > self.max_buffer:
            raise self._fail(f"more than {self.max_buffer} unread bytes")
        self._buffer += data
        if len(self._buffer) >= ENVELOPE_SIZE:
            self._peek_envelope()  # reject an oversized declaration early

    def receive_eof(self) -> None:
        """The peer closed its side."""
        self._eof = True

    def next_message(self) -> Message | None:
        """The next complete message, or ``None`` if more data is needed (or EOF).

        :raises ProtocolError: malformed frame, or EOF in the middle of a frame.
        """
        frame = self.next_frame()
        if frame is None:
            return None
        try:
            return frame.decode()
        except ProtocolError as exc:
            raise self._fail(exc) from None

    def next_frame(self) -> Frame | None:
        """Like :meth:`next_message`, but return the undecoded :class:`Frame`."""
        self._check()
        if len(self._buffer) < ENVELOPE_SIZE:
            if self._eof and self._buffer:
                raise self._fail(f"connection closed inside an envelope "
                                 f"({len(self._buffer)} bytes)")
            return None
        env = self._peek_envelope()
        end = ENVELOPE_SIZE + env.message_length
        if len(self._buffer) < end:
            if self._eof:
                raise self._fail(f"connection closed after {len(self._buffer)} of "
                                 f"{end} bytes of a frame")
            return None
        payload = bytes(self._buffer[ENVELOPE_SIZE:end])
        del self._buffer[:end]
        return Frame(env, payload)

    def _peek_envelope(self) -> Envelope:
        try:
            return decode_envelope(bytes(self._buffer[:ENVELOPE_SIZE]), self.max_message)
        except ProtocolError as exc:
            raise self._fail(exc) from None

    def _check(self) -> None:
        if self._error is not None:
            raise ProtocolError(reason=f"stream already failed: {self._error}",
                                response_code=self._error.response_code)

    def _fail(self, cause: ProtocolError | str) -> ProtocolError:
        error = cause if isinstance(cause, ProtocolError) else ProtocolError(reason=cause)
        self._error = error
        self._buffer.clear()  # nothing after a framing error can be trusted
        return error


# -- HTTP tunnel ----------------------------------------------------------------------------

def decode_tunnel_body(body: bytes, max_message: int = MAX_MESSAGE_SIZE) -> Message:
    """Decode an HTTP-tunnel request or response body (exactly envelope + message).

    :raises ProtocolError: malformed, oversized, or trailing bytes.
    """
    env = decode_envelope(body, max_message)
    return decode_message(env, memoryview(body)[ENVELOPE_SIZE:])


def encode_tunnel_body(message: Message) -> bytes:
    """The HTTP-tunnel body for ``message`` (envelope + message)."""
    return message.to_frame()
