"""The row checks that need the registry: unique (唯一) items and references (data type 5).

They are the SNMS API's checks with its messages: :func:`idnode.templates.validate` given
callables is :func:`~idnode.templates.avalidate` answered at once. The answers come from

* the store. A unique value is one exact lookup in the reverse index
  (:meth:`~idnode.storage.Store.search`) limited to the row's prefix; the few candidates'
  records are read to compare their TEMPLATE_ID (index 1000) and value, as
  :mod:`idnode.snms.unique` does. So every unique item's type must be indexed: when
  ``[storage] reverse_index_types`` lacks one the import is refused before any row. A
  referenced identifier is one record read (answers kept for the batch), which also gives
  the template it follows for ``referenceMetaHandle``;
* the good rows of this import not yet committed: the batch being read and the batch being
  written. Committed batches are in the store and its index, so only these two are kept: at
  most 2 × ``--batch`` rows' handles and unique values. A dry run commits nothing, so there
  every good row's handle and unique values are kept, and memory grows with the input.

A good row claims its unique values (and, for references, its handle) in file order: a
later row giving the same value under another handle is a bad row naming the first one
("row N of this import"), even if the first then turns out a conflict when it is written.
Given the node home's claims file, unique values are also claimed against the node's
serving workers (:mod:`idnode.templates.claims`) from their check until their batch has
committed: a value the SNMS API is registering at that moment makes the row bad, and the
API refuses a value an import batch holds.

Templates with neither unique nor reference items use none of this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from idnode.bulk.errors import ImportRefused
from idnode.errors import InvalidHandle, InvalidValue
from idnode.identifiers.handle import Handle, ascii_upper, handle_key
from idnode.identifiers.value import HandleValue
from idnode.storage import Store
from idnode.storage.index import MAX_ENTRY_BYTES, MAX_INDEXED_BYTES
from idnode.templates import (
    Template,
    TemplateItem,
    holds_unique,
    template_id,
    template_id_in,
    unique_not_indexed,
    unique_too_long,
    validate,
)
from idnode.templates.claims import ELSEWHERE, SharedClaims, claim_key
from idnode.templates.compiled import compiled

__all__ = ["Registry", "Unchecked", "check_indexed"]

#: candidate handles read per index page, and at most in all (as the SNMS API)
_PAGE = 100
_MAX_CANDIDATES = 10_000
#: store answers about referenced identifiers kept at most (dropped each batch anyway)
_MAX_ANSWERS = 100_000

_Claim = tuple[str, str, int]  # (handle key, handle text, row number)


class Unchecked(Exception):
    """A unique value that cannot be checked: the row is bad, with this message."""


def check_indexed(template: Template, index_types: frozenset[str]) -> None:
    """:raises ImportRefused: a unique item of ``template`` has a type the index lacks."""
    for item in template.items:
        if item.unique and ascii_upper(item.type) not in index_types:
            raise ImportRefused(reason=unique_not_indexed(item))


@dataclass(slots=True)
class _Rows:
    """The good rows of one batch: their handle keys, and their unique values by
    ``(PREFIX, TYPE, value)``; and the shared claims its checks took."""

    handles: set[str] = field(default_factory=set)
    unique: dict[tuple[str, str, str], _Claim] = field(default_factory=dict)
    claimed: list[str] = field(default_factory=list)


class Registry:
    """Checks rows of one template against the store and the import's uncommitted rows.

    :ivar active: whether the template has unique or reference items (else: do not use).
    """

    def __init__(self, store: Store, template: Template, *, keep_all: bool = False,
                 claims: str | None = None) -> None:
        check_indexed(template, frozenset(store.index_types))
        self.store, self.template = store, template
        self.template_id = template_id(template)
        self._template_key = handle_key(self.template_id)
        form = compiled(template)
        self._unique_items = dict(form.unique)
        self._references = form.references
        self.active = bool(self._unique_items) or self._references
        self._keep_all = keep_all
        self._reading, self._writing = _Rows(), _Rows()
        self._shared = SharedClaims(Path(claims)) if claims and self._unique_items else None
        #: handle key → (exists, TEMPLATE_ID) as the store answered this batch
        self._answers: dict[str, tuple[bool, str | None]] = {}

    def validate(self, handle: Handle, data: object) -> list[HandleValue]:
        """:func:`idnode.templates.validate` with the registry checks for a row of
        ``handle``; then :meth:`accept` the row if nothing else makes it bad.

        :raises TemplateViolation: every problem, worded as the SNMS API words them.
        :raises Unchecked: a unique value cannot be checked.
        """
        def taken(item: TemplateItem, text: str) -> str | None:
            return self._taken(handle, item, text)
        return validate(self.template, data, exists=self._exists, taken=taken,
                        template_of=self._template_of)

    def accept(self, handle: Handle, number: int, values: Sequence[HandleValue]) -> None:
        """Row ``number`` is good: later rows see its handle and unique values."""
        rows = self._reading
        if self._references:
            rows.handles.add(handle.key)
        if self._unique_items:
            prefix = ascii_upper(handle.prefix)
            for value in values:
                item = self._unique_items.get(value.index)
                if item is not None:
                    rows.unique.setdefault(
                        (prefix, ascii_upper(item.type), value.data.decode("utf-8")),
                        (handle.key, handle.text, number))

    def sealed(self) -> None:
        """The batch being read goes to be written; the one written before has committed
        (the job settles it before reading on), so the store now answers for it."""
        self._answers.clear()
        if not self._keep_all:
            self._release(self._writing)
            self._reading, self._writing = _Rows(), self._reading

    def close(self) -> None:
        """Give back every shared claim (the import has ended, committed or not)."""
        if self._shared is not None:
            self._release(self._reading)
            self._release(self._writing)
            self._shared.close()
            self._shared = None

    def _release(self, rows: _Rows) -> None:
        if self._shared is not None:
            for key in rows.claimed:
                self._shared.release(key)
        rows.claimed.clear()

    # -- the callables -----------------------------------------------------------------
    def _pending(self, key: str) -> bool:
        return key in self._reading.handles or key in self._writing.handles

    def _stored(self, key: str) -> tuple[bool, str | None]:
        answer = self._answers.get(key)
        if answer is None:
            record = self.store.get_record(key)
            answer = (False, None) if record is None else (True, template_id_in(record.values))
            if len(self._answers) >= _MAX_ANSWERS:
                self._answers.clear()
            self._answers[key] = answer
        return answer

    def _exists(self, text: str) -> bool:
        try:
            key = Handle.parse(text).key
        except InvalidHandle:
            return False
        return self._pending(key) or self._stored(key)[0]

    def _template_of(self, text: str) -> str | None:
        try:
            key = Handle.parse(text).key
        except InvalidHandle:
            return None
        return self.template_id if self._pending(key) else self._stored(key)[1]

    def _taken(self, handle: Handle, item: TemplateItem, text: str) -> str | None:
        type_ = ascii_upper(item.type)
        data = text.encode("utf-8")
        if len(data) > MAX_INDEXED_BYTES or \
                len(type_.encode()) + len(data) + len(handle.key.encode()) > MAX_ENTRY_BYTES:
            raise Unchecked(unique_too_long(item, MAX_INDEXED_BYTES, len(data)))
        key = (ascii_upper(handle.prefix), type_, text)
        for rows in (self._reading, self._writing):
            claim = rows.unique.get(key)
            if claim is not None and claim[0] != handle.key:
                return f"{claim[1]} (row {claim[2]} of this import)"
        if self._shared is not None:
            shared = claim_key(self._template_key, *key)
            if not self._shared.claim(shared):
                return ELSEWHERE
            self._reading.claimed.append(shared)
        return self._holder(handle, item, type_, text, data)

    def _holder(self, handle: Handle, item: TemplateItem, type_: str, text: str,
                data: bytes) -> str | None:
        """Another stored identifier of this template holding the value, or None: one index
        lookup, and a read of the candidates other than ``handle`` itself."""
        for offset in range(0, _MAX_CANDIDATES, _PAGE):
            try:
                found = self.store.search([(type_, text)], limit=_PAGE, offset=offset,
                                          prefix=handle.prefix)
            except InvalidValue as exc:
                raise Unchecked(f"{item.label()}: cannot check that the unique (唯一) value "
                                f"is unused: {exc}") from None
            others = [(key, other) for other in found
                      if (key := handle_key(other)) != handle.key]
            if others:
                records = self.store.get_records([key for key, _ in others])
                for key, other in others:
                    record = records.get(key)
                    if record is not None and holds_unique(record.values, self._template_key,
                                                           type_, data):
                        return other
            if len(found) < _PAGE:
                return None
        raise Unchecked(f"{item.label()}: more than {_MAX_CANDIDATES} identifiers hold "
                        f"{type_} values like this one; uniqueness cannot be checked")
