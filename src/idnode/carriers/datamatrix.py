"""Data Matrix (ECC 200) with ppf.datamatrix.

ppf.datamatrix encodes ASCII only, choosing the shortest of its ASCII, C40, Text, X12 and
EDIFACT encodations. Non-ASCII text (a bare identifier with hanzi) goes through our own
encodation, plugged in the way ppf plugs in its own (a Python codec that yields codewords):
ECI 26 (UTF-8), then ASCII codewords, with Upper Shift for bytes ≥ 128.
"""

from __future__ import annotations

import codecs

from ppf.datamatrix import DataMatrix

from idnode.carriers.errors import CapacityExceeded, CarrierError
from idnode.carriers.symbol import Symbol

__all__ = ["DM_CAPACITY", "DM_QUIET_ZONE", "datamatrix_codewords", "datamatrix_symbol"]

#: Data codewords of the largest square symbol ppf.datamatrix makes (144×144).
DM_CAPACITY = 1558
#: ISO/IEC 16022 asks for one module; two leave room for printing tolerances.
DM_QUIET_ZONE = 2
_PPF_CODECS = ("ascii", "C40", "text", "X12", "edifact")
_UTF8_CODEC = "idnode.datamatrix.utf8"
_ECI, _ECI_UTF8, _UPPER_SHIFT = 241, 27, 235  # ECI 26 is sent as 26 + 1


def _utf8_codewords(text: str, errors: str = "strict") -> tuple[bytes, int]:
    data = text.encode("utf-8")
    out = [_ECI, _ECI_UTF8]
    i = 0
    while i < len(data):
        byte = data[i]
        if 0x30 <= byte <= 0x39 and i + 1 < len(data) and 0x30 <= data[i + 1] <= 0x39:
            out.append(130 + (byte - 0x30) * 10 + data[i + 1] - 0x30)  # a digit pair
            i += 2
            continue
        out.extend((byte + 1,) if byte < 0x80 else (_UPPER_SHIFT, byte - 0x80 + 1))
        i += 1
    return bytes(out), len(text)


def _no_decode(data: object, errors: str = "strict", /) -> tuple[str, int]:
    raise NotImplementedError("decoding is zxing-cpp's job")


def _search(name: str) -> codecs.CodecInfo | None:
    if name == _UTF8_CODEC:
        return codecs.CodecInfo(_utf8_codewords, _no_decode, name=_UTF8_CODEC)
    return None


codecs.register(_search)


def _symbol_codecs(content: str) -> list[str]:
    if content.isascii():
        return ["datamatrix." + name for name in _PPF_CODECS]
    return [_UTF8_CODEC]


def datamatrix_codewords(content: str) -> int:
    """Data codewords ``content`` needs (the shortest encodation ppf would pick)."""
    lengths = []
    for codec in _symbol_codecs(content):
        try:
            lengths.append(len(content.encode(codec)))
        except (ValueError, UnicodeError):
            continue  # not representable in this encodation
    return min(lengths)


def datamatrix_symbol(content: str, *, quiet_zone: int = DM_QUIET_ZONE) -> Symbol:
    """The smallest square Data Matrix holding ``content``.

    :raises CapacityExceeded: more than :data:`DM_CAPACITY` data codewords.
    """
    if quiet_zone < 0:
        raise CarrierError(reason="the quiet zone cannot be negative")
    if not content:
        raise CarrierError(reason="nothing to encode")
    needed = datamatrix_codewords(content)
    if needed > DM_CAPACITY:
        raise CapacityExceeded(
            what="the content", carrier="a Data Matrix (144×144, the largest square symbol)",
            needed=needed, capacity=DM_CAPACITY, unit="data codewords",
            hint="a codeword holds one ASCII character, two digits, or about 1.5 characters "
                 "of upper- or lower-case text; a non-ASCII byte takes two")
    symbol = DataMatrix(content)
    symbol.codecs = _symbol_codecs(content)  # ppf's constructor only accepts its own names
    matrix = symbol.matrix
    modules = tuple(tuple(bool(m) for m in row) for row in matrix)
    return Symbol("datamatrix", content, modules, quiet_zone, f"{len(matrix[0])}×{len(matrix)}")
