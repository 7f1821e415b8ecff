"""A 2-D symbol as a module matrix: what every renderer (PNG, SVG, label sheets) draws."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Symbol"]


@dataclass(frozen=True, slots=True)
class Symbol:
    """An encoded QR code or Data Matrix, before rendering.

    :ivar kind: ``"qr"`` or ``"datamatrix"``.
    :ivar content: the text encoded.
    :ivar modules: rows of modules, ``True`` dark, without the quiet zone.
    :ivar quiet_zone: light modules to leave on every side when drawing.
    :ivar detail: the symbol's size class for people (``version 4-M``, ``32×32``).
    """

    kind: str
    content: str
    modules: tuple[tuple[bool, ...], ...]
    quiet_zone: int
    detail: str

    @property
    def width(self) -> int:
        """Modules across, quiet zone included."""
        return len(self.modules[0]) + 2 * self.quiet_zone

    @property
    def height(self) -> int:
        """Modules down, quiet zone included."""
        return len(self.modules) + 2 * self.quiet_zone

    @property
    def dark_count(self) -> int:
        return sum(sum(row) for row in self.modules)

    @property
    def name(self) -> str:
        """``QR code`` or ``Data Matrix``."""
        return "QR code" if self.kind == "qr" else "Data Matrix"

    def describe(self) -> str:
        """``QR code version 4-M, 33×33 modules + quiet zone 4``; ``Data Matrix 32×32 …``."""
        rows, cols = len(self.modules), len(self.modules[0])
        size = f"{self.detail}, {cols}×{rows}" if self.kind == "qr" else self.detail
        return f"{self.name} {size} modules + quiet zone {self.quiet_zone}"
