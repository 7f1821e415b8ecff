"""Object identifiers (对象标识符, OID; ITU-T X.660 | ISO/IEC 9834-1).

Read as numeric dotted arcs, bare or as ``urn:oid:`` (RFC 3061). The first arc is 0, 1 or 2;
under 0 and 1 the second arc is below 40 (the X.690 encoding folds the first two arcs into
one number); arcs have no leading zeros. China's arcs are labelled: ``1.2.156``
{iso member-body cn}, where new registrations are made, and ``2.16.156``
{joint-iso-itu-t country cn} (``idis.md`` §9.2).

Mapping keys are the OID's leading arcs, from the whole OID (at most 11 arcs) down to three
(``1.2.156``), so an operator can map an enterprise's arc to its enterprise prefix or a
whole national arc to a secondary node.
"""

from __future__ import annotations

import re

from idnode.schemes.base import Parsed, fail

__all__ = ["CHINA_ARCS", "OidScheme"]

_TITLE = "OID (对象标识符)"
_ARC = re.compile(r"0|[1-9][0-9]*")
_MAX_ARC_DIGITS = 39  # 128-bit arcs; bounds int() on hostile input
_MAX_ARCS = 128
_MIN_KEY_ARCS = 3
_MAX_KEY_ARCS = 11
#: China's OID arcs and their labels.
CHINA_ARCS = {
    "1.2.156": "1.2.156: China (中国), ISO member body arc {iso(1) member-body(2) cn(156)}, "
               "where new registrations are made",
    "2.16.156": "2.16.156: China (中国), joint-iso-itu-t country arc {joint-iso-itu-t(2) "
                "country(16) cn(156)}",
}
_ROOTS = {"0": "itu-t", "1": "iso", "2": "joint-iso-itu-t"}


def _arcs(text: str, body: str) -> list[str]:
    arcs = body.split(".")
    if len(arcs) > _MAX_ARCS:
        fail(_TITLE, text, f"{len(arcs)} arcs; at most {_MAX_ARCS} are accepted")
    for position, arc in enumerate(arcs, 1):
        if not arc:
            fail(_TITLE, text, f"arc {position} is empty")
        if not (arc.isascii() and arc.isdigit()):
            fail(_TITLE, text, f"arc {position} ({arc!r}) is not a number")
        if len(arc) > _MAX_ARC_DIGITS:
            fail(_TITLE, text, f"arc {position} has {len(arc)} digits; at most "
                               f"{_MAX_ARC_DIGITS}")
        if not _ARC.fullmatch(arc):
            fail(_TITLE, text, f"arc {position} ({arc!r}) has a leading zero")
    if arcs[0] not in _ROOTS:
        fail(_TITLE, text, f"the first arc is {arcs[0]}; it must be 0, 1 or 2")
    if len(arcs) > 1 and arcs[0] in ("0", "1") and int(arcs[1]) >= 40:
        fail(_TITLE, text, f"under arc {arcs[0]} the second arc must be below 40, not "
                           f"{arcs[1]}")
    return arcs


def _keys(arcs: list[str]) -> tuple[str, ...]:
    longest = min(len(arcs), _MAX_KEY_ARCS)
    shortest = min(len(arcs), _MIN_KEY_ARCS)
    return tuple(".".join(arcs[:n]) for n in range(longest, shortest - 1, -1))


class OidScheme:
    """Numeric OIDs."""

    name = "oid"
    title = _TITLE
    forms: tuple[str, ...] = ("dotted", "urn")

    def parse(self, text: str, *, explicit: bool) -> Parsed | None:
        body = text
        form = "dotted"
        lower = text[:8].lower()
        if lower.startswith("urn:oid:"):
            body, form = text[8:], "urn"
        elif lower.startswith("oid:"):
            body, form = text[4:], "oid:"
        elif not explicit and ("." not in text or not text[:1].isdigit()
                               or not all(c.isdigit() or c == "." for c in text)):
            return None
        arcs = _arcs(text, body)
        canonical = ".".join(arcs)
        labels = [f"root arc {arcs[0]}: {_ROOTS[arcs[0]]}"]
        for arc, label in CHINA_ARCS.items():
            if canonical == arc or canonical.startswith(arc + "."):
                labels.append(label)
        fields = {"oid": canonical, "arcs": str(len(arcs))}
        return Parsed(self.name, "OID", canonical, fields, tuple(labels), self.name,
                      _keys(arcs), text=text, form=form)

    def render(self, parsed: Parsed, form: str | None = None) -> str:
        if form in (None, "dotted"):
            return parsed.canonical
        if form == "urn":
            return "urn:oid:" + parsed.canonical
        fail(_TITLE, parsed.canonical, f"no form {form!r}; OID forms are dotted, urn")

    def mapping_key(self, key: str) -> str:
        return ".".join(_arcs(key, key.strip()))
