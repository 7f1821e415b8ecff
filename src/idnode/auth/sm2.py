"""SM2 keys and signatures with SM3 (GB/T 32918, GB/T 32905), for IDIS identities.

The arithmetic (Z value, sign, verify) is ``gmalg``'s (pure Python, MIT, no native code);
SM3 itself comes from ``cryptography`` (OpenSSL). This module adds what IDIS needs around
them: key objects, the DER and PEM forms Java SDKs read and write, and signature encodings.

**Encodings (what the IDIS Java SDKs use).** ``teleinfo-dev/id-pointer-sdk`` keeps SM2 keys
as BouncyCastle ``EC`` keys on ``sm2p256v1`` (hutool ``SecureUtil.generateKeyPair("SM2")``):

* public key: X.509 ``SubjectPublicKeyInfo`` DER, algorithm ``id-ecPublicKey``
  (1.2.840.10045.2.1) with the named curve ``sm2p256v1`` (1.2.156.10197.1.301) and the
  uncompressed point ``04 ‖ x ‖ y`` (``core/UtilTest.java`` puts ``getPublic().getEncoded()``
  in HS_PUBKEY; ``security/gm/SM2KeyFactorySpi.java`` reads it back as an
  ``X509EncodedKeySpec``). :meth:`SM2PublicKey.from_der` also accepts the SM2 algorithm OID
  in place of ``id-ecPublicKey``, which some GM toolkits write.
* private key: PKCS#8 ``PrivateKeyInfo`` with the same algorithm identifier around an
  RFC 5915 ``ECPrivateKey`` (what BouncyCastle and OpenSSL 3 write). Files are PEM
  (``PRIVATE KEY``, or ``ENCRYPTED PRIVATE KEY``: PBES2 with PBKDF2-HMAC-SHA256 and
  AES-256-CBC, the scheme OpenSSL 3 writes by default); a SEC1 ``EC PRIVATE KEY`` naming the
  SM2 curve (OpenSSL 3 labels it ``SM2 PRIVATE KEY``) loads too.
* signature: DER ``SEQUENCE { INTEGER r, INTEGER s }`` (BouncyCastle's
  ``StandardDSAEncoding``, hutool's default). :func:`decode_signature` also reads the raw
  64-byte ``r ‖ s`` form (hutool ``usePlainEncoding``, GmSSL).
* user ID: GB/T 35276's default ``1234567812345678`` unless a caller names another; the
  challenge answer uses the identity handle (see :mod:`idnode.auth.challenge`).

Security note: gmalg is not constant-time. Verification handles only public data; signing
(a client's own key, on the client's machine) could leak timing to a local observer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass

import gmalg  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from gmalg.errors import GMError  # type: ignore[import-untyped]

from idnode.errors import InvalidValue

__all__ = [
    "DEFAULT_USER_ID",
    "SM2KeyError",
    "SM2PrivateKey",
    "SM2PublicKey",
    "decode_signature",
    "encode_signature",
    "load_sm2_private_key",
    "sm3",
]

#: The default signer ID of GB/T 35276 (and BouncyCastle's ``SM3withSM2``).
DEFAULT_USER_ID = b"1234567812345678"

# sm2p256v1 (GB/T 32918.5): y² = x³ + ax + b over Fp, base point G of prime order N.
P = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFF
A = P - 3
B = 0x28E9FA9E_9D9F5E34_4D5A9E4B_CF6509A7_F39789F5_15AB8F92_DDBCBD41_4D940E93
N = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_7203DF6B_21C6052B_53BBF409_39D54123

_MAX_PBKDF2_ITERATIONS = 10_000_000
_PBKDF2_ITERATIONS = 100_000


class SM2KeyError(InvalidValue):
    """Bytes that are not an SM2 key (or a wrong passphrase for an encrypted one)."""


def sm3(data: bytes) -> bytes:
    """The SM3 digest (GB/T 32905) of ``data``."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


