"""Drawing symbols and their human-readable text as raster images (Pillow).

Modules are whole pixels (an integer module size), so every edge is sharp and a scanner sees
exactly the matrix; images are 8-bit greyscale only where anti-aliased text needs it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFont

from idnode.carriers.errors import CarrierError
from idnode.carriers.fonts import LabelFont, label_font, printable_label
from idnode.carriers.symbol import Symbol
from idnode.carriers.textlayout import wrap_lines

__all__ = ["draw_text_block", "resolve_label_font", "symbol_image", "symbol_png"]

_log = logging.getLogger(__name__)
_MIN_TEXT_PX = 6
_MAX_LINES = 3


def symbol_image(symbol: Symbol, module_px: int) -> Image.Image:
    """The symbol with its quiet zone, ``module_px`` pixels per module, 1-bit."""
    if module_px < 1:
        raise CarrierError(reason="a module must be at least one pixel")
    q = symbol.quiet_zone
    small = Image.new("1", (symbol.width, symbol.height), 1)
    pixels = small.load()
    assert pixels is not None
    for y, row in enumerate(symbol.modules):
        for x, dark in enumerate(row):
            if dark:
                pixels[x + q, y + q] = 0
    return small.resize((symbol.width * module_px, symbol.height * module_px),
                        Image.Resampling.NEAREST)


def _fits(face: ImageFont.FreeTypeFont, width: int) -> Callable[[str], bool]:
    return lambda line: face.getlength(line) <= width


def draw_text_block(image: Image.Image, text: str, box: tuple[int, int, int, int],
                    size_px: int, font: LabelFont, max_lines: int = 2) -> None:
    """Centre ``text`` in ``box`` (left, top, right, bottom), wrapped, shrunk to fit."""
    left, top, right, bottom = box
    width = right - left
    draw = ImageDraw.Draw(image)
    size = max(size_px, _MIN_TEXT_PX)
    while True:
        face = font.at(size)
        lines = wrap_lines(text, _fits(face, width), max_lines)
        line_height = int(size * 1.25)
        if size <= _MIN_TEXT_PX or (all(face.getlength(s) <= width for s in lines)
                                    and line_height * len(lines) <= bottom - top):
            break
        size -= 1
    y = top
    for line in lines:
        x = left + (width - face.getlength(line)) / 2
        draw.text((x, y), line, fill=0, font=face)
        y += line_height


def resolve_label_font(text: str, font_path: str | None) -> tuple[str, LabelFont]:
    """The text to draw and the font for it: ``text`` itself, or its printable form if no
    font covers it (logged as a warning)."""
    font = label_font(text, font_path)
    if font is not None:
        return text, font
    shown = printable_label(text)
    _log.warning("warning: no font with glyphs for %r; the label shows %s (install a CJK font "
                 "such as fonts-noto-cjk, or pass --font FILE)", text, shown)
    fallback = label_font(shown, font_path) or LabelFont("")
    return shown, fallback


def symbol_png(symbol: Symbol, *, module_px: int = 6, dpi: int = 300, label: str | None = None,
               font_path: str | None = None) -> bytes:
    """PNG of the symbol (``dpi`` recorded so it prints at size), optionally with ``label``
    centred under it."""
    image = symbol_image(symbol, module_px)
    if label:
        text, font = resolve_label_font(label, font_path)
        size_px = max(12, image.width // 14)
        margin = module_px * symbol.quiet_zone // 2
        face = font.at(size_px)
        lines = len(wrap_lines(text, lambda s: face.getlength(s) <= image.width - 2 * margin,
                               _MAX_LINES))
        # The text starts below the quiet zone, which must stay blank for scanners.
        block = int(size_px * 1.25) * lines + margin
        canvas = Image.new("L", (image.width, image.height + block), 255)
        canvas.paste(image.convert("L"), (0, 0))
        draw_text_block(canvas, text, (margin, image.height, image.width - margin,
                                       canvas.height), size_px, font, max_lines=_MAX_LINES)
        image = canvas
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi), optimize=True)
    return out.getvalue()
