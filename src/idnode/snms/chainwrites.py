"""Writes of the SNMS API as native operations run through the node's stage chain.

Exactly as the REST API does (:mod:`idnode.web.rest`): the chain's authoritative stage
authorizes against HS_ADMIN, compares-and-sets against the record it read and commits through
the worker's group-commit queue; concurrent calls share commits.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from idnode.auth.identity import Identity
from idnode.errors import ProtocolError, RegistryError
from idnode.identifiers.value import HandleValue
from idnode.node.batch import BATCH_CREATE, BatchCreate
from idnode.node.context import Connection, RequestContext
from idnode.node.pipeline import Handler, Stream
from idnode.protocol.bodies import (
    Body,
    CreateHandleRequest,
    ErrorBody,
    HandleRequest,
    ModifyValueRequest,
)
from idnode.protocol.constants import OpCode, OpFlag, ResponseCode
from idnode.protocol.message import Message

__all__ = ["ChainWriter"]

_OVERWRITE = int(OpFlag.OVERWRITE)


class ChainWriter:
    def __init__(self, chain: Handler) -> None:
        self.chain = chain
        self._ids = itertools.count(1)

    async def create(self, conn: Connection, identity: Identity, handle: str,
                     values: Sequence[HandleValue], *, overwrite: bool = False) -> None:
        await self._run(conn, identity, OpCode.CREATE_HANDLE,
                        CreateHandleRequest(handle, tuple(values)),
                        _OVERWRITE if overwrite else 0)

    async def modify(self, conn: Connection, identity: Identity, handle: str,
                     values: Sequence[HandleValue]) -> None:
        await self._run(conn, identity, OpCode.MODIFY_VALUE,
                        ModifyValueRequest(handle, tuple(values)), 0)

    async def delete(self, conn: Connection, identity: Identity, handle: str) -> None:
        await self._run(conn, identity, OpCode.DELETE_HANDLE, HandleRequest(handle), 0)

    async def create_many(self, conn: Connection, identity: Identity,
                          items: Sequence[tuple[str, tuple[HandleValue, ...]]],
                          ) -> list[RegistryError | None]:
        """Create each ``(handle, values)`` (none overwriting) through the chain in one pass
        (:mod:`idnode.node.batch`); one result per item: ``None`` or its error.

        :raises RegistryError: the node refused the whole batch (a mirror, say).
        """
        body = BatchCreate(tuple(items))
        message = Message(opcode=BATCH_CREATE, opflags=0, body=b"",
                          request_id=next(self._ids) & 0x7FFF_FFFF)
        ctx = RequestContext(conn, identity=identity, challenge=False).with_body(body)
        self._check(await self.chain(ctx, message))
        return body.results

    async def _run(self, conn: Connection, identity: Identity, opcode: int, body: Body,
                   flags: int) -> None:
        """:raises RegistryError: the operation's response code and message."""
        message = Message(opcode=opcode, opflags=flags, body=body.to_wire(),
                          request_id=next(self._ids) & 0x7FFF_FFFF)
        ctx = RequestContext(conn, identity=identity, challenge=False)
        self._check(await self.chain(ctx, message))

    @staticmethod
    def _check(reply: Message | Stream) -> None:
        if isinstance(reply, Stream):  # not produced for these opcodes
            raise ProtocolError(reason="unexpected multi-part answer")
        if reply.response_code != ResponseCode.SUCCESS:
            text = ErrorBody.from_wire(reply.body).message if reply.body else ""
            raise RegistryError(text or "request failed", response_code=reply.response_code)
