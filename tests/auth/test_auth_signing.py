"""HS_SIGNED message signatures and HS_MAC session MACs."""

from __future__ import annotations

import hmac
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric import dsa, rsa

from idnode.auth import mac_message, sign_message, verify_mac, verify_message
from idnode.protocol.credential import Credential, signed_bytes
from idnode.protocol.message import Message, decode_frame

SESSION_KEY = bytes(range(32))


def _request(major: int = 2, minor: int = 10) -> Message:
    return Message(opcode=104, body=b"\x00\x00\x00\x0888.1/abc" + bytes(8),
                   request_id=4242, session_id=17, major=major, minor=minor,
                   expiration=1_700_000_000)


@pytest.mark.parametrize("digest_alg", ["SHA1", "SHA256"])
@pytest.mark.parametrize("which", ["rsa", "dsa"])
@pytest.mark.parametrize("version", [(2, 11), (2, 7), (2, 6), (2, 3)])
def test_sign_and_verify_round_trip(which: str, digest_alg: str, version: tuple[int, int],
                                    rsa_key: rsa.RSAPrivateKey,
                                    dsa_key: dsa.DSAPrivateKey) -> None:
    key: rsa.RSAPrivateKey | dsa.DSAPrivateKey = rsa_key if which == "rsa" else dsa_key
    signed = sign_message(_request(*version), key, signer_index=3, digest_alg=digest_alg)
    assert verify_message(signed, key.public_key())
    credential = Credential.from_wire(signed.credential)
    assert credential.type == "HS_SIGNED"
    assert credential.digest_alg == ("SHA1" if digest_alg == "SHA1" else "SHA-256")
    assert (credential.signer_handle, credential.signer_index) == ("", 3)
    # everything but the credential is unchanged
    assert replace(signed, credential=b"") == _request(*version)


def test_signature_survives_the_wire(rsa_key: rsa.RSAPrivateKey) -> None:
    signed = sign_message(_request(), rsa_key, signer_index=9)
    decoded = decode_frame(signed.to_frame())
    assert (decoded.major, decoded.minor, decoded.suggested_major, decoded.suggested_minor) \
        == (2, 10, signed.suggested_major, signed.suggested_minor)
    assert verify_message(decoded, rsa_key.public_key())


def test_tampering_is_detected(rsa_key: rsa.RSAPrivateKey,
                               other_rsa_key: rsa.RSAPrivateKey) -> None:
    signed = sign_message(_request(), rsa_key)
    public = rsa_key.public_key()
    assert not verify_message(replace(signed, body=signed.body + b"!"), public)
    assert not verify_message(replace(signed, request_id=4243), public)
    assert not verify_message(replace(signed, session_id=18), public)
    assert not verify_message(replace(signed, opflags=0x8000_0000), public)
    assert not verify_message(replace(signed, suggested_minor=10), public)
    assert not verify_message(signed, other_rsa_key.public_key())
    credential = Credential.from_wire(signed.credential)
    flipped = replace(credential, signature=bytes([credential.signature[0] ^ 1])
                      + credential.signature[1:])
    assert not verify_message(replace(signed, credential=flipped.to_wire()), public)
    # the session counter is covered too
    moved = replace(credential, signer_index=1)
    assert not verify_message(replace(signed, credential=moved.to_wire()), public)


def test_missing_malformed_or_foreign_credentials_are_false(rsa_key: rsa.RSAPrivateKey) -> None:
    public = rsa_key.public_key()
    assert not verify_message(_request(), public)
    assert not verify_message(replace(_request(), credential=b"\x00\x01garbage"), public)
    assert not verify_message(mac_message(_request(), SESSION_KEY), public)
    signed = sign_message(_request(), rsa_key)
    credential = Credential.from_wire(signed.credential)
    md5 = replace(credential, digest_alg="MD5")
    assert not verify_message(replace(signed, credential=md5.to_wire()), public)


def test_legacy_hs_dsapubkey_type_is_verified(dsa_key: dsa.DSAPrivateKey) -> None:
    signed = sign_message(_request(), dsa_key, digest_alg="SHA1")
    legacy = replace(Credential.from_wire(signed.credential), type="HS_DSAPUBKEY")
    assert verify_message(replace(signed, credential=legacy.to_wire()), dsa_key.public_key())


# -- HS_MAC -------------------------------------------------------------------------------

def test_mac_round_trip_and_layout() -> None:
    request = _request()
    maced = mac_message(request, SESSION_KEY, session_counter=12)
    assert verify_mac(maced, SESSION_KEY)
    credential = Credential.from_wire(maced.credential)
    assert (credential.type, credential.digest_alg, credential.signer_index) == \
        ("HS_MAC", "HMAC-SHA256", 12)
    assert credential.signature == hmac.new(SESSION_KEY, signed_bytes(request, 12),
                                            "sha256").digest()


def test_mac_rejections() -> None:
    maced = mac_message(_request(), SESSION_KEY, session_counter=1)
    assert not verify_mac(maced, bytes(32))
    assert not verify_mac(replace(maced, body=b"x"), SESSION_KEY)
    assert not verify_mac(_request(), SESSION_KEY)
    assert not verify_mac(replace(maced, credential=b"junk"), SESSION_KEY)
    # the broken 2.5/2.6 MAC form is not supported
    old = mac_message(_request(2, 6), SESSION_KEY)
    assert not verify_mac(old, SESSION_KEY)


def test_hmac_sha1_mac_is_accepted() -> None:
    request = _request()
    mac = hmac.new(SESSION_KEY, signed_bytes(request, 4), "sha1").digest()
    credential = Credential(signer_index=4, type="HS_MAC", digest_alg="HMAC-SHA1",
                            signature=mac)
    assert verify_mac(replace(request, credential=credential.to_wire()), SESSION_KEY)
