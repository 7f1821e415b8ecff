"""Challenge answers: HS_PUBKEY signatures and every HS_SECKEY form."""

from __future__ import annotations

import hashlib
import hmac
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, padding, rsa

from idnode.auth import (
    SECRET_FORMS,
    DerivedKeyCache,
    Secret,
    answer_with_private_key,
    answer_with_secret,
    new_nonce,
    secret_form_for_version,
    signature_hash_for_version,
    verify_private_key_answer,
    verify_secret_answer,
)
from idnode.errors import AuthenticationError
from idnode.protocol.wire import Parser, Writer

NONCE = bytes(range(16))
DIGEST = hashlib.sha256(b"header+body of the challenged request").digest()
SECRET = b"my-secret"


def _split_pubkey_answer(answer: bytes) -> tuple[str, bytes]:
    parser = Parser(answer)
    alg = parser.get_string()
    signature = parser.get_counted_bytes()
    parser.expect_end()
    return alg, signature


# -- nonce and version helpers ---------------------------------------------------------------

def test_new_nonce_is_16_random_bytes() -> None:
    first, second = new_nonce(), new_nonce()
    assert len(first) == len(second) == 16
    assert first != second


@pytest.mark.parametrize(("version", "form"), [
    ((2, 0), "legacy-md5"), ((2, 1), "sha1"), ((2, 6), "sha1"), ((2, 7), "pbkdf2"),
    ((2, 11), "pbkdf2"), ((3, 0), "pbkdf2"), ((5, 3), "legacy-md5"),
])
def test_secret_form_for_version(version: tuple[int, int], form: str) -> None:
    assert secret_form_for_version(*version) == form


def test_signature_hash_for_version(rsa_key: rsa.RSAPrivateKey,
                                    dsa_key: dsa.DSAPrivateKey) -> None:
    assert signature_hash_for_version(rsa_key, 2, 6) == "SHA1"
    assert signature_hash_for_version(rsa_key, 2, 7) == "SHA256"
    assert signature_hash_for_version(dsa_key, 2, 10) == "SHA1"
    assert signature_hash_for_version(dsa_key.public_key(), 2, 11) == "SHA256"


# -- HS_PUBKEY -------------------------------------------------------------------------------

@pytest.mark.parametrize("hash_alg", ["SHA1", "SHA256", "SHA-256", "SHA384", "SHA512"])
@pytest.mark.parametrize("which", ["rsa", "dsa"])
def test_private_key_answer_round_trip(which: str, hash_alg: str, rsa_key: rsa.RSAPrivateKey,
                                       dsa_key: dsa.DSAPrivateKey) -> None:
    key: rsa.RSAPrivateKey | dsa.DSAPrivateKey = rsa_key if which == "rsa" else dsa_key
    answer = answer_with_private_key(key, NONCE, DIGEST, hash_alg=hash_alg)
    assert verify_private_key_answer(key.public_key(), NONCE, DIGEST, answer)


def test_private_key_answer_layout_signs_nonce_then_bare_digest(
        rsa_key: rsa.RSAPrivateKey, dsa_key: dsa.DSAPrivateKey) -> None:
    alg, signature = _split_pubkey_answer(answer_with_private_key(rsa_key, NONCE, DIGEST))
    assert alg == "SHA-256"  # CNRI's Common.HASH_ALG_SHA256 spelling
    # Independent check: RSASSA-PKCS1-v1_5 over nonce ‖ digest, no hash-type byte.
    rsa_key.public_key().verify(signature, NONCE + DIGEST, padding.PKCS1v15(), hashes.SHA256())
    alg, signature = _split_pubkey_answer(
        answer_with_private_key(dsa_key, NONCE, DIGEST, hash_alg="SHA1"))
    assert alg == "SHA1"
    assert signature[0] == 0x30  # DER SEQUENCE
    dsa_key.public_key().verify(signature, NONCE + DIGEST, hashes.SHA1())


def test_cnri_alternate_alg_spellings_verify(rsa_key: rsa.RSAPrivateKey) -> None:
    _, signature = _split_pubkey_answer(answer_with_private_key(rsa_key, NONCE, DIGEST))
    for spelling in ("SHA256", "SHA-256", "sha256"):
        writer = Writer()
        writer.put_string(spelling)
        writer.put_counted_bytes(signature)
        assert verify_private_key_answer(rsa_key.public_key(), NONCE, DIGEST,
                                         writer.getvalue())


@pytest.mark.parametrize("which", ["rsa", "dsa"])
def test_tampered_private_key_answers_are_rejected(which: str, rsa_key: rsa.RSAPrivateKey,
                                                   dsa_key: dsa.DSAPrivateKey) -> None:
    key: rsa.RSAPrivateKey | dsa.DSAPrivateKey = rsa_key if which == "rsa" else dsa_key
    public = key.public_key()
    answer = answer_with_private_key(key, NONCE, DIGEST)
    other_nonce = bytes(16)
    assert not verify_private_key_answer(public, other_nonce, DIGEST, answer)
    assert not verify_private_key_answer(public, NONCE, DIGEST[::-1], answer)
    tampered = bytearray(answer)
    tampered[-5] ^= 0x01
    assert not verify_private_key_answer(public, NONCE, DIGEST, bytes(tampered))
    # digest with its hash-type byte in front is a different message
    assert not verify_private_key_answer(public, NONCE, b"\x03" + DIGEST, answer)


