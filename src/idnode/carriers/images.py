"""One call from an identifier to a printable QR code or Data Matrix (PNG or SVG bytes)."""

from __future__ import annotations

from idnode.carriers.content import DEFAULT_PROXY, carrier_text
from idnode.carriers.datamatrix import DM_QUIET_ZONE, datamatrix_symbol
from idnode.carriers.errors import CarrierError
from idnode.carriers.qr import QR_QUIET_ZONE, qr_symbol
from idnode.carriers.raster import symbol_png
from idnode.carriers.svg import symbol_svg
from idnode.carriers.symbol import Symbol

__all__ = ["KINDS", "carrier_symbol", "datamatrix_png", "datamatrix_svg", "qr_png", "qr_svg"]

#: Symbologies: ``qr`` and ``datamatrix``.
KINDS = ("qr", "datamatrix")


def carrier_symbol(identifier: str, kind: str = "qr", *, proxy: str = DEFAULT_PROXY,
                   raw: bool = False, error: str = "M", quiet_zone: int | None = None) -> Symbol:
    """The symbol for ``identifier``: its proxy URL (or, ``raw``, itself) as ``kind``.

    :param error: the QR error-correction level (L, M, Q, H); Data Matrix has one, fixed.
    :param quiet_zone: modules of margin; default 4 for QR, 2 for Data Matrix.
    :raises CarrierError: not a handle, bad proxy or options.
    :raises CapacityExceeded: the content does not fit the largest symbol.
    """
    content = carrier_text(identifier, proxy=proxy, raw=raw)
    if kind == "qr":
        return qr_symbol(content, error=error,
                         quiet_zone=QR_QUIET_ZONE if quiet_zone is None else quiet_zone)
    if kind == "datamatrix":
        return datamatrix_symbol(
            content, quiet_zone=DM_QUIET_ZONE if quiet_zone is None else quiet_zone)
    raise CarrierError(reason=f"unknown carrier kind {kind!r}: use qr or datamatrix")


def qr_png(identifier: str, *, proxy: str = DEFAULT_PROXY, raw: bool = False,
           error: str = "M", module_px: int = 6, dpi: int = 300,
           label: str | None = None) -> bytes:
    """PNG of a QR code for ``identifier`` (6 px per module at 300 dpi: 0.51 mm)."""
    symbol = carrier_symbol(identifier, "qr", proxy=proxy, raw=raw, error=error)
    return symbol_png(symbol, module_px=module_px, dpi=dpi, label=label)


def qr_svg(identifier: str, *, proxy: str = DEFAULT_PROXY, raw: bool = False,
           error: str = "M", module_mm: float = 0.5, label: str | None = None) -> str:
    """SVG of a QR code for ``identifier``, ``module_mm`` per module."""
    symbol = carrier_symbol(identifier, "qr", proxy=proxy, raw=raw, error=error)
    return symbol_svg(symbol, module_mm=module_mm, label=label)


def datamatrix_png(identifier: str, *, proxy: str = DEFAULT_PROXY, raw: bool = False,
                   module_px: int = 6, dpi: int = 300, label: str | None = None) -> bytes:
    """PNG of a Data Matrix for ``identifier``."""
    symbol = carrier_symbol(identifier, "datamatrix", proxy=proxy, raw=raw)
    return symbol_png(symbol, module_px=module_px, dpi=dpi, label=label)


def datamatrix_svg(identifier: str, *, proxy: str = DEFAULT_PROXY, raw: bool = False,
                   module_mm: float = 0.5, label: str | None = None) -> str:
    """SVG of a Data Matrix for ``identifier``, ``module_mm`` per module."""
    symbol = carrier_symbol(identifier, "datamatrix", proxy=proxy, raw=raw)
    return symbol_svg(symbol, module_mm=module_mm, label=label)