# -- a minimal DER codec (definite lengths, minimal encodings) ----------------------------

def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(raw))) + raw + content


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _octets(value: bytes) -> bytes:
    return _tlv(0x04, value)


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(part) for part in dotted.split("."))
    body = bytearray((40 * first + second,))
    for arc in rest:
        chunk = [arc & 0x7F]
        high = arc >> 7
        while high:
            chunk.append(0x80 | (high & 0x7F))
            high >>= 7
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


_EC_PUBLIC_KEY = _oid("1.2.840.10045.2.1")
_SM2_CURVE = _oid("1.2.156.10197.1.301")
_PBES2 = _oid("1.2.840.113549.1.5.13")
_PBKDF2 = _oid("1.2.840.113549.1.5.12")
_PRF = {_oid(f"1.2.840.113549.2.{arc}"): name
        for arc, name in ((7, "sha1"), (8, "sha224"), (9, "sha256"), (10, "sha384"),
                          (11, "sha512"))}
_AES_CBC = {_oid(f"2.16.840.1.101.3.4.1.{arc}"): size
            for arc, size in ((2, 16), (22, 24), (42, 32))}
_NULL = b"\x05\x00"
_ALGORITHM = _seq(_EC_PUBLIC_KEY, _SM2_CURVE)


class _Reader:
    """Reads DER elements off ``data``; every problem is a ``ValueError``."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def peek(self) -> int | None:
        return self.data[self.pos] if self.pos < len(self.data) else None

    def element(self, tag: int) -> bytes:
        """The whole TLV of the next element, which must have ``tag``."""
        start = self.pos
        self.read(tag)
        return self.data[start:self.pos]

    def read(self, tag: int) -> bytes:
        data, pos = self.data, self.pos
        if pos + 2 > len(data) or data[pos] != tag:
            raise ValueError(f"expected DER tag 0x{tag:02x}")
        first = data[pos + 1]
        pos += 2
        if first < 0x80:
            size = first
        else:
            count = first & 0x7F
            raw = data[pos:pos + count]
            if not 1 <= count <= 4 or len(raw) != count or raw[0] == 0:
                raise ValueError("bad DER length")
            size = int.from_bytes(raw, "big")
            if size < 0x80:
                raise ValueError("non-minimal DER length")
            pos += count
        if pos + size > len(data):
            raise ValueError("DER element runs past the end")
        self.pos = pos + size
        return data[pos:pos + size]

    def integer(self) -> int:
        raw = self.read(0x02)
        if not raw or raw[0] & 0x80 or (len(raw) > 1 and raw[0] == 0 and raw[1] < 0x80):
            raise ValueError("not a minimal non-negative DER INTEGER")
        return int.from_bytes(raw, "big")

    def end(self) -> None:
        if self.pos != len(self.data):
            raise ValueError("trailing bytes after DER element")


def _check_algorithm(reader: _Reader) -> None:
    """An AlgorithmIdentifier naming SM2: ecPublicKey+sm2p256v1, or the SM2 OID itself."""
    alg = _Reader(reader.read(0x30))
    oid = alg.element(0x06)
    params = alg.element(0x06) if alg.peek() == 0x06 else None
    alg.end()
    if oid == _EC_PUBLIC_KEY and params == _SM2_CURVE:
        return
    if oid == _SM2_CURVE and params in (None, _SM2_CURVE):
        return
    raise ValueError("the algorithm is not SM2 (id-ecPublicKey on sm2p256v1)")


# -- PEM ----------------------------------------------------------------------------------

_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", re.S)


def _pem(label: str, der: bytes) -> bytes:
    body = base64.b64encode(der)
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return (f"-----BEGIN {label}-----\n".encode() + b"\n".join(lines)
            + f"\n-----END {label}-----\n".encode())


def _unpem(data: bytes) -> tuple[str, bytes]:
    match = _PEM.search(data)
    if match is None:
        raise ValueError("no PEM block")
    if b":" in match.group(2):
        raise ValueError("legacy PEM encryption headers are not supported")
    try:
        der = base64.b64decode(b"".join(match.group(2).split()), validate=True)
    except binascii.Error:
        raise ValueError("bad base64 in PEM block") from None
    return match.group(1).decode("ascii"), der


# -- keys ---------------------------------------------------------------------------------

def _check_point(point: bytes) -> None:
    if len(point) != 65 or point[0] != 0x04:
        raise SM2KeyError(reason="an SM2 public key must be an uncompressed point "
                                 "(65 bytes starting 0x04)")
    x, y = int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")
    # Cofactor 1: a point on the curve (not the identity, which has no affine form here)
    # is in the group of order N.
    if x >= P or y >= P or (y * y - (x * x * x + A * x + B)) % P:
        raise SM2KeyError(reason="the SM2 public key is not a point on sm2p256v1")


@dataclass(frozen=True, slots=True)
class SM2PublicKey:
    """An SM2 public key: the uncompressed point ``04 ‖ x ‖ y`` on sm2p256v1."""

    point: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.point, bytes):
            raise SM2KeyError(reason="an SM2 public key point must be bytes")
        _check_point(self.point)

    @classmethod
    def from_der(cls, der: bytes) -> SM2PublicKey:
        """Read an X.509 ``SubjectPublicKeyInfo`` (DER).

        :raises SM2KeyError: not an SM2 public key.
        """
        try:
            outer = _Reader(der)
            spki = _Reader(outer.read(0x30))
            outer.end()
            _check_algorithm(spki)
            bits = spki.read(0x03)
            spki.end()
        except ValueError as exc:
            raise SM2KeyError(reason=f"not an SM2 SubjectPublicKeyInfo: {exc}") from None
        if not bits or bits[0] != 0:
            raise SM2KeyError(reason="the SM2 public key BIT STRING has unused bits")
        return cls(bits[1:])

    @classmethod
    def from_pem(cls, data: bytes) -> SM2PublicKey:
        """Read a PEM ``PUBLIC KEY``.

        :raises SM2KeyError: no PEM public key, or not an SM2 one.
        """
        try:
            label, der = _unpem(data)
        except ValueError as exc:
            raise SM2KeyError(reason=f"not a PEM public key: {exc}") from None
        if label != "PUBLIC KEY":
            raise SM2KeyError(reason=f"a PEM {label} is not a public key")
        return cls.from_der(der)

    def to_der(self) -> bytes:
        """The X.509 ``SubjectPublicKeyInfo`` DER (id-ecPublicKey, sm2p256v1)."""
        return _seq(_ALGORITHM, _tlv(0x03, b"\x00" + self.point))

    def to_pem(self) -> bytes:
        return _pem("PUBLIC KEY", self.to_der())

    def verify(self, signature: bytes, message: bytes, user_id: bytes = DEFAULT_USER_ID
               ) -> bool:
        """Check an SM2 signature (DER or raw ``r ‖ s``) over ``message`` for ``user_id``."""
        decoded = decode_signature(signature)
        if decoded is None or not user_id:
            return False
        r, s = decoded
        engine = gmalg.SM2(uid=user_id, pk=self.point)
        try:
            return bool(engine.verify(message, r.to_bytes(32, "big"), s.to_bytes(32, "big")))
        except GMError:  # e.g. a user ID longer than 8191 bytes
            return False


@dataclass(frozen=True, slots=True, repr=False)
class SM2PrivateKey:
    """An SM2 private key ``d`` (1 ≤ d ≤ N − 2); its ``repr`` never shows ``d``."""

    secret: int

    def __post_init__(self) -> None:
        if isinstance(self.secret, bool) or not isinstance(self.secret, int) \
                or not 1 <= self.secret <= N - 2:
            raise SM2KeyError(reason="an SM2 private key must be an integer in 1..N-2")

    def __repr__(self) -> str:
        return "SM2PrivateKey(<redacted>)"

    @classmethod
    def generate(cls) -> SM2PrivateKey:
        return cls(1 + secrets.randbelow(N - 2))

    def public_key(self) -> SM2PublicKey:
        point = gmalg.SM2().generate_pk(self.secret.to_bytes(32, "big"))
        return SM2PublicKey(bytes(point))

    def sign(self, message: bytes, user_id: bytes = DEFAULT_USER_ID) -> bytes:
        """The DER SM2 signature over ``message`` (e = SM3(Z ‖ message)) for ``user_id``."""
        if not user_id:
            raise SM2KeyError(reason="the SM2 user ID must not be empty")
        engine = gmalg.SM2(sk=self.secret.to_bytes(32, "big"), uid=user_id,
                           pk=self.public_key().point)
        try:
            r, s = engine.sign(message)
        except GMError as exc:
            raise SM2KeyError(reason=f"cannot sign: {exc}") from None
        return encode_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))

    def to_der(self) -> bytes:
        """PKCS#8 ``PrivateKeyInfo`` (RFC 5915 ``ECPrivateKey`` inside), unencrypted."""
        inner = _seq(_int(1), _octets(self.secret.to_bytes(32, "big")),
                     _tlv(0xA1, _tlv(0x03, b"\x00" + self.public_key().point)))
        return _seq(_int(0), _ALGORITHM, _octets(inner))

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        """PEM PKCS#8, encrypted (PBES2) when a passphrase is given."""
        if passphrase is None:
            return _pem("PRIVATE KEY", self.to_der())
        return _pem("ENCRYPTED PRIVATE KEY", _encrypt(self.to_der(), passphrase))


