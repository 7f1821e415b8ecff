"""The credential section codec and the exact signed bytes (protocol/credential.py)."""

from __future__ import annotations

import struct

import pytest

from idnode.errors import ProtocolError
from idnode.protocol.credential import (
    Credential,
    decode_credential,
    signed_bytes,
    version_at_least,
)
from idnode.protocol.message import Message

SIG = b"\x01\x02\x03"


def _expected_credential(index: int, type_: bytes, alg: bytes, sig: bytes,
                         signer: bytes = b"") -> bytes:
    section = struct.pack(">I", len(alg)) + alg + struct.pack(">I", len(sig)) + sig
    return (b"\x00\x00" + b"\x00\x00" + struct.pack(">I", len(signer)) + signer
            + struct.pack(">I", index) + struct.pack(">I", len(type_)) + type_
            + struct.pack(">I", len(section)) + section)


def test_credential_golden_bytes() -> None:
    credential = Credential(signer_index=7, type="HS_SIGNED", digest_alg="SHA-256",
                            signature=SIG)
    wire = credential.to_wire()
    assert wire == _expected_credential(7, b"HS_SIGNED", b"SHA-256", SIG)
    assert wire.hex() == ("0000" "0000" "00000000" "00000007" "00000009" + b"HS_SIGNED".hex()
                          + "00000012" "00000007" + b"SHA-256".hex() + "00000003" "010203")
    assert Credential.from_wire(wire) == credential
    assert credential.session_counter == 7


@pytest.mark.parametrize("credential", [
    Credential(),
    Credential(signer_handle="0.NA/88.1", signer_index=300, digest_alg="SHA1",
               signature=bytes(128)),
    Credential(type="HS_MAC", digest_alg="HMAC-SHA256", signature=bytes(32), options=0xFFFF,
               version=1, reserved=2, signer_index=0xFFFF_FFFF),
    Credential(type="HS_DSAPUBKEY", signer_handle="88.1/ü:x", signature=b""),
])
def test_credential_round_trip(credential: Credential) -> None:
    assert Credential.from_wire(credential.to_wire()) == credential
    assert decode_credential(credential.to_wire()) == credential


def test_empty_credential_section_is_none() -> None:
    assert decode_credential(b"") is None


def test_credential_decoding_errors() -> None:
    wire = Credential(signature=SIG).to_wire()
    for cut in (0, 1, 5, len(wire) - 1):
        with pytest.raises(ProtocolError):
            Credential.from_wire(wire[:cut])
    with pytest.raises(ProtocolError, match="trailing"):
        Credential.from_wire(wire + b"\x00")
    # sectionLength one too large: the signed-info part would overrun the data
    section_at = len(wire) - (4 + 7 + 4 + 3) - 4
    bad = bytearray(wire)
    bad[section_at:section_at + 4] = struct.pack(">I", 4 + 7 + 4 + 3 + 1)
    with pytest.raises(ProtocolError):
        Credential.from_wire(bytes(bad) + b"\x00")
    # sectionLength one too small: the signature leaves the section
    bad[section_at:section_at + 4] = struct.pack(">I", 4 + 7 + 4 + 3 - 1)
    with pytest.raises(ProtocolError):
        Credential.from_wire(bytes(bad))


def test_credential_field_ranges() -> None:
    with pytest.raises(ProtocolError, match="version"):
        Credential(version=256)
    with pytest.raises(ProtocolError, match="signer index"):
        Credential(signer_index=-1)


# -- signed bytes -------------------------------------------------------------------------

def _message(major: int, minor: int) -> Message:
    return Message(opcode=100, opflags=0x0040_0000, expiration=0x1122_3344, body=b"BODY",
                   request_id=0x0102_0304, session_id=0x0A0B_0C0D, major=major, minor=minor,
                   suggested_major=2, suggested_minor=11, credential=b"ignored")


def _header_and_body() -> bytes:
    return struct.pack(">IIIHBBII", 100, 0, 0x0040_0000, 0xFFFF, 0, 0, 0x1122_3344, 4) + b"BODY"


def test_signed_bytes_2_8_and_later() -> None:
    expected = (bytes([2, 10, 2, 11]) + bytes.fromhex("0A0B0C0D" "01020304" "00000005")
                + _header_and_body())
    assert signed_bytes(_message(2, 10), 5) == expected
    assert signed_bytes(_message(2, 8), 5)[:2] == bytes([2, 8])


def test_signed_bytes_2_7_has_no_suggested_version() -> None:
    expected = (bytes([2, 7]) + bytes.fromhex("0A0B0C0D" "01020304" "00000005")
                + _header_and_body())
    assert signed_bytes(_message(2, 7), 5) == expected


def test_signed_bytes_2_6_reproduces_cnri_offset_bug() -> None:
    # offset = writeInt(...) assigns 4: sessionId at 2, requestId then counter at 4.
    prefix = bytes([2, 6, 0x0A, 0x0B, 0, 0, 0, 5]) + bytes(6)
    assert signed_bytes(_message(2, 6), 5) == prefix + _header_and_body()


@pytest.mark.parametrize("version", [(2, 5), (2, 3), (2, 0), (5, 9)])
def test_signed_bytes_before_2_6_are_header_and_body(version: tuple[int, int]) -> None:
    assert signed_bytes(_message(*version), 5) == _header_and_body()


@pytest.mark.parametrize(("have", "want", "result"), [
    ((2, 7), (2, 7), True), ((2, 11), (2, 7), True), ((2, 6), (2, 7), False),
    ((3, 0), (2, 11), True), ((1, 99), (2, 0), False), ((5, 0), (2, 1), False),
    ((5, 3), (5, 2), True), ((2, 0), (5, 0), True),
])
def test_version_at_least(have: tuple[int, int], want: tuple[int, int], result: bool) -> None:
    assert version_at_least(*have, *want) is result
