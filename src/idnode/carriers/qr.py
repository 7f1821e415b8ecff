"""QR codes with segno.

Byte mode for URLs; a bare identifier with non-ASCII characters is encoded as UTF-8 behind an
ECI 26 designator, because without one segno picks Shift_JIS for hanzi it can map, which phone
readers then show as mojibake.
"""

from __future__ import annotations

import segno

from idnode.carriers.errors import CapacityExceeded, CarrierError
from idnode.carriers.symbol import Symbol

__all__ = ["ERROR_LEVELS", "QR_CAPACITY", "QR_QUIET_ZONE", "qr_symbol"]

#: Error-correction levels (share of codewords that can be restored): L 7 %, M 15 %, Q 25 %,
#: H 30 %. M is the usual choice for printed URLs; Q/H for labels that get scuffed.
ERROR_LEVELS = ("L", "M", "Q", "H")
#: Characters a version-40 symbol holds, by mode and level (ISO/IEC 18004 table 7); byte
#: mode holds one byte less behind an ECI designator.
QR_CAPACITY = {
    "numeric": {"L": 7089, "M": 5596, "Q": 3993, "H": 3057},
    "alphanumeric": {"L": 4296, "M": 3391, "Q": 2420, "H": 1852},
    "byte": {"L": 2953, "M": 2331, "Q": 1663, "H": 1273},
}
#: The quiet zone ISO/IEC 18004 requires: 4 modules.
QR_QUIET_ZONE = 4
_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def _mode(content: str) -> str:
    # segno encodes a single segment in the most compact mode that covers all of it.
    if content.isdigit() and content.isascii():
        return "numeric"
    if set(content) <= _ALPHANUMERIC:
        return "alphanumeric"
    return "byte"


def qr_symbol(content: str, *, error: str = "M", boost_error: bool = True,
              quiet_zone: int = QR_QUIET_ZONE) -> Symbol:
    """The smallest QR code holding ``content`` at error level ``error`` or better.

    With ``boost_error`` the level is raised as far as it goes without a larger version
    (segno's rule), so the symbol is never bigger than level ``error`` needs.

    :raises CapacityExceeded: more than :data:`QR_CAPACITY` allows for the mode and level.
    :raises CarrierError: an unknown level or a negative quiet zone.
    """
    level = error.upper()
    if level not in ERROR_LEVELS:
        raise CarrierError(reason=f"QR error-correction level {error!r}: use L, M, Q or H")
    if quiet_zone < 0:
        raise CarrierError(reason="the quiet zone cannot be negative")
    wide = not content.isascii()
    try:
        if wide:
            qr = segno.make_qr(content, error=level, mode="byte", encoding="utf-8", eci=True,
                               boost_error=boost_error)
        else:
            qr = segno.make_qr(content, error=level, boost_error=boost_error)
    except segno.DataOverflowError:
        mode = _mode(content)
        table = QR_CAPACITY[mode]
        eci = 1 if wide else 0
        larger = [f"{lv} {table[lv] - eci}" for lv in ERROR_LEVELS if table[lv] > table[level]]
        hint = "a lower error-correction level holds more: " + ", ".join(larger) \
            if larger else ""
        unit = "bytes" if mode == "byte" else "characters"
        needed = len(content.encode("utf-8")) if mode == "byte" else len(content)
        raise CapacityExceeded(
            what="the content", carrier=f"a QR code (version 40, level {level}, {mode} mode"
            + (", UTF-8 ECI" if wide else "") + ")",
            needed=needed, capacity=table[level] - eci, unit=unit, hint=hint) from None
    modules = tuple(tuple(bool(m) for m in row) for row in qr.matrix)
    return Symbol("qr", content, modules, quiet_zone, f"version {qr.version}-{qr.error}")
