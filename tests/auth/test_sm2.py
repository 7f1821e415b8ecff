"""SM2 / SM3 (idis.md §4.5): published vectors, the DER and PEM layouts (cross-checked with the
system's OpenSSL when it has SM2), HS_PUBKEY ``SM2_PUB_KEY`` values, signatures and the two
SM2 challenge-answer layouts."""

from __future__ import annotations

import base64
import os
import shutil
import stat
import subprocess
from pathlib import Path

import gmalg
import pytest
from gmalg.ellipticcurve import ECDLP
from gmalg.sm2 import SM2Core
from hypothesis import given, settings
from hypothesis import strategies as st

from idnode.auth.challenge import (
    answer_with_private_key,
    signature_hash_for_version,
    verify_private_key_answer,
)
from idnode.auth.keys import (
    KeyFileError,
    default_hash,
    generate_identity_key,
    generate_private_key,
    load_identity_key,
    load_private_key,
    public_key_data,
    public_key_from_data,
    save_private_key,
    sign_data,
    verify_data,
)
from idnode.auth.sm2 import (
    DEFAULT_USER_ID,
    N,
    SM2KeyError,
    SM2PrivateKey,
    SM2PublicKey,
    decode_signature,
    encode_signature,
    load_sm2_private_key,
    sm3,
)
from idnode.errors import AuthenticationError, InvalidValue, RegistryError
from idnode.identifiers.values.pubkey import SM2_PUB_KEY, PublicKeyData
from idnode.protocol.wire import Writer

HANDLE = "88.121.1/ADMIN"
NONCE = bytes(range(16))
DIGEST = bytes(range(100, 132))

# A fixed key, so the encodings below are golden bytes.
D = 0x3945208F_7B2144B1_3F36E38A_C6D39F95_88939369_2860B51A_42FB81EF_4DF7C5B8
SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")


def H(text: str) -> int:
    return int(text.replace(" ", ""), 16)


@pytest.fixture(scope="module")
def key() -> SM2PrivateKey:
    return SM2PrivateKey(D)


@pytest.fixture(scope="module")
def other() -> SM2PrivateKey:
    return SM2PrivateKey.generate()


# -- published vectors --------------------------------------------------------------------

def test_sm3_vectors_gbt_32905() -> None:
    assert sm3(b"abc").hex() == ("66c7f0f462eeedd9d1f2d46bdc10e4e2"
                                 "4167c4875cf2f7a2297da02b8f4ba8e0")
    assert sm3(b"abcd" * 16).hex() == ("debe9ff92275b8a138604889c18e5a4d"
                                       "6fdb70e5387e5765293dcba39c0c5732")


def test_sm2_signature_vector_gbt_32918_2_annex_a() -> None:
    """The library's Z value and signature on the standard's Fp-256 example curve."""
    curve = ECDLP(
        H("8542D69E 4C044F18 E8B92435 BF6FF7DE 45728391 5C45517D 722EDB8B 08F1DFC3"),
        H("787968B4 FA32C3FD 2417842E 73BBFEFF 2F3C848B 6831D7E0 EC65228B 3937E498"),
        H("63E4C6D3 B23B0C84 9CF84241 484BFE48 F61D59A5 B16BA06E 6E12D1DA 27C5249A"),
        (H("421DEBD6 1B62EAB6 746434EB C3CC315E 32220B3B ADD50BDC 4C4E6C14 7FEDD43D"),
         H("0680512B CBB42C07 D47349D2 153B70C4 E5D7FDFC BFA36EA1 A85841B9 E46E09A2")),
        H("8542D69E 4C044F18 E8B92435 BF6FF7DD 29772063 0485628D 5AE74EE7 C32E79B7"))
    k = H("6CB28D99 385C175C 94F94E93 4817663F C176D925 DD72B727 260DBAAE 1FB2F96F")
    core = SM2Core(curve, gmalg.SM3(), lambda _bits: k)
    d = H("128B2FA8 BD433C6C 068C8D80 3DFF7979 2A519A55 171B1B65 0C23661D 15897263")
    public = core.generate_pk(d)
    assert public == (
        H("0AE4C779 8AA0F119 471BEE11 825BE462 02BB79E2 A5844495 E97C04FF 4DF2548A"),
        H("7C0240F8 8F1CD4E1 6352A73C 17B7F16F 07353E53 A176D684 A9FE0C6B B798E857"))
    uid = b"ALICE123@YAHOO.COM"
    assert core.entity_info(uid, public) == bytes.fromhex(
        "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A")
    r, s = core.sign(b"message digest", d, uid, public)
    assert r == H("40F1EC59 F793D9F4 9E09DCEF 49130D41 94F79FB1 EED2CAA5 5BACDB49 C4E755D1")
    assert s == H("6FC6DAC3 2C5D5CF1 0C77DFB2 0F7C2EB6 67A45787 2FB09EC5 6327A67E C7DEEBE7")
    assert core.verify(b"message digest", r, s, uid, public)
    # The DER form of that signature round-trips through idnode's codec.
    der = encode_signature(r, s)
    assert der[:2] == b"\x30\x44" and decode_signature(der) == (r, s)


