"""Property tests: any input gives a result or a ProtocolError, never anything else.

Memory must stay bounded too: hostile counts and lengths fail before allocation.
"""

from __future__ import annotations

import random
import struct
import tracemalloc
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idnode.errors import ProtocolError
from idnode.identifiers.value import HandleValue, Reference
from idnode.protocol import (
    Envelope,
    Message,
    Reassembler,
    StreamDecoder,
    decode_frame,
    decode_tunnel_body,
    split_datagrams,
)
from idnode.protocol.bodies import (
    REQUEST_DECODERS,
    AddValueRequest,
    Body,
    ChallengeAnswerRequest,
    ChallengeBody,
    CreateHandleRequest,
    CreateHandleResponse,
    ErrorBody,
    HandleRequest,
    LegacyLoginRequest,
    ListHandlesResponse,
    LoginRequest,
    ModifyValueRequest,
    ReferralBody,
    RemoveValueRequest,
    ResolutionRequest,
    ResolutionResponse,
    SessionExchangeKeyRequest,
    SessionSetupRequest,
    SessionSetupResponse,
    SiteInfoResponse,
    VerifyChallengeRequest,
    VerifyChallengeResponse,
    decode_request_body,
)
from idnode.protocol.digest import RequestDigest, split_digest

FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

BODY_CLASSES: list[type[Body]] = [
    AddValueRequest, ChallengeAnswerRequest, ChallengeBody, CreateHandleRequest,
    CreateHandleResponse, ErrorBody, HandleRequest, LegacyLoginRequest, ListHandlesResponse,
    LoginRequest, ModifyValueRequest, ReferralBody, RemoveValueRequest, ResolutionRequest,
    ResolutionResponse, SessionExchangeKeyRequest, SessionSetupRequest, SessionSetupResponse,
    SiteInfoResponse, VerifyChallengeRequest, VerifyChallengeResponse,
]

u32 = st.integers(0, 2**32 - 1)
text = st.text(max_size=20)
handles = st.text(max_size=30).filter(lambda t: len(t.encode()) <= 2048)
blobs = st.binary(max_size=40)
values = st.builds(
    HandleValue, index=u32, type=text, data=blobs, ttl_type=st.sampled_from([0, 1]),
    ttl=u32, timestamp=u32, permissions=st.integers(0, 255),
    references=st.lists(st.builds(Reference, handles, u32), max_size=2).map(tuple),
)
value_lists = st.lists(values, max_size=4).map(tuple)
digests = st.one_of(
    st.builds(RequestDigest, st.just(0), st.binary(max_size=20)),
    st.builds(RequestDigest, st.just(1), st.binary(min_size=16, max_size=16)),
    st.builds(RequestDigest, st.just(2), st.binary(min_size=20, max_size=20)),
    st.builds(RequestDigest, st.just(3), st.binary(min_size=32, max_size=32)),
)
bodies: st.SearchStrategy[Body] = st.one_of(
    st.builds(ResolutionRequest, handles, st.lists(u32, max_size=5).map(tuple),
              st.lists(text, max_size=5).map(tuple)),
    st.builds(ResolutionResponse, handles, value_lists),
    st.builds(HandleRequest, handles),
    st.builds(SiteInfoResponse, blobs),
    st.builds(CreateHandleRequest, handles, value_lists),
    st.builds(AddValueRequest, handles, value_lists),
    st.builds(ModifyValueRequest, handles, value_lists),
    st.builds(RemoveValueRequest, handles, st.lists(u32, max_size=5).map(tuple)),
    st.builds(CreateHandleResponse, handles),
    st.builds(ListHandlesResponse, st.lists(handles, max_size=5).map(tuple)),
    st.builds(ChallengeBody, blobs),
    st.builds(ChallengeAnswerRequest, text, handles, u32, blobs),
    st.builds(VerifyChallengeRequest, handles, u32, blobs, digests, blobs),
    st.builds(VerifyChallengeResponse, st.booleans()),
    st.builds(ErrorBody, text),
    st.builds(ReferralBody, handles, value_lists),
    st.builds(LoginRequest, handles, u32),
    st.builds(LegacyLoginRequest, handles, text, st.lists(u32, max_size=3).map(tuple)),
    st.builds(SessionSetupRequest, st.sampled_from([1, 2, 3, 4]), u32, handles, u32, blobs,
              handles, u32).map(lambda r: SessionSetupRequest.from_wire(r.to_wire())),
    st.builds(SessionSetupResponse, st.integers(0, 0xFFFF), blobs),
    st.builds(SessionExchangeKeyRequest, blobs),
)
messages = st.builds(
    Message, opcode=u32, response_code=u32, opflags=u32, site_serial=st.integers(0, 0xFFFF),
    recursion_count=st.integers(0, 255), expiration=u32, body=st.binary(max_size=1500),
    credential=st.binary(max_size=600), request_id=u32, session_id=u32,
    major=st.integers(0, 255), minor=st.integers(0, 255),
    suggested_major=st.integers(1, 3), suggested_minor=st.integers(0, 255),
    envelope_flags=st.sampled_from([0, 0x40, 0x80, 0xC0]),
)


