"""Record sources for :func:`~idnode.schemes.mapping.find_mapping`, from what idnode has.

Each adapter answers "the values of this handle, or ``None`` if it does not exist"; other
failures (an unreachable server, a refusal) propagate, so a mapping is never decided on an
answer that was not given.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from idnode.client import HandleClient
from idnode.errors import HandleNotFound, NotResponsible, RemoteError, ValuesNotFound
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.resolver import Resolver, Trace
from idnode.schemes.mapping import Lookup
from idnode.storage import Store

__all__ = ["client_lookup", "public_lookup", "resolver_lookup", "store_lookup"]

_NOT_THERE = (100, 200)  # handle not found, values not found


def resolver_lookup(resolver: Resolver, *, trace: Trace | None = None) -> Lookup:
    """Through the hierarchy (the recursive node's or the CLI's resolver)."""
    async def lookup(handle: str) -> Sequence[HandleValue] | None:
        try:
            return (await resolver.resolve(handle, trace=trace)).values
        except HandleNotFound:
            return None
    return lookup


def client_lookup(client: HandleClient) -> Lookup:
    """From the one server a :class:`~idnode.client.HandleClient` talks to."""
    async def lookup(handle: str) -> Sequence[HandleValue] | None:
        try:
            return (await client.resolve(handle)).values
        except RemoteError as exc:
            if exc.response_code in _NOT_THERE:
                return None
            raise
    return lookup


def public_lookup(fetch: Callable[[str], Awaitable[Sequence[HandleValue]]]) -> Lookup:
    """From a web face's ``lookup_public``; a handle the node does not serve is absent."""
    async def lookup(handle: str) -> Sequence[HandleValue] | None:
        try:
            return await fetch(handle)
        except (HandleNotFound, ValuesNotFound, NotResponsible):
            return None
    return lookup


def store_lookup(store: Store) -> Lookup:
    """Straight from a store (operator tools, tests)."""
    async def lookup(handle: str) -> Sequence[HandleValue] | None:
        record = store.get_record(Handle.parse(handle).key)
        return None if record is None else record.values
    return lookup
