"""10320/LOC data (``handle-protocol.md`` §6.7): the location list a proxy redirects by.

The data is UTF-8 XML::

    <locations chooseby="locatt,country,weighted">
      <location href="http://a.example/x" weight="1" id="0" />
      <location href="http://b.example/x.json" weight="0" view="json" />
    </locations>

Parsing uses the stdlib's expat but first refuses any ``<!DOCTYPE`` or ``<!ENTITY`` (entity
expansion and external entities need a DTD, so without one they cannot happen), and bounds
the document (:data:`MAX_LOC_BYTES`) and the number of locations (:data:`MAX_LOCATIONS`).
Parsing is strict and is the validator: every problem raises
:class:`~idnode.errors.InvalidValue` with the reason. The value-type registry keeps 10320/LOC
as plain text, so a stored value that fails here still loads; the proxy then falls back to
the record's URL values.

Selection (:func:`select_location`) follows CNRI's proxy (``servlet_proxy/handlers/
Location.java``), minus what needs data we do not have:

- ``locatt``: keep the locations carrying the requested attributes; each ``name:value`` (or
  bare ``name``, "has the attribute") narrows the set in turn, and one that matches nothing
  is skipped, so an unknown view falls back to the full list instead of failing.
- ``country``: skipped — the node has no GeoIP database.
- ``address`` (client IP in a CIDR list) is skipped too: selection does not see the client.
- ``score``: keep the locations with the highest ``score`` (missing = 0).
- ``weighted``: random choice proportional to ``weight`` (missing = 1); weight-0 locations
  are chosen only when every remaining weight is 0. It ends the selection, and is applied
  anyway when ``chooseby`` runs out.

Not supported: ``href_template``/``{hdl}`` templates, ``include``/namespace locations and
``10320/links``; a ``<location>`` without ``href`` is an error.
"""

from __future__ import annotations

import math
import random
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from idnode.errors import InvalidValue

__all__ = [
    "DEFAULT_CHOOSEBY",
    "LOC_TYPE",
    "MAX_LOCATIONS",
    "MAX_LOC_BYTES",
    "Location",
    "LocationList",
    "parse_locations",
    "parse_locatt",
    "select_location",
]

LOC_TYPE = "10320/LOC"
MAX_LOC_BYTES = 64 * 1024
MAX_LOCATIONS = 256
DEFAULT_CHOOSEBY = ("locatt", "country", "weighted")
_CHOOSEBY_ATTRIBUTES = ("chooseby", "choose_by")  # CNRI reads both spellings


def _weight_text(weight: float) -> str:
    return format(weight, "g")


@dataclass(frozen=True, slots=True)
class Location:
    """One ``<location>``.

    :ivar href: the target URL, as written.
    :ivar weight: relative weight for the ``weighted`` choice (finite, ``>= 0``).
    :ivar attributes: every other attribute (``id``, ``view``, ``country``, …) in document
        order; a tuple of pairs so the location stays hashable.
    """

    href: str
    weight: float = 1.0
    attributes: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.href, str) or not self.href:
            raise InvalidValue(reason="10320/LOC location has an empty href")
        if not math.isfinite(self.weight) or self.weight < 0:
            raise InvalidValue(reason=f"10320/LOC weight {self.weight!r} is not a number >= 0")

    def attribute(self, name: str) -> str | None:
        """The value of attribute ``name`` (``href`` and ``weight`` excluded), or None."""
        for key, value in self.attributes:
            if key == name:
                return value
        return None

    def _element(self) -> ET.Element:
        attrs = {"href": self.href, "weight": _weight_text(self.weight)}
        attrs.update(self.attributes)
        return ET.Element("location", attrs)


@dataclass(frozen=True, slots=True)
class LocationList:
    """A parsed 10320/LOC value.

    :ivar chooseby: the selection steps, lower-cased (:data:`DEFAULT_CHOOSEBY` if absent).
    """

    locations: tuple[Location, ...]
    chooseby: tuple[str, ...] = DEFAULT_CHOOSEBY

    def __post_init__(self) -> None:
        if len(self.locations) > MAX_LOCATIONS:
            raise InvalidValue(reason=f"10320/LOC has {len(self.locations)} locations "
                                      f"(limit {MAX_LOCATIONS})")

    def to_xml(self) -> str:
        """The XML text; a missing weight is written out as ``weight="1"``."""
        root = ET.Element("locations", {"chooseby": ",".join(self.chooseby)})
        root.extend(location._element() for location in self.locations)
        return ET.tostring(root, encoding="unicode")

    def to_bytes(self) -> bytes:
        return self.to_xml().encode("utf-8")


def _fail(reason: str) -> InvalidValue:
    return InvalidValue(reason=f"10320/LOC {reason}")


