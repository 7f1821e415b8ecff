"""Label sheets: one label (code + the identifier under it) per identifier, pages of
``columns × rows`` labels.

SVG pages are vector (exact millimetres; the viewer draws the text). PDF pages are rendered
by Pillow at ``dpi`` (300 by default) as 1-bit images, CCITT G4-compressed and lossless, one
image per page: modules are whole pixels, so a page prints as sharp as a vector would at
that resolution, and text needs a font this machine has (:mod:`idnode.carriers.fonts`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from idnode.carriers.content import DEFAULT_PROXY
from idnode.carriers.errors import CarrierError
from idnode.carriers.fonts import LabelFont, label_font, printable_label
from idnode.carriers.images import carrier_symbol
from idnode.carriers.raster import draw_text_block, symbol_image
from idnode.carriers.svg import svg_document, svg_symbol, svg_text
from idnode.carriers.symbol import Symbol

__all__ = ["MIN_MODULE_MM", "PAGE_SIZES", "Label", "LabelSheet", "SheetLayout", "label_sheet",
           "page_size", "svg_page_paths"]

_log = logging.getLogger(__name__)

MM_PER_INCH = 25.4
#: Page sizes in millimetres (portrait). ``WxH`` (``100x150``, in mm) gives any other size.
PAGE_SIZES = {"A3": (297.0, 420.0), "A4": (210.0, 297.0), "A5": (148.0, 210.0),
              "A6": (105.0, 148.0), "Letter": (215.9, 279.4)}
#: Smallest module (X-dimension) a sheet prints: below it phone cameras misread.
MIN_MODULE_MM = 0.25
_CUSTOM_PAGE = re.compile(r"(\d+(?:\.\d+)?)\s*[x×]\s*(\d+(?:\.\d+)?)(?:\s*mm)?", re.I)
_TEXT_LINES = 2


def page_size(name: str) -> tuple[float, float]:
    """``A4`` etc. (case-insensitive) or ``WxH`` in mm → (width, height) in mm."""
    for known, size in PAGE_SIZES.items():
        if known.lower() == name.strip().lower():
            return size
    if (m := _CUSTOM_PAGE.fullmatch(name.strip())) is not None:
        width, height = float(m.group(1)), float(m.group(2))
        if width > 0 and height > 0:
            return width, height
    raise CarrierError(reason=f"page {name!r}: use {', '.join(PAGE_SIZES)} or WxH in mm "
                              "(e.g. 100x150)")


@dataclass(frozen=True, slots=True)
class SheetLayout:
    """Where labels go on a page (all lengths in mm).

    The default, 3 × 7 on A4 with 10 mm margins, is the common 63.5 × 38.1 mm label sheet's
    grid (within a millimetre).
    """

    page: str = "A4"
    columns: int = 3
    rows: int = 7
    margin_mm: float = 10.0
    padding_mm: float = 2.0
    text_mm: float = 2.8

    def __post_init__(self) -> None:
        if self.columns < 1 or self.rows < 1:
            raise CarrierError(reason="a sheet needs at least one column and one row")
        if min(self.margin_mm, self.padding_mm) < 0 or self.text_mm <= 0:
            raise CarrierError(reason="margins and padding cannot be negative")
        if self.cell_mm[0] <= 0 or self.cell_mm[1] <= 0:
            raise CarrierError(reason=f"margins of {self.margin_mm} mm leave no room on "
                                      f"{self.page}")

    @property
    def page_mm(self) -> tuple[float, float]:
        return page_size(self.page)

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    @property
    def cell_mm(self) -> tuple[float, float]:
        width, height = self.page_mm
        return ((width - 2 * self.margin_mm) / self.columns,
                (height - 2 * self.margin_mm) / self.rows)

    @property
    def text_block_mm(self) -> float:
        return self.text_mm * (1.25 * (_TEXT_LINES - 1) + 1.3)

    @property
    def code_mm(self) -> float:
        """The side of every label's code, quiet zone included."""
        cell_w, cell_h = self.cell_mm
        return min(cell_w - 2 * self.padding_mm,
                   cell_h - 2 * self.padding_mm - self.text_block_mm)

    def cell_origin(self, slot: int) -> tuple[float, float]:
        """Top-left of the ``slot``-th cell of a page (row by row)."""
        row, column = divmod(slot, self.columns)
        cell_w, cell_h = self.cell_mm
        return self.margin_mm + column * cell_w, self.margin_mm + row * cell_h


@dataclass(frozen=True, slots=True)
class Label:
    identifier: str
    symbol: Symbol


