"""VAA codes: ISO/IEC 15459 unique identifiers issued by CAICT (中国信通院) under its issuing
agency code (发证机构代码) ``VAA``.

Confirmed: ``VAA`` is CAICT's ISO/IEC 15459 issuing agency code, and an ISO/IEC 15459
identifier is the issuing agency code, then the company identification number (CIN) the
agency gave the company, then a serial unique within that company
(``docs/identifiers.md`` gives the sources). **Assumed** (CAICT's《VAA编码导则》is not public in
full): the characters are digits and upper-case letters, the whole code is at most 50
characters, a CIN has 4 to 12 characters, and a code may carry the ANSI MH10.8.2 data
identifier ``25S`` in front (as in a Data Matrix). Since the CIN's length is not written in
the code, mapping tries the candidate CINs longest first, as for GS1 company prefixes.
"""

from __future__ import annotations

import re

from idnode.schemes.base import Parsed, fail

__all__ = ["VaaScheme"]

_TITLE = "VAA (ISO/IEC 15459, 中国信通院)"
_IAC = "VAA"
_DI = "25S"
_ALNUM = re.compile(r"[0-9A-Z]+")
_ASSUMED = " (assumed VAA layout; see docs/identifiers.md)"


class VaaScheme:
    """``VAA`` + company identification number + serial."""

    name = "vaa"
    title = _TITLE
    forms: tuple[str, ...] = ("code", "di")

    def __init__(self, *, max_length: int = 50, cin_lengths: tuple[int, int] = (4, 12)
                 ) -> None:
        self.max_length = max_length
        self.cin_min, self.cin_max = cin_lengths

    def parse(self, text: str, *, explicit: bool) -> Parsed | None:
        # Without --scheme only upper-case codes are taken for VAA ("vaapi" is a word).
        upper = text.upper() if explicit and text.isascii() else text
        di = upper.startswith(_DI + _IAC)
        body = upper[len(_DI):] if di else upper
        if not body.startswith(_IAC):
            if explicit:
                fail(_TITLE, text, f"a VAA code starts with the issuing agency code {_IAC}")
            return None
        rest = body[len(_IAC):]
        if not rest:
            fail(_TITLE, text, "no company identification number and serial after VAA")
        if not _ALNUM.fullmatch(rest):
            fail(_TITLE, text, f"holds digits and upper-case letters only{_ASSUMED}")
        if len(body) > self.max_length:
            fail(_TITLE, text, f"{len(body)} characters; at most {self.max_length}{_ASSUMED}")
        if len(rest) <= self.cin_min:
            fail(_TITLE, text, f"too short for a company identification number of at least "
                               f"{self.cin_min} characters and a serial{_ASSUMED}")
        longest = min(self.cin_max, len(rest) - 1)
        keys = tuple(rest[:n] for n in range(longest, self.cin_min - 1, -1))
        fields = {"iac": _IAC, "reference": rest}
        labels = (f"issuing agency code {_IAC}: CAICT (中国信通院), ISO/IEC 15459",)
        return Parsed(self.name, "VAA code", body, fields, labels, self.name, keys,
                      text=text, form="di" if di else "code")

    def render(self, parsed: Parsed, form: str | None = None) -> str:
        if form in (None, "code"):
            return parsed.canonical
        if form == "di":
            return _DI + parsed.canonical
        fail(_TITLE, parsed.canonical, f"no form {form!r}; VAA forms are code, di")

    def mapping_key(self, key: str) -> str:
        cin = key.upper()
        if not (_ALNUM.fullmatch(cin) and self.cin_min <= len(cin) <= self.cin_max):
            fail(_TITLE, key, f"a VAA mapping key is a company identification number of "
                              f"{self.cin_min} to {self.cin_max} digits or upper-case "
                              f"letters{_ASSUMED}")
        return cin
