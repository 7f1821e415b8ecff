"""Stage ``recursive``: a recursive node (递归节点) resolving on behalf of its clients.

It answers resolutions (OC 1) through the resolver, which walks root → top-level →
secondary → enterprise, follows referrals and aliases and caches every record by its TTL;
and site info (OC 2) about itself. It holds no records, so administration is refused
(RC 5) with a pointer to the handle's primary site.

The resolver fetches whole public records; the client's index and type filter is applied
here, so one cached record answers every filter. A recursive node cannot prove its
client's identity upstream, so it returns public values only, whatever the PO flag says.
"""

from __future__ import annotations

from dataclasses import dataclass

from idnode.errors import OperationNotSupported, ValuesNotFound
from idnode.identifiers.handle import Handle
from idnode.identifiers.values.site import SiteData
from idnode.node.context import RequestContext
from idnode.node.fastpath import Lookup
from idnode.node.pipeline import Handler, Response
from idnode.node.stages.authoritative import select_values
from idnode.protocol.bodies import ResolutionRequest, ResolutionResponse, SiteInfoResponse
from idnode.protocol.constants import OpCode, OpFlag, ResponseCode
from idnode.protocol.message import Message
from idnode.resolver import CacheEntry, Resolver, ResolverCache

__all__ = ["Recursive", "RecursiveSettings", "cache_lookup"]

_AUTHORITATIVE = int(OpFlag.AUTHORITATIVE)
_NOT_FOUND = (100, b"")


@dataclass(frozen=True, slots=True)
class RecursiveSettings:
    max_handle_bytes: int = 2048


def _tail(entry: CacheEntry) -> bytes:
    """``int4 n`` + the entry's public values in wire form (memoized on the entry)."""
    tail = entry.wire_tail
    if tail is None:
        public = [v.to_wire() for v in entry.values or () if v.public_read]
        tail = len(public).to_bytes(4, "big") + b"".join(public) if public else b""
        entry.wire_tail = tail
    return tail


def cache_lookup(cache: ResolverCache) -> Lookup:
    """The UDP fast path's source on a recursive node: the resolver's cache."""
    def lookup(key: str) -> tuple[int, bytes] | None:
        entry = cache.get(key)
        if entry is None:
            return None
        if entry.values is None:
            return _NOT_FOUND
        tail = _tail(entry)
        return (1, tail) if tail else None  # nothing public: the chain explains RC 200
    return lookup


class Recursive:
    name = "recursive"

    def __init__(self, settings: RecursiveSettings, resolver: Resolver, site: SiteData) -> None:
        self.settings = settings
        self.resolver = resolver
        self._site = SiteInfoResponse(site.to_bytes()).to_wire()

    async def handle(self, ctx: RequestContext, request: Message, next_: Handler) -> Response:
        if request.opcode == OpCode.RESOLUTION:
            return await self._resolve(ctx, request)
        if request.opcode == OpCode.GET_SITE_INFO:
            return request.reply(ResponseCode.SUCCESS, self._site)
        raise OperationNotSupported(
            reason=f"opcode {request.opcode}: a recursive node (递归节点) only resolves; send "
                   "administration to the primary site of the handle's prefix")

    async def _resolve(self, ctx: RequestContext, request: Message) -> Response:
        body = ctx.body
        assert isinstance(body, ResolutionRequest)
        handle = Handle.parse(body.handle, max_length=self.settings.max_handle_bytes)
        ctx.info.handle = handle.text
        # The resolver refuses (RC 6) a request that passed too many recursive nodes.
        resolved = await self.resolver.resolve(
            body.handle, authoritative=bool(request.opflags & _AUTHORITATIVE),
            recursion_count=request.recursion_count)
        values = [v for v in select_values(resolved.values, body.indexes, body.types)
                  if v.public_read]
        if not values:
            raise ValuesNotFound(handle=body.handle, reason="no public value matches the "
                                                            "request")
        # Not authoritative: the answer may come from this node's cache.
        return request.reply(ResponseCode.SUCCESS,
                             ResolutionResponse(body.handle, tuple(values)).to_wire(),
                             opflags=request.opflags & ~_AUTHORITATIVE)