def _parse_weight(text: str | None, number: int) -> float:
    if text is None:
        return 1.0
    try:
        weight = float(text)
    except ValueError:
        raise _fail(f"location {number}: weight {text[:40]!r} is not a number") from None
    if not math.isfinite(weight) or weight < 0:
        raise _fail(f"location {number}: weight {text[:40]!r} is not a number >= 0")
    return weight


def _parse_chooseby(root: ET.Element) -> tuple[str, ...]:
    for name in _CHOOSEBY_ATTRIBUTES:
        text = root.get(name)
        if text is not None:
            return tuple(step.strip().lower() for step in text.split(",") if step.strip())
    return DEFAULT_CHOOSEBY


def parse_locations(data: bytes) -> LocationList:
    """Parse 10320/LOC data.

    :raises InvalidValue: larger than :data:`MAX_LOC_BYTES`, not UTF-8, contains a DTD or
        entity declaration, malformed XML, root not ``<locations>``, more than
        :data:`MAX_LOCATIONS` locations, or a location without ``href`` or with a bad weight.
    """
    if len(data) > MAX_LOC_BYTES:
        raise _fail(f"is {len(data)} bytes (limit {MAX_LOC_BYTES})")
    try:
        # Decode first so the DTD check sees the characters the parser will see (a UTF-16
        # document would otherwise slip past a byte search).
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise _fail(f"is not valid UTF-8 (byte {exc.start})") from None
    upper = text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise _fail("must not contain <!DOCTYPE or <!ENTITY declarations")
    try:
        # No DTD was let through above, so expat has no entities to expand or fetch.
        root = ET.fromstring(text)  # noqa: S314
    except ET.ParseError as exc:
        raise _fail(f"is not well-formed XML: {exc}") from None
    if root.tag.lower() != "locations":
        raise _fail(f"root element is <{root.tag[:40]}>, expected <locations>")
    elements = [child for child in root if child.tag.lower() == "location"]
    if len(elements) > MAX_LOCATIONS:
        raise _fail(f"has {len(elements)} locations (limit {MAX_LOCATIONS})")
    locations = []
    for number, element in enumerate(elements):
        href = element.get("href")
        if not href:
            raise _fail(f"location {number} has no href")
        weight = _parse_weight(element.get("weight"), number)
        others = tuple((k, v) for k, v in element.attrib.items() if k not in ("href", "weight"))
        locations.append(Location(href, weight, others))
    return LocationList(tuple(locations), _parse_chooseby(root))


def parse_locatt(params: Iterable[str]) -> dict[str, str | None]:
    """``locatt`` query values → ``{name: value}``; a bare ``name`` maps to None (any value).

    Several may be given comma-separated or as repeated parameters; later names win.
    """
    wanted: dict[str, str | None] = {}
    for param in params:
        for item in param.split(","):
            name, sep, value = item.partition(":")
            if name.strip():
                wanted[name.strip()] = value.strip() if sep else None
    return wanted


def _by_locatt(locations: list[Location],
               locatt: Mapping[str, str | None]) -> list[Location]:
    for name, value in locatt.items():
        narrowed = [loc for loc in locations
                    if (att := loc.attribute(name)) is not None and value in (None, att)]
        if narrowed:  # a requirement nothing meets is dropped, as Handle.Net does
            locations = narrowed
    return locations


def _by_score(locations: list[Location]) -> list[Location]:
    def score(loc: Location) -> float:
        try:
            value = float(loc.attribute("score") or 0)
        except ValueError:
            return 0.0
        return value if math.isfinite(value) else 0.0

    best = max(score(loc) for loc in locations)
    return [loc for loc in locations if score(loc) == best]


def _weighted(locations: list[Location], rng: random.Random) -> Location:
    total = sum(loc.weight for loc in locations)
    if total <= 0:
        return rng.choice(locations)
    point = rng.random() * total
    running = 0.0
    for loc in locations:
        running += loc.weight
        if point < running:  # strict, so a weight-0 location is never picked here
            return loc
    # Rounding can leave ``point`` just past the sum; take the last weighted location.
    return next(loc for loc in reversed(locations) if loc.weight > 0)


def select_location(locs: LocationList, *, locatt: Mapping[str, str | None] | None,
                    rng: random.Random) -> Location | None:
    """Choose the location to redirect to (see the module docstring), or None if empty."""
    locations = list(locs.locations)
    if not locations:
        return None
    for step in locs.chooseby:
        if len(locations) == 1:
            return locations[0]
        if step == "locatt" and locatt:
            locations = _by_locatt(locations, locatt)
        elif step == "score":
            locations = _by_score(locations)
        elif step == "weighted":
            return _weighted(locations, rng)
        # "country" and "address" need the client's location: skipped (no GeoIP here).
    return _weighted(locations, rng)