# -- key encodings ------------------------------------------------------------------------

def test_public_key_der_layout(key: SM2PrivateKey) -> None:
    public = key.public_key()
    der = public.to_der()
    assert der == SPKI_PREFIX + public.point and len(der) == 91
    assert SM2PublicKey.from_der(der) == public
    bits = b"\x03\x42\x00" + public.point
    # Some GM toolkits name the SM2 OID as the algorithm itself: read too.
    sm2_alg = bytes.fromhex("3050300a06082a811ccf5501822d")
    assert SM2PublicKey.from_der(sm2_alg + bits) == public
    # id-ecPublicKey on another curve (secp256k1) is not SM2.
    k1 = bytes.fromhex("3056301006072a8648ce3d020106052b8104000a")
    with pytest.raises(SM2KeyError, match="not SM2"):
        SM2PublicKey.from_der(k1 + bits)
    with pytest.raises(SM2KeyError):
        SM2PublicKey.from_der(der + b"\x00")


def test_private_key_pkcs8_round_trip(key: SM2PrivateKey) -> None:
    assert load_sm2_private_key(key.to_der()).secret == D
    assert load_sm2_private_key(key.to_pem()).secret == D
    encrypted = key.to_pem(b"passphrase")
    assert b"ENCRYPTED PRIVATE KEY" in encrypted
    assert load_sm2_private_key(encrypted, b"passphrase").secret == D
    with pytest.raises(SM2KeyError, match="wrong passphrase"):
        load_sm2_private_key(encrypted, b"nope")
    with pytest.raises(SM2KeyError, match="passphrase is needed"):
        load_sm2_private_key(encrypted)
    assert "3945208f" not in repr(key).lower()


def test_points_off_the_curve_and_bad_scalars_are_refused(key: SM2PrivateKey) -> None:
    point = bytearray(key.public_key().point)
    point[-1] ^= 1
    with pytest.raises(SM2KeyError, match="not a point"):
        SM2PublicKey(bytes(point))
    with pytest.raises(SM2KeyError, match="uncompressed"):
        SM2PublicKey(b"\x02" + bytes(point[1:33]))
    for bad in (0, N - 1, N):
        with pytest.raises(SM2KeyError):
            SM2PrivateKey(bad)


# -- HS_PUBKEY ----------------------------------------------------------------------------

def test_hs_pubkey_sm2_layout_and_round_trip(key: SM2PrivateKey) -> None:
    data = public_key_data(key)
    raw = data.to_bytes()
    spki = SPKI_PREFIX + key.public_key().point
    expected = Writer()
    expected.put_string("SM2_PUB_KEY")
    expected.put_uint16(0)
    expected.put_counted_bytes(spki)
    assert raw == expected.getvalue()
    assert raw[:15] == b"\x00\x00\x00\x0bSM2_PUB_KEY" and raw[15:17] == b"\x00\x00"
    parsed = PublicKeyData.from_bytes(raw)
    assert parsed == PublicKeyData.sm2(spki) and parsed.to_bytes() == raw
    point = key.public_key().point
    assert parsed.to_jwk() == {
        "kty": "SM2",
        "x": base64.urlsafe_b64encode(point[1:33]).rstrip(b"=").decode(),
        "y": base64.urlsafe_b64encode(point[33:]).rstrip(b"=").decode()}
    assert public_key_from_data(parsed, allow_sm2=True) == key.public_key()
    with pytest.raises(AuthenticationError, match="SM2_PUB_KEY"):
        public_key_from_data(parsed)  # the cryptography-only form refuses it


