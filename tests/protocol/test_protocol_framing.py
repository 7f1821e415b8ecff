"""UDP split/reassembly, the TCP stream decoder and the HTTP tunnel."""

from __future__ import annotations

import random
import struct

import pytest

from idnode.errors import ProtocolError
from idnode.protocol import (
    TUNNEL_CONTENT_TYPE,
    Envelope,
    Message,
    Reassembler,
    StreamDecoder,
    decode_envelope,
    decode_frame,
    decode_tunnel_body,
    encode_tunnel_body,
    split_datagrams,
)
from idnode.protocol.constants import EnvelopeFlag

PEER = ("192.0.2.1", 40000)


def message_of_size(total: int, request_id: int = 7) -> Message:
    """A message whose wire form (header + body + credential length) is ``total`` bytes."""
    return Message(opcode=1, body=bytes(i % 251 for i in range(total - 28)),
                   request_id=request_id)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- split --------------------------------------------------------------------------------

@pytest.mark.parametrize(("total", "chunks"), [(28, 1), (492, 1), (493, 2), (984, 2),
                                               (985, 3), (262_144, 533)])
def test_split_datagrams(total: int, chunks: int) -> None:
    message = message_of_size(total)
    datagrams = split_datagrams(message)
    assert len(datagrams) == chunks
    payload = b""
    for k, datagram in enumerate(datagrams):
        env = decode_envelope(datagram)
        assert env.request_id == message.request_id
        assert env.sequence == k
        assert env.message_length == total
        assert env.truncated == (chunks > 1)
        assert len(datagram) <= 512
        payload += datagram[20:]
    assert payload == message.to_wire()
    if chunks == 1:
        assert datagrams == [message.to_frame()]


# -- reassembly ---------------------------------------------------------------------------

@pytest.mark.parametrize("total", [493, 984, 3000, 262_144])
def test_reassemble_in_order(total: int) -> None:
    message = message_of_size(total)
    reassembler = Reassembler()
    datagrams = split_datagrams(message)
    for datagram in datagrams[:-1]:
        assert reassembler.feed(PEER, datagram) is None
    assert reassembler.feed(PEER, datagrams[-1]) == message
    assert len(reassembler) == 0
    assert reassembler.buffered_bytes == 0


def test_reassemble_out_of_order_with_duplicates() -> None:
    message = message_of_size(5000)
    datagrams = split_datagrams(message)
    shuffled = datagrams + datagrams[:3]
    random.Random(4).shuffle(shuffled)
    reassembler = Reassembler()
    results = [reassembler.feed(PEER, d) for d in shuffled]
    assert [r for r in results if r is not None] == [message]


def test_reversed_order() -> None:
    message = message_of_size(2000)
    reassembler = Reassembler()
    results = [reassembler.feed(PEER, d) for d in reversed(split_datagrams(message))]
    assert results[-1] == message
    assert results[:-1] == [None] * (len(results) - 1)


def test_peers_and_request_ids_are_kept_apart() -> None:
    a = message_of_size(1000, request_id=1)
    b = message_of_size(1200, request_id=1)
    c = message_of_size(1100, request_id=2)
    reassembler = Reassembler()
    streams = [(PEER, split_datagrams(a)), (("192.0.2.2", 1), split_datagrams(b)),
               (PEER, split_datagrams(c))]
    done = []
    for k in range(3):
        for peer, datagrams in streams:
            result = reassembler.feed(peer, datagrams[k])
            if result is not None:
                done.append(result)
    assert done == [a, b, c]


def chunk(request_id: int, sequence: int, total: int, payload: bytes, flags: int = 0x22
          ) -> bytes:
    return Envelope(2, 3, flags, 11, 0, request_id, sequence, total).to_wire() + payload


def test_inconsistent_chunks_are_rejected() -> None:
    reassembler = Reassembler()
    assert reassembler.feed(PEER, chunk(1, 0, 1000, bytes(492))) is None
    with pytest.raises(ProtocolError, match="does not match"):
        reassembler.feed(PEER, chunk(1, 1, 1001, bytes(492)))
    assert len(reassembler) == 0  # the partial message is dropped
    assert reassembler.feed(PEER, chunk(1, 0, 1000, bytes(492))) is None
    with pytest.raises(ProtocolError, match="does not match"):
        reassembler.feed(PEER, chunk(1, 1, 1000, bytes(492), flags=0x62))


