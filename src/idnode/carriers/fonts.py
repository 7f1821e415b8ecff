"""Fonts for the human-readable text of raster labels (PNG, PDF pages).

SVG labels name fonts and let the viewer find glyphs; a raster label is drawn here, so its
text needs a font that has every character. idnode ships no font: it looks for a CJK one
(``--font``, ``$IDNODE_FONT``, fontconfig's choice for Chinese, well-known paths), and when
no font it finds covers the text, draws the identifier percent-encoded instead — still exact,
never boxes (豆腐块). Debian's ``fonts-noto-cjk`` or ``fonts-wqy-microhei`` provide one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from PIL import ImageFont

from idnode.carriers.errors import CarrierError

__all__ = ["FONT_ENV", "LabelFont", "can_render", "label_font", "printable_label"]

FONT_ENV = "IDNODE_FONT"
#: (path, face index) tried after fontconfig; index 2 of Noto's collection is Simplified Chinese.
_KNOWN_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("/System/Library/Fonts/STHeiti Light.ttc", 0),
    ("C:/Windows/Fonts/msyh.ttc", 0),
    ("C:/Windows/Fonts/simsun.ttc", 0),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
)
_MISSING = "\U0010fffd"  # a private-use code point: fonts draw their .notdef box for it


@dataclass(frozen=True, slots=True)
class LabelFont:
    """A font file (or Pillow's built-in font when ``path`` is empty) and face index."""

    path: str
    index: int = 0

    def at(self, size_px: int) -> ImageFont.FreeTypeFont:
        return _load(self.path, self.index, max(1, size_px))


@lru_cache(maxsize=64)
def _load(path: str, index: int, size_px: int) -> ImageFont.FreeTypeFont:
    if not path:
        default = ImageFont.load_default(size_px)
        if not isinstance(default, ImageFont.FreeTypeFont):  # Pillow built without FreeType
            raise CarrierError(reason="Pillow has no FreeType support: cannot draw label text")
        return default
    try:
        return ImageFont.truetype(path, size_px, index=index,
                                  layout_engine=ImageFont.Layout.BASIC)
    except OSError as exc:
        raise CarrierError(reason=f"cannot load font {path}: {exc}") from None


def _fontconfig_choice() -> LabelFont | None:
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    try:
        out = subprocess.run([fc_match, "-f", "%{file}\n%{index}", "sans-serif:lang=zh-cn"],
                             capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path, _, index = out.partition("\n")
    return LabelFont(path, int(index)) if path and index.isdigit() else None


@lru_cache(maxsize=1)
def _candidates() -> tuple[LabelFont, ...]:
    found: list[LabelFont] = []
    if os.environ.get(FONT_ENV):
        found.append(LabelFont(os.environ[FONT_ENV]))
    if (choice := _fontconfig_choice()) is not None:
        found.append(choice)
    found += [LabelFont(path, index) for path, index in _KNOWN_FONTS if Path(path).is_file()]
    found.append(LabelFont(""))
    return tuple(dict.fromkeys(found))


def _mask(font: ImageFont.FreeTypeFont, ch: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(ch)
    return mask.size, bytes(mask)


def can_render(font: LabelFont, text: str) -> bool:
    """True if ``font`` has a glyph for every character of ``text``.

    Pillow does not expose a font's character map, so a glyph that renders exactly like
    the font's .notdef box counts as missing.
    """
    face = font.at(32)
    missing = _mask(face, _MISSING)
    return all(ch.isspace() or _mask(face, ch) != missing for ch in set(text))


def label_font(text: str, font_path: str | None = None) -> LabelFont | None:
    """The first font that covers ``text``: ``font_path`` if given, else a search.

    :returns: ``None`` if no font covers it (draw :func:`printable_label` instead).
    :raises CarrierError: ``font_path`` cannot be loaded.
    """
    if font_path:
        chosen = LabelFont(font_path)
        chosen.at(12)  # fail early on a bad file
        return chosen if can_render(chosen, text) else None
    for candidate in _candidates():
        try:
            if can_render(candidate, text):
                return candidate
        except CarrierError:
            continue  # a broken font file found by the search: try the next
    return None


def printable_label(text: str) -> str:
    """``text`` with everything outside printable ASCII percent-encoded (the fallback)."""
    return quote(text, safe="".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%"))
