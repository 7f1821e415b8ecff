"""The reverse index's rules, shared by every backend: what is indexed, and how a pattern
becomes an index range scan. Pure functions, no I/O.

An *entry* is ``(TYPE, data text, value index)`` for one value of one handle. Each backend
keeps two sorted copies of its entries, keyed ``(type, data, key, idx)`` and
``(type, reversed data, key, idx)``: a pattern with a literal beginning is a range scan of
the first, one with a literal end a range scan of the second.

A value is indexed when its type (ASCII upper case) is in the store's indexed set, it is
publicly readable, and its data is UTF-8 text of at most :data:`MAX_INDEXED_BYTES` bytes
without NUL (PostgreSQL text cannot hold NUL). An entry whose type, data and handle key
together exceed :data:`MAX_ENTRY_BYTES` is not indexed either: PostgreSQL refuses b-tree
rows larger than about 2.7 kB, and the rule must be the same on every backend.

Patterns: ``*`` matches any run of characters (zero or more); every other character is
literal; matching is case-sensitive.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from idnode.errors import ConfigError, InvalidValue
from idnode.identifiers.handle import ascii_upper
from idnode.identifiers.value import HandleValue
from idnode.storage.ops import Record

__all__ = [
    "DEFAULT_INDEX_TYPES",
    "MAX_ENTRY_BYTES",
    "MAX_INDEXED_BYTES",
    "MAX_SEARCH_LIMIT",
    "MIN_ANCHOR",
    "NEVER_INDEXED",
    "Criterion",
    "IndexEntry",
    "IndexJob",
    "check_index_types",
    "decode_types",
    "encode_types",
    "index_changes",
    "index_entries",
    "plan_search",
    "record_matches",
    "successor",
]

DEFAULT_INDEX_TYPES = ("URL", "CHECKSUM")
#: Secrets and binary data: never searchable, whatever the configuration.
NEVER_INDEXED = frozenset({"HS_SECKEY", "HS_PUBKEY", "HS_ADMIN", "HS_VLIST", "HS_SITE",
                           "HS_SITE.PREFIX", "HS_SERV", "HS_SIGNATURE"})
MAX_INDEXED_BYTES = 1024
MAX_ENTRY_BYTES = 2400
MAX_SEARCH_LIMIT = 100_000
#: The shortest literal beginning or end a wildcard pattern may be scanned by.
MIN_ANCHOR = 3

#: ``(TYPE, data, value index)``
IndexEntry = tuple[str, str, int]


# -- what is indexed -------------------------------------------------------------------
def check_index_types(types: Sequence[str]) -> frozenset[str]:
    """The configured indexed-type set, upper-cased.

    :raises ConfigError: not a list of names, an empty or control-character name, or a type
        that is never indexed.
    """
    if isinstance(types, str):  # "URL" would otherwise be read as {"U", "R", "L"}
        raise ConfigError(key="index_types", reason=f"expected a list of types, not {types!r}")
    out = set()
    for name in types:
        upper = ascii_upper(str(name))
        if not upper or any(ch < " " or ch == "\x7f" for ch in upper):
            raise ConfigError(key="index_types", reason=f"{name!r} is not a value type")
        if upper in NEVER_INDEXED:
            raise ConfigError(key="index_types",
                              reason=f"{upper} values hold secrets or binary data and are "
                                     "never indexed")
        out.add(upper)
    return frozenset(out)


def encode_types(types: Iterable[str]) -> str:
    """The form kept in the store's metadata."""
    return json.dumps(sorted(types))


def decode_types(text: str | None) -> frozenset[str] | None:
    """Inverse of :func:`encode_types`; ``None`` stays ``None`` (no complete index)."""
    return None if text is None else frozenset(json.loads(text))


#: value type → its indexed spelling; a node sees few distinct types, bounded anyway
_UPPER: dict[str, str] = {}
_UPPER_MAX = 4096


def _upper(type_: str) -> str:
    upper = _UPPER.get(type_)
    if upper is None:
        upper = ascii_upper(type_)
        if len(_UPPER) < _UPPER_MAX:
            _UPPER[type_] = upper
    return upper


def _entry(key: str, value: HandleValue, types: frozenset[str]) -> IndexEntry | None:
    type_ = _upper(value.type)
    if type_ not in types or not value.public_read or len(value.data) > MAX_INDEXED_BYTES:
        return None
    try:
        text = value.data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    if len(type_.encode()) + len(value.data) + len(key.encode()) > MAX_ENTRY_BYTES:
        return None
    return type_, text, value.index


def index_entries(key: str, values: Iterable[HandleValue],
                  types: frozenset[str]) -> list[IndexEntry]:
    """The entries of ``values`` of the handle ``key``."""
    if not types:
        return []
    return [entry for value in values
            if _upper(value.type) in types and (entry := _entry(key, value, types)) is not None]


def index_changes(key: str, old: Iterable[HandleValue], values: Sequence[HandleValue],
                  removed: Iterable[int], types: frozenset[str],
                  ) -> tuple[list[IndexEntry], list[IndexEntry]]:
    """(entries to drop, entries to add) when ``values`` replace the values of ``old`` at
    the same indexes and the values at ``removed`` are deleted."""
    touched = {value.index for value in values}.union(removed)
    before = {entry for entry in index_entries(key, old, types) if entry[2] in touched}
    after = set(index_entries(key, values, types))
    return sorted(before - after), sorted(after - before)


# -- patterns --------------------------------------------------------------------------
def successor(text: str) -> str | None:
    """The least string greater than every string starting with ``text`` (code point order,
    which is also UTF-8 byte order); ``None`` when there is none."""
    chars = list(text)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            following = last + 1
            if 0xD800 <= following <= 0xDFFF:  # surrogates never occur in stored text
                following = 0xE000
            return "".join(chars) + chr(following)
    return None


