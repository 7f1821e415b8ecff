"""HS_VLIST data (``handle-protocol.md`` §6.3): an admin group, ``int4 n`` + n * (handle, index).

Membership is recursive: a member may itself be an HS_VLIST value.
"""

from __future__ import annotations

from dataclasses import dataclass

from idnode.identifiers.value import Reference
from idnode.protocol.wire import Parser, Writer

__all__ = ["VListData"]


@dataclass(frozen=True, slots=True)
class VListData:
    members: tuple[Reference, ...]

    @classmethod
    def from_wire_parser(cls, parser: Parser) -> VListData:
        count = parser.get_count(8)
        members = tuple(Reference(parser.get_string(), parser.get_uint32())
                        for _ in range(count))
        return cls(members)

    @classmethod
    def from_bytes(cls, data: bytes) -> VListData:
        parser = Parser(data, "HS_VLIST")
        value = cls.from_wire_parser(parser)
        parser.expect_end()
        return value

    def to_bytes(self) -> bytes:
        writer = Writer()
        writer.put_uint32(len(self.members))
        for member in self.members:
            writer.put_string(member.handle)
            writer.put_uint32(member.index)
        return writer.getvalue()
