"""OIDs (ITU-T X.660) as DNS labels, and the ``[dns] oids`` map from OID arcs to handles.

Parsing follows :mod:`idnode.schemes.oid`. An arc ``A`` mapped to the handle prefix ``P`` is
answered from ``0.NA/P``, and a deeper OID ``A.x.y`` from the handle ``P/x.y``; the longest
mapped arc wins. (OIDs the table does not map may still have mapping records, which
:mod:`idnode.dnsface.zones` reads when ``[dns] oid_mapping`` is set.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from idnode.identifiers.handle import PREFIX_NA

__all__ = ["MAX_ARC_DIGITS", "OidMap", "OidTarget", "parse_oid"]

#: as idnode.schemes.oid: 128-bit arcs (bounds int() on hostile labels)
MAX_ARC_DIGITS = 39
_ARC = re.compile(r"0|[1-9][0-9]*")


def parse_oid(text: str) -> tuple[int, ...]:
    """``1.2.156.3001`` (or ``urn:oid:…``) → its arcs, by the rules of
    :class:`idnode.schemes.oid.OidScheme`.

    :raises ValueError: not an OID (the message says why).
    """
    from idnode.errors import InvalidIdentifier
    from idnode.schemes.oid import OidScheme
    try:
        parsed = OidScheme().parse(text.strip(), explicit=True)
    except InvalidIdentifier as exc:
        raise ValueError(str(exc)) from None
    if parsed is None:
        raise ValueError(f"{text!r} is not a dotted OID")
    return tuple(int(arc) for arc in parsed.canonical.split("."))


def canonical_arc(label: str) -> int | None:
    """A DNS label as an OID arc, or None when it is not one in canonical decimal form."""
    if not _ARC.fullmatch(label) or len(label) > MAX_ARC_DIGITS:
        return None
    return int(label)


@dataclass(frozen=True, slots=True)
class OidTarget:
    """Where an OID's answer comes from.

    :ivar handle: the handle whose record answers, or None (no mapped arc above it).
    :ivar below: a mapped arc lies strictly below the OID, so its DNS name exists even
        without a record of its own (an empty non-terminal).
    """

    handle: str | None
    below: bool


class OidMap:
    """The ``[dns] oids`` table; the longest mapped arc wins."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._arcs = {parse_oid(arc): prefix for arc, prefix in pairs}

    def target(self, arcs: tuple[int, ...]) -> OidTarget:
        below = any(len(m) > len(arcs) and m[:len(arcs)] == arcs for m in self._arcs)
        for n in range(len(arcs), 0, -1):
            prefix = self._arcs.get(arcs[:n])
            if prefix is not None:
                rest = arcs[n:]
                handle = (f"{PREFIX_NA}/{prefix}" if not rest
                          else f"{prefix}/{'.'.join(map(str, rest))}")
                return OidTarget(handle, below)
        return OidTarget(None, below)