@dataclass(frozen=True, slots=True)
class Criterion:
    """One ``(type, pattern)`` search criterion, with the index scan that answers it.

    :ivar type: the value type, ASCII upper case.
    :ivar pattern: the pattern as given.
    :ivar reverse: the scan is on reversed data (the pattern has the longer literal end).
    :ivar low: the scanned column's lower bound (the data itself when :attr:`exact`).
    :ivar high: the scanned column's upper bound (exclusive), ``None`` for none.
    :ivar scan_pattern: the pattern as it applies to the scanned column (reversed or not).
    """

    type: str
    pattern: str
    reverse: bool
    low: str
    high: str | None
    scan_pattern: str

    @classmethod
    def parse(cls, type_: str, pattern: str) -> Criterion:
        """:raises InvalidValue: an unusable type or pattern (see :func:`plan_search`)."""
        upper = ascii_upper(str(type_))
        if not upper:
            raise InvalidValue(reason="a search criterion needs a value type")
        if not isinstance(pattern, str) or "\x00" in pattern:
            raise InvalidValue(reason=f"search pattern {pattern!r} is not text without NUL")
        try:
            pattern.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidValue(reason=f"search pattern {pattern!r} is not valid Unicode"
                               ) from None
        if "*" not in pattern:  # its range holds the data starting with it, filtered to it
            return cls(upper, pattern, False, pattern, successor(pattern), pattern)
        head, _, rest = pattern.partition("*")
        tail = rest.rpartition("*")[2]
        if max(len(head), len(tail)) < MIN_ANCHOR:
            raise InvalidValue(reason=f"{upper} pattern {pattern!r} needs a literal beginning "
                                      f"or end of at least {MIN_ANCHOR} characters "
                                      "(e.g. 'https://example.org/*' or '*/file.pdf')")
        if len(head) >= len(tail):
            return cls(upper, pattern, False, head, successor(head), pattern)
        low = tail[::-1]
        return cls(upper, pattern, True, low, successor(low), pattern[::-1])

    @property
    def exact(self) -> bool:
        return "*" not in self.pattern

    @property
    def rank(self) -> tuple[bool, int]:
        """How selective the criterion looks: exact first, then the longer anchor."""
        return self.exact, len(self.low)

    def matches(self, data: str) -> bool:
        """Whether ``data`` (not reversed) matches the pattern."""
        return _regex(self.pattern).fullmatch(data) is not None

    def glob(self) -> str:
        """:attr:`scan_pattern` for SQLite's ``GLOB`` (``?`` and ``[`` made literal)."""
        return "".join(_GLOB_ESCAPES.get(ch, ch) for ch in self.scan_pattern)

    def like(self) -> str:
        """:attr:`scan_pattern` for SQL ``LIKE … ESCAPE '\\'``."""
        return "".join(_LIKE_ESCAPES.get(ch, ch) for ch in self.scan_pattern)


_GLOB_ESCAPES = {"?": "[?]", "[": "[[]"}
_LIKE_ESCAPES = {"\\": "\\\\", "%": "\\%", "_": "\\_", "*": "%"}
_regexes: dict[str, re.Pattern[str]] = {}


def _regex(pattern: str) -> re.Pattern[str]:
    compiled = _regexes.get(pattern)
    if compiled is None:
        if len(_regexes) > 256:  # a small cache: the same few patterns page through results
            _regexes.clear()
        compiled = re.compile(".*".join(re.escape(part) for part in pattern.split("*")),
                              re.DOTALL)
        _regexes[pattern] = compiled
    return compiled


def plan_search(criteria: Sequence[tuple[str, str]]) -> list[Criterion]:
    """The parsed criteria, the one to drive the search from first.

    :raises InvalidValue: no criteria, or a pattern without a literal beginning or end of at
        least :data:`MIN_ANCHOR` characters (an exact pattern may be of any length).
    """
    parsed = [Criterion.parse(type_, pattern) for type_, pattern in criteria]
    if not parsed:
        raise InvalidValue(reason="a search needs at least one (type, pattern) criterion")
    parsed.sort(key=lambda criterion: criterion.rank, reverse=True)  # stable: ties keep order
    return parsed


def record_matches(record: Record, criteria: Iterable[Criterion],
                   types: frozenset[str]) -> bool:
    """Whether every criterion matches an indexed value of ``record``."""
    entries = index_entries(record.key, record.values, types)
    return all(any(type_ == criterion.type and criterion.matches(data)
                   for type_, data, _ in entries) for criterion in criteria)


# -- the bulk job ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class IndexJob:
    """A back-fill in progress, kept in the store's metadata so that any process can resume
    it: for every handle after ``after``, when ``index`` index it for ``types``, when
    ``counts`` add it to the per-prefix handle counts, and when ``digests`` add it to the
    digests (the last two only when upgrading a store that had none)."""

    types: frozenset[str]
    counts: bool
    after: str = ""
    index: bool = True
    digests: bool = False

    def encode(self) -> str:
        return json.dumps({"types": sorted(self.types), "counts": self.counts,
                           "after": self.after, "index": self.index,
                           "digests": self.digests})

    @classmethod
    def decode(cls, text: str | None) -> IndexJob | None:
        if text is None:
            return None
        fields = json.loads(text)
        # Jobs recorded by schema version 2 name neither "index" nor "digests".
        return cls(frozenset(fields["types"]), bool(fields["counts"]), str(fields["after"]),
                   bool(fields.get("index", True)), bool(fields.get("digests", False)))
