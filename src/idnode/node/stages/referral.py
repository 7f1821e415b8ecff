"""Stage ``referral``: point a resolver elsewhere instead of answering RC 301.

For a resolution (OC 1) of a handle this node is not responsible for, and without the
do-not-refer flag:

* when this node holds ``0.NA/P`` for the handle's prefix ``P`` and that record has HS_SITE,
  HS_SITE.6 or HS_SERV values, answer **RC 302** (service referral) with those values;
* else, when it holds ``0.NA/A`` for an ancestor ``A`` of the prefix (longest first) with
  HS_SITE.PREFIX or HS_SERV.PREFIX values, answer **RC 303** (prefix referral) with those:
  the service there holds the prefix records under ``A``;
* else let the request through (the authoritative stage answers RC 301).

For a prefix handle ``0.NA/X`` the walk starts at ``X``'s parent: the record lives where its
parent's delegation points. Only public values are ever put in a referral.
"""

from __future__ import annotations

from dataclasses import dataclass

from idnode.errors import InvalidHandle
from idnode.identifiers.handle import PREFIX_NA, Handle, ascii_upper
from idnode.identifiers.value import HandleValue
from idnode.node.context import RequestContext
from idnode.node.pipeline import Handler, Response
from idnode.node.records import Records
from idnode.protocol.bodies import ReferralBody, ResolutionRequest
from idnode.protocol.constants import OpCode, OpFlag, ResponseCode
from idnode.protocol.message import Message
from idnode.resolver.sites import service_value_types

__all__ = ["Referral", "ReferralSettings"]

_DO_NOT_REFER = int(OpFlag.DO_NOT_REFER)
# The same vocabulary the resolver reads referrals and prefix records with.
_SERVICE_TYPES = service_value_types(prefix=False)
_PREFIX_TYPES = service_value_types(prefix=True)


@dataclass(frozen=True, slots=True)
class ReferralSettings:
    """:ivar max_handle_bytes: the longest handle considered.
    :ivar max_levels: prefix levels examined at most (each is one cached record read)."""

    max_handle_bytes: int = 2048
    max_levels: int = 16


def _pick(values: tuple[HandleValue, ...], types: frozenset[str]) -> tuple[HandleValue, ...]:
    return tuple(v for v in values if v.public_read and ascii_upper(v.type) in types)


class Referral:
    name = "referral"

    def __init__(self, settings: ReferralSettings, records: Records) -> None:
        self.settings = settings
        self.records = records

    async def handle(self, ctx: RequestContext, request: Message, next_: Handler) -> Response:
        body = ctx.body
        if (request.opcode != OpCode.RESOLUTION or request.opflags & _DO_NOT_REFER
                or not isinstance(body, ResolutionRequest)):
            return await next_(ctx, request)
        try:
            handle = Handle.parse(body.handle, max_length=self.settings.max_handle_bytes)
        except InvalidHandle:
            return await next_(ctx, request)  # the authoritative stage explains
        # Homed here (even when it hashes to another server of this site: RC 300 / 301 is
        # the authoritative stage's answer, not a referral elsewhere).
        if self.records.homed_for(handle):
            return await next_(ctx, request)
        found = await self._referral(handle)
        if found is None:
            return await next_(ctx, request)
        code, record, values = found
        return request.reply(code, ReferralBody(record, values).to_wire(),
                             opflags=request.opflags)

    async def _held(self, prefix: str) -> tuple[str, tuple[HandleValue, ...]] | None:
        """``0.NA/<prefix>`` and its values, if this node holds that record."""
        key = f"{PREFIX_NA}/{prefix}"
        if not self.records.responsible_for_key(key):
            return None
        record = await self.records.get(key)
        return None if record is None else (key, record.values)

    async def _referral(self, handle: Handle
                        ) -> tuple[int, str, tuple[HandleValue, ...]] | None:
        prefix = handle.home_prefix  # normalised; X for a prefix handle 0.NA/X
        if prefix == PREFIX_NA:
            return None
        parts = prefix.split(".")
        if len(parts) > self.settings.max_levels:
            return None
        if not handle.is_prefix_handle:
            held = await self._held(prefix)
            if held is not None and (values := _pick(held[1], _SERVICE_TYPES)):
                return int(ResponseCode.SERVICE_REFERRAL), held[0], values
        for size in range(len(parts) - 1, 0, -1):
            held = await self._held(".".join(parts[:size]))
            if held is not None and (values := _pick(held[1], _PREFIX_TYPES)):
                return int(ResponseCode.PREFIX_REFERRAL), held[0], values
        return None
