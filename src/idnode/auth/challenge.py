"""Challenge-response answers (``handle-protocol.md`` §8.1), client and server side.

The server challenges an administrative request with RC 402: a 16-byte nonce plus the
request digest. The client proves its identity in OC 200's ``signedResponse``; this module
builds and checks that field.

**What "digest" is.** Everything below signs or MACs ``nonce ‖ digest`` where *digest is the
bare digest bytes* of the request (16, 20 or 32 bytes), **without** the one-byte hash type
that precedes it on the wire. Confirmed in CNRI Handle.Net 9.2 (``MistraR/handle``):
``AbstractResponse.takeDigestOfRequest`` keeps ``rdHashType`` and ``requestDigest`` apart,
and ``PublicKeyAuthenticationInfo.authenticate`` does ``signer.update(nonce)`` then
``signer.update(requestDigest)``; ``SecretKeyAuthenticationInfo`` and the server's
``verifyChallenge`` MAC ``Util.concat(nonce, requestDigest)``.

**HS_PUBKEY answer** = byte array hash-algorithm name + byte array signature. CNRI writes
``"SHA-256"`` or ``"SHA1"`` (``Util.getHashAlgIdFromSigId``) and accepts ``"SHA256"`` and
``"SHA-1"``; RSA is PKCS#1 v1.5, DSA is DER. CNRI's client picks SHA-256 from 2.7 on, but
SHA-1 for DSA below 2.11 (:func:`signature_hash_for_version`).

**SM2 answer** (IDIS, ``idis.md`` §4.5): hash name ``"SM3"`` + DER SM2 signature. Two
layouts exist; idnode signs the first and accepts both:

1. ``teleinfo-dev/id-pointer-sdk`` (v2.2.0 "标识解析身份认证支持sm2算法";
   ``core/PublicKeyAuthenticationInfo.java`` at commit 9befbd17 and ``core/Common.java``):
   the message is ``SM3(nonce ‖ digest)`` (``SmUtil.sm3``), signed by hutool ``SM2.sign``
   with the *identity handle's UTF-8 bytes as the SM2 user ID* (so e = SM3(Z_handle ‖
   SM3(nonce ‖ digest))), DER-encoded (hutool's default ``StandardDSAEncoding``), hash name
   ``Common.HASH_ALG_SM3 = "SM3"``. Used whenever the identity is known.
2. Plain ``SM3withSM2`` over ``nonce ‖ digest`` with the default user ID
   ``1234567812345678`` (what a JCA ``Signature.getInstance("SM3withSM2")`` fed like the RSA
   path produces). **Unconfirmed** in any SDK; accepted for clients that sign that way.

A raw 64-byte ``r ‖ s`` is accepted in place of DER. Verification costs a few tens of
milliseconds of pure-Python arithmetic per layout tried (the SDK layout first).

**HS_SECKEY answer** = one algorithm byte + MAC (CNRI ``Util.doMac``), ``data = nonce ‖ digest``:

======  ======================  ==============================================
byte    form name               MAC
======  ======================  ==============================================
0x22    ``pbkdf2`` (≥ 2.7)      salt (byte array) + int4 iterations + int4 keyLen (bits)
                                + byte array HMAC-SHA1(PBKDF2-HMAC-SHA1(secret, salt,
                                iterations, keyLen), data); CNRI: 16-byte salt, 10000, 160
0x02    ``sha1`` (2.1 to 2.6)    SHA1(secret ‖ data ‖ secret)
0x01    ``md5``                 MD5(secret ‖ data ‖ secret)
0x03    ``sha256``              SHA256(secret ‖ data ‖ secret)
0x12    ``hmac-sha1``           HMAC-SHA1(secret, data)
0x13    ``hmac-sha256``         HMAC-SHA256(secret, data)
none    ``legacy-md5`` (< 2.1)  MD5(secret ‖ data ‖ secret), no algorithm byte
======  ======================  ==============================================

Java derives the PBKDF2 key from ``char[]`` made of the secret's bytes (``b & 0xFF``), and
the JDK's PBKDF2 encodes those chars as UTF-8; so bytes ≥ 0x80 enter PBKDF2 as two bytes.
idnode does the same (``latin-1`` decode, UTF-8 encode); ASCII secrets are unaffected.

Verifying a PBKDF2 answer costs ``iterations`` HMACs chosen by the *client*, so the
verifier refuses iteration counts above a cap and absurd key lengths, and caches derived
keys (:class:`DerivedKeyCache`): a client that reuses its salt costs one HMAC. A verify
call may still take milliseconds; async servers should run it in an executor.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import dsa

from idnode.auth.keys import (
    IdentityKey,
    IdentityPublicKey,
    Secret,
    sign_data,
    verify_data,
)
from idnode.auth.sm2 import DEFAULT_USER_ID, SM2PrivateKey, SM2PublicKey, sm3
from idnode.errors import AuthenticationError, ProtocolError
from idnode.protocol.credential import version_at_least
from idnode.protocol.wire import Parser, Writer

__all__ = [
    "DEFAULT_CACHE",
    "DEFAULT_MAX_ITERATIONS",
    "DEFAULT_MAX_KEY_BITS",
    "NONCE_SIZE",
    "SECRET_FORMS",
    "DerivedKeyCache",
    "answer_with_private_key",
    "answer_with_secret",
    "new_nonce",
    "secret_answer_cost",
    "secret_form_for_version",
    "signature_hash_for_version",
    "verify_private_key_answer",
    "verify_secret_answer",
]

NONCE_SIZE = 16
DEFAULT_ITERATIONS = 10_000
DEFAULT_KEY_BITS = 160
DEFAULT_SALT_SIZE = 16
DEFAULT_MAX_ITERATIONS = 10_000
DEFAULT_MAX_KEY_BITS = 512
_MAX_SALT = 1024

_PBKDF2 = 0x22


def _sandwich(name: str) -> Callable[[bytes, bytes], bytes]:
    def mac(secret: bytes, data: bytes) -> bytes:
        return hashlib.new(name, secret + data + secret).digest()
    return mac


def _hmac(name: str) -> Callable[[bytes, bytes], bytes]:
    def mac(secret: bytes, data: bytes) -> bytes:
        return hmac.new(secret, data, name).digest()
    return mac


#: Simple (non-PBKDF2) forms: algorithm byte -> (form name, MAC function).
_SIMPLE: dict[int, tuple[str, Callable[[bytes, bytes], bytes]]] = {
    0x01: ("md5", _sandwich("md5")),
    0x02: ("sha1", _sandwich("sha1")),
    0x03: ("sha256", _sandwich("sha256")),
    0x12: ("hmac-sha1", _hmac("sha1")),
    0x13: ("hmac-sha256", _hmac("sha256")),
}
_LEGACY = "legacy-md5"
_FORM_CODES = {name: code for code, (name, _) in _SIMPLE.items()} | {"pbkdf2": _PBKDF2}
#: Every form :func:`answer_with_secret` can produce.
SECRET_FORMS = frozenset(_FORM_CODES) | {_LEGACY}


def new_nonce() -> bytes:
    """16 random bytes for a challenge (CNRI's ``CHALLENGE_NONCE_SIZE``)."""
    return secrets.token_bytes(NONCE_SIZE)


def secret_form_for_version(major: int, minor: int) -> str:
    """The HS_SECKEY form CNRI's client uses for a challenge of this version.

    Pass the *lower* of the challenge's message version and its suggested version
    (``Message.effective_version``): < 2.1 → ``legacy-md5``, 2.1 to 2.6 → ``sha1``,
    ≥ 2.7 → ``pbkdf2``.
    """
    if not version_at_least(major, minor, 2, 1):
        return _LEGACY
    if version_at_least(major, minor, 2, 7):
        return "pbkdf2"
    return "sha1"


def signature_hash_for_version(key: IdentityKey | IdentityPublicKey, major: int, minor: int
                               ) -> str:
    """The signature hash CNRI's client picks (``Util.getDefaultSigId``) for a message.

    SHA-256 from 2.7 on, except SHA-1 for DSA keys below 2.11; SHA-1 before 2.7. SM2 keys
    always use SM3.
    """
    if isinstance(key, SM2PrivateKey | SM2PublicKey):
        return "SM3"
    if not version_at_least(major, minor, 2, 7):
        return "SHA1"
    is_dsa = isinstance(key, dsa.DSAPrivateKey | dsa.DSAPublicKey)
    if is_dsa and not version_at_least(major, minor, 2, 11):
        return "SHA1"
    return "SHA256"


# -- HS_PUBKEY ---------------------------------------------------------------------------

def _sm2_layouts(nonce: bytes, digest: bytes, identity: str | None
                 ) -> list[tuple[bytes, bytes]]:
    """(message, user ID) of each SM2 answer layout, the id-pointer-sdk one first."""
    layouts = [(nonce + digest, DEFAULT_USER_ID)]
    if identity:
        layouts.insert(0, (sm3(nonce + digest), identity.encode("utf-8")))
    return layouts


def answer_with_private_key(key: IdentityKey, nonce: bytes, digest: bytes, *,
                            hash_alg: str | None = None, identity: str | None = None
                            ) -> bytes:
    """The ``signedResponse`` for an HS_PUBKEY identity.

    :param digest: the bare request digest from the challenge (no hash-type byte).
    :param hash_alg: by default SHA-256 (SM3 for an SM2 key).
    :param identity: the identity handle answering; an SM2 key then signs in
        id-pointer-sdk's layout (user ID = the handle), else in plain ``SM3withSM2``.
    :raises AuthenticationError: unknown hash algorithm or key type.
    """
    if isinstance(key, SM2PrivateKey):
        message, user_id = _sm2_layouts(nonce, digest, identity)[0]
    else:
        message, user_id = nonce + digest, DEFAULT_USER_ID
    wire_alg, signature = sign_data(key, message, hash_alg, sm2_id=user_id)
    writer = Writer()
    writer.put_string(wire_alg)
    writer.put_counted_bytes(signature)
    return writer.getvalue()


def verify_private_key_answer(public_key: IdentityPublicKey, nonce: bytes, digest: bytes,
                              signed_response: bytes, *, identity: str | None = None) -> bool:
    """Check an HS_PUBKEY ``signedResponse`` against ``public_key``.

    Malformed bytes, unknown or refused algorithms (MD5) and bad signatures are ``False``.

    :param identity: the identity handle that answered, as it sent it; SM2 answers in
        id-pointer-sdk's layout need it (their user ID is the handle).
    :raises AuthenticationError: ``public_key`` is neither RSA, DSA nor SM2.
    """
    parser = Parser(signed_response, "HS_PUBKEY challenge answer")
    try:
        alg_bytes = parser.get_counted_bytes()
        signature = parser.get_counted_bytes()
        parser.expect_end()
    except ProtocolError:
        return False
    try:
        alg = alg_bytes.decode("ascii")
    except UnicodeDecodeError:
        return False
    if isinstance(public_key, SM2PublicKey):
        return any(verify_data(public_key, message, signature, alg, sm2_id=user_id)
                   for message, user_id in _sm2_layouts(nonce, digest, identity))
    return verify_data(public_key, nonce + digest, signature, alg)


# -- HS_SECKEY ---------------------------------------------------------------------------

class DerivedKeyCache:
    """A small thread-safe LRU of PBKDF2-derived keys.

    Keyed by ``(sha256(secret), salt, iterations, key_bits)``, so the secret itself is not
    a dictionary key. ``hits`` and ``misses`` count lookups.
    """

    __slots__ = ("_entries", "_lock", "hits", "maxsize", "misses")

    def __init__(self, maxsize: int = 1024) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[bytes, bytes, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return (f"DerivedKeyCache(size={len(self._entries)}, maxsize={self.maxsize}, "
                f"hits={self.hits}, misses={self.misses})")

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0

    def contains(self, secret: bytes, salt: bytes, iterations: int, key_bits: int) -> bool:
        """Whether :meth:`derive` would answer from the cache (no PBKDF2 work)."""
        cache_key = (hashlib.sha256(secret).digest(), salt, iterations, key_bits)
        with self._lock:
            return cache_key in self._entries

    def derive(self, secret: bytes, salt: bytes, iterations: int, key_bits: int) -> bytes:
        """PBKDF2-HMAC-SHA1 as Java computes it, from the cache when possible."""
        cache_key = (hashlib.sha256(secret).digest(), salt, iterations, key_bits)
        with self._lock:
            cached = self._entries.get(cache_key)
            if cached is not None:
                self._entries.move_to_end(cache_key)
                self.hits += 1
                return cached
            self.misses += 1
        derived = _pbkdf2(secret, salt, iterations, key_bits)
        if self.maxsize > 0:
            with self._lock:
                self._entries[cache_key] = derived
                self._entries.move_to_end(cache_key)
                while len(self._entries) > self.maxsize:
                    self._entries.popitem(last=False)
        return derived


#: The process-wide cache :func:`verify_secret_answer` uses by default.
DEFAULT_CACHE = DerivedKeyCache()


def _pbkdf2(secret: bytes, salt: bytes, iterations: int, key_bits: int) -> bytes:
    # Java hands PBKDF2 a char[] of the secret's bytes, which the JDK encodes as UTF-8.
    password = secret.decode("latin-1").encode("utf-8")
    return hashlib.pbkdf2_hmac("sha1", password, salt, iterations, key_bits // 8)


def _secret_bytes(secret: bytes | Secret) -> bytes:
    return bytes(secret)


def _check_pbkdf2_params(salt: bytes, iterations: int, key_bits: int, *,
                         max_iterations: int, max_key_bits: int) -> None:
    if not 1 <= iterations <= max_iterations:
        raise AuthenticationError(reason=f"PBKDF2 iteration count {iterations} is outside "
                                         f"1..{max_iterations}")
    if key_bits <= 0 or key_bits % 8 or key_bits > max_key_bits:
        raise AuthenticationError(reason=f"PBKDF2 key length {key_bits} bits is not a "
                                         f"multiple of 8 in 8..{max_key_bits}")
    if len(salt) > _MAX_SALT:
        raise AuthenticationError(reason=f"PBKDF2 salt of {len(salt)} bytes is longer than "
                                         f"{_MAX_SALT}")


def _pbkdf2_encoding(salt: bytes, iterations: int, key_bits: int, mac: bytes) -> bytes:
    writer = Writer()
    writer.put_counted_bytes(salt)
    writer.put_uint32(iterations)
    writer.put_uint32(key_bits)
    writer.put_counted_bytes(mac)
    return writer.getvalue()


def answer_with_secret(secret: bytes | Secret, nonce: bytes, digest: bytes, *,
                       form: str = "pbkdf2", salt: bytes | None = None,
                       iterations: int = DEFAULT_ITERATIONS,
                       key_bits: int = DEFAULT_KEY_BITS,
                       cache: DerivedKeyCache | None = None) -> bytes:
    """The ``signedResponse`` for an HS_SECKEY identity.

    :param digest: the bare request digest from the challenge (no hash-type byte).
    :param form: one of :data:`SECRET_FORMS`; pick it with :func:`secret_form_for_version`.
    :param salt: PBKDF2 salt; 16 random bytes when omitted.
    :param cache: derive through this cache; with a salt kept per client, the 10,000
        PBKDF2 iterations are paid once per client instead of once per answer.
    :raises AuthenticationError: unknown form or PBKDF2 parameters out of range.
    """
    raw = _secret_bytes(secret)
    data = nonce + digest
    name = form.strip().lower()
    if name == _LEGACY:
        return _sandwich("md5")(raw, data)
    code = _FORM_CODES.get(name)
    if code is None:
        raise AuthenticationError(reason=f"unknown HS_SECKEY answer form {form!r} "
                                         f"(one of {', '.join(sorted(SECRET_FORMS))})")
    if code != _PBKDF2:
        return bytes((code,)) + _SIMPLE[code][1](raw, data)
    salt = secrets.token_bytes(DEFAULT_SALT_SIZE) if salt is None else salt
    _check_pbkdf2_params(salt, iterations, key_bits, max_iterations=0xFFFF_FFFF,
                         max_key_bits=0xFFFF_FFFF)
    derived = (_pbkdf2(raw, salt, iterations, key_bits) if cache is None
               else cache.derive(raw, salt, iterations, key_bits))
    mac = hmac.new(derived, data, "sha1").digest()
    return bytes((_PBKDF2,)) + _pbkdf2_encoding(salt, iterations, key_bits, mac)


def _verify_coded(raw: bytes, data: bytes, response: bytes, *, max_iterations: int,
                  max_key_bits: int, cache: DerivedKeyCache | None) -> bool:
    code, rest = response[0], response[1:]
    simple = _SIMPLE.get(code)
    if simple is not None:
        return hmac.compare_digest(simple[1](raw, data), rest)
    if code != _PBKDF2:
        return False
    parser = Parser(rest, "PBKDF2 challenge answer")
    try:
        salt = parser.get_counted_bytes()
        iterations = parser.get_uint32()
        key_bits = parser.get_uint32()
        mac = parser.get_counted_bytes()
        parser.expect_end()
    except ProtocolError:
        return False
    _check_pbkdf2_params(salt, iterations, key_bits, max_iterations=max_iterations,
                         max_key_bits=max_key_bits)
    if cache is None:
        derived = _pbkdf2(raw, salt, iterations, key_bits)
    else:
        derived = cache.derive(raw, salt, iterations, key_bits)
    return hmac.compare_digest(hmac.new(derived, data, "sha1").digest(), mac)


def secret_answer_cost(secret: bytes | Secret, signed_response: bytes, *,
                       cache: DerivedKeyCache | None = DEFAULT_CACHE) -> int:
    """PBKDF2 iterations that verifying ``signed_response`` would compute (0: cheap).

    Servers use it to keep expensive verifications off the event loop and bounded; an
    answer that does not parse costs nothing (verification rejects it at once).
    """
    if not signed_response or signed_response[0] != _PBKDF2:
        return 0
    parser = Parser(signed_response[1:], "HS_SECKEY answer")
    try:
        salt = parser.get_counted_bytes()
        iterations = parser.get_uint32()
        key_bits = parser.get_uint32()
    except ProtocolError:
        return 0
    if cache is not None and cache.contains(_secret_bytes(secret), salt, iterations, key_bits):
        return 0
    return iterations


def verify_secret_answer(secret: bytes | Secret, nonce: bytes, digest: bytes,
                         signed_response: bytes, *, version: tuple[int, int] | None = None,
                         max_iterations: int = DEFAULT_MAX_ITERATIONS,
                         max_key_bits: int = DEFAULT_MAX_KEY_BITS,
                         cache: DerivedKeyCache | None = DEFAULT_CACHE) -> bool:
    """Check an HS_SECKEY ``signedResponse`` (every form CNRI accepts) in constant time.

    :param version: the answer's (OC 200's) message version. CNRI reads the bare legacy
        MD5 form below 2.1 and the algorithm-byte forms from 2.1 on; with ``None`` the
        algorithm-byte forms are tried and a 16-byte answer is also tried as legacy MD5.
    :param max_iterations: refuse PBKDF2 answers asking for more iterations than this.
    :param max_key_bits: refuse PBKDF2 answers asking for longer derived keys.
    :param cache: derived-key cache; ``None`` derives every time.
    :raises AuthenticationError: PBKDF2 parameters beyond the caps (the answer is refused
        without spending the CPU).
    """
    raw = _secret_bytes(secret)
    data = nonce + digest
    if not signed_response:
        return False
    legacy_only = version is not None and not version_at_least(*version, 2, 1)
    # No algorithm-byte form is 16 bytes long, so with an unknown version a 16-byte answer
    # is tried as legacy MD5 first (cheap, and it never reaches the PBKDF2 parser).
    if legacy_only or (version is None and len(signed_response) == 16):
        if hmac.compare_digest(_sandwich("md5")(raw, data), signed_response):
            return True
        if legacy_only:
            return False
    return _verify_coded(raw, data, signed_response, max_iterations=max_iterations,
                         max_key_bits=max_key_bits, cache=cache)