def test_chunk_beyond_total_and_wrong_sizes() -> None:
    reassembler = Reassembler()
    with pytest.raises(ProtocolError, match="beyond"):
        reassembler.feed(PEER, chunk(1, 3, 1000, bytes(16)))
    with pytest.raises(ProtocolError, match="expected 492"):
        reassembler.feed(PEER, chunk(1, 0, 1000, bytes(100)))
    with pytest.raises(ProtocolError, match="expected 16"):
        reassembler.feed(PEER, chunk(1, 2, 1000, bytes(492)))
    with pytest.raises(ProtocolError, match="of a one-chunk message"):
        reassembler.feed(PEER, chunk(1, 1, 100, bytes(100)))
    with pytest.raises(ProtocolError, match="carries 99 bytes"):
        reassembler.feed(PEER, chunk(1, 0, 100, bytes(99)))
    assert len(reassembler) == 0


def test_oversized_and_tiny_datagrams_fail_fast() -> None:
    reassembler = Reassembler()
    with pytest.raises(ProtocolError, match="exceeds the limit"):
        reassembler.feed(PEER, chunk(1, 0, 0xFFFF_FFFF, bytes(492)))
    with pytest.raises(ProtocolError):
        reassembler.feed(PEER, b"\x02")
    assert len(reassembler) == 0


def test_single_packet_fast_path_stores_nothing() -> None:
    reassembler = Reassembler(max_pending=1, max_bytes=1)
    message = message_of_size(400)
    for _ in range(10):
        assert reassembler.feed(PEER, message.to_frame()) == message
    assert len(reassembler) == 0


def test_incomplete_messages_expire() -> None:
    clock = FakeClock()
    reassembler = Reassembler(timeout=5.0, clock=clock)
    first, second = split_datagrams(message_of_size(800))
    assert reassembler.feed(PEER, first) is None
    clock.now += 6
    assert reassembler.expire() == 0
    assert reassembler.feed(PEER, second) is None  # the first chunk is gone
    assert len(reassembler) == 1
    clock.now += 1
    assert reassembler.feed(PEER, first) is not None


def test_max_pending_evicts_the_oldest() -> None:
    reassembler = Reassembler(max_pending=3)
    firsts = [split_datagrams(message_of_size(800, request_id=r)) for r in range(5)]
    for datagrams in firsts:
        assert reassembler.feed(PEER, datagrams[0]) is None
    assert len(reassembler) == 3
    assert reassembler.feed(PEER, firsts[0][1]) is None  # 0 was evicted
    assert reassembler.feed(PEER, firsts[4][1]) == message_of_size(800, request_id=4)


def test_max_bytes_evicts_the_oldest() -> None:
    reassembler = Reassembler(max_bytes=3 * 492)
    for r in range(4):
        reassembler.feed(PEER, split_datagrams(message_of_size(2000, request_id=r))[0])
    assert reassembler.buffered_bytes <= 3 * 492
    assert len(reassembler) == 3


def test_a_message_larger_than_the_budget_is_refused() -> None:
    reassembler = Reassembler(max_bytes=1000)
    datagrams = split_datagrams(message_of_size(3000))
    reassembler.feed(PEER, datagrams[0])
    reassembler.feed(PEER, datagrams[1])
    with pytest.raises(ProtocolError, match="budget"):
        reassembler.feed(PEER, datagrams[2])
    assert len(reassembler) == 0
    assert reassembler.buffered_bytes == 0


def test_undecodable_complete_message_is_a_protocol_error() -> None:
    payload = bytearray(message_of_size(600).to_wire())
    payload[20:24] = struct.pack(">I", 10_000)  # body length beyond the message
    reassembler = Reassembler()
    reassembler.feed(PEER, chunk(9, 0, 600, bytes(payload[:492])))
    with pytest.raises(ProtocolError):
        reassembler.feed(PEER, chunk(9, 1, 600, bytes(payload[492:])))
    assert len(reassembler) == 0


def test_feed_frame_returns_undecoded_bytes() -> None:
    message = message_of_size(1000)
    reassembler = Reassembler()
    frames = [reassembler.feed_frame(PEER, d) for d in split_datagrams(message)]
    frame = frames[-1]
    assert frame is not None
    assert frame.payload == message.to_wire()
    assert frame.envelope.truncated
    assert frame.decode() == message


# -- TCP ----------------------------------------------------------------------------------

