"""Writes are authorized against the record they change, and committed only if it still is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from idnode.auth.identity import Identity
from idnode.auth.permissions import Authorizer
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.node.context import Connection, RequestContext
from idnode.protocol.bodies import ErrorBody, HandleRequest
from idnode.protocol.message import Message
from node.conftest import memory_node, run

ALICE = Identity("88.100.1/ALICE", 300)


def admin_value(identity: str) -> HandleValue:
    index, _, handle = identity.partition(":")
    return HandleValue(100, "HS_ADMIN", AdminData(ALL_PERMISSIONS, handle, int(index)).to_bytes())


def test_an_admin_revoked_during_authorization_cannot_complete_the_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, build = memory_node(tmp_path)
    target = Handle.parse("88.100.1/T")
    store.create_handle(target, [HandleValue(1, "URL", b"https://x"),
                                 admin_value("300:88.100.1/ALICE")])
    real = Authorizer.authorize
    calls: list[int] = []

    async def authorize_then_revoke(self: Authorizer, *args: Any, **kwargs: Any) -> None:
        await real(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 1:  # another admin revokes ALICE before the commit lands
            store.modify_values(target, [admin_value("300:88.100.1/ADMIN")])

    monkeypatch.setattr(Authorizer, "authorize", authorize_then_revoke)

    async def go() -> Message:
        parts = build()
        ctx = RequestContext(Connection(("tcp", 1), "tcp", ("127.0.0.1", 1)), identity=ALICE)
        request = Message(101, request_id=1, body=HandleRequest(target.text).to_wire())
        replies = [m async for m in parts.edge.respond(ctx, request)]
        await parts.writes.close()
        return replies[0]

    reply = run(go())
    # the first authorization passed; the commit found the record changed, and the second
    # authorization, against the current record, refused ALICE
    assert len(calls) == 1
    assert reply.response_code in (400, 401), ErrorBody.from_wire(reply.body).message
    assert store.get_record(target.key) is not None  # not deleted