@dataclass(frozen=True, slots=True)
class LabelSheet:
    """Labels laid out on pages; render with :meth:`svg_pages` or :meth:`raster_pages`."""

    labels: tuple[Label, ...]
    layout: SheetLayout = field(default_factory=SheetLayout)

    @property
    def pages(self) -> list[tuple[Label, ...]]:
        n = self.layout.per_page
        return [self.labels[i:i + n] for i in range(0, len(self.labels), n)]

    @property
    def page_count(self) -> int:
        return len(self.pages)

    def svg_pages(self) -> list[str]:
        """One standalone SVG document per page."""
        layout = self.layout
        width, height = layout.page_mm
        cell_w, _ = layout.cell_mm
        side = layout.code_mm
        documents = []
        for number, page in enumerate(self.pages, 1):
            parts = []
            for slot, label in enumerate(page):
                x, y = layout.cell_origin(slot)
                left = x + (cell_w - side) / 2
                top = y + layout.padding_mm
                parts.append(svg_symbol(label.symbol, left, top,
                                        side / label.symbol.width))
                text, _ = svg_text(label.identifier, x + cell_w / 2, top + side,
                                   cell_w - 2 * layout.padding_mm, layout.text_mm,
                                   max_lines=_TEXT_LINES)
                parts.append(text)
            documents.append(svg_document(
                width, height, "".join(parts),
                title=f"labels, page {number} of {self.page_count}"))
        return documents

    def raster_pages(self, dpi: int = 300, font_path: str | None = None) -> list[Image.Image]:
        """One 1-bit Pillow image per page at ``dpi``."""
        layout = self.layout
        px = dpi / MM_PER_INCH
        width, height = layout.page_mm
        cell_w, _ = layout.cell_mm
        side_px = int(layout.code_mm * px)
        fonts = _LabelFonts(font_path)
        images = []
        for page in self.pages:
            canvas = Image.new("L", (round(width * px), round(height * px)), 255)
            for slot, label in enumerate(page):
                x, y = layout.cell_origin(slot)
                module_px = side_px // label.symbol.width
                code = symbol_image(label.symbol, module_px)
                left = round((x + cell_w / 2) * px - code.width / 2)
                top = round((y + layout.padding_mm) * px + (side_px - code.height) / 2)
                canvas.paste(code.convert("L"), (left, top))
                text_top = round((y + layout.padding_mm) * px) + side_px
                text, font = fonts.get(label.identifier)
                draw_text_block(canvas, text, (
                    round((x + layout.padding_mm) * px), text_top,
                    round((x + cell_w - layout.padding_mm) * px),
                    text_top + round(layout.text_block_mm * px)),
                    round(layout.text_mm * px), font, max_lines=_TEXT_LINES)
            # Threshold, not dither: text edges stay clean and modules stay solid.
            images.append(canvas.point(lambda v: 255 if v >= 128 else 0).convert(
                "1", dither=Image.Dither.NONE))
        fonts.report()
        return images

    def write_pdf(self, path: str | Path, dpi: int = 300, font_path: str | None = None) -> None:
        """A multi-page PDF of :meth:`raster_pages`, sized so pages print at 100 %."""
        pages = self.raster_pages(dpi, font_path)
        pages[0].save(path, format="PDF", save_all=True, append_images=pages[1:],
                      resolution=float(dpi), title="idnode labels")

    def write_svg(self, path: str | Path) -> list[Path]:
        """The SVG pages under :func:`svg_page_paths` names; returns the paths written."""
        paths = svg_page_paths(Path(path), self.page_count)
        for target, document in zip(paths, self.svg_pages(), strict=True):
            target.write_text(document, encoding="utf-8")
        return paths


class _LabelFonts:
    """Fonts per label text, with one warning for all labels drawn percent-encoded."""

    def __init__(self, font_path: str | None) -> None:
        self.font_path = font_path
        self.substituted = 0

    def get(self, text: str) -> tuple[str, LabelFont]:
        font = label_font(text, self.font_path)
        if font is not None:
            return text, font
        self.substituted += 1
        shown = printable_label(text)
        return shown, label_font(shown, self.font_path) or LabelFont("")

    def report(self) -> None:
        if self.substituted:
            _log.warning("warning: no font with glyphs for %d label(s); their text is drawn "
                         "percent-encoded (install a CJK font such as fonts-noto-cjk, or pass "
                         "--font FILE)", self.substituted)


def svg_page_paths(path: Path, count: int) -> list[Path]:
    """``sheet.svg`` for one page; ``sheet-1.svg`` … ``sheet-N.svg`` (zero-padded to N's
    width: ``sheet-01.svg`` from 10 pages) for more."""
    if count <= 1:
        return [path]
    digits = len(str(count))
    return [path.with_name(f"{path.stem}-{n:0{digits}d}{path.suffix}")
            for n in range(1, count + 1)]


def _shown(identifier: str) -> str:
    return identifier if len(identifier) <= 60 else identifier[:60] + "…"


def label_sheet(identifiers: Iterable[str], *, kind: str = "qr", proxy: str = DEFAULT_PROXY,
                raw: bool = False, error: str = "M",
                layout: SheetLayout | None = None) -> LabelSheet:
    """A sheet with one label per identifier (their proxy URLs, or ``raw`` themselves).

    :raises CarrierError: an identifier is not a handle, or a code would print with modules
        smaller than :data:`MIN_MODULE_MM` (fewer columns or rows, or a larger page, help).
    :raises CapacityExceeded: an identifier does not fit the largest symbol.
    """
    layout = layout or SheetLayout()
    labels = []
    for identifier in identifiers:
        try:
            symbol = carrier_symbol(identifier, kind, proxy=proxy, raw=raw, error=error)
        except CarrierError as exc:  # name the identifier, keep the error's type
            exc.message = f"{_shown(identifier)}: {exc.message}"
            exc.args = (exc.message,)
            raise
        module = layout.code_mm / symbol.width
        if module < MIN_MODULE_MM:
            raise CarrierError(reason=(
                f"{_shown(identifier)}: its {symbol.name} ({symbol.width} modules with the quiet "
                f"zone) would print at {module:.2f} mm per module on a "
                f"{layout.code_mm:.1f} mm label code; the minimum is {MIN_MODULE_MM} mm "
                "(use fewer columns or rows, or a larger page)"))
        labels.append(Label(identifier, symbol))
    if not labels:
        raise CarrierError(reason="no identifiers for the sheet")
    return LabelSheet(tuple(labels), layout)
