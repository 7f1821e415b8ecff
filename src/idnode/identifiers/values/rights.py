"""``IDIS.AUTH`` data: an identifier's data rights (数据权限, ``idis.md`` §5.1, §7.4).

One value of type ``IDIS.AUTH`` at the reserved index :data:`RIGHTS_INDEX` (1100) of a record
says who besides the record's administrators (HS_ADMIN) may read or write its business data,
the values at index 2000 and up (:data:`FIRST_BUSINESS_INDEX`). Its data is UTF-8 JSON, the
same object the enterprise node's ``/api/v1/single-handle/authorization`` endpoint takes and
answers (without the ``handle``)::

    {"readerScope": 2,
     "handleUserReaders": [{"id": "300:88.200.1/alice", "indexes": [2000, 2003]},
                           {"id": "200:88.200.1/partners"}],
     "handleUserWriters": [{"id": "300:88.200.1/bob", "indexes": [2003]}]}

* ``readerScope``: 1 = public (business values carry PUB_READ as usual), 2 = scoped (business
  values are stored without PUB_READ; only administrators and the listed readers see them).
* Each entry names an identity reference ``index:handle``: a user (its HS_PUBKEY or
  HS_SECKEY at that index) or an HS_VLIST group, followed recursively like an HS_ADMIN
  group; index 0 = any index, as in HS_ADMIN. ``indexes`` limits the entry to those business
  values (field-level grants); without it the entry covers every business value.
  A bare string ``"300:88.200.1/alice"`` is accepted for an entry without ``indexes``.
* Writers may add, modify and remove the business values they are granted, and read them.

The value itself carries admin read/write only (``1100``), so readers of the record do not
learn who else may read it. This module is the data model only; the decisions are in
:mod:`idnode.auth.permissions`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from idnode.errors import InvalidHandle, ProtocolError
from idnode.identifiers.handle import Handle, ascii_upper
from idnode.identifiers.value import (
    PERM_ADMIN_READ,
    PERM_PUBLIC_READ,
    PERM_SECRET,
    HandleValue,
    Reference,
)

__all__ = [
    "FIRST_BUSINESS_INDEX",
    "MAX_GRANTS",
    "RIGHTS_INDEX",
    "RIGHTS_TYPE",
    "SCOPE_PUBLIC",
    "SCOPE_SCOPED",
    "Coverage",
    "Grant",
    "RightsData",
    "is_protected_type",
    "parse_grant",
    "parse_reference",
    "rights_of",
    "scope_of",
    "with_scope",
]

RIGHTS_TYPE = "IDIS.AUTH"
#: where a record keeps its IDIS.AUTH value (below 2000, clear of 100 HS_ADMIN, 200 HS_VLIST,
#: 300/301 keys, 400+ HS_CERT/HS_SIGNATURE and 1000/1001 TEMPLATE_ID/TEMPLATE)
RIGHTS_INDEX = 1100
#: business data (template items) starts here (``idis.md`` §2.2)
FIRST_BUSINESS_INDEX = 2000
SCOPE_PUBLIC, SCOPE_SCOPED = 1, 2
#: entries per list, and indexes per entry
MAX_GRANTS = 1000
_MAX_INDEX = 0x7FFF_FFFF
_U32_MAX = 0xFFFF_FFFF
_READERS, _WRITERS, _SCOPE = "handleUserReaders", "handleUserWriters", "readerScope"


def is_protected_type(type_name: str) -> bool:
    """Types only administrators may write, whatever the index: every ``HS_*`` type (admins,
    groups, keys, sites, aliases …) and ``IDIS.AUTH`` itself."""
    upper = ascii_upper(type_name)
    return upper.startswith("HS_") or upper == RIGHTS_TYPE


def parse_reference(text: str) -> Reference:
    """``index:handle`` → :class:`Reference`.

    :raises ProtocolError: no colon, a bad index, or an invalid handle (the message says which).
    """
    index_text, sep, handle = text.strip().partition(":")
    if not sep:
        raise ProtocolError(reason=f"{text!r} is not an identity reference 'index:handle', "
                                   "e.g. '300:88.200.1/alice'")
    if not (index_text.isascii() and index_text.isdigit()) or int(index_text) > _U32_MAX:
        raise ProtocolError(reason=f"{text!r}: the index {index_text!r} is not a number")
    try:
        Handle.parse(handle)
    except InvalidHandle as exc:
        raise ProtocolError(reason=f"{text!r}: {exc}") from None
    return Reference(handle, int(index_text))


@dataclass(frozen=True, slots=True)
class Coverage:
    """Business values one identity is granted: all of them, or some indexes."""

    every: bool = False
    indexes: frozenset[int] = frozenset()

    def covers(self, index: int) -> bool:
        return index >= FIRST_BUSINESS_INDEX and (self.every or index in self.indexes)

    def __or__(self, other: Coverage) -> Coverage:
        return Coverage(self.every or other.every, self.indexes | other.indexes)

    def describe(self) -> str:
        return ("every business value (2000 and up)" if self.every
                else "values " + ", ".join(map(str, sorted(self.indexes))))


@dataclass(frozen=True, slots=True)
class Grant:
    """One entry: ``ref`` (a user or an HS_VLIST group) may use ``indexes`` (None = all
    business values)."""

    ref: Reference
    indexes: tuple[int, ...] | None = None

    @property
    def coverage(self) -> Coverage:
        if self.indexes is None:
            return Coverage(every=True)
        return Coverage(indexes=frozenset(self.indexes))

    @property
    def id(self) -> str:
        return f"{self.ref.index}:{self.ref.handle}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.indexes is not None:
            out["indexes"] = list(self.indexes)
        return out


def _indexes(raw: Any, where: str) -> tuple[int, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise ProtocolError(reason=f"{where}.indexes must be a list of value indexes")
    if not raw:
        raise ProtocolError(reason=f"{where}.indexes is empty, so it grants nothing; leave "
                                   "out 'indexes' to grant every business value")
    if len(raw) > MAX_GRANTS:
        raise ProtocolError(reason=f"{where}.indexes: {len(raw)} indexes; at most "
                                   f"{MAX_GRANTS}")
    out = set()
    for item in raw:
        # numeric strings too, as pyhandle sends indexes
        digits = isinstance(item, str) and item.strip().isascii() and item.strip().isdigit()
        index = int(item) if digits else item
        if isinstance(index, bool) or not isinstance(index, int):
            raise ProtocolError(reason=f"{where}.indexes: {item!r} is not an index")
        if not FIRST_BUSINESS_INDEX <= index <= _MAX_INDEX:
            raise ProtocolError(reason=f"{where}.indexes: {index} is not a business value; "
                                       f"grants cover indexes {FIRST_BUSINESS_INDEX} and up "
                                       "(administrative values are for HS_ADMIN)")
        out.add(index)
    return tuple(sorted(out))


def parse_grant(raw: Any, where: str) -> Grant:
    """One entry: ``"index:handle"`` or ``{"id": "index:handle", "indexes": [...]}``.

    :raises ProtocolError: naming ``where`` (e.g. ``handleUserReaders[1]``) and the problem.
    """
    if isinstance(raw, str):
        return Grant(_reference(raw, where))
    if not isinstance(raw, dict):
        raise ProtocolError(reason=f"{where} must be 'index:handle' or an object "
                                   "{\"id\": \"index:handle\", \"indexes\": [...]}")
    unknown = set(raw) - {"id", "indexes"}
    if unknown:
        raise ProtocolError(reason=f"{where}: unknown field(s) {', '.join(sorted(unknown))}; "
                                   "an entry has 'id' and optionally 'indexes'")
    ident = raw.get("id")
    if not isinstance(ident, str):
        raise ProtocolError(reason=f"{where}.id: missing or not text ('index:handle')")
    return Grant(_reference(ident, f"{where}.id"), _indexes(raw.get("indexes"), where))


def _reference(text: str, where: str) -> Reference:
    try:
        return parse_reference(text)
    except ProtocolError as exc:
        raise ProtocolError(reason=f"{where}: {exc.kwargs.get('reason', exc)}") from None


def _grants(raw: Any, name: str) -> tuple[Grant, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ProtocolError(reason=f"{name} must be a list")
    if len(raw) > MAX_GRANTS:
        raise ProtocolError(reason=f"{name}: {len(raw)} entries; at most {MAX_GRANTS}")
    out: dict[tuple[str, int], Grant] = {}
    for i, item in enumerate(raw):
        grant = parse_grant(item, f"{name}[{i}]")
        key = (Handle.parse(grant.ref.handle).key, grant.ref.index)
        if key in out:
            raise ProtocolError(reason=f"{name}[{i}]: {grant.id} is listed twice")
        out[key] = grant
    return tuple(out.values())


def scope_of(raw: Any) -> int:
    """``readerScope``: 1 or 2 (numbers, or numeric strings).

    :raises ProtocolError: anything else.
    """
    if isinstance(raw, str) and raw.strip() in ("1", "2"):
        return int(raw)
    if isinstance(raw, bool) or raw not in (SCOPE_PUBLIC, SCOPE_SCOPED):
        raise ProtocolError(reason=f"{_SCOPE} must be 1 (public) or 2 (scoped: listed "
                                   f"readers only), not {raw!r}")
    return int(raw)


@dataclass(frozen=True, slots=True)
class RightsData:
    """The data of an ``IDIS.AUTH`` value."""

    reader_scope: int = SCOPE_PUBLIC
    readers: tuple[Grant, ...] = ()
    writers: tuple[Grant, ...] = ()

    @property
    def scoped(self) -> bool:
        return self.reader_scope == SCOPE_SCOPED

    @property
    def empty(self) -> bool:
        """Public with nobody listed: the same as having no IDIS.AUTH value."""
        return not self.scoped and not self.readers and not self.writers

    @classmethod
    def from_json(cls, obj: Any) -> RightsData:
        """:raises ProtocolError: not the object described in the module docstring."""
        if not isinstance(obj, dict):
            raise ProtocolError(reason="IDIS.AUTH data must be a JSON object")
        unknown = set(obj) - {_SCOPE, _READERS, _WRITERS}
        if unknown:
            raise ProtocolError(reason=f"unknown field(s) {', '.join(sorted(unknown))}; "
                                       f"expected {_SCOPE}, {_READERS}, {_WRITERS}")
        return cls(scope_of(obj.get(_SCOPE, SCOPE_PUBLIC)), _grants(obj.get(_READERS), _READERS),
                   _grants(obj.get(_WRITERS), _WRITERS))

    def to_json(self) -> dict[str, Any]:
        return {_SCOPE: self.reader_scope,
                _READERS: [g.to_json() for g in self.readers],
                _WRITERS: [g.to_json() for g in self.writers]}

    @classmethod
    def from_bytes(cls, data: bytes) -> RightsData:
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ProtocolError(reason=f"IDIS.AUTH data is not UTF-8 JSON: {exc}") from None
        return cls.from_json(obj)

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_json(), ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")

    def to_value(self) -> HandleValue:
        """The record's IDIS.AUTH value: admin read and write only."""
        return HandleValue(RIGHTS_INDEX, RIGHTS_TYPE, self.to_bytes(), permissions=PERM_SECRET)