def test_hs_pubkey_sm2_of_unknown_layout_stays_opaque() -> None:
    writer = Writer()
    writer.put_string(SM2_PUB_KEY)
    writer.put_uint16(0)
    writer.put_bytes(b"\x04" + bytes(64))  # a bare point, no byte-array length
    raw = writer.getvalue()
    parsed = PublicKeyData.from_bytes(raw)
    assert parsed.components == () and parsed.to_bytes() == raw
    with pytest.raises(AuthenticationError, match="does not hold one byte array"):
        public_key_from_data(parsed, allow_sm2=True)
    with pytest.raises(InvalidValue):
        PublicKeyData(SM2_PUB_KEY, 0, (b"a", b"b"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_hs_pubkey_sm2_decoder_round_trips_or_refuses(tail: bytes) -> None:
    writer = Writer()
    writer.put_string(SM2_PUB_KEY)
    writer.put_uint16(0)
    raw = writer.getvalue() + tail
    parsed = PublicKeyData.from_bytes(raw)  # anything after the flags is kept
    assert parsed.to_bytes() == raw
    try:
        public_key_from_data(parsed, allow_sm2=True)
    except AuthenticationError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_der_readers_only_raise_their_own_errors(blob: bytes) -> None:
    for attempt in (lambda: SM2PublicKey.from_der(blob),
                    lambda: load_sm2_private_key(blob),
                    lambda: load_sm2_private_key(b"-----BEGIN PRIVATE KEY-----\n"
                                                 + blob.hex().encode()
                                                 + b"\n-----END PRIVATE KEY-----\n")):
        try:
            attempt()
        except SM2KeyError:
            pass
    decoded = decode_signature(blob)
    assert decoded is None or all(1 <= v < N for v in decoded)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, N - 1), st.integers(1, N - 1))
def test_signature_der_round_trip(r: int, s: int) -> None:
    assert decode_signature(encode_signature(r, s)) == (r, s)
    assert decode_signature(r.to_bytes(32, "big") + s.to_bytes(32, "big")) == (r, s)


# -- signing through auth.keys ------------------------------------------------------------

def test_sign_and_verify_with_sm3(key: SM2PrivateKey, other: SM2PrivateKey) -> None:
    wire, signature = sign_data(key, b"payload")
    assert wire == "SM3" and default_hash(key) == "SM3"
    public = key.public_key()
    assert verify_data(public, b"payload", signature, "SM3")
    assert verify_data(public, b"payload", signature, "sm3")
    assert not verify_data(public, b"payloaD", signature, "SM3")
    tampered = bytearray(signature)
    tampered[-1] ^= 1
    assert not verify_data(public, b"payload", bytes(tampered), "SM3")
    assert not verify_data(other.public_key(), b"payload", signature, "SM3")
    assert not verify_data(public, b"payload", signature, "SHA-256")
    assert not verify_data(public, b"payload", signature, "SM3", sm2_id=b"someone else")
    assert not verify_data(public, b"payload", signature, "SM3", sm2_id=b"x" * 9000)
    with pytest.raises(AuthenticationError):
        sign_data(key, b"payload", sm2_id=b"x" * 9000)
    r, s = decode_signature(signature) or (0, 0)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert verify_data(public, b"payload", raw, "SM3")  # raw r ‖ s is read too
    _, with_id = sign_data(key, b"payload", "SM3", sm2_id=HANDLE.encode())
    assert verify_data(public, b"payload", with_id, "SM3", sm2_id=HANDLE.encode())
    assert not verify_data(public, b"payload", with_id, "SM3")


