"""HS_CERT / HS_SIGNATURE signed with SM2 (JWS ``alg`` "SM2SM3", as 4iot-dev/ID-SDK writes it):
a root → CA → signer chain of SM2 keys, a mixed RSA root over an SM2 signer, the JWS bytes
checked with gmalg alone, and the SM2 JWK ``{"kty":"SM2","x","y"}``."""

from __future__ import annotations

import gmalg
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from idnode.auth.identity import Identity
from idnode.auth.keys import public_key_data
from idnode.auth.sm2 import DEFAULT_USER_ID, SM2PrivateKey, decode_signature
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.pubkey import SM2_SPKI_PREFIX, PublicKeyData
from idnode.trust import (
    Permission,
    Verdict,
    cert_value,
    make_cert,
    make_signature,
    signature_value,
)
from idnode.trust.claims import CertClaims
from idnode.trust.jws import b64url_encode, parse_jws
from trust.pki import (
    CA,
    DAY,
    ITEM,
    NOW,
    ROOT,
    ROOT_HANDLE,
    ROOT_KEY,
    SIGNER,
    World,
    item_values,
)

SM2_ROOT, SM2_CA, SM2_SIGNER = (SM2PrivateKey.generate() for _ in range(3))


def _pub(index: int, key: SM2PrivateKey) -> HandleValue:
    return HandleValue(index, "HS_PUBKEY", public_key_data(key).to_bytes())


def _world(root_key: rsa.RSAPrivateKey | SM2PrivateKey = SM2_ROOT) -> World:
    w = World()
    root_pub = public_key_data(root_key).to_bytes()
    w.put(ROOT_HANDLE, [HandleValue(300, "HS_PUBKEY", root_pub)])
    w.put(CA.handle, [_pub(300, SM2_CA), cert_value(400, make_cert(
        ROOT, root_key, CA, SM2_CA.public_key(),
        [Permission.parse("derivedPrefixes:88.100")], ca=True, now=NOW - DAY, days=365))])
    w.put(SIGNER.handle, [_pub(300, SM2_SIGNER), cert_value(400, make_cert(
        CA, SM2_CA, SIGNER, SM2_SIGNER.public_key(),
        [Permission.parse("handlesUnderThisPrefix:88.100.1")], now=NOW - DAY, days=365))])
    values = item_values()
    jwt = make_signature(ITEM, values, SIGNER, SM2_SIGNER,
                         chain=[Identity(SIGNER.handle, 400), Identity(CA.handle, 400)],
                         now=NOW - DAY, days=30)
    w.put(ITEM, [*values, signature_value(400, jwt)])
    return w


def test_all_sm2_chain_verifies() -> None:
    report = _world().verify()
    assert report.verdict is Verdict.VALID, report.format()
    assert report.signatures[0].verified == (1, 2, 2000)


@pytest.mark.parametrize("root_key", [ROOT_KEY, SM2_ROOT], ids=["rsa-root", "sm2-root"])
def test_tampered_value_and_wrong_root_key(root_key: rsa.RSAPrivateKey | SM2PrivateKey
                                           ) -> None:
    w = _world(root_key)
    assert w.verify().verdict is Verdict.VALID
    values = w.get(ITEM)
    w.put(ITEM, [HandleValue(1, "URL", b"https://evil.example/"), *values[1:]])
    assert w.verify().verdict is not Verdict.VALID
    w = _world(root_key)
    w.put(ROOT_HANDLE, [_pub(300, SM2PrivateKey.generate())])
    assert w.verify().verdict is not Verdict.VALID


def test_sm2sm3_jws_bytes() -> None:
    cert = make_cert(CA, SM2_CA, SIGNER, SM2_SIGNER.public_key(),
                     [Permission.parse("thisHandle:88.100.1/ADMIN")], now=NOW)
    jws = parse_jws(cert)
    assert jws.header == {"alg": "SM2SM3"}
    # SM2 with SM3 over the ASCII "header.payload", default user ID, DER (r, s): checked
    # with gmalg alone.
    r, s = decode_signature(jws.signature) or (0, 0)
    assert jws.signature[0] == 0x30
    engine = gmalg.SM2(uid=DEFAULT_USER_ID, pk=SM2_CA.public_key().point)
    assert engine.verify(jws.signing_input, r.to_bytes(32, "big"), s.to_bytes(32, "big"))
    claims = CertClaims.parse(cert)
    assert claims.public_key == SM2_SIGNER.public_key()
    assert jws.verify(SM2_CA.public_key())
    assert not jws.verify(SM2_SIGNER.public_key())
    assert not jws.verify(ROOT_KEY.public_key())
    # An RS256 header over an SM2 signature is not accepted, nor SM2SM3 with an RSA key.
    forged = parse_jws(b64url_encode(b'{"alg":"RS256"}') + "." + cert.split(".", 1)[1])
    assert not forged.verify(SM2_CA.public_key())


def test_sm2_jwk_round_trip() -> None:
    data = public_key_data(SM2_SIGNER)
    jwk = data.to_jwk()
    assert jwk is not None and jwk["kty"] == "SM2" and set(jwk) == {"kty", "x", "y"}
    assert PublicKeyData.from_jwk(jwk) == data
    assert PublicKeyData.from_jwk({"kty": "sm2", "x": jwk["x"], "y": jwk["y"]}) == data
    assert data.components[0].startswith(SM2_SPKI_PREFIX)
    odd = PublicKeyData.sm2(bytes.fromhex("3050300a06082a811ccf5501822d034200")
                            + SM2_SIGNER.public_key().point)
    assert odd.to_jwk() is None  # another SPKI layout has no JWK form: shown as base64
