"""Native requests over one TCP connection, as the integration tests send them."""

from __future__ import annotations

import itertools
import time

from idnode.client import Authenticator
from idnode.client.flow import Done, RequestFlow, Send
from idnode.protocol.message import Message
from idnode.transport.client import TcpConnection

_ids = itertools.count(1)


def message(opcode: int, body: bytes, **fields: int) -> Message:
    """A request with a fresh id, expiring in a minute (``fields``: e.g. major, minor)."""
    return Message(opcode=opcode, body=body, request_id=next(_ids) & 0x7FFF_FFFF,
                   expiration=int(time.time()) + 60, **fields)  # type: ignore[arg-type]


async def exchange(conn: TcpConnection, request: Message,
                   auth: Authenticator | None = None) -> tuple[Message, ...]:
    """One request on ``conn``, a challenge answered with ``auth`` when given; every
    response, the last one being the answer."""
    flow = RequestFlow(request, auth)
    action = flow.start()
    while not isinstance(action, Done):
        if isinstance(action, Send):
            await conn.send(action.message)
        action = flow.on_response(await conn.receive(request.request_id, timeout=10))
    return tuple(action.responses)


async def answer(conn: TcpConnection, request: Message,
                 auth: Authenticator | None = None) -> Message:
    """:func:`exchange`'s answer alone."""
    return (await exchange(conn, request, auth))[-1]
