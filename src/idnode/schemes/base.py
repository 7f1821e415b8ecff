"""What every identifier scheme shares: the parse result and the scheme protocol.

A scheme turns text into a :class:`Parsed` (validated and normalised), renders it back in
one of its forms, and names the keys under which its mapping records (映射记录) are looked
up (:mod:`idnode.schemes.mapping`). Schemes raise
:class:`~idnode.errors.InvalidIdentifier` for text that is theirs but wrong, and return
``None`` from :meth:`Scheme.parse` for text that is not theirs at all, so the registry can
try the next one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NoReturn, Protocol

from idnode.errors import InvalidIdentifier

__all__ = ["MAX_TEXT", "Parsed", "Scheme", "fail", "shown"]

#: Longest text any scheme looks at (an identifier is never this long; the bound keeps a
#: pasted document from costing anything).
MAX_TEXT = 2048
_SHOWN = 80


def shown(text: str) -> str:
    """``text`` shortened for an error message."""
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def fail(scheme: str, text: str, reason: str) -> NoReturn:
    """Raise :class:`InvalidIdentifier` naming ``scheme`` and what is wrong."""
    raise InvalidIdentifier(scheme=scheme, text=shown(text), reason=reason)


@dataclass(frozen=True, slots=True)
class Parsed:
    """An identifier, validated and normalised.

    Two parses of the same identifier in different forms compare equal when their
    ``scheme``, ``kind``, ``canonical`` and ``fields`` agree; ``text`` and ``form`` record how
    it was written and do not take part.

    :ivar scheme: the registry name of the scheme (``handle``, ``gs1``, ``oid`` …).
    :ivar kind: what it identifies within the scheme (``GTIN-13``, ``SSCC``, ``Ecode V1`` …).
    :ivar canonical: the canonical text; parsing it gives an equal :class:`Parsed`.
    :ivar fields: named parts (scheme-specific; also the placeholders of mapping templates).
    :ivar labels: notes for people (``China's ISO member-body arc (中国)`` …).
    :ivar map_scheme: the scheme whose mapping records map it (Ecode V0 maps as GS1).
    :ivar map_keys: candidate mapping keys, most specific first.
    :ivar text: the text as given (surrounding white space removed).
    :ivar form: the form it was written in (``element string``, ``digital link`` …).
    """

    scheme: str
    kind: str
    canonical: str
    fields: Mapping[str, str] = field(default_factory=dict, hash=False)
    labels: tuple[str, ...] = ()
    map_scheme: str = ""
    map_keys: tuple[str, ...] = ()
    text: str = field(default="", compare=False)
    form: str = field(default="", compare=False)

    def describe(self) -> str:
        """``GS1 GTIN-13 (01)09521234543213`` — for people."""
        return f"{self.kind} {self.canonical}"


class Scheme(Protocol):
    """One identifier scheme.

    :ivar name: the registry name (lower case, also the ``scheme`` of mapping records).
    :ivar title: the name people know it by, with the Chinese term where there is one.
    :ivar forms: the forms :meth:`render` accepts; the first is the canonical one.
    """

    name: str
    title: str
    forms: tuple[str, ...]

    def parse(self, text: str, *, explicit: bool) -> Parsed | None:
        """``text`` as this scheme's identifier.

        :param explicit: the caller named this scheme; return ``None`` never, and say what is
            wrong instead.
        :returns: ``None`` when ``text`` is not of this scheme's shape (not explicit only).
        :raises InvalidIdentifier: it has this scheme's shape but is not valid.
        """
        ...

    def render(self, parsed: Parsed, form: str | None = None) -> str:
        """``parsed`` as text in ``form`` (default: canonical).

        :raises InvalidIdentifier: the form is unknown or cannot express this identifier.
        """
        ...

    def mapping_key(self, key: str) -> str:
        """Validate and normalise a mapping key of this scheme (for :func:`mapping_values
        <idnode.schemes.mapping.mapping_values>`).

        :raises InvalidIdentifier: not a key this scheme's identifiers can map by.
        """
        ...