def hostile(data: bytes) -> bytes:
    """A body whose counts are huge: flip the first int4s to 0xffffffff."""
    return b"\xff\xff\xff\xff" + data


@FAST
@given(st.binary(max_size=600))
def test_decode_frame_never_raises_anything_else(data: bytes) -> None:
    try:
        message = decode_frame(data)
    except ProtocolError:
        return
    assert decode_frame(message.to_frame()) == message


@FAST
@given(st.sampled_from(sorted(REQUEST_DECODERS)), st.binary(max_size=300))
def test_decode_request_body_never_raises_anything_else(opcode: int, data: bytes) -> None:
    for candidate in (data, hostile(data), data[:4] + hostile(data[4:])):
        try:
            decode_request_body(opcode, candidate, max_values=2048)
        except ProtocolError:
            pass


@FAST
@given(u32, st.binary(max_size=64))
def test_any_opcode(opcode: int, data: bytes) -> None:
    try:
        decode_request_body(opcode, data, max_values=16)
    except ProtocolError:
        pass


@FAST
@given(st.sampled_from(BODY_CLASSES), st.binary(max_size=300))
def test_every_body_class_decodes_or_raises_protocol_error(cls: type[Body], data: bytes
                                                          ) -> None:
    for candidate in (data, hostile(data)):
        try:
            body = cls.from_wire(candidate, max_values=64)
        except ProtocolError:
            continue
        assert isinstance(body, cls)


@FAST
@given(st.binary(max_size=100))
def test_split_digest_never_raises_anything_else(data: bytes) -> None:
    try:
        digest, rest = split_digest(data)
    except ProtocolError:
        return
    assert digest.to_wire() + rest == data


@FAST
@given(bodies)
def test_body_round_trip(body: Body) -> None:
    wire = body.to_wire()
    decoded = type(body).from_wire(wire)
    if isinstance(body, ErrorBody) and wire == b"":
        return
    if isinstance(body, ReferralBody) and not body.values:
        assert decoded == body
        return
    assert decoded == body
    assert decoded.to_wire() == wire


@FAST
@given(messages)
def test_message_frame_round_trip(message: Message) -> None:
    assert decode_frame(message.to_frame()) == message
    assert decode_tunnel_body(message.to_frame()) == message


@FAST
@given(messages, st.randoms(use_true_random=False), st.integers(0, 3))
def test_udp_split_reassemble_any_order(message: Message, rnd: random.Random,
                                        duplicates: int) -> None:
    datagrams = split_datagrams(message)
    order = datagrams + [rnd.choice(datagrams) for _ in range(duplicates)]
    rnd.shuffle(order)
    # Feed until complete; duplicates before completion must be ignored.
    reassembler = Reassembler()
    complete = None
    for datagram in order:
        result = reassembler.feed("peer", datagram)
        if result is not None:
            complete = result
            break
    assert complete == message