def test_answer_from_another_key_is_rejected(rsa_key: rsa.RSAPrivateKey,
                                             other_rsa_key: rsa.RSAPrivateKey,
                                             dsa_key: dsa.DSAPrivateKey) -> None:
    answer = answer_with_private_key(other_rsa_key, NONCE, DIGEST)
    assert not verify_private_key_answer(rsa_key.public_key(), NONCE, DIGEST, answer)
    # an RSA answer checked against a DSA key is just false
    assert not verify_private_key_answer(dsa_key.public_key(), NONCE, DIGEST, answer)


@pytest.mark.parametrize("garbage", [
    b"", b"\x00", b"\x00\x00\x00\x07SHA-256", b"\xff\xff\xff\xff\x00",
    b"\x00\x00\x00\x03MD5\x00\x00\x00\x01x", b"\x00\x00\x00\x02\xff\xfe\x00\x00\x00\x00",
    b"\x00\x00\x00\x04SHA1\x00\x00\x00\x00",
])
def test_malformed_private_key_answers_are_false(garbage: bytes,
                                                 rsa_key: rsa.RSAPrivateKey) -> None:
    assert not verify_private_key_answer(rsa_key.public_key(), NONCE, DIGEST, garbage)


def test_trailing_bytes_and_md5_are_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    answer = answer_with_private_key(rsa_key, NONCE, DIGEST)
    assert not verify_private_key_answer(rsa_key.public_key(), NONCE, DIGEST, answer + b"\x00")
    with pytest.raises(AuthenticationError):
        answer_with_private_key(rsa_key, NONCE, DIGEST, hash_alg="MD5")


# -- HS_SECKEY -------------------------------------------------------------------------------

@pytest.mark.parametrize("form", sorted(SECRET_FORMS))
def test_every_secret_form_round_trips(form: str) -> None:
    answer = answer_with_secret(SECRET, NONCE, DIGEST, form=form)
    assert verify_secret_answer(SECRET, NONCE, DIGEST, answer, cache=None)
    assert not verify_secret_answer(b"wrong", NONCE, DIGEST, answer, cache=None)
    assert not verify_secret_answer(SECRET, NONCE, bytes(32), answer, cache=None)
    assert not verify_secret_answer(SECRET, bytes(16), DIGEST, answer, cache=None)


def test_secret_form_bytes_are_exact() -> None:
    data = NONCE + DIGEST
    assert answer_with_secret(SECRET, NONCE, DIGEST, form="sha1") == \
        b"\x02" + hashlib.sha1(SECRET + data + SECRET).digest()
    assert answer_with_secret(SECRET, NONCE, DIGEST, form="md5") == \
        b"\x01" + hashlib.md5(SECRET + data + SECRET).digest()
    assert answer_with_secret(SECRET, NONCE, DIGEST, form="sha256") == \
        b"\x03" + hashlib.sha256(SECRET + data + SECRET).digest()
    assert answer_with_secret(SECRET, NONCE, DIGEST, form="hmac-sha1") == \
        b"\x12" + hmac.new(SECRET, data, "sha1").digest()
    assert answer_with_secret(SECRET, NONCE, DIGEST, form="hmac-sha256") == \
        b"\x13" + hmac.new(SECRET, data, "sha256").digest()
    assert answer_with_secret(SECRET, NONCE, DIGEST, form="legacy-md5") == \
        hashlib.md5(SECRET + data + SECRET).digest()


def test_pbkdf2_layout_matches_cnri_encoding() -> None:
    salt = bytes(range(100, 116))
    answer = answer_with_secret(SECRET, NONCE, DIGEST, salt=salt)
    derived = hashlib.pbkdf2_hmac("sha1", SECRET, salt, 10000, 20)
    mac = hmac.new(derived, NONCE + DIGEST, "sha1").digest()
    expected = (b"\x22" + struct.pack(">I", 16) + salt + struct.pack(">II", 10000, 160)
                + struct.pack(">I", 20) + mac)
    assert answer == expected


def test_pbkdf2_defaults_draw_a_fresh_16_byte_salt() -> None:
    first = answer_with_secret(SECRET, NONCE, DIGEST)
    second = answer_with_secret(SECRET, NONCE, DIGEST)
    assert first[:5] == second[:5] == b"\x22\x00\x00\x00\x10"
    assert first != second


