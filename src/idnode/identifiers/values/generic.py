"""The fallback for value types without a typed decoder: the data bytes, kept as they are.

Any byte string decodes, and :meth:`GenericData.to_bytes` returns it unchanged, so values of
types idnode does not know (and malformed text values) round-trip byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass

from idnode.errors import InvalidValue
from idnode.protocol.wire import Parser

__all__ = ["GenericData"]


@dataclass(frozen=True, slots=True)
class GenericData:
    """Opaque value data."""

    data: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes):
            raise InvalidValue(reason=f"data must be bytes, got {type(self.data).__name__}")

    @classmethod
    def from_wire_parser(cls, parser: Parser) -> GenericData:
        """Take the rest of the parser's scope."""
        return cls(parser.get_remaining())

    @classmethod
    def from_bytes(cls, data: bytes) -> GenericData:
        return cls(bytes(data))

    def to_bytes(self) -> bytes:
        return self.data