def envelopes() -> st.SearchStrategy[bytes]:
    return st.builds(
        lambda rid, seq, length, flags, payload: Envelope(
            2, 3, flags, 11, 0, rid, seq, length).to_wire() + payload,
        st.integers(0, 3), st.integers(0, 6), st.integers(0, 3000),
        st.sampled_from([0x02, 0x22, 0x62]), st.binary(max_size=500),
    )


@FAST
@given(st.lists(st.one_of(st.binary(max_size=520), envelopes()), max_size=40))
def test_reassembler_any_datagrams(datagrams: list[bytes]) -> None:
    reassembler = Reassembler(max_pending=4, max_bytes=4000)
    for i, datagram in enumerate(datagrams):
        try:
            reassembler.feed(i % 2, datagram)
        except ProtocolError:
            pass
        assert len(reassembler) <= 4
        assert reassembler.buffered_bytes <= 4000


@FAST
@given(st.binary(max_size=2000), st.lists(st.integers(1, 300), max_size=20), st.booleans())
def test_stream_decoder_any_bytes(data: bytes, cuts: list[int], eof: bool) -> None:
    decoder = StreamDecoder(max_message=1024)
    position = 0
    try:
        for cut in [*cuts, len(data)]:
            decoder.receive_data(data[position:position + cut])
            position += cut
            while decoder.next_message() is not None:
                pass
        if eof:
            decoder.receive_eof()
            while decoder.next_message() is not None:
                pass
    except ProtocolError:
        return
    assert decoder.buffered <= 2 * (20 + 1024)


@FAST
@given(st.lists(messages, min_size=1, max_size=4), st.lists(st.integers(1, 50), max_size=30))
def test_stream_decoder_any_split(batch: list[Message], cuts: list[int]) -> None:
    stream = b"".join(m.to_frame() for m in batch)
    decoder = StreamDecoder()
    received: list[Message] = []
    position = 0
    for cut in [*cuts, len(stream)]:
        decoder.receive_data(stream[position:position + cut])
        position += cut
        while (message := decoder.next_message()) is not None:
            received.append(message)
    assert received == batch


def test_four_gib_envelope_fails_fast_everywhere() -> None:
    env = Envelope(2, 3, 0x22, 11, 0, 1, 0, 0xFFFF_FFFF).to_wire()
    tracemalloc.start()
    try:
        attempts: list[Callable[[], object]] = [
            lambda: decode_frame(env), lambda: decode_tunnel_body(env),
            lambda: Reassembler().feed("p", env + bytes(492)),
            lambda: StreamDecoder().receive_data(env),
        ]
        for attempt in attempts:
            try:
                attempt()
            except ProtocolError:
                pass
            else:
                raise AssertionError("a 4 GiB envelope was accepted")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_hostile_counts_do_not_allocate() -> None:
    handle = struct.pack(">I", 3) + b"a/b"
    hostile_bodies = [
        (100, handle + b"\xff\xff\xff\xff"),
        (1, handle + b"\x7f\xff\xff\xff"),
        (1, handle + b"\x00\x00\x00\x00\x7f\xff\xff\xff"),
        (103, handle + b"\x7f\xff\xff\xff" + bytes(64)),
        (200, b"\x7f\xff\xff\xff"),
        (400, b"\x00\x01\x00\x00\x00\x3c" + b"\xff\xff\xff\xff"),
    ]
    tracemalloc.start()
    try:
        for opcode, body in hostile_bodies:
            try:
                decode_request_body(opcode, body, max_values=2**31)
            except ProtocolError:
                pass
            else:
                raise AssertionError(f"hostile body for opcode {opcode} was accepted")
        try:
            ListHandlesResponse.from_wire(b"\xff\xff\xff\xff")
        except ProtocolError:
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
