"""Templates compiled for validation: one checker per item, built once per template.

:func:`compiled` gives the :class:`Compiled` form of a template, cached by object identity
(templates are immutable). :meth:`Compiled.values` is the fast path of
:func:`~idnode.templates.validate.validate`: it returns exactly the values the full check
would return, or ``None`` when it is not sure (a refused value, an unknown or disabled item, a
missing required item, a duplicate, anything unusual). The caller then runs the full check,
which words every problem; so the messages are those of the full check, and the fast path only
has to be right about what it accepts.

Per row the fast path allocates the output list and values and nothing else it can avoid:
limits, patterns, date formats and date bounds are prepared here, once. The importer takes
the values stamped and with their wire forms (:meth:`Compiled.checked`), which it stores as
they are: made here from a head fixed per item and timestamp, they cost a fraction of
:meth:`~idnode.identifiers.value.HandleValue.to_wire` per value.

The values are built without the :class:`~idnode.identifiers.value.HandleValue` constructor
(:func:`_value`), which costs more than the rest of a two-item check: every field it would
check is valid by construction here (an item's index is checked when the template is built,
the data is ``bytes`` from :meth:`str.encode`, the timestamp the caller's, the rest are the
defaults).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter

from idnode.identifiers.value import (
    DEFAULT_TTL,
    NO_REFERENCES,
    PERM_DEFAULT,
    TTL_RELATIVE,
    HandleValue,
    wire_head,
)
from idnode.templates.dates import DateFormat
from idnode.templates.limits import MAX_ITEMS, MAX_NUMBER_DIGITS, MAX_STRING_LENGTH
from idnode.templates.model import DataType, Template, TemplateItem, TemplateState
from idnode.templates.rules import Refused, check

__all__ = ["Compiled", "compiled"]

#: ``checker(value) -> text to store``, or None when the full check must decide
Checker = Callable[[object], str | None]

_CACHE_SIZE = 256
_STAMPS_KEPT = 4
_cache: dict[int, tuple[Template, Compiled]] = {}
_by_index = attrgetter("index")
_u32 = struct.Struct(">I").pack
_NO_HEADS: dict[int, bytes] = {}

_new = object.__new__
(_set_index, _set_type, _set_data, _set_ttl_type, _set_ttl, _set_timestamp,
 _set_permissions, _set_references) = (
    HandleValue.__dict__[name].__set__ for name in (
        "index", "type", "data", "ttl_type", "ttl", "timestamp", "permissions", "references"))


def _value(index: int, type_: str, data: bytes, stamp: int) -> HandleValue:
    """``HandleValue(index, type_, data, timestamp=stamp)`` without re-checking fields valid
    by construction."""
    value: HandleValue = _new(HandleValue)
    _set_index(value, index)
    _set_type(value, type_)
    _set_data(value, data)
    _set_ttl_type(value, TTL_RELATIVE)
    _set_ttl(value, DEFAULT_TTL)
    _set_timestamp(value, stamp)
    _set_permissions(value, PERM_DEFAULT)
    _set_references(value, ())
    return value


def _string(item: TemplateItem) -> Checker:
    rules = item.rules
    low = rules.min_length or 0
    high = MAX_STRING_LENGTH if rules.max_length is None else rules.max_length
    match = None if rules.pattern is None else re.compile(rules.pattern).fullmatch

    def checker(value: object) -> str | None:
        if type(value) is not str or not low <= len(value) <= high:
            return None
        if match is not None and match(value) is None:
            return None
        return value
    return checker


def _date(item: TemplateItem) -> Checker:
    rules = item.rules
    fmt = DateFormat.compile(rules.date_format)
    read = fmt.read
    earliest = None if rules.earliest is None else read(rules.earliest)
    latest = None if rules.latest is None else read(rules.latest)
    if fmt.positions == _DAY_ONLY and fmt.regex.pattern == _ISO_DAY:
        return _iso_day(earliest, latest)

    def checker(value: object) -> str | None:
        if type(value) is not str:
            return None
        moment = read(value)
        if moment is None or (earliest is not None and moment < earliest) or \
                (latest is not None and moment > latest):
            return None
        return value
    return checker


#: ``yyyy-MM-dd``, the default and by far the most common format: read by
#: :meth:`date.fromisoformat` once the dashes are in place. That reads only ASCII digits,
#: where the format's expression (``\d``) takes any decimal digit: such rows, like every
#: refused one, take the full check.
_DAY_ONLY = (1, 2, 3, 0, 0, 0, 0)
_ISO_DAY = r"(?P<year>\d{4})\-(?P<month>\d{2})\-(?P<day>\d{2})"


def _iso_day(earliest: datetime | None, latest: datetime | None) -> Checker:
    low = None if earliest is None else earliest.date()
    high = None if latest is None else latest.date()
    day = date.fromisoformat

    def checker(value: object) -> str | None:
        if type(value) is not str or len(value) != 10 or value[4] != "-" or value[7] != "-":
            return None
        try:
            moment = day(value)
        except ValueError:
            return None
        if (low is not None and moment < low) or (high is not None and moment > high):
            return None
        return value
    return checker


_PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+)(?:\.([0-9]+))?")


def _number(item: TemplateItem) -> Checker:
    """Whole numbers and plain ASCII decimal text; anything else (floats, other digits)
    takes the full check."""
    rules = item.rules
    low, high, places = rules.minimum, rules.maximum, rules.decimal_places
    bounded = low is not None or high is not None
    shape = _PLAIN_NUMBER.fullmatch

    def in_bounds(number: int | Decimal) -> bool:
        return (low is None or number >= low) and (high is None or number <= high)

    def checker(value: object) -> str | None:
        if type(value) is int:
            text = str(value)
            if len(text.lstrip("+-0")) > MAX_NUMBER_DIGITS or (bounded and
                                                            not in_bounds(value)):
                return None
            return text
        if type(value) is not str:
            return None
        if value.isdigit() and value.isascii() and len(value) <= MAX_NUMBER_DIGITS:
            # the commonest text, a whole number: what the expression below would accept
            return value if not bounded or in_bounds(int(value)) else None
        match = shape(value)
        if match is None:
            return None
        whole, fraction = match.group(1, 2)
        decimals = 0 if fraction is None else len(fraction)
        if len(whole.lstrip("0")) + decimals > MAX_NUMBER_DIGITS or \
                (places is not None and decimals > places) or \
                (bounded and not in_bounds(Decimal(value))):
            return None
        return value
    return checker


def _general(item: TemplateItem) -> Checker:
    def checker(value: object) -> str | None:
        try:
            return check(item, value).text
        except Refused:
            return None
    return checker


_CHECKERS: dict[DataType, Callable[[TemplateItem], Checker]] = {
    DataType.STRING: _string, DataType.NUMBER: _number, DataType.DATE: _date}


#: an enabled item, for data keyed by type name: index, type, checker, whether required,
#: and the wire head of its values for one stamp (:meth:`Compiled._heads`)
_Enabled = tuple[int, str, Checker, bool, bytes]


@dataclass(frozen=True, slots=True)
class _Slot:
    index: int
    type: str
    lower: str
    required: bool
    enabled: bool
    bit: int
    check: Checker


class Compiled:
    """A template prepared for checking many rows (see the module docstring).

    :ivar unique: the ``unique`` (唯一) items, by index.
    :ivar references: whether some enabled item is a reference (data type 5).
    """

    __slots__ = ("_by_index", "_by_lower", "_by_type", "_enabled", "_plain", "_published",
                 "_required", "_stamped", "references", "template", "unique")

    def __init__(self, template: Template) -> None:
        self.template = template
        self._published = template.state is TemplateState.PUBLISHED
        slots = [_Slot(item.index, item.type, item.type.lower(),
                       item.required and item.enabled, item.enabled, 1 << n,
                       _CHECKERS.get(item.data_type, _general)(item))
                 for n, item in enumerate(template.items)]
        self._by_index = {slot.index: slot for slot in slots}
        self._by_type = {slot.type: slot for slot in slots}
        self._by_lower = {slot.lower: slot for slot in slots}
        # for data keyed by type name: enabled items only, as tuples (unpacked in one step)
        self._enabled: dict[str, tuple[int, str, Checker, bool]] = {
            slot.type: (slot.index, slot.type, slot.check, slot.required)
                         for slot in slots if slot.enabled}
        self._required = sum(1 for slot in slots if slot.required)
        self.unique = {item.index: item for item in template.items if item.unique}
        self.references = any(item.data_type is DataType.REFERENCE and item.enabled
                              for item in template.items)
        self._stamped: dict[int, tuple[dict[str, _Enabled], dict[int, bytes]]] = {}
        #: the enabled items without wire heads, for :meth:`values`
        self._plain: dict[str, _Enabled] = {
            type_: (*entry, b"") for type_, entry in self._enabled.items()}

    def _slot(self, entry: dict[str, object]) -> _Slot | None:
        """The item a ``{index, type, data}`` entry names, when it is plainly right."""
        index, type_ = entry.get("index"), entry.get("type")
        if index is not None:
            if type(index) is not int:
                return None
            slot = self._by_index.get(index)
            if slot is None or type_ is None or type_ == slot.type:
                return slot
            return slot if type(type_) is str and type_.lower() == slot.lower else None
        if type(type_) is not str:
            return None
        slot = self._by_type.get(type_)
        return slot if slot is not None else self._by_lower.get(type_.lower())

    def values(self, data: object) -> list[HandleValue] | None:
        """The values to store for ``data``, or None: let the full check decide."""
        found = self.checked(data, 0, False)
        return None if found is None else found[0]

    def _heads(self, stamp: int) -> tuple[dict[str, _Enabled], dict[int, bytes]]:
        """The enabled items by type name with the wire head of their values stamped
        ``stamp``, and those heads by index; kept for the last few stamps (an import's, and
        0 for :meth:`values`, alternate)."""
        known = self._stamped.get(stamp)
        if known is not None:
            return known
        heads = {slot.index: wire_head(slot.index, slot.type, stamp)
                 for slot in self._by_index.values()}
        enabled = {type_: (*entry, heads[entry[0]]) for type_, entry in self._enabled.items()}
        if len(self._stamped) >= _STAMPS_KEPT:
            self._stamped = {}  # replaced, not cleared: threads may be reading it
        self._stamped[stamp] = enabled, heads
        return enabled, heads

    def encoded(self, data: object, stamp: int) -> tuple[int, bytes] | None:
        """For data keyed by type name (an import's row): how many values :meth:`checked`
        would make, and their wire forms joined, without making the values; or None (let
        :meth:`checked` decide, which it also does for items given out of index order).
        The loop of :meth:`checked` for such data, written out again without the values:
        this runs for every imported row."""
        if not self._published or type(data) is not dict:
            return None
        enabled = self._heads(stamp)[0]
        wires: list[bytes] = []
        required = last = 0
        for key, raw in data.items():
            known = enabled.get(key)
            if known is None:
                return None
            index, _, check_, needed, head = known
            if type(raw) is dict and "format" in raw:  # SNMS {"format", "value"}
                if raw["format"] != "string" or len(raw) - ("value" in raw) != 1:
                    return None
                raw = raw.get("value")  # noqa: PLW2901 - the value inside
            if raw is None or raw == "":
                continue
            text = check_(raw)
            if text is None or index < last:
                return None
            try:
                encoded = text.encode()
            except UnicodeEncodeError:
                return None
            last = index
            required += needed
            wires += (head, _u32(len(encoded)), encoded, NO_REFERENCES)
        if required != self._required:
            return None
        return len(wires) >> 2, b"".join(wires)

    def checked(self, data: object, stamp: int, wire: bool = True,
                ) -> tuple[list[HandleValue], bytes] | None:
        """The values to store for ``data``, stamped ``stamp`` (a valid timestamp: it is not
        checked), and their wire forms (:meth:`HandleValue.to_wire`) joined in index order
        (``wire`` false: empty, for callers that do not store them as they are, which then
        pay nothing for them); or None: let the full check decide. Every value is made here
        with the default TTL and permissions and no references, so its wire form is a head
        fixed per item and stamp, then its data.

        Written out flat, without helpers per value: this runs for every imported row.
        """
        if not self._published:
            return None
        enabled, heads = self._heads(stamp) if wire else (self._plain, _NO_HEADS)
        out: list[HandleValue] = []
        append = out.append
        wires: list[bytes] | None = [] if wire else None
        seen = required = last = 0
        ordered = True
        if type(data) is dict:
            # distinct keys name distinct items: no duplicates to look for
            for key, raw in data.items():
                known = enabled.get(key)
                if known is None:
                    return None
                index, type_, check_, needed, head = known
                given = raw
                if type(given) is dict and "format" in given:  # SNMS {"format", "value"}
                    if given["format"] != "string" or len(given) - ("value" in given) != 1:
                        return None
                    given = given.get("value")
                if given is None or given == "":
                    continue
                text = check_(given)
                if text is None:
                    return None
                try:
                    encoded = text.encode()
                except UnicodeEncodeError:
                    return None
                if index < last:
                    ordered = False
                last = index
                required += needed
                append(_value(index, type_, encoded, stamp))
                if wires is not None:
                    wires += (head, _u32(len(encoded)), encoded, NO_REFERENCES)
        elif type(data) is list and len(data) <= MAX_ITEMS:
            by_index = self._by_index
            for entry in data:
                if type(entry) is not dict or "data" not in entry:
                    return None
                named = entry.get("index")
                if type(named) is int:  # the SNMS form: index and type both given
                    slot = by_index.get(named)
                    if slot is None:
                        return None
                    kind = entry.get("type")
                    if kind is not None and kind != slot.type and \
                            (type(kind) is not str or kind.lower() != slot.lower):
                        return None
                else:
                    found = self._slot(entry)
                    if found is None:
                        return None
                    slot = found
                if seen & slot.bit or not slot.enabled:
                    return None
                seen |= slot.bit
                given = entry["data"]
                if type(given) is dict and "format" in given:
                    if given["format"] != "string" or len(given) - ("value" in given) != 1:
                        return None
                    given = given.get("value")
                if given is None or given == "":
                    continue
                text = slot.check(given)
                if text is None:
                    return None
                try:
                    encoded = text.encode()
                except UnicodeEncodeError:
                    return None
                index = slot.index
                if index < last:
                    ordered = False
                last = index
                required += slot.required
                append(_value(index, slot.type, encoded, stamp))
                if wires is not None:
                    wires += (heads[index], _u32(len(encoded)), encoded, NO_REFERENCES)
        else:
            return None
        if required != self._required:
            return None
        if wires is None:
            if not ordered:
                out.sort(key=_by_index)
            return out, b""
        if not ordered:
            out.sort(key=_by_index)
            wires = [piece for value in out for piece in (
                heads[value.index], _u32(len(value.data)), value.data, NO_REFERENCES)]
        return out, b"".join(wires)


def compiled(template: Template) -> Compiled:
    """The compiled form of ``template``, made once and cached (bounded)."""
    known = _cache.get(id(template))
    if known is not None and known[0] is template:
        return known[1]
    result = Compiled(template)
    if len(_cache) >= _CACHE_SIZE:
        _cache.clear()
    _cache[id(template)] = (template, result)
    return result
