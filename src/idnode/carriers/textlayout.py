"""Breaking a label's text into lines that fit, for raster and SVG labels alike."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

__all__ = ["estimated_em", "wrap_lines"]


def wrap_lines(text: str, fits: Callable[[str], bool], max_lines: int) -> list[str]:
    """``text`` broken into at most ``max_lines`` lines for which ``fits(line)`` holds.

    Breaks after ``/`` or ``.`` when that keeps a line at least half full, else anywhere;
    the last line takes what is left (the caller shrinks it).
    """
    lines: list[str] = []
    rest = text
    while rest and len(lines) < max_lines - 1 and not fits(rest):
        cut = len(rest)
        while cut > 1 and not fits(rest[:cut]):
            cut -= 1
        nicer = max(rest.rfind("/", 0, cut), rest.rfind(".", 0, cut))
        if nicer >= cut // 2:
            cut = nicer + 1
        lines.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        lines.append(rest)
    return lines


def estimated_em(text: str) -> float:
    """Width of ``text`` in ems in a typical sans-serif face, for SVG, whose viewer picks the
    font: wide (CJK) characters 1 em, others 0.6 em (generous for digits and letters)."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.6 for ch in text)
