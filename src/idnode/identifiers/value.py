"""A handle value (``handle-protocol.md`` §5) and its wire codec.

The value carries its ``data`` as raw bytes; typed views (HS_ADMIN, HS_SITE, …) live in
:mod:`idnode.identifiers.values` and are decoded only when something needs them, so unknown
types round-trip byte for byte and the hot resolution path never parses data.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field

from idnode.errors import InvalidValue
from idnode.protocol.wire import Parser, Writer

__all__ = [
    "NO_REFERENCES",
    "PERM_ADMIN_READ",
    "PERM_ADMIN_WRITE",
    "PERM_DEFAULT",
    "PERM_PUBLIC_READ",
    "PERM_PUBLIC_WRITE",
    "PERM_SECRET",
    "TTL_ABSOLUTE",
    "TTL_RELATIVE",
    "HandleValue",
    "Reference",
    "decode_values",
    "encode_values",
    "wire_head",
]

PERM_ADMIN_READ = 0x08
PERM_ADMIN_WRITE = 0x04
PERM_PUBLIC_READ = 0x02
PERM_PUBLIC_WRITE = 0x01
#: admin read + admin write + public read: an ordinary value.
PERM_DEFAULT = 0x0E
#: admin read + admin write: HS_SECKEY and other secrets.
PERM_SECRET = 0x0C

TTL_RELATIVE = 0
TTL_ABSOLUTE = 1
DEFAULT_TTL = 86400

_FIXED = struct.Struct(">IIBIB")  # index, timestamp, ttlType, ttl, permissions
_U32 = struct.Struct(">I")
#: what a value's wire form ends with when it has no references (a zero count)
NO_REFERENCES = bytes(4)
_U32_MAX = 0xFFFF_FFFF


@dataclass(frozen=True, slots=True)
class Reference:
    """A reference from a value to ``index:handle``."""

    handle: str
    index: int

    def __post_init__(self) -> None:
        if not 0 <= self.index <= _U32_MAX:
            raise InvalidValue(reason=f"reference index {self.index} out of range")


def _u32(name: str, value: int) -> None:
    if not 0 <= value <= _U32_MAX:
        raise InvalidValue(reason=f"{name} {value} is not an unsigned 32-bit number")


@dataclass(frozen=True, slots=True)
class HandleValue:
    """One value of a handle record. Immutable and validated on construction.

    :ivar index: the value's index (unique within the handle).
    :ivar type: the value type, e.g. ``URL`` or ``HS_ADMIN``.
    :ivar data: the value's data bytes, in the type's wire layout.
    :ivar ttl_type: :data:`TTL_RELATIVE` (seconds) or :data:`TTL_ABSOLUTE` (unix time).
    :ivar permissions: the four permission bits (``PERM_*``); the full byte round-trips.
    """

    index: int
    type: str
    data: bytes
    ttl_type: int = TTL_RELATIVE
    ttl: int = DEFAULT_TTL
    timestamp: int = 0
    permissions: int = PERM_DEFAULT
    references: tuple[Reference, ...] = field(default=())

    def __post_init__(self) -> None:
        _u32("index", self.index)
        _u32("ttl", self.ttl)
        _u32("timestamp", self.timestamp)
        if self.ttl_type not in (TTL_RELATIVE, TTL_ABSOLUTE):
            raise InvalidValue(reason=f"ttl type {self.ttl_type} is neither 0 nor 1")
        if not 0 <= self.permissions <= 0xFF:
            raise InvalidValue(reason=f"permissions {self.permissions} out of range")
        if not isinstance(self.data, bytes):
            raise InvalidValue(reason="data must be bytes")

    # -- convenience ------------------------------------------------------------------
    @property
    def public_read(self) -> bool:
        return bool(self.permissions & PERM_PUBLIC_READ)

    @property
    def admin_read(self) -> bool:
        return bool(self.permissions & PERM_ADMIN_READ)

    def matches_type(self, wanted: str) -> bool:
        """Type filter rule: exact (ASCII case-insensitive) or ``X.`` matches ``X.*``."""
        if wanted.endswith("."):
            return self.type.upper().startswith(wanted.upper())
        return self.type.upper() == wanted.upper()

    def with_timestamp(self, timestamp: int | None = None) -> HandleValue:
        """A copy stamped with ``timestamp`` (now by default)."""
        stamp = int(time.time()) if timestamp is None else timestamp
        return HandleValue(self.index, self.type, self.data, self.ttl_type, self.ttl, stamp,
                           self.permissions, self.references)

    def text(self) -> str:
        """The data as UTF-8 text (replacement characters for invalid bytes)."""
        return self.data.decode("utf-8", "replace")

    # -- wire -------------------------------------------------------------------------
    def to_wire(self) -> bytes:
        if not self.references:  # the common case, in one step: stores encode every value
            kind = self.type.encode("utf-8")
            return b"".join((_FIXED.pack(self.index, self.timestamp, self.ttl_type, self.ttl,
                                         self.permissions), _U32.pack(len(kind)), kind,
                             _U32.pack(len(self.data)), self.data, NO_REFERENCES))
        writer = Writer()
        self.write(writer)
        return writer.getvalue()

    def write(self, writer: Writer) -> None:
        writer.put_bytes(_FIXED.pack(self.index, self.timestamp, self.ttl_type, self.ttl,
                                     self.permissions))
        writer.put_string(self.type)
        writer.put_counted_bytes(self.data)
        writer.put_uint32(len(self.references))
        for ref in self.references:
            writer.put_string(ref.handle)
            writer.put_uint32(ref.index)

    @classmethod
    def from_wire_parser(cls, parser: Parser) -> HandleValue:
        """Read one value; raises :class:`~idnode.errors.ProtocolError` on bad bytes."""
        index = parser.get_uint32()
        timestamp = parser.get_uint32()
        ttl_type = parser.get_uint8()
        ttl = parser.get_uint32()
        permissions = parser.get_uint8()
        type_ = parser.get_string()
        data = parser.get_counted_bytes()
        nrefs = parser.get_count(8)
        refs = tuple(Reference(parser.get_string(), parser.get_uint32()) for _ in range(nrefs))
        if ttl_type not in (TTL_RELATIVE, TTL_ABSOLUTE):
            raise parser.error(f"value {index}: ttl type {ttl_type} is neither 0 nor 1")
        return cls(index, type_, data, ttl_type, ttl, timestamp, permissions, refs)

    @classmethod
    def from_wire(cls, data: bytes) -> HandleValue:
        parser = Parser(data, "handle value")
        value = cls.from_wire_parser(parser)
        parser.expect_end()
        return value


def wire_head(index: int, type_: str, timestamp: int) -> bytes:
    """What :meth:`HandleValue.to_wire` writes before the data's length for a value with the
    default TTL and permissions; then come the length, the data and, without references,
    :data:`NO_REFERENCES`. For callers that make the wire forms of many such values (made
    once per index, type and timestamp)."""
    kind = type_.encode("utf-8")
    return _FIXED.pack(index, timestamp, TTL_RELATIVE, DEFAULT_TTL, PERM_DEFAULT) + \
        _U32.pack(len(kind)) + kind


def encode_values(values: tuple[HandleValue, ...] | list[HandleValue]) -> bytes:
    """``int4 n`` + n values, the layout used in bodies and in storage."""
    writer = Writer()
    writer.put_uint32(len(values))
    for value in values:
        value.write(writer)
    return writer.getvalue()


def decode_values(parser: Parser, limit: int) -> tuple[HandleValue, ...]:
    """Read ``int4 n`` + n values; ``limit`` bounds n."""
    count = parser.get_count(26, limit)  # 14 fixed + three int4 lengths/counts
    return tuple(HandleValue.from_wire_parser(parser) for _ in range(count))
