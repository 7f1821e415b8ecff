"""HS_ADMIN data (``handle-protocol.md`` §6.2): ``int2`` permissions, admin handle, ``int4`` index.

Permissions have two text forms: the REST JSON string is the 12 bits MSB-first
(``"011111110011"`` = ``0x7F3``), the CNRI batch-file string is LSB-first (``"110011111110"``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from idnode.errors import InvalidValue
from idnode.protocol.wire import Parser, Writer

__all__ = ["ALL_PERMISSIONS", "AdminData", "AdminPerm"]


class AdminPerm(enum.IntFlag):
    ADD_HANDLE = 0x001
    DELETE_HANDLE = 0x002
    ADD_DERIVED_PREFIX = 0x004
    DELETE_DERIVED_PREFIX = 0x008
    MODIFY_VALUE = 0x010
    REMOVE_VALUE = 0x020
    ADD_VALUE = 0x040
    MODIFY_ADMIN = 0x080
    REMOVE_ADMIN = 0x100
    ADD_ADMIN = 0x200
    READ_VALUE = 0x400
    LIST_HANDLES = 0x800


ALL_PERMISSIONS = 0x0FFF


def _bits_to_int(text: str, msb_first: bool) -> int:
    bits = text.strip()
    if len(bits) != 12 or set(bits) - {"0", "1"}:
        raise InvalidValue(reason=f"admin permissions {text!r} must be 12 characters of 0/1")
    return int(bits if msb_first else bits[::-1], 2)


@dataclass(frozen=True, slots=True)
class AdminData:
    """An administrator entry: ``index:handle`` holds ``permissions`` over the record.

    :ivar legacy_tail: the 2 extra trailing bytes of legacy records, kept for round trips.
    """

    permissions: int
    handle: str
    index: int
    legacy_tail: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.permissions <= 0xFFFF:
            raise InvalidValue(reason=f"admin permissions {self.permissions} out of range")
        if not 0 <= self.index <= 0xFFFF_FFFF:
            raise InvalidValue(reason=f"admin index {self.index} out of range")

    def has(self, perm: AdminPerm | int) -> bool:
        return (self.permissions & perm) == perm

    @property
    def permissions_text(self) -> str:
        """12 bits MSB-first, the REST JSON form."""
        return format(self.permissions & ALL_PERMISSIONS, "012b")

    @property
    def batch_permissions_text(self) -> str:
        """12 bits LSB-first, the CNRI batch-file form."""
        return self.permissions_text[::-1]

    @staticmethod
    def permissions_from_text(text: str) -> int:
        return _bits_to_int(text, msb_first=True)

    @staticmethod
    def permissions_from_batch_text(text: str) -> int:
        return _bits_to_int(text, msb_first=False)

    @classmethod
    def from_wire_parser(cls, parser: Parser) -> AdminData:
        permissions = parser.get_uint16()
        handle = parser.get_string()
        index = parser.get_uint32()
        tail = parser.get_remaining()
        if len(tail) not in (0, 2):
            raise parser.error(f"HS_ADMIN has {len(tail)} trailing bytes")
        return cls(permissions, handle, index, tail)

    @classmethod
    def from_bytes(cls, data: bytes) -> AdminData:
        return cls.from_wire_parser(Parser(data, "HS_ADMIN"))

    def to_bytes(self) -> bytes:
        writer = Writer()
        writer.put_uint16(self.permissions)
        writer.put_string(self.handle)
        writer.put_uint32(self.index)
        writer.put_bytes(self.legacy_tail)
        return writer.getvalue()