def test_hashes_are_paired_with_key_types(key: SM2PrivateKey) -> None:
    with pytest.raises(AuthenticationError, match="SM3"):
        sign_data(key, b"x", "SHA256")
    rsa = generate_private_key("RSA", 1024)
    with pytest.raises(AuthenticationError, match="SM3"):
        sign_data(rsa, b"x", "SM3")
    _, signature = sign_data(rsa, b"x")
    assert not verify_data(rsa.public_key(), b"x", signature, "SM3")


def test_key_files(tmp_path: Path, key: SM2PrivateKey) -> None:
    path = tmp_path / "sm2.key"
    save_private_key(path, key)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = load_identity_key(path)
    assert isinstance(loaded, SM2PrivateKey) and loaded.secret == D
    with pytest.raises(KeyFileError, match="holds an SM2 key; only RSA and DSA"):
        load_private_key(path)
    locked = tmp_path / "sm2-locked.key"
    save_private_key(locked, key, "pass phrase")
    assert b"ENCRYPTED" in locked.read_bytes()
    unlocked = load_identity_key(locked, "pass phrase")
    assert isinstance(unlocked, SM2PrivateKey) and unlocked.secret == D
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_identity_key(locked, "wrong")
    assert isinstance(generate_identity_key("sm2"), SM2PrivateKey)
    with pytest.raises(InvalidValue, match="generate_identity_key"):
        generate_private_key("SM2")


# -- challenge answers ----------------------------------------------------------------------

def _answer(alg: bytes, signature: bytes) -> bytes:
    writer = Writer()
    writer.put_counted_bytes(alg)
    writer.put_counted_bytes(signature)
    return writer.getvalue()


def _sdk_answer(d: int, public: SM2PublicKey, handle: str) -> bytes:
    """id-pointer-sdk's PublicKeyAuthenticationInfo, rebuilt with gmalg alone: hutool
    ``SM2.sign(SM3(nonce ‖ digest), id = handle)``, DER, hash name "SM3"."""
    engine = gmalg.SM2(d.to_bytes(32, "big"), handle.encode(), public.point)
    r, s = engine.sign(sm3(NONCE + DIGEST))
    return _answer(b"SM3", encode_signature(int.from_bytes(r, "big"),
                                            int.from_bytes(s, "big")))


def test_answer_in_the_sdk_layout(key: SM2PrivateKey, other: SM2PrivateKey) -> None:
    public = key.public_key()
    assert signature_hash_for_version(key, 2, 10) == "SM3"
    ours = answer_with_private_key(key, NONCE, DIGEST, identity=HANDLE)
    assert ours.startswith(b"\x00\x00\x00\x03SM3")
    # Our answer is what the SDK's would be: it verifies as SM2 over SM3(nonce ‖ digest)
    # with the handle as user ID, checked here with gmalg directly.
    alg_len = 4 + 3
    der = ours[alg_len + 4:]
    r, s = decode_signature(der) or (0, 0)
    engine = gmalg.SM2(uid=HANDLE.encode(), pk=public.point)
    assert engine.verify(sm3(NONCE + DIGEST), r.to_bytes(32, "big"), s.to_bytes(32, "big"))
    sdk = _sdk_answer(D, public, HANDLE)
    assert verify_private_key_answer(public, NONCE, DIGEST, sdk, identity=HANDLE)
    assert verify_private_key_answer(public, NONCE, DIGEST, ours, identity=HANDLE)
    # The handle is the user ID: another handle, or none, does not verify it.
    assert not verify_private_key_answer(public, NONCE, DIGEST, sdk, identity="88.121.1/X")
    assert not verify_private_key_answer(public, NONCE, DIGEST, sdk)
    assert not verify_private_key_answer(other.public_key(), NONCE, DIGEST, sdk,
                                         identity=HANDLE)
    assert not verify_private_key_answer(public, NONCE, bytes(32), sdk, identity=HANDLE)