def _ec_private_key(der: bytes, *, sec1: bool) -> SM2PrivateKey:
    reader = _Reader(der)
    body = _Reader(reader.read(0x30))
    reader.end()
    if body.integer() != 1:
        raise ValueError("unsupported ECPrivateKey version")
    raw = body.read(0x04)
    params = body.read(0xA0) if body.peek() == 0xA0 else None
    public = _Reader(body.read(0xA1)).read(0x03) if body.peek() == 0xA1 else None
    body.end()
    if sec1 and params != _SM2_CURVE:
        raise ValueError("the EC private key is not on the SM2 curve")
    if params is not None and params != _SM2_CURVE:
        raise ValueError("the EC private key names another curve")
    if len(raw) > 32:
        raise ValueError("the SM2 private scalar is longer than 32 bytes")
    key = SM2PrivateKey(int.from_bytes(raw, "big"))
    if public is not None and public != b"\x00" + key.public_key().point:
        raise ValueError("the embedded public key does not match the private key")
    return key


def _pkcs8(der: bytes) -> SM2PrivateKey:
    reader = _Reader(der)
    info = _Reader(reader.read(0x30))
    reader.end()
    if info.integer() not in (0, 1):
        raise ValueError("unsupported PrivateKeyInfo version")
    _check_algorithm(info)
    return _ec_private_key(info.read(0x04), sec1=False)  # attributes after it are ignored


