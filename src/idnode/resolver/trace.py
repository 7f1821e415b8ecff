"""What a resolution did, hop by hop (like ``dig +trace``).

Pass a :class:`Trace` to :meth:`Resolver.resolve <idnode.resolver.Resolver.resolve>`; every
question asked (or answered from the cache) adds a :class:`Hop`. ``idnode resolve --trace``
prints :meth:`Trace.format`, and a recursive node's web face returns :meth:`Trace.to_json`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from idnode.errors import InvalidValue

__all__ = ["Hop", "Trace"]

_HEADINGS = ("STEP", "HANDLE", "SERVER", "VIA", "SITE", "RC", "MS", "NOTE")


def _cell(text: str) -> str:
    # One hop per line, whatever a server put in a site name or an error message.
    return text if text.isprintable() else \
        "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


@dataclass(frozen=True, slots=True)
class Hop:
    """One question and its answer.

    :ivar step: what the question was for: ``"root"``, ``"prefix 88.118"``, ``"handle"``,
        ``"alias"``, ``"referral"``, ``"site info"``, ``"service"``.
    :ivar server: the address asked (``"127.0.0.1:4001"``), or ``"cache"``.
    :ivar transport: ``"udp"``, ``"tcp"``, ``"http"``, ``"cache"``, or ``""`` when nothing
        was sent (the server was skipped).
    :ivar site: the site's ``desc`` attribute, or ``""``.
    :ivar response_code: the answer's response code; 0 when no answer came.
    :ivar elapsed_ms: how long the question took.
    :ivar note: what else is worth knowing (errors, referral targets, skipped servers).
    """

    step: str
    handle: str
    server: str
    transport: str
    site: str
    response_code: int
    elapsed_ms: float
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "handle": self.handle, "server": self.server,
                "transport": self.transport, "site": self.site,
                "responseCode": self.response_code, "ms": round(self.elapsed_ms, 3),
                "note": self.note}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Hop:
        """Read one hop of :meth:`to_json`'s shape.

        :raises InvalidValue: a field is missing or has the wrong type.
        """
        try:
            code, ms = obj["responseCode"], obj["ms"]
            if isinstance(code, bool) or not isinstance(code, int):
                raise TypeError("responseCode")
            if isinstance(ms, bool) or not isinstance(ms, int | float):
                raise TypeError("ms")
            texts = [obj[k] for k in ("step", "handle", "server", "transport", "site")]
            note = obj.get("note", "")
            if not all(isinstance(t, str) for t in [*texts, note]):
                raise TypeError("text field")
        except (KeyError, TypeError) as exc:
            raise InvalidValue(reason=f"trace hop {dict(obj)!r}: bad or missing {exc}") \
                from None
        step, handle, server, transport, site = texts
        return cls(step, handle, server, transport, site, code, float(ms), note)


class Trace:
    """An ordered list of :class:`Hop` and the time since the trace began."""

    __slots__ = ("_last", "_started", "hops")

    def __init__(self) -> None:
        self.hops: list[Hop] = []
        self._started = time.monotonic()
        self._last = self._started

    def add(self, hop: Hop) -> None:
        self.hops.append(hop)
        self._last = time.monotonic()

    def __len__(self) -> int:
        return len(self.hops)

    def __iter__(self) -> Iterator[Hop]:
        return iter(self.hops)

    @property
    def total_ms(self) -> float:
        """Milliseconds from the trace's creation to its last hop."""
        return (self._last - self._started) * 1000

    def to_json(self) -> list[dict[str, Any]]:
        return [hop.to_json() for hop in self.hops]

    @classmethod
    def from_json(cls, items: Iterable[Mapping[str, Any]]) -> Trace:
        """Rebuild a trace from :meth:`to_json`'s list (the total is the sum of the hops).

        :raises InvalidValue: an item is not a hop.
        """
        trace = cls()
        for item in items:
            if not isinstance(item, Mapping):
                raise InvalidValue(reason=f"trace item {item!r} is not an object")
            trace.hops.append(Hop.from_json(item))
        trace._last = trace._started + sum(h.elapsed_ms for h in trace.hops) / 1000
        return trace

    def format(self) -> str:
        """An aligned table, one line per hop, and the total time at the end."""
        rows = [_HEADINGS]
        for hop in self.hops:
            rows.append((_cell(hop.step), _cell(hop.handle), _cell(hop.server),
                         _cell(hop.transport) or "-", _cell(hop.site) or "-",
                         str(hop.response_code) if hop.response_code else "-",
                         f"{hop.elapsed_ms:.1f}", _cell(hop.note)))
        widths = [max(len(row[col]) for row in rows) for col in range(len(_HEADINGS) - 1)]
        lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)),
                            row[-1]]).rstrip() for row in rows]
        hops = len(self.hops)
        lines.append(f"total {self.total_ms:.1f} ms, {hops} hop{'s' if hops != 1 else ''}")
        return "\n".join(lines)