@lru_cache(maxsize=4096)
def _decoded(data: bytes) -> RightsData | None:
    try:
        return RightsData.from_bytes(data)
    except ProtocolError:
        return None


def rights_of(values: Iterable[HandleValue]) -> RightsData | None:
    """The record's data rights: its IDIS.AUTH value at :data:`RIGHTS_INDEX`, or None
    (none, or malformed: then nobody but the administrators gains anything)."""
    for value in values:
        if value.index == RIGHTS_INDEX:
            if ascii_upper(value.type) != RIGHTS_TYPE:
                return None
            return _decoded(value.data)
    return None


def with_scope(values: Sequence[HandleValue], rights: RightsData | None) -> tuple[HandleValue, ...]:
    """``values`` as a record with ``rights`` stores them: the IDIS.AUTH value never publicly
    readable, and under reader scope 2 the business values without PUB_READ (but with
    ADMIN_READ, so administrators and granted readers still see them)."""
    scoped = rights is not None and rights.scoped
    out = []
    for value in values:
        perms = value.permissions
        if value.index == RIGHTS_INDEX or ascii_upper(value.type) == RIGHTS_TYPE:
            perms &= ~PERM_PUBLIC_READ
        elif scoped and value.index >= FIRST_BUSINESS_INDEX:
            perms = (perms & ~PERM_PUBLIC_READ) | PERM_ADMIN_READ
        out.append(value if perms == value.permissions else replace(value, permissions=perms))
    return tuple(out)
