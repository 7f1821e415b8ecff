"""Round trips and error cases of every body class, and the opcode dispatch."""

from __future__ import annotations

import struct

import pytest

from idnode.errors import ProtocolError
from idnode.identifiers.value import HandleValue, Reference
from idnode.protocol.bodies import (
    KEY_EXCHANGE_CIPHER_CLIENT,
    KEY_EXCHANGE_CIPHER_HDL,
    KEY_EXCHANGE_CIPHER_SERVER,
    KEY_EXCHANGE_DH,
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
from idnode.protocol.digest import RequestDigest
from idnode.protocol.replication import DumpMode, DumpRequest, LogRequest, StatusRequest

URL = HandleValue(1, "URL", b"http://x", timestamp=0x6000_0000)
ADMIN = HandleValue(100, "HS_ADMIN", bytes.fromhex("0fff00000003612f62000000c8"),
                    references=(Reference("0.NA/88.1", 300),))
SECRET = HandleValue(300, "HS_SECKEY", b"s3cret", permissions=0x0C, ttl_type=1, ttl=5)

EXAMPLES: list[Body] = [
    ResolutionRequest("88.1/x"),
    ResolutionRequest("88.1/x", (1, 2, 0xFFFF_FFFF), ("URL", "HS_SITE.", "类型")),
    ResolutionResponse("88.1/x", ()),
    ResolutionResponse("88.1/标识", (URL, ADMIN, SECRET)),
    HandleRequest("/"),
    HandleRequest(""),
    SiteInfoResponse(b"\x00\x01\x02"),
    SiteInfoResponse(b""),
    CreateHandleRequest("88.1/x", (URL, ADMIN)),
    AddValueRequest("88.1/x", (SECRET,)),
    ModifyValueRequest("88.1/x", (URL,)),
    RemoveValueRequest("88.1/x", (1, 300)),
    RemoveValueRequest("88.1/x", ()),
    CreateHandleResponse("88.1/0f3a"),
    ListHandlesResponse(()),
    ListHandlesResponse(("88.1/a", "88.1/b", "")),
    ChallengeBody(bytes(range(16))),
    ChallengeAnswerRequest("HS_SECKEY", "0.NA/88.1", 300, b"\x22signed"),
    VerifyChallengeRequest("0.NA/88.1", 300, b"n" * 16, RequestDigest(0, b"d" * 16), b"sig"),
    VerifyChallengeRequest("0.NA/88.1", 300, b"n" * 16, RequestDigest(3, b"d" * 32), b""),
    VerifyChallengeResponse(True),
    VerifyChallengeResponse(False),
    ErrorBody("handle not found"),
    ErrorBody(""),
    ReferralBody("0.NA/88.1"),
    ReferralBody("0.NA/88.1", (URL,)),
    LoginRequest("88.1/ADMIN", 300),
    LegacyLoginRequest("admin", "pa55word"),
    LegacyLoginRequest("admin", "pa55word", (1, 2)),
    SessionSetupRequest(KEY_EXCHANGE_CIPHER_CLIENT, 3600, "88.1/ADMIN", 300, b"pubkey"),
    SessionSetupRequest(KEY_EXCHANGE_CIPHER_SERVER, 3600),
    SessionSetupRequest(KEY_EXCHANGE_CIPHER_HDL, 60, "88.1/A", 300,
                        exchange_key_handle="88.1/KEY", exchange_key_index=301),
    SessionSetupRequest(KEY_EXCHANGE_DH, 60, public_key=b"dh-params"),
    SessionSetupResponse(KEY_EXCHANGE_CIPHER_CLIENT, b"encrypted key"),
    SessionExchangeKeyRequest(b"encrypted key"),
]


@pytest.mark.parametrize("body", EXAMPLES, ids=lambda b: type(b).__name__)
def test_round_trip(body: Body) -> None:
    wire = body.to_wire()
    assert type(body).from_wire(wire) == body
    assert type(body).from_wire(wire).to_wire() == wire


STRICT_EXAMPLES = [b for b in EXAMPLES if not isinstance(b, SiteInfoResponse | ErrorBody)]


@pytest.mark.parametrize("body", STRICT_EXAMPLES, ids=lambda b: type(b).__name__)
def test_trailing_bytes_are_rejected(body: Body) -> None:
    # SiteInfoResponse is raw bytes and ErrorBody is lenient by design: both excluded.
    with pytest.raises(ProtocolError):
        type(body).from_wire(body.to_wire() + b"\x07")


@pytest.mark.parametrize("body", EXAMPLES, ids=lambda b: type(b).__name__)
def test_every_truncation_is_a_protocol_error(body: Body) -> None:
    wire = body.to_wire()
    for cut in range(len(wire)):
        try:
            decoded = type(body).from_wire(wire[:cut])
        except ProtocolError:
            continue
        if cut == 0 and isinstance(body, ErrorBody):
            continue  # an empty error body (protocol 2.0) reads as ""
        # A few prefixes are complete bodies in their own right (e.g. a referral without
        # values, a raw site); they must then re-encode to exactly that prefix.
        assert decoded.to_wire() == wire[:cut]


def u32(n: int) -> bytes:
    return struct.pack(">I", n)


def string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return u32(len(raw)) + raw


def test_handle_that_is_not_utf8_gives_rc_102() -> None:
    with pytest.raises(ProtocolError) as info:
        HandleRequest.from_wire(string(b"\xff\xfe"))
    assert info.value.response_code == 102


def test_handle_longer_than_2048_bytes_gives_rc_102() -> None:
    with pytest.raises(ProtocolError) as info:
        HandleRequest.from_wire(string("a" * 2049))
    assert info.value.response_code == 102
    assert HandleRequest.from_wire(string("a" * 2048)).handle == "a" * 2048


def test_too_many_values_gives_rc_202_before_reading_them() -> None:
    body = string("88.1/x") + u32(0xFFFF_FFFF)
    with pytest.raises(ProtocolError, match="4294967295 values exceed the limit of 2048") \
            as info:
        CreateHandleRequest.from_wire(body)
    assert info.value.response_code == 202
    with pytest.raises(ProtocolError) as info:
        ResolutionResponse.from_wire(string("88.1/x") + u32(3) + URL.to_wire() * 3,
                                     max_values=2)
    assert info.value.response_code == 202


def test_value_count_that_cannot_fit_fails_without_allocating() -> None:
    with pytest.raises(ProtocolError, match="cannot fit"):
        AddValueRequest.from_wire(string("88.1/x") + u32(1000), max_values=10**9)


def test_index_and_type_arrays_are_bounded() -> None:
    too_many = string("88.1/x") + u32(3) + u32(1) * 3 + u32(0)
    with pytest.raises(ProtocolError, match="exceeds the limit"):
        ResolutionRequest.from_wire(too_many, max_values=2)
    huge = string("88.1/x") + u32(0) + u32(0x7FFF_FFFF)
    with pytest.raises(ProtocolError):
        ResolutionRequest.from_wire(huge)


def test_invalid_ttl_type_in_a_value_is_a_protocol_error() -> None:
    bad = bytearray(URL.to_wire())
    bad[8] = 7
    with pytest.raises(ProtocolError, match="ttl type"):
        ResolutionResponse.from_wire(string("88.1/x") + u32(1) + bytes(bad))


def test_referral_values_are_optional() -> None:
    assert ReferralBody.from_wire(string("0.NA/88.1")) == ReferralBody("0.NA/88.1")
    assert ReferralBody.from_wire(string("0.NA/88.1") + u32(0)) == ReferralBody("0.NA/88.1")


def test_error_body_decoding_is_lenient() -> None:
    assert ErrorBody.from_wire(b"") == ErrorBody("")
    assert ErrorBody.from_wire(string(b"bad \xff")).message == "bad \ufffd"
    with pytest.raises(ProtocolError):
        ErrorBody.from_wire(b"\x00\x00")


def test_verify_challenge_response_reads_bit_zero() -> None:
    assert VerifyChallengeResponse.from_wire(b"\x01").valid
    assert VerifyChallengeResponse.from_wire(b"\x03").valid
    assert not VerifyChallengeResponse.from_wire(b"\x02").valid
    assert VerifyChallengeResponse(True).to_wire() == b"\x01"


def test_verify_challenge_request_layout() -> None:
    digest = RequestDigest(0, bytes(16))
    body = VerifyChallengeRequest("a/b", 7, b"nonce", digest, b"sig").to_wire()
    assert body == string("a/b") + u32(7) + string(b"nonce") + string(bytes(16)) \
        + string(b"sig")


def test_challenge_answer_layout() -> None:
    body = ChallengeAnswerRequest("HS_PUBKEY", "a/b", 300, b"sig").to_wire()
    assert body == string("HS_PUBKEY") + string("a/b") + u32(300) + string(b"sig")


def test_login_request_layout() -> None:
    assert LoginRequest("88.1/ADMIN", 301).to_wire() == string("88.1/ADMIN") + u32(301)


def test_legacy_login_is_a_resolution_with_the_password_as_type() -> None:
    login = LegacyLoginRequest("admin", "secret", (1,))
    assert login.to_wire() == ResolutionRequest("admin", (1,), ("secret",)).to_wire()
    with pytest.raises(ProtocolError, match="passwords"):
        LegacyLoginRequest.from_wire(ResolutionRequest("admin").to_wire())
    with pytest.raises(ProtocolError, match="passwords"):
        LegacyLoginRequest.from_wire(ResolutionRequest("admin", (), ("a", "b")).to_wire())


def test_session_setup_layout_and_cnri_padding() -> None:
    request = SessionSetupRequest(KEY_EXCHANGE_CIPHER_HDL, 3600, "88.1/A", 300,
                                  exchange_key_handle="88.1/K", exchange_key_index=301)
    body = (struct.pack(">H", 3) + u32(3600) + string("88.1/A") + u32(300)
            + string("88.1/K") + u32(301))
    assert request.to_wire() == body
    # CNRI sizes the body for an int4 mode but writes an int2: two zero bytes trail.
    assert SessionSetupRequest.from_wire(body + b"\x00\x00") == request
    with pytest.raises(ProtocolError):
        SessionSetupRequest.from_wire(body + b"\x00\x01")
    response = SessionSetupResponse(1, b"key")
    assert SessionSetupResponse.from_wire(response.to_wire() + b"\x00\x00") == response


def test_session_setup_unknown_mode_is_rc_504() -> None:
    body = struct.pack(">H", 9) + u32(60) + string("") + u32(0)
    with pytest.raises(ProtocolError) as info:
        SessionSetupRequest.from_wire(body)
    assert info.value.response_code == 504


def test_constructors_range_check() -> None:
    with pytest.raises(ProtocolError):
        RemoveValueRequest("a/b", (-1,))
    with pytest.raises(ProtocolError):
        LoginRequest("a/b", 2**32)
    with pytest.raises(ProtocolError):
        SessionSetupRequest(0, 60)


def test_classes_sharing_a_layout_are_not_equal() -> None:
    create: object = CreateHandleRequest("a/b", ())
    assert create != AddValueRequest("a/b", ())
    assert CreateHandleRequest("a/b", ()).to_wire() == AddValueRequest("a/b", ()).to_wire()


DISPATCH = {
    1: ResolutionRequest("a/b"),
    2: HandleRequest("/"),
    100: CreateHandleRequest("a/b", (URL,)),
    101: HandleRequest("a/b"),
    102: AddValueRequest("a/b", (URL,)),
    103: RemoveValueRequest("a/b", (1,)),
    104: ModifyValueRequest("a/b", (URL,)),
    105: HandleRequest("0.NA/a"),
    200: ChallengeAnswerRequest("HS_SECKEY", "a/b", 300, b"x"),
    201: VerifyChallengeRequest("a/b", 300, b"n", RequestDigest(2, bytes(20)), b"x"),
    300: HandleRequest("0.NA/a"),
    301: HandleRequest("0.NA/a"),
    302: HandleRequest("0.NA/a"),
    400: SessionSetupRequest(KEY_EXCHANGE_CIPHER_SERVER, 60),
    401: HandleRequest("a/b"),
    402: SessionExchangeKeyRequest(b"k"),
    2000: LegacyLoginRequest("admin", "pw"),
    2001: LoginRequest("a/b", 300),
    # idnode's replication bodies (test_replication_bodies.py has their layouts)
    1000: StatusRequest(),
    1001: LogRequest(5, 1),
    1002: DumpRequest(DumpMode.HASHES, bucket=7),
}


@pytest.mark.parametrize(("opcode", "body"), DISPATCH.items())
def test_decode_request_body_dispatch(opcode: int, body: object) -> None:
    assert decode_request_body(opcode, body.to_wire(), max_values=2048) == body


def test_dispatch_table_covers_exactly_the_specified_opcodes() -> None:
    assert set(REQUEST_DECODERS) == set(DISPATCH)


def test_list_homed_prefixes_may_have_an_empty_body() -> None:
    assert decode_request_body(302, b"", max_values=2048) is None


@pytest.mark.parametrize("opcode", [0, 3, 106, 1003, 1999, 2002, 2**32 - 1])
def test_unknown_opcode_is_rc_5(opcode: int) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_request_body(opcode, b"", max_values=2048)
    assert info.value.response_code == 5


def test_dispatch_passes_max_values() -> None:
    body = CreateHandleRequest("a/b", (URL, URL)).to_wire()
    with pytest.raises(ProtocolError) as info:
        decode_request_body(100, body, max_values=1)
    assert info.value.response_code == 202