def _encrypt(der: bytes, passphrase: bytes) -> bytes:
    salt, iv = secrets.token_bytes(16), secrets.token_bytes(16)
    key = hashlib.pbkdf2_hmac("sha256", passphrase, salt, _PBKDF2_ITERATIONS, 32)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(der) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    kdf = _seq(_PBKDF2, _seq(_octets(salt), _int(_PBKDF2_ITERATIONS),
                             _seq(_oid("1.2.840.113549.2.9"), _NULL)))
    scheme = _seq(_oid("2.16.840.1.101.3.4.1.42"), _octets(iv))
    return _seq(_seq(_PBES2, _seq(kdf, scheme)), _octets(ciphertext))


def _decrypt(der: bytes, passphrase: bytes) -> bytes:
    reader = _Reader(der)
    info = _Reader(reader.read(0x30))
    reader.end()
    alg = _Reader(info.read(0x30))
    if alg.element(0x06) != _PBES2:
        raise ValueError("only PBES2 encrypted keys are supported")
    params = _Reader(alg.read(0x30))
    kdf = _Reader(params.read(0x30))
    if kdf.element(0x06) != _PBKDF2:
        raise ValueError("only PBKDF2 is supported as the PBES2 key derivation")
    kdf_params = _Reader(kdf.read(0x30))
    salt = kdf_params.read(0x04)
    iterations = kdf_params.integer()
    if kdf_params.peek() == 0x02:
        kdf_params.integer()  # keyLength: implied by the cipher
    prf = "sha1"
    if kdf_params.peek() == 0x30:
        prf_alg = _Reader(kdf_params.read(0x30))
        prf_name = _PRF.get(prf_alg.element(0x06))
        if prf_name is None:
            raise ValueError("unsupported PBKDF2 PRF")
        prf = prf_name
    scheme = _Reader(params.read(0x30))
    size = _AES_CBC.get(scheme.element(0x06))
    if size is None:
        raise ValueError("only AES-CBC is supported as the PBES2 cipher")
    iv = scheme.read(0x04)
    ciphertext = info.read(0x04)
    if not 1 <= iterations <= _MAX_PBKDF2_ITERATIONS or len(iv) != 16 \
            or not ciphertext or len(ciphertext) % 16:
        raise ValueError("bad PBES2 parameters")
    key = hashlib.pbkdf2_hmac(prf, passphrase, salt, iterations, size)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def load_sm2_private_key(data: bytes, passphrase: bytes | None = None) -> SM2PrivateKey:
    """Read an SM2 private key: PEM (``PRIVATE KEY``, ``ENCRYPTED PRIVATE KEY``,
    ``EC PRIVATE KEY`` / ``SM2 PRIVATE KEY``) or PKCS#8 DER.

    :raises SM2KeyError: not an SM2 private key, or the passphrase does not decrypt it.
    """
    try:
        label, der = _unpem(data) if b"-----BEGIN" in data else ("PRIVATE KEY", data)
        if label == "ENCRYPTED PRIVATE KEY":
            if passphrase is None:
                raise ValueError("the key is encrypted; a passphrase is needed")
            try:  # a wrong key may still unpad by chance: then the DER is garbage
                return _pkcs8(_decrypt(der, passphrase))
            except ValueError as exc:
                raise ValueError(f"wrong passphrase (or a damaged file): {exc}") from None
        if label in ("EC PRIVATE KEY", "SM2 PRIVATE KEY"):  # SEC1; OpenSSL 3 says "SM2"
            return _ec_private_key(der, sec1=True)
        if label != "PRIVATE KEY":
            raise ValueError(f"a PEM {label} is not a private key")
        return _pkcs8(der)
    except ValueError as exc:
        raise SM2KeyError(reason=f"not an SM2 private key: {exc}") from None


# -- signatures ---------------------------------------------------------------------------

def encode_signature(r: int, s: int) -> bytes:
    """DER ``SEQUENCE { INTEGER r, INTEGER s }``."""
    return _seq(_int(r), _int(s))


def decode_signature(signature: bytes) -> tuple[int, int] | None:
    """``(r, s)`` from a DER signature or a raw 64-byte ``r ‖ s``; ``None`` when neither."""
    decoded: tuple[int, int] | None = None
    if signature[:1] == b"\x30":
        try:
            outer = _Reader(signature)
            body = _Reader(outer.read(0x30))
            outer.end()
            decoded = body.integer(), body.integer()
            body.end()
        except ValueError:
            decoded = None
    if decoded is None and len(signature) == 64:
        decoded = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if decoded is None or not (1 <= decoded[0] < N and 1 <= decoded[1] < N):
        return None
    return decoded
