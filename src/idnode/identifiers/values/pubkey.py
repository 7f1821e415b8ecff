"""HS_PUBKEY data (``handle-protocol.md`` §6.4).

Layout: key type (UTF8-String), ``int2`` flags, then the key's components as byte arrays:
RSA = exponent, modulus; DSA = q, p, g, y. Integers are two's-complement big-endian, as Java's
``BigInteger.toByteArray`` writes them (a leading zero byte when the top bit is set).

Other key types (``DH_PUB_KEY``, the IDIS ``SM2_PUB_KEY``) keep their remaining bytes opaque in
``extra`` so they round-trip unchanged. Conversion to and from ``cryptography`` key objects is
in :mod:`idnode.auth.keys` (this package uses only the standard library).
"""

from __future__ import annotations

from dataclasses import dataclass

from idnode.protocol.wire import Parser, Writer

__all__ = ["DSA_PUB_KEY", "RSA_PUB_KEY", "PublicKeyData", "int_from_java", "int_to_java"]

RSA_PUB_KEY = "RSA_PUB_KEY"
DSA_PUB_KEY = "DSA_PUB_KEY"
_COMPONENTS = {RSA_PUB_KEY: 2, DSA_PUB_KEY: 4}


def int_to_java(value: int) -> bytes:
    """Two's-complement big-endian bytes of a non-negative int (Java ``toByteArray``)."""
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def int_from_java(data: bytes) -> int:
    return int.from_bytes(data, "big", signed=True)


@dataclass(frozen=True, slots=True)
class PublicKeyData:
    """A parsed HS_PUBKEY value.

    :ivar key_type: ``RSA_PUB_KEY``, ``DSA_PUB_KEY`` or another type name.
    :ivar components: RSA (exponent, modulus); DSA (q, p, g, y); empty for other types.
    :ivar extra: bytes after the flags for key types without known components.
    """

    key_type: str
    flags: int = 0
    components: tuple[bytes, ...] = ()
    extra: bytes = b""

    @classmethod
    def rsa(cls, exponent: int, modulus: int) -> PublicKeyData:
        return cls(RSA_PUB_KEY, 0, (int_to_java(exponent), int_to_java(modulus)))

    @classmethod
    def dsa(cls, q: int, p: int, g: int, y: int) -> PublicKeyData:
        return cls(DSA_PUB_KEY, 0, tuple(int_to_java(v) for v in (q, p, g, y)))

    def ints(self) -> tuple[int, ...]:
        return tuple(int_from_java(c) for c in self.components)

    @classmethod
    def from_wire_parser(cls, parser: Parser) -> PublicKeyData:
        key_type = parser.get_string()
        flags = parser.get_uint16()
        count = _COMPONENTS.get(key_type)
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
