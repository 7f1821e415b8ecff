"""Where the DNS face reads handle records: this node's own, or its resolver's.

An authoritative node answers from ``Records`` (the hot-record cache over storage, as the
authoritative stage reads them) for the handles it is responsible for; a recursive node
answers through its ``Resolver``. Both return public values only, HS_ALIAS followed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from idnode.dnsface.mapping import values_ttl
from idnode.errors import HandleNotFound, InvalidHandle
from idnode.identifiers.handle import PREFIX_NA, Handle, handle_key
from idnode.identifiers.value import HandleValue
from idnode.node.records import Records
from idnode.resolver import Resolver

__all__ = ["LocalSource", "Lookup", "ResolverSource", "Source", "alias_target"]

_MAX_ALIASES = 8


@dataclass(frozen=True, slots=True)
class Lookup:
    """A handle's record as the DNS face sees it.

    :ivar aliases: the HS_ALIAS targets followed from the asked handle, in order.
    :ivar values: the public values of the last handle of the chain; None: it does not exist.
    :ivar resolved: False when the last alias target is held elsewhere (not looked up).
    :ivar ttl: seconds the answer may be cached (before the ``[dns] ttl`` cap).
    """

    aliases: tuple[str, ...] = ()
    values: tuple[HandleValue, ...] | None = None
    resolved: bool = True
    ttl: int = 86_400


class Source(Protocol):
    async def lookup(self, handle: Handle) -> Lookup | None:
        """The record of ``handle``; None when this node does not answer for it."""

    async def below(self, handle: Handle) -> bool:
        """Whether names below ``handle``'s may exist (longer suffixes or sub-prefixes);
        True when that cannot be known."""


def alias_target(values: tuple[HandleValue, ...]) -> str | None:
    for value in values:
        if value.matches_type("HS_ALIAS"):
            target = value.text().strip()
            if target:
                return target
    return None


class LocalSource:
    """This node's records; aliases are followed while their targets are held here."""

    def __init__(self, records: Records) -> None:
        self.records = records

    async def lookup(self, handle: Handle) -> Lookup | None:
        if not self.records.responsible_for(handle):
            return None
        chain: list[str] = []
        seen = {handle.key}
        ttl = 86_400
        current = handle
        while True:
            record = await self.records.get(current.key)
            if record is None:
                return Lookup(tuple(chain), None, ttl=ttl)
            values = tuple(v for v in record.values if v.public_read)
            ttl = values_ttl(values, ttl)
            target = alias_target(values)
            if target is None:
                return Lookup(tuple(chain), values, ttl=ttl)
            try:
                parsed = Handle.parse(target)
            except InvalidHandle:  # a malformed alias is served as the record it is
                return Lookup(tuple(chain), values, ttl=ttl)
            chain.append(target)
            if parsed.key in seen or len(chain) > _MAX_ALIASES \
                    or not self.records.responsible_for(parsed):
                return Lookup(tuple(chain), None, resolved=False, ttl=ttl)
            seen.add(parsed.key)
            current = parsed

    async def below(self, handle: Handle) -> bool:
        key = handle.key
        if handle.is_prefix_handle:
            prefix = handle.home_prefix
            if any(h == prefix or h.startswith(prefix + ".") for h in self.records.homed):
                return True
            if await self._starts(PREFIX_NA, f"{PREFIX_NA}/{prefix}."):
                return True
            return bool(await self.records.list_handles(prefix, limit=1))
        return await self._starts(handle.prefix, key + ".")

    async def _starts(self, prefix: str, start: str) -> bool:
        """Whether a handle key under ``prefix`` starts with ``start``: the first key after
        ``start`` does if any does (keys are ordered)."""
        first = await self.records.list_handles(prefix, after=start, limit=1)
        return bool(first) and handle_key(first[0]).startswith(start)


class ResolverSource:
    """A recursive node's resolver (cached, hierarchy-walking, aliases followed)."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver

    async def lookup(self, handle: Handle) -> Lookup | None:
        try:
            resolved = await self.resolver.resolve(handle.text)
        except HandleNotFound:
            return Lookup()
        return Lookup(resolved.aliases, resolved.values, ttl=resolved.ttl)

    async def below(self, handle: Handle) -> bool:
        return True  # a resolver cannot list what lies below a handle
