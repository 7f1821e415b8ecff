"""Symbols and their human-readable text as SVG, in millimetres.

Dark modules are drawn as one path of horizontal runs (``M x y h n v1 h-n z`` in module
units, scaled by a transform), with ``crispEdges`` so viewers do not blur module edges.
Text stays text: UTF-8, XML-escaped, ``xml:lang="zh-Hans"`` and a font list that starts
with common CJK faces, so hanzi render wherever the viewer has any CJK font.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from idnode.carriers.symbol import Symbol
from idnode.carriers.textlayout import estimated_em, wrap_lines

__all__ = ["SVG_FONT_FAMILY", "svg_document", "svg_symbol", "svg_text", "symbol_svg"]

SVG_FONT_FAMILY = ("'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', "
                   "'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif")
_LINE_SPACING = 1.25


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def module_runs(symbol: Symbol) -> str:
    """The path data of the dark modules, in module units, quiet zone included."""
    q = symbol.quiet_zone
    parts = []
    for y, row in enumerate(symbol.modules):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            n = x - start
            parts.append(f"M{start + q} {y + q}h{n}v1h-{n}z")
    return "".join(parts)


def svg_symbol(symbol: Symbol, x_mm: float, y_mm: float, module_mm: float) -> str:
    """The symbol (quiet zone included, so it starts at the zone's corner) as an SVG group."""
    return (f'<g transform="translate({_num(x_mm)} {_num(y_mm)}) scale({_num(module_mm)})" '
            f'data-content={quoteattr(symbol.content)}>'
            f'<rect width="{symbol.width}" height="{symbol.height}" fill="#fff"/>'
            f'<path d="{module_runs(symbol)}" fill="#000"/></g>')


def svg_text(text: str, x_mm: float, y_mm: float, width_mm: float, size_mm: float,
             max_lines: int = 3) -> tuple[str, float]:
    """``text`` centred at ``x_mm`` from baseline-box top ``y_mm``, wrapped to
    ``width_mm``; a line still too long is squeezed with ``textLength``.

    :returns: the markup and the height it takes.
    """
    lines = wrap_lines(text, lambda s: estimated_em(s) * size_mm <= width_mm, max_lines)
    out = []
    for i, line in enumerate(lines):
        baseline = y_mm + size_mm * (_LINE_SPACING * i + 1)
        squeeze = ""
        if estimated_em(line) * size_mm > width_mm:
            squeeze = f' textLength="{_num(width_mm)}" lengthAdjust="spacingAndGlyphs"'
        out.append(f'<text x="{_num(x_mm)}" y="{_num(baseline)}"{squeeze}>'
                   f'{escape(line)}</text>')
    body = (f'<g font-family="{escape(SVG_FONT_FAMILY)}" font-size="{_num(size_mm)}" '
            f'text-anchor="middle" fill="#000">{"".join(out)}</g>')
    return body, size_mm * (_LINE_SPACING * (len(lines) - 1) + 1.3)


def svg_document(width_mm: float, height_mm: float, body: str, title: str = "") -> str:
    """A standalone SVG document ``width_mm`` × ``height_mm`` with user units in mm."""
    head = f"<title>{escape(title)}</title>" if title else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" xml:lang="zh-Hans" '
            f'width="{_num(width_mm)}mm" height="{_num(height_mm)}mm" '
            f'viewBox="0 0 {_num(width_mm)} {_num(height_mm)}" shape-rendering="crispEdges">'
            f'{head}<rect width="100%" height="100%" fill="#fff"/>{body}</svg>\n')


def symbol_svg(symbol: Symbol, *, module_mm: float = 0.5, label: str | None = None) -> str:
    """A standalone SVG of the symbol, ``module_mm`` per module, optionally with ``label``
    under it (below the quiet zone, which scanners need blank)."""
    width = symbol.width * module_mm
    height = symbol.height * module_mm
    body = svg_symbol(symbol, 0, 0, module_mm)
    if label:
        size = max(1.8, width / 14)
        margin = symbol.quiet_zone * module_mm / 2
        text, used = svg_text(label, width / 2, height, width - 2 * margin, size)
        body += text
        height += used + margin
    return svg_document(width, height, body, title=symbol.content)