def test_answer_in_the_plain_sm3withsm2_layout(key: SM2PrivateKey) -> None:
    public = key.public_key()
    plain = answer_with_private_key(key, NONCE, DIGEST)  # no identity: default user ID
    engine = gmalg.SM2(uid=DEFAULT_USER_ID, pk=public.point)
    r, s = decode_signature(plain[11:]) or (0, 0)
    assert engine.verify(NONCE + DIGEST, r.to_bytes(32, "big"), s.to_bytes(32, "big"))
    assert verify_private_key_answer(public, NONCE, DIGEST, plain, identity=HANDLE)
    assert verify_private_key_answer(public, NONCE, DIGEST, plain)
    wrong_alg = _answer(b"SHA-256", plain[11:])
    assert not verify_private_key_answer(public, NONCE, DIGEST, wrong_alg, identity=HANDLE)
    assert not verify_private_key_answer(public, NONCE, DIGEST, b"\x00\x00", identity=HANDLE)


# -- interoperability with OpenSSL's SM2 (skipped where the system OpenSSL lacks it) ----------

def _openssl(*args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=False,
                          timeout=30)


@pytest.fixture(scope="module")
def openssl_sm2() -> None:
    if shutil.which("openssl") is None or \
            _openssl("genpkey", "-algorithm", "SM2").returncode != 0:
        pytest.skip("no OpenSSL with SM2 here")


@pytest.mark.usefixtures("openssl_sm2")
def test_openssl_reads_our_keys_and_signatures(tmp_path: Path, key: SM2PrivateKey) -> None:
    (tmp_path / "key.pem").write_bytes(key.to_pem())
    (tmp_path / "locked.pem").write_bytes(key.to_pem(b"pw"))
    (tmp_path / "pub.pem").write_bytes(key.public_key().to_pem())
    (tmp_path / "msg").write_bytes(b"interop")
    (tmp_path / "sig").write_bytes(key.sign(b"interop", HANDLE.encode()))
    derived = _openssl("pkey", "-in", str(tmp_path / "key.pem"), "-pubout", "-outform", "DER")
    assert derived.stdout == key.public_key().to_der()
    assert _openssl("pkey", "-in", str(tmp_path / "locked.pem"), "-passin", "pass:pw",
                    "-noout").returncode == 0
    verified = _openssl("pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"),
                        "-rawin", "-digest", "sm3", "-in", str(tmp_path / "msg"),
                        "-sigfile", str(tmp_path / "sig"), "-pkeyopt", f"distid:{HANDLE}")
    assert verified.returncode == 0, verified.stderr


@pytest.mark.usefixtures("openssl_sm2")
def test_we_read_openssl_keys_and_signatures(tmp_path: Path) -> None:
    pem = _openssl("genpkey", "-algorithm", "SM2").stdout
    (tmp_path / "key.pem").write_bytes(pem)
    key = load_sm2_private_key(pem)
    spki = _openssl("pkey", "-in", str(tmp_path / "key.pem"), "-pubout", "-outform", "DER")
    assert SM2PublicKey.from_der(spki.stdout) == key.public_key()
    (tmp_path / "msg").write_bytes(b"from openssl")
    signed = _openssl("pkeyutl", "-sign", "-inkey", str(tmp_path / "key.pem"), "-rawin",
                      "-digest", "sm3", "-in", str(tmp_path / "msg"),
                      "-pkeyopt", "distid:1234567812345678")
    assert signed.returncode == 0, signed.stderr
    assert key.public_key().verify(signed.stdout, b"from openssl")
    assert not key.public_key().verify(signed.stdout, b"from openssl", b"other id")
    locked = _openssl("pkey", "-in", str(tmp_path / "key.pem"), "-aes-256-cbc",
                      "-passout", "pass:secret")
    assert load_sm2_private_key(locked.stdout, b"secret").secret == key.secret
    # The traditional (SEC1) form: OpenSSL 3 labels it "SM2 PRIVATE KEY".
    sec1 = _openssl("ec", "-in", str(tmp_path / "key.pem"), "-param_enc", "named_curve")
    assert b"PRIVATE KEY-----" in sec1.stdout
    assert load_sm2_private_key(sec1.stdout).secret == key.secret
    assert load_sm2_private_key(sec1.stdout.replace(b"SM2 PRIVATE", b"EC PRIVATE")
                                ).secret == key.secret


def test_registry_errors_not_bare_exceptions() -> None:
    with pytest.raises(RegistryError):
        load_sm2_private_key(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
