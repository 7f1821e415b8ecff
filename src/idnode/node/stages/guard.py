"""Stage ``guard``: admits only well-formed requests this node can understand.

It rejects responses sent as requests, unsupported protocol versions and opcodes, and decodes
the body once (with the configured limits) for the stages behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

from idnode.errors import OperationNotSupported, ProtocolError
from idnode.node.batch import BATCH_CREATE, BatchCreate
from idnode.node.context import RequestContext
from idnode.node.pipeline import Handler, Response
from idnode.protocol.bodies import decode_request_body
from idnode.protocol.constants import OpCode
from idnode.protocol.message import Message

__all__ = ["Guard", "GuardSettings"]

#: Opcodes whose bodies idnode decodes; the stages behind decide what to do with them.
SUPPORTED = frozenset({
    OpCode.RESOLUTION, OpCode.GET_SITE_INFO, OpCode.CREATE_HANDLE, OpCode.DELETE_HANDLE,
    OpCode.ADD_VALUE, OpCode.REMOVE_VALUE, OpCode.MODIFY_VALUE, OpCode.LIST_HANDLES,
    OpCode.CHALLENGE_RESPONSE, OpCode.VERIFY_RESPONSE, OpCode.HOME_PREFIX,
    OpCode.UNHOME_PREFIX, OpCode.LIST_HOMED_PREFIXES,
    OpCode.GET_NEXT_TXN_ID, OpCode.RETRIEVE_TXN_LOG, OpCode.DUMP_HANDLES,
    OpCode.LOGIN, OpCode.LOGIN_ID_SYSTEM,
})

#: Known opcodes refused for now, with the reason given to the client.
NOT_YET: dict[int, str] = {
    OpCode.SESSION_SETUP: "sessions (OC 400) are not supported yet; authenticate with "
                          "challenge-response",
    OpCode.SESSION_TERMINATE: "sessions are not supported yet",
    OpCode.SESSION_EXCHANGEKEY: "sessions are not supported yet",
}


@dataclass(frozen=True, slots=True)
class GuardSettings:
    max_values: int = 2048


class Guard:
    name = "guard"

    def __init__(self, settings: GuardSettings) -> None:
        self.settings = settings

    async def handle(self, ctx: RequestContext, request: Message, next_: Handler) -> Response:
        if request.response_code != 0:
            raise ProtocolError(reason=f"a response (code {request.response_code}) was sent "
                                       "as a request")
        if request.major != 2:
            raise ProtocolError(reason=f"protocol version {request.major}.{request.minor} "
                                       "is not supported (2.x only)")
        if request.envelope_flags & 0x40:
            raise OperationNotSupported(reason="encrypted messages need a session, and "
                                               "sessions are not supported yet")
        opcode = request.opcode
        if opcode == BATCH_CREATE:
            # in-process only: its body is an object no transport can produce (node/batch.py)
            if not isinstance(ctx.body, BatchCreate):
                raise OperationNotSupported(reason=f"opcode {opcode} is not supported by "
                                                   "this node")
            return await next_(ctx, request)
        if opcode in NOT_YET:
            raise OperationNotSupported(reason=NOT_YET[opcode])
        if opcode not in SUPPORTED:
            raise OperationNotSupported(reason=f"opcode {OpCode.to_text(opcode)} is not "
                                               "supported by this node")
        body = decode_request_body(opcode, request.body, max_values=self.settings.max_values)
        handle = getattr(body, "handle", None)
        if isinstance(handle, str):
            ctx.info.handle = handle
        return await next_(ctx.with_body(body), request)