def test_stream_byte_by_byte() -> None:
    messages = [message_of_size(n, request_id=n) for n in (28, 600, 5000)]
    stream = b"".join(m.to_frame() for m in messages)
    decoder = StreamDecoder()
    received = []
    for i in range(len(stream)):
        decoder.receive_data(stream[i:i + 1])
        while (message := decoder.next_message()) is not None:
            received.append(message)
    assert received == messages
    assert decoder.buffered == 0
    decoder.receive_eof()
    assert decoder.closed
    assert decoder.next_message() is None


def test_stream_oversized_envelope_fails_before_buffering() -> None:
    decoder = StreamDecoder(max_message=1000)
    env = Envelope(2, 3, 0, 0, 0, 1, 0, 0xFFFF_FFFF).to_wire()
    decoder.receive_data(env[:19])
    with pytest.raises(ProtocolError, match="exceeds the limit"):
        decoder.receive_data(env[19:])
    # The failure is sticky: the stream has lost its framing.
    with pytest.raises(ProtocolError, match="already failed"):
        decoder.receive_data(b"x")
    with pytest.raises(ProtocolError):
        decoder.next_message()


def test_stream_eof_inside_a_frame() -> None:
    frame = message_of_size(100).to_frame()
    decoder = StreamDecoder()
    decoder.receive_data(frame[:50])
    assert decoder.next_message() is None
    decoder.receive_eof()
    assert not decoder.closed
    with pytest.raises(ProtocolError, match="closed after 50"):
        decoder.next_message()
    decoder = StreamDecoder()
    decoder.receive_data(frame[:5])
    decoder.receive_eof()
    with pytest.raises(ProtocolError, match="inside an envelope"):
        decoder.next_message()


def test_stream_frame_with_tc_flag_is_one_whole_message() -> None:
    message = message_of_size(3000)
    frame = bytearray(message.to_frame())
    frame[2] |= EnvelopeFlag.TRUNCATED
    decoder = StreamDecoder()
    decoder.receive_data(bytes(frame))
    assert decoder.next_message() == message


def test_stream_buffer_is_bounded() -> None:
    decoder = StreamDecoder(max_message=1000, max_buffer=3000)
    frame = message_of_size(1000).to_frame()
    decoder.receive_data(frame)
    decoder.receive_data(frame)
    with pytest.raises(ProtocolError, match="unread bytes"):
        decoder.receive_data(frame)


def test_stream_bad_message_inside_a_good_envelope() -> None:
    env = Envelope(2, 3, 0, 0, 0, 1, 0, 28).to_wire()
    decoder = StreamDecoder()
    decoder.receive_data(env + bytes(20) + struct.pack(">I", 100) + bytes(4))
    with pytest.raises(ProtocolError):
        decoder.next_message()


def test_stream_data_after_eof() -> None:
    decoder = StreamDecoder()
    decoder.receive_eof()
    with pytest.raises(ProtocolError, match="after EOF"):
        decoder.receive_data(b"x")


# -- HTTP tunnel --------------------------------------------------------------------------

def test_tunnel_round_trip() -> None:
    message = message_of_size(5000)
    body = encode_tunnel_body(message)
    assert body == message.to_frame()
    assert decode_tunnel_body(body) == message
    assert TUNNEL_CONTENT_TYPE == "application/x-hdl-message"


@pytest.mark.parametrize("cut", [-1, 1])
def test_tunnel_body_must_be_exact(cut: int) -> None:
    body = encode_tunnel_body(message_of_size(100))
    with pytest.raises(ProtocolError):
        decode_tunnel_body(body[:cut] if cut < 0 else body + b"\x00")


def test_tunnel_respects_max_message() -> None:
    with pytest.raises(ProtocolError, match="exceeds the limit"):
        decode_tunnel_body(encode_tunnel_body(message_of_size(5000)), max_message=4000)


# -- message without a credential section (IDIS OC 2001 from id-pointer-sdk) --------------

def test_message_without_credential_length_decodes() -> None:
    body = struct.pack(">I", 10) + b"88.1/ADMIN" + struct.pack(">I", 300)
    header = Message(opcode=2001, body=body).header_bytes()
    payload = header + body
    env = Envelope(2, 11, 2, 11, 0, 5, 0, len(payload)).to_wire()
    message = decode_frame(env + payload)
    assert message.opcode == 2001
    assert message.body == body
    assert message.credential == b""
