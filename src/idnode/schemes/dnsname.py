"""DNS names (域名), including internationalised ones (IDNA).

Labels are converted with the standard library's IDNA codec (``encodings.idna``, IDNA 2003
ToASCII/ToUnicode, the one dnspython uses by default); each label has 1 to 63 octets in
ASCII form, the whole name at most 253 characters (255 octets on the wire); labels hold
letters, digits, hyphens (not first or last) and underscores (``_dmarc``, SRV names). The
canonical form is lower-case ASCII (A-labels) without the root dot.

Mapping keys are the name and its parent domains, longest first, down to two labels (one
for a one-label name): ``www.example.com.cn`` tries ``www.example.com.cn``,
``example.com.cn``, ``com.cn``.
"""

from __future__ import annotations

import re
from encodings import idna

from idnode.schemes.base import Parsed, fail

__all__ = ["DnsScheme"]

_TITLE = "DNS name (域名)"
_DOTS = ("\u3002", "\uff0e", "\uff61")  # ideographic and full-width full stops (IDNA §3.1)
_LDH = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?")
_MAX_NAME = 253
_MAX_LABEL = 63
_MAX_KEYS = 9


def _labels(text: str) -> list[str]:
    name = text
    for dot in _DOTS:
        name = name.replace(dot, ".")
    if name.endswith("."):
        name = name[:-1]
    if not name:
        fail(_TITLE, text, "the root alone is not a name to resolve")
    out = []
    for position, label in enumerate(name.split("."), 1):
        if not label:
            fail(_TITLE, text, f"label {position} is empty")
        if label.isascii() and len(label) > _MAX_LABEL:
            fail(_TITLE, text, f"label {position} has {len(label)} characters; DNS allows "
                               f"{_MAX_LABEL}")
        try:
            ascii_label = idna.ToASCII(label).decode("ascii").lower()
        except UnicodeError as exc:
            fail(_TITLE, text, f"label {position} ({label[:20]!r}) is not valid IDNA: {exc}")
        if not _LDH.fullmatch(ascii_label):
            fail(_TITLE, text, f"label {position} ({label[:20]!r}) may hold letters, digits, "
                               "'_' and '-' (not first or last) only")
        out.append(ascii_label)
    if len(".".join(out)) > _MAX_NAME:
        fail(_TITLE, text, f"the name is {len('.'.join(out))} characters in ASCII form; DNS "
                           f"allows {_MAX_NAME}")
    return out


class DnsScheme:
    """DNS names, A-labels canonical."""

    name = "dns"
    title = _TITLE
    forms: tuple[str, ...] = ("ascii", "unicode")

    def parse(self, text: str, *, explicit: bool) -> Parsed | None:
        if not explicit and not self._looks_like(text):
            return None
        labels = _labels(text)
        canonical = ".".join(labels)
        try:
            unicode = ".".join(idna.ToUnicode(label) for label in labels)
        except UnicodeError:
            unicode = canonical
        shortest = min(len(labels), 2)
        longest = min(len(labels), shortest + _MAX_KEYS - 1)
        keys = tuple(".".join(labels[-n:]) for n in range(longest, shortest - 1, -1))
        fields = {"name": canonical, "unicode": unicode, "tld": labels[-1]}
        labels_note = (f"internationalised name {unicode}",) if unicode != canonical else ()
        return Parsed(self.name, "DNS name", canonical, fields, labels_note, self.name, keys,
                      text=text, form="ascii" if text.isascii() else "unicode")

    @staticmethod
    def _looks_like(text: str) -> bool:
        if any(c.isspace() or c in "/:@()[]{}<>\\\"'" for c in text):
            return False
        name = text[:-1] if text.endswith(".") else text
        for dot in _DOTS:
            name = name.replace(dot, ".")
        if "." not in name:
            return False
        last = name.rsplit(".", 1)[-1]
        # A numeric last label is an address or an OID, never a top-level domain.
        return any(c.isalpha() for c in last)

    def render(self, parsed: Parsed, form: str | None = None) -> str:
        if form in (None, "ascii"):
            return parsed.canonical
        if form == "unicode":
            return parsed.fields["unicode"]
        fail(_TITLE, parsed.canonical, f"no form {form!r}; DNS forms are ascii, unicode")

    def mapping_key(self, key: str) -> str:
        return ".".join(_labels(key))
