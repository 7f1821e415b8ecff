"""Request digests: wire forms, computation and the version rule."""

from __future__ import annotations

import hashlib

import pytest

from idnode.errors import ProtocolError
from idnode.protocol import Message, decode_frame
from idnode.protocol.bodies import ChallengeBody, ResolutionRequest
from idnode.protocol.digest import (
    HASH_LEGACY_MD5,
    HASH_MD5,
    HASH_SHA1,
    HASH_SHA256,
    RequestDigest,
    compute_request_digest,
    digest_type_for,
    hash_type_for_version,
    split_digest,
    with_digest,
)

REQUEST = Message(opcode=1, opflags=0x1900_0000, expiration=0x5F00_0000,
                  request_id=0x0102_0304, body=ResolutionRequest("20.500.12345/abc").to_wire())


def test_digest_covers_the_encoded_header_and_body(vectors: dict[str, bytes]) -> None:
    frame = vectors["resolution_request_frame"]
    header_and_body = frame[20:20 + 24 + 28]
    for hash_type, name in [(HASH_LEGACY_MD5, "md5"), (HASH_MD5, "md5"),
                            (HASH_SHA1, "sha1"), (HASH_SHA256, "sha256")]:
        digest = compute_request_digest(decode_frame(frame), hash_type)
        assert digest.hash_type == hash_type
        assert digest.digest == hashlib.new(name, header_and_body).digest()
    assert compute_request_digest(REQUEST).hash_type == HASH_SHA256


@pytest.mark.parametrize(("hash_type", "size"), [(1, 16), (2, 20), (3, 32)])
def test_fixed_size_wire_form(hash_type: int, size: int) -> None:
    digest = RequestDigest(hash_type, bytes(range(size)))
    assert digest.to_wire() == bytes([hash_type]) + bytes(range(size))
    assert RequestDigest.from_wire(digest.to_wire()) == digest


def test_legacy_form_is_length_prefixed() -> None:
    digest = RequestDigest(HASH_LEGACY_MD5, bytes(16))
    assert digest.to_wire() == bytes.fromhex("00000010") + bytes(16)
    assert RequestDigest.from_wire(digest.to_wire()) == digest


@pytest.mark.parametrize("wire", [b"", b"\x04" + bytes(32), b"\x03" + bytes(31),
                                  b"\x00\x00\x01\x00" + bytes(256), b"\x00\x00\x00"])
def test_bad_digests_are_protocol_errors(wire: bytes) -> None:
    with pytest.raises(ProtocolError):
        RequestDigest.from_wire(wire)


def test_constructor_checks_sizes() -> None:
    with pytest.raises(ProtocolError):
        RequestDigest(HASH_SHA256, bytes(20))
    with pytest.raises(ProtocolError):
        RequestDigest(9, b"")
    with pytest.raises(ProtocolError):
        compute_request_digest(REQUEST, 9)


def test_split_and_with_digest_are_inverse() -> None:
    digest = compute_request_digest(REQUEST, HASH_SHA1)
    nonce = ChallengeBody(bytes(16)).to_wire()
    body = with_digest(digest, nonce)
    assert body[:1] == b"\x02"
    assert split_digest(body) == (digest, nonce)
    assert ChallengeBody.from_wire(split_digest(body)[1]) == ChallengeBody(bytes(16))
    legacy = RequestDigest(HASH_LEGACY_MD5, bytes(16))
    assert split_digest(with_digest(legacy, b"rest")) == (legacy, b"rest")


def test_matches() -> None:
    digest = compute_request_digest(REQUEST)
    assert digest.matches(REQUEST)
    assert not digest.matches(REQUEST.with_(request_id=1, body=REQUEST.body + b"x"))


@pytest.mark.parametrize(("version", "expected"), [
    ((2, 0), HASH_LEGACY_MD5),
    ((1, 9), HASH_LEGACY_MD5),
    ((5, 0), HASH_LEGACY_MD5),
    ((5, 9), HASH_LEGACY_MD5),
    ((2, 1), HASH_SHA1),
    ((2, 6), HASH_SHA1),
    ((2, 7), HASH_SHA256),
    ((2, 11), HASH_SHA256),
    ((3, 0), HASH_SHA256),
])
def test_hash_type_for_version(version: tuple[int, int], expected: int) -> None:
    assert hash_type_for_version(*version) == expected


def test_server_answers_with_the_requests_suggested_version() -> None:
    # CNRI clients send 2.3 suggesting 2.11: the answer uses 2.11, so SHA-256.
    assert digest_type_for(REQUEST) == HASH_SHA256
    assert digest_type_for(REQUEST.with_(suggested_major=2, suggested_minor=5)) == HASH_SHA1
    assert digest_type_for(REQUEST.with_(suggested_major=2, suggested_minor=0)) == \
        HASH_LEGACY_MD5
    # A suggestion above ours is capped at 2.11.
    assert digest_type_for(REQUEST.with_(suggested_major=3, suggested_minor=0)) == \
        HASH_SHA256
