"""HS_PUBKEY data (``handle-protocol.md`` §6.4).

Layout: key type (UTF8-String), ``int2`` flags, then the key's components as byte arrays:
RSA = exponent, modulus; DSA = q, p, g, y. Integers are two's-complement big-endian, as Java's
``BigInteger.toByteArray`` writes them (a leading zero byte when the top bit is set).

The IDIS ``SM2_PUB_KEY`` (``idis.md`` §4.5) has one component: a byte array holding the key's
X.509 ``SubjectPublicKeyInfo`` DER (id-ecPublicKey on sm2p256v1, uncompressed point). That is
what ``teleinfo-dev/id-pointer-sdk`` writes (``core/Common.java`` names the type,
``core/UtilTest.java`` builds the value from ``getPublic().getEncoded()``,
``security/gm/SM2KeyFactorySpi.java`` reads it as an ``X509EncodedKeySpec``). An
``SM2_PUB_KEY`` whose remaining bytes are not exactly one byte array is kept opaque in
``extra`` instead, so a value written some other way still round-trips unchanged.

Other key types (``DH_PUB_KEY`` …) keep their remaining bytes opaque in ``extra`` so they
round-trip unchanged. Conversion to and from key objects (and the DER inside an SM2 key) is
in :mod:`idnode.auth.keys` (this package uses only the standard library).

The REST JSON format ``key`` is a JWK (RFC 7517/7518): RSA ``{"kty","n","e"}``, DSA
``{"kty","p","q","g","y"}``, each member the unsigned big-endian integer in base64url without
padding (:meth:`PublicKeyData.to_jwk`, :meth:`PublicKeyData.from_jwk`). SM2 keys use the
form CAICT's IDIS SDK writes (``JsonWorker.PublicKeyTypeAdapter``): ``{"kty":"SM2","x","y"}``
with the 32-byte coordinates; only an SM2 key in the standard SubjectPublicKeyInfo layout
(:data:`SM2_SPKI_PREFIX` + uncompressed point) has one.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from idnode.errors import InvalidValue, RegistryError
from idnode.protocol.wire import Parser, Writer

__all__ = ["DSA_PUB_KEY", "RSA_PUB_KEY", "SM2_PUB_KEY", "SM2_SPKI_PREFIX", "PublicKeyData",
           "int_from_java", "int_to_java"]

RSA_PUB_KEY = "RSA_PUB_KEY"
DSA_PUB_KEY = "DSA_PUB_KEY"
SM2_PUB_KEY = "SM2_PUB_KEY"
_COMPONENTS = {RSA_PUB_KEY: 2, DSA_PUB_KEY: 4, SM2_PUB_KEY: 1}
#: DER before the uncompressed point in an SM2 SubjectPublicKeyInfo (id-ecPublicKey,
#: sm2p256v1), as BouncyCastle and OpenSSL write it.
SM2_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d03420004")


def int_to_java(value: int) -> bytes:
    """Two's-complement big-endian bytes of a non-negative int (Java ``toByteArray``)."""
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def int_from_java(data: bytes) -> int:
    return int.from_bytes(data, "big", signed=True)


# JWK member names per key type, and their position in ``components``.
_JWK_MEMBERS = {
    RSA_PUB_KEY: ("RSA", (("n", 1), ("e", 0))),
    DSA_PUB_KEY: ("DSA", (("p", 1), ("q", 0), ("g", 2), ("y", 3))),
}
_BASE64URL = re.compile(r"[A-Za-z0-9_\-+/]*={0,2}")


