"""Text-valued data (``handle-protocol.md`` §6.1): URL, EMAIL, HS_SERV, HS_ALIAS, 10320/LOC, ….

The data is UTF-8 text without a length prefix. Decoding is strict: bytes that are not UTF-8
raise :class:`~idnode.errors.ProtocolError` here, and the registry then keeps them as
:class:`~idnode.identifiers.values.generic.GenericData` so a stored value never fails to load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from idnode.errors import InvalidValue
from idnode.protocol.wire import Parser

__all__ = ["TextData"]


@dataclass(frozen=True, slots=True)
class TextData:
    """The data of a text-valued type.

    :ivar text: the text; it must be encodable as UTF-8 (no lone surrogates).
    """

    text: str

    #: tells the registry to keep undecodable bytes as generic data instead of rejecting them.
    fallback_to_generic: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise InvalidValue(reason=f"text data must be a str, got {type(self.text).__name__}")
        try:
            self.text.encode("utf-8")
        except UnicodeEncodeError:
            reason = "text contains a lone surrogate (not UTF-8 encodable)"
            raise InvalidValue(reason=reason) from None

    @classmethod
    def from_wire_parser(cls, parser: Parser) -> TextData:
        """Read the rest of the parser's scope as UTF-8 text."""
        start = parser.position
        raw = parser.get_remaining()
        try:
            return cls(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise parser.error(f"text is not valid UTF-8 (byte {start + exc.start})") from None

    @classmethod
    def from_bytes(cls, data: bytes) -> TextData:
        return cls.from_wire_parser(Parser(data, "text data"))

    def to_bytes(self) -> bytes:
        return self.text.encode("utf-8")
