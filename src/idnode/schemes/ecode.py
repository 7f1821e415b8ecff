"""Ecode (物品编码 Ecode, GB/T 31866): version (V) + numbering scheme identifier (NSI, 编码体系
标识) + master data code (MD, 主码).

Confirmed (``docs/identifiers.md`` gives the sources): the V + NSI + MD structure; versions
V0 to V3 exist; V0 is reserved for GS1 compatibility and holds a human-readable GS1 code.
**Unconfirmed** (the layout table commonly quoted for GB/T 31866-2015, ``idis.md`` §9.1),
so every check below says so in its message:

=======  ===========  ==========  ============  ==============
Version  NSI          MD          Total         Characters
=======  ===========  ==========  ============  ==============
V1       4 digits     ≤ 20        ≤ 25          digits
V2       8 digits     ≤ 28        ≤ 37          digits
V3       8 digits     ≤ 39        ≤ 48          digits, A–Z
=======  ===========  ==========  ============  ==============

No scheme-level check digit is checked (an embedded GS1 key keeps its own). V0 is written
here as ``0`` followed by a GS1 code and maps through the GS1 mapping records.

Ecodes are digit strings, so they are read without a marker only when no other reading fits
(digits starting with 1 or 2, or 3 with upper-case letters, of a length the layout allows
and not of a bare GS1 key's length); ``ecode:10001…`` or ``--scheme ecode`` always reads
one. The mapping key is the header V + NSI (``10001`` for V1, NSI 0001).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from idnode.schemes.base import Parsed, fail
from idnode.schemes.gs1 import BARE_KEY_LENGTHS, Gs1Scheme

__all__ = ["LAYOUTS", "EcodeScheme", "Layout"]

_TITLE = "Ecode (物品编码)"
_MARKER = "ecode:"
_UNCONFIRMED = " (layout of GB/T 31866 as commonly quoted; unconfirmed)"


@dataclass(frozen=True, slots=True)
class Layout:
    """One version's layout (assumed, see the module docstring)."""

    nsi: int
    md_max: int
    alphanumeric: bool

    @property
    def total_max(self) -> int:
        return 1 + self.nsi + self.md_max


#: Version digit → layout (V0 is GS1 and has none).
LAYOUTS = {"1": Layout(4, 20, False), "2": Layout(8, 28, False), "3": Layout(8, 39, True)}
_DIGITS = re.compile(r"[0-9]+")
_ALNUM = re.compile(r"[0-9A-Z]+")


class EcodeScheme:
    """Ecode V0 (through :class:`~idnode.schemes.gs1.Gs1Scheme`) and V1–V3."""

    name = "ecode"
    title = _TITLE
    forms: tuple[str, ...] = ("text", "marked")

    def __init__(self, gs1: Gs1Scheme) -> None:
        self.gs1 = gs1

    def parse(self, text: str, *, explicit: bool) -> Parsed | None:
        body = text
        marked = text[:len(_MARKER)].lower() == _MARKER
        if marked:
            body = text[len(_MARKER):].strip()
        elif not explicit and not self._looks_like(text):
            return None
        if not body:
            fail(_TITLE, text, "no code after the marker")
        version = body[0]
        if version == "0":
            return self._v0(text, body[1:], marked)
        layout = LAYOUTS.get(version)
        if layout is None:
            fail(_TITLE, text, f"version {version!r} is not supported; V0 to V3 are (the "
                               "first character is the version)")
        return self._parse(text, body, version, layout, marked)

    @staticmethod
    def _looks_like(text: str) -> bool:
        layout = LAYOUTS.get(text[:1])
        if layout is None or not text.isascii():
            return False
        if not 1 + layout.nsi < len(text) <= layout.total_max:
            return False
        if text.isdigit():
            return len(text) not in BARE_KEY_LENGTHS
        return layout.alphanumeric and bool(_ALNUM.fullmatch(text))

    def _parse(self, text: str, body: str, version: str, layout: Layout,
               marked: bool) -> Parsed:
        chars = _ALNUM if layout.alphanumeric else _DIGITS
        kinds = "digits and upper-case letters" if layout.alphanumeric else "digits"
        if not chars.fullmatch(body[1:]):
            fail(_TITLE, text, f"Ecode V{version} holds {kinds} only{_UNCONFIRMED}")
        nsi, md = body[1:1 + layout.nsi], body[1 + layout.nsi:]
        if len(nsi) < layout.nsi or not nsi.isdigit():
            fail(_TITLE, text, f"Ecode V{version} has an NSI of {layout.nsi} digits after the "
                               f"version{_UNCONFIRMED}")
        if not md:
            fail(_TITLE, text, f"Ecode V{version} has no master data code (MD) after the "
                               f"NSI{_UNCONFIRMED}")
        if len(body) > layout.total_max:
            fail(_TITLE, text, f"Ecode V{version} is at most {layout.total_max} characters "
                               f"(V 1 + NSI {layout.nsi} + MD ≤ {layout.md_max}); this one "
                               f"has {len(body)}{_UNCONFIRMED}")
        fields = {"version": version, "nsi": nsi, "md": md, "header": version + nsi}
        labels = (f"version V{version}, NSI (编码体系标识) {nsi}, MD (主码) {md}",
                  "Ecode layout per version is unconfirmed (docs/identifiers.md)")
        return Parsed(self.name, f"Ecode V{version}", body, fields, labels, self.name,
                      (version + nsi,), text=text, form="marked" if marked else "text")

    def _v0(self, text: str, rest: str, marked: bool) -> Parsed:
        gs1 = self.gs1.parse(rest, explicit=True)
        assert gs1 is not None  # explicit parses raise instead of returning None
        fields = dict(gs1.fields)
        fields.update(version="0", gs1=gs1.canonical)
        labels = ("version V0: GS1 compatibility (GB/T 31866-2023)", *gs1.labels)
        return Parsed(self.name, f"Ecode V0 ({gs1.kind})", "0" + gs1.canonical, fields,
                      labels, self.gs1.name, gs1.map_keys, text=text,
                      form="marked" if marked else "text")

    def render(self, parsed: Parsed, form: str | None = None) -> str:
        if form in (None, "text"):
            return parsed.canonical
        if form == "marked":
            return _MARKER + parsed.canonical
        fail(_TITLE, parsed.canonical, f"no form {form!r}; Ecode forms are text, marked")

    def mapping_key(self, key: str) -> str:
        layout = LAYOUTS.get(key[:1])
        if layout is None or len(key) != 1 + layout.nsi or not key.isdigit():
            fail(_TITLE, key, "an Ecode mapping key is the header V + NSI: 1 + 4 digits for "
                              f"V1, 1 + 8 for V2 and V3{_UNCONFIRMED}")
        return key