def _b64url_encode(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_int(name: str, text: object) -> int:
    # Lenient like the JWK readers in the wild: either alphabet, padding optional.
    if not isinstance(text, str) or not text or not _BASE64URL.fullmatch(text):
        raise InvalidValue(reason=f"JWK member {name!r} is not a base64url string")
    stripped = text.rstrip("=").replace("+", "-").replace("/", "_")
    try:
        raw = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        raise InvalidValue(reason=f"JWK member {name!r} is not valid base64url") from None
    if not raw:
        raise InvalidValue(reason=f"JWK member {name!r} is empty")
    return int.from_bytes(raw, "big")


@dataclass(frozen=True, slots=True)
class PublicKeyData:
    """A parsed HS_PUBKEY value.

    :ivar key_type: ``RSA_PUB_KEY``, ``DSA_PUB_KEY``, ``SM2_PUB_KEY`` or another type name.
    :ivar components: RSA (exponent, modulus); DSA (q, p, g, y); SM2 (SubjectPublicKeyInfo
        DER,); empty for other types and for an SM2 key of unknown layout.
    :ivar extra: bytes after the flags for key types without known components.
    """

    key_type: str
    flags: int = 0
    components: tuple[bytes, ...] = ()
    extra: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.key_type, str):
            raise InvalidValue(reason="public key type must be a str")
        if (isinstance(self.flags, bool) or not isinstance(self.flags, int)
                or not 0 <= self.flags <= 0xFFFF):
            raise InvalidValue(reason=f"public key flags {self.flags!r} out of range 0..65535")
        if (not isinstance(self.components, tuple)
                or not all(isinstance(c, bytes) for c in self.components)
                or not isinstance(self.extra, bytes)):
            raise InvalidValue(reason="public key components and extra must be bytes")
        count = _COMPONENTS.get(self.key_type, 0)
        if self.key_type == SM2_PUB_KEY and not self.components:
            count = 0  # an SM2 key of unknown layout, opaque in ``extra``
        if len(self.components) != count:
            raise InvalidValue(reason=f"{self.key_type or 'untyped'} public key needs "
                                      f"{count} components, got {len(self.components)}")
        if count and self.extra:
            raise InvalidValue(reason=f"{self.key_type} public key has extra bytes")

    @classmethod
    def rsa(cls, exponent: int, modulus: int) -> PublicKeyData:
        return cls(RSA_PUB_KEY, 0, (int_to_java(exponent), int_to_java(modulus)))

    @classmethod
    def dsa(cls, q: int, p: int, g: int, y: int) -> PublicKeyData:
        return cls(DSA_PUB_KEY, 0, tuple(int_to_java(v) for v in (q, p, g, y)))

    @classmethod
    def sm2(cls, subject_public_key_info: bytes) -> PublicKeyData:
        """An ``SM2_PUB_KEY`` holding the key's X.509 SubjectPublicKeyInfo DER."""
        return cls(SM2_PUB_KEY, 0, (subject_public_key_info,))

    def ints(self) -> tuple[int, ...]:
        return tuple(int_from_java(c) for c in self.components)

    def to_jwk(self) -> dict[str, str] | None:
        """The key as a JWK, or None when it has no JWK form.

        Only RSA and DSA keys with positive components have one; other key types are shown
        as base64 by the REST layer.
        """
        if self.key_type == SM2_PUB_KEY:
            spki = self.components[0] if self.components else b""
            if len(spki) != len(SM2_SPKI_PREFIX) + 64 or not spki.startswith(SM2_SPKI_PREFIX):
                return None
            point = spki[len(SM2_SPKI_PREFIX):]
            return {"kty": "SM2",
                    "x": base64.urlsafe_b64encode(point[:32]).rstrip(b"=").decode("ascii"),
                    "y": base64.urlsafe_b64encode(point[32:]).rstrip(b"=").decode("ascii")}
        spec = _JWK_MEMBERS.get(self.key_type)
        if spec is None:
            return None
        kty, members = spec
        ints = self.ints()
        if any(value <= 0 for value in ints):
            return None
        jwk = {"kty": kty}
        for name, position in members:
            jwk[name] = _b64url_encode(ints[position])
        return jwk

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> PublicKeyData:
        """Build an RSA, DSA or SM2 key from a JWK (``kty`` compared case-insensitively).

        :raises InvalidValue: not a JSON object, unknown ``kty``, or a member missing or not
            base64url.
        """
        if not isinstance(jwk, Mapping):
            raise InvalidValue(reason=f"JWK must be an object, got {type(jwk).__name__}")
        kty = jwk.get("kty")
        if isinstance(kty, str) and kty.upper() == "SM2":
            coordinates = []
            for member in ("x", "y"):
                if member not in jwk:
                    raise InvalidValue(reason=f"JWK member {member!r} is missing")
                value = _b64url_int(member, jwk[member])
                if value.bit_length() > 256:
                    raise InvalidValue(reason=f"JWK member {member!r} is longer than 32 bytes")
                coordinates.append(value.to_bytes(32, "big"))
            return cls.sm2(SM2_SPKI_PREFIX + b"".join(coordinates))
        for key_type, (name, members) in _JWK_MEMBERS.items():
            if isinstance(kty, str) and kty.upper() == name:
                ints = [0] * len(members)
                for member, position in members:
                    if member not in jwk:
                        raise InvalidValue(reason=f"JWK member {member!r} is missing")
                    ints[position] = _b64url_int(member, jwk[member])
                return cls(key_type, 0, tuple(int_to_java(v) for v in ints))
        raise InvalidValue(reason=f"JWK kty {kty!r} is not 'RSA' or 'DSA' (nor 'SM2')")

    @classmethod
    def from_wire_parser(cls, parser: Parser) -> PublicKeyData:
        key_type = parser.get_string()
        flags = parser.get_uint16()
        count = _COMPONENTS.get(key_type)
        if key_type == SM2_PUB_KEY:
            rest = parser.get_remaining()
            inner = Parser(rest, "SM2_PUB_KEY")
            try:
                der = inner.get_counted_bytes()
                inner.expect_end()
            except RegistryError:
                return cls(key_type, flags, (), rest)
            return cls(key_type, flags, (der,))
        if count is None:
            return cls(key_type, flags, (), parser.get_remaining())
        return cls(key_type, flags, tuple(parser.get_counted_bytes() for _ in range(count)))

    @classmethod
    def from_bytes(cls, data: bytes) -> PublicKeyData:
        parser = Parser(data, "HS_PUBKEY")
        key = cls.from_wire_parser(parser)
        parser.expect_end()
        return key

    def to_bytes(self) -> bytes:
        writer = Writer()
        writer.put_string(self.key_type)
        writer.put_uint16(self.flags)
        for component in self.components:
            writer.put_counted_bytes(component)
        writer.put_bytes(self.extra)
        return writer.getvalue()