def test_pbkdf2_non_ascii_secret_is_utf8_of_latin1_like_java() -> None:
    secret = b"caf\xe9"
    salt = b"salt" * 4
    answer = answer_with_secret(secret, NONCE, DIGEST, salt=salt, iterations=10)
    derived = hashlib.pbkdf2_hmac("sha1", "café".encode(), salt, 10, 20)
    assert answer.endswith(hmac.new(derived, NONCE + DIGEST, "sha1").digest())
    assert verify_secret_answer(secret, NONCE, DIGEST, answer, cache=None)


def test_secret_wrapper_is_accepted() -> None:
    answer = answer_with_secret(Secret(SECRET), NONCE, DIGEST, form="sha1")
    assert verify_secret_answer(Secret(SECRET), NONCE, DIGEST, answer)


def test_legacy_form_depends_on_version() -> None:
    legacy = answer_with_secret(SECRET, NONCE, DIGEST, form="legacy-md5")
    assert len(legacy) == 16
    assert verify_secret_answer(SECRET, NONCE, DIGEST, legacy, version=(2, 0))
    assert verify_secret_answer(SECRET, NONCE, DIGEST, legacy)  # unknown version: tried
    assert not verify_secret_answer(SECRET, NONCE, DIGEST, legacy, version=(2, 10))
    coded = answer_with_secret(SECRET, NONCE, DIGEST, form="sha1")
    assert not verify_secret_answer(SECRET, NONCE, DIGEST, coded, version=(2, 0))
    assert verify_secret_answer(SECRET, NONCE, DIGEST, coded, version=(2, 5))


def test_iteration_and_key_length_caps_refuse_without_work() -> None:
    costly = answer_with_secret(SECRET, NONCE, DIGEST, iterations=2000, salt=b"s" * 16)
    with pytest.raises(AuthenticationError, match="iteration count 2000"):
        verify_secret_answer(SECRET, NONCE, DIGEST, costly, max_iterations=1000, cache=None)
    assert verify_secret_answer(SECRET, NONCE, DIGEST, costly, max_iterations=2000,
                                cache=None)
    long_key = answer_with_secret(SECRET, NONCE, DIGEST, iterations=1, key_bits=8192)
    with pytest.raises(AuthenticationError, match="key length 8192"):
        verify_secret_answer(SECRET, NONCE, DIGEST, long_key, cache=None)
    odd = bytearray(answer_with_secret(SECRET, NONCE, DIGEST, iterations=1, salt=b"x" * 16))
    odd[1 + 4 + 16 + 4:1 + 4 + 16 + 8] = struct.pack(">I", 100)  # keyLen 100 bits
    with pytest.raises(AuthenticationError, match="multiple of 8"):
        verify_secret_answer(SECRET, NONCE, DIGEST, bytes(odd), cache=None)
    zero = bytearray(odd)
    zero[1 + 4 + 16:1 + 4 + 16 + 4] = bytes(4)  # 0 iterations
    with pytest.raises(AuthenticationError, match="iteration count 0"):
        verify_secret_answer(SECRET, NONCE, DIGEST, bytes(zero), cache=None)


@pytest.mark.parametrize("garbage", [
    b"", b"\x22", b"\x22\x00\x00\x00\x10", b"\x99" + bytes(20), b"\x02" + bytes(3),
    b"\x22\x00\x00\x00\x01s\x00\x00\x00\x01\x00\x00\x00\xa0\x00\x00\x00\x14",
])
def test_malformed_secret_answers_are_false(garbage: bytes) -> None:
    assert not verify_secret_answer(SECRET, NONCE, DIGEST, garbage, cache=None)


def test_unknown_form_is_refused() -> None:
    with pytest.raises(AuthenticationError, match="unknown HS_SECKEY answer form"):
        answer_with_secret(SECRET, NONCE, DIGEST, form="rot13")


def test_derived_key_cache_hit_path() -> None:
    cache = DerivedKeyCache(maxsize=2)
    salt = b"reused-salt-0001"
    first = answer_with_secret(SECRET, NONCE, DIGEST, salt=salt)
    second = answer_with_secret(SECRET, bytes(16), DIGEST, salt=salt)  # new nonce, same salt
    assert verify_secret_answer(SECRET, NONCE, DIGEST, first, cache=cache)
    assert (cache.hits, cache.misses) == (0, 1)
    assert verify_secret_answer(SECRET, bytes(16), DIGEST, second, cache=cache)
    assert (cache.hits, cache.misses) == (1, 1)
    # a wrong secret never hits the right secret's entry
    assert not verify_secret_answer(b"wrong", NONCE, DIGEST, first, cache=cache)
    assert (cache.hits, cache.misses) == (1, 2)
    # LRU eviction keeps at most maxsize derived keys
    other = answer_with_secret(SECRET, NONCE, DIGEST, salt=b"another-salt-002")
    assert verify_secret_answer(SECRET, NONCE, DIGEST, other, cache=cache)
    assert len(cache) == 2
    assert "hits=1" in repr(cache)
    assert SECRET.decode() not in repr(cache)
    cache.clear()
    assert len(cache) == 0 and cache.hits == cache.misses == 0
