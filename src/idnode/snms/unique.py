"""Unique items (唯一, ``uniqueField``, ``idis.md`` §8.2/§8.4): one value per template and prefix.

A registration whose ``unique`` item holds a value another identifier of the same template
(the same TEMPLATE_ID, index 1000) under the same prefix already holds is refused, naming the
item, the value and that identifier.

**How it is found.** Through the store's reverse index (:meth:`idnode.storage.Store.search`),
never by a scan: an exact ``(type, value)`` lookup limited to the prefix, then the few
candidates' records are read to compare template and value. So the item's type must be one of
the node's indexed types (``[storage] reverse_index_types``); when it is not, or the value is
too long to be indexed, the registration is refused with a message saying so — the node does
not promise a uniqueness it cannot check. A value holding ``*`` is looked up as a pattern
(``*`` is the index's wildcard) and the candidates compared exactly; it needs 3 literal
characters at its start or end.

**Concurrent registrations.** The index shows committed records only. A value being
registered is therefore *claimed* from its check until the registering task ends (the
request, or the batchCreate call, after its commit), so of two registrations of the same
value at the same time — two items of one batchCreate included — the later check is refused,
naming the first identifier. Claims are shared by the worker processes of one node home
(``--workers`` > 1) and ``idnode import`` through record locks on ``run/unique-claims``
(:mod:`idnode.templates.claims`); there the refusal cannot name the other identifier. Two
nodes on different machines sharing one PostgreSQL database do not share claims, and could
both accept a value if their checks overlap within the time of a commit.
"""

from __future__ import annotations

import asyncio
from functools import partial

from idnode.errors import InvalidValue
from idnode.identifiers.handle import Handle, ascii_upper, handle_key
from idnode.node.records import Records
from idnode.snms.envelope import FAILED, SnmsFailure
from idnode.storage.index import MAX_ENTRY_BYTES, MAX_INDEXED_BYTES
from idnode.templates import (
    Template,
    TemplateItem,
    holds_unique,
    unique_not_indexed,
    unique_too_long,
)
from idnode.templates.claims import ELSEWHERE, SharedClaims, claim_key
from idnode.templates.validate import Taken

__all__ = ["UniqueValues", "check_indexed"]

#: candidate handles read per index page, and at most in all
_PAGE = 100
_MAX_CANDIDATES = 10_000

_Key = tuple[str, str, str, str]  # (template key, PREFIX, TYPE, value)


def check_indexed(template: Template, indexed: frozenset[str]) -> None:
    """:raises SnmsFailure: a unique item of ``template`` has a type the index lacks."""
    for item in template.items:
        if item.unique and ascii_upper(item.type) not in indexed:
            raise SnmsFailure(FAILED, unique_not_indexed(item))


class UniqueValues:
    """The check behind :func:`idnode.templates.avalidate`'s ``taken`` (module docstring)."""

    def __init__(self, records: Records, shared: SharedClaims | None = None) -> None:
        self.records = records
        #: held while the key is in ``_claims`` (this process's claim, whichever task)
        self.shared = shared
        self._claims: dict[_Key, tuple[str, str, asyncio.Task[object]]] = {}

    def taker(self, template_id: str, handle: Handle) -> Taken:
        """``taken(item, text)`` for registering ``handle`` under template ``template_id``."""
        async def taken(item: TemplateItem, text: str) -> str | None:
            return await self.holder(template_id, handle, item, text)
        return taken

    async def holder(self, template_id: str, handle: Handle, item: TemplateItem,
                     text: str) -> str | None:
        """Another identifier holding ``text`` as ``item``, or None (then it is claimed).

        :raises SnmsFailure: the value cannot be checked (not indexed; see the module).
        """
        type_ = ascii_upper(item.type)
        if type_ not in self.records.store.index_types:
            raise SnmsFailure(FAILED, unique_not_indexed(item))
        data = text.encode("utf-8")
        if len(data) > MAX_INDEXED_BYTES or \
                len(type_.encode()) + len(data) + len(handle.key.encode()) > MAX_ENTRY_BYTES:
            raise SnmsFailure(FAILED, unique_too_long(item, MAX_INDEXED_BYTES, len(data)))
        key = (handle_key(template_id), ascii_upper(handle.prefix), type_, text)
        claim = self._claims.get(key)
        if claim is not None and claim[0] != handle.key and not claim[2].done():
            return f"{claim[1]} (being registered at the same time)"
        task = asyncio.current_task()
        if task is not None:  # claimed before any await: no other check can slip in
            if claim is None and self.shared is not None and \
                    not self.shared.claim(claim_key(*key)):
                return ELSEWHERE
            self._claims[key] = (handle.key, handle.text, task)
            task.add_done_callback(partial(self._release, key))
        return await self._stored(key, handle, item, data)

    def _release(self, key: _Key, task: asyncio.Task[object]) -> None:
        claim = self._claims.get(key)
        if claim is not None and claim[2] is task:
            del self._claims[key]
            if self.shared is not None:
                self.shared.release(claim_key(*key))

    async def _stored(self, key: _Key, handle: Handle, item: TemplateItem,
                      data: bytes) -> str | None:
        template_key, _, type_, text = key
        store = self.records.store
        for offset in range(0, _MAX_CANDIDATES, _PAGE):
            try:
                found = await self.records.read(store.search, [(type_, text)], limit=_PAGE,
                                                offset=offset, prefix=handle.prefix)
            except InvalidValue as exc:
                raise SnmsFailure(FAILED, f"{item.label()}: cannot check that the unique "
                                          f"(唯一) value is unused: {exc}") from None
            for other in found:
                other_key = handle_key(other)
                if other_key == handle.key:
                    continue
                record = await self.records.get(other_key)
                if record is not None and holds_unique(record.values, template_key, type_,
                                                       data):
                    return other
            if len(found) < _PAGE:
                return None
        raise SnmsFailure(FAILED, f"{item.label()}: more than {_MAX_CANDIDATES} identifiers "
                                  f"hold {type_} values like this one; uniqueness cannot be "
                                  "checked")
