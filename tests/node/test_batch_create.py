"""A batch of creates through the stage chain (node/batch.py): each item decided as a native
create would be, all committed together; the opcode is refused from the wire and on mirrors."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from idnode.auth.identity import Identity
from idnode.errors import (
    HandleExists,
    InsufficientPermissions,
    InvalidAdmin,
    InvalidValue,
    NotResponsible,
    OperationNotSupported,
    ReadOnly,
    RegistryError,
)
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.node.batch import BATCH_CREATE
from idnode.node.context import Connection, RequestContext
from idnode.node.worker import Assembly
from idnode.protocol.constants import ResponseCode
from idnode.protocol.message import Message
from idnode.replication.state import ReplicaRole
from idnode.snms.chainwrites import ChainWriter
from idnode.storage import Store
from node.conftest import run

ADMIN = Identity("88.100.1/ADMIN", 300)
CONN = Connection(("test", 1), "http", ("127.0.0.1", 40000))


def _admin() -> HandleValue:
    return HandleValue(100, "HS_ADMIN", AdminData(ALL_PERMISSIONS, "88.100.1/ADMIN",
                                                  300).to_bytes())


def _item(name: str, url: str = "https://x") -> tuple[str, tuple[HandleValue, ...]]:
    return name, (HandleValue(1, "URL", url.encode()), _admin())


def test_each_item_gets_the_outcome_a_native_create_would(
        node: tuple[Store, Callable[[], Assembly]]) -> None:
    store, build = node

    async def go() -> list[RegistryError | None]:
        parts = build()
        try:
            writer = ChainWriter(parts.edge.chain)
            return await writer.create_many(CONN, ADMIN, [
                _item("88.100.1/new-1"),
                _item("88.100.1/A"),  # exists
                _item("99.9/elsewhere"),  # not homed here
                ("88.100.1/bad", (HandleValue(1, "URL", b"x"), HandleValue(1, "URL", b"y"))),
                _item("88.100.1/new-2"),
                _item("88.100.1/new-1"),  # created by the first item
            ])
        finally:
            await parts.writes.close()
    results = run(go())
    assert results[0] is None and results[4] is None
    assert isinstance(results[1], HandleExists)
    assert isinstance(results[2], NotResponsible)
    assert isinstance(results[3], InvalidValue) and "appears twice" in str(results[3])
    assert isinstance(results[5], HandleExists)
    record = store.get_record("88.100.1/new-2")
    assert record is not None and record.values[0].timestamp > 0  # stamped by the node
    assert store.count_handles("88.100.1") == 4  # A, PRIVATE, new-1, new-2


def test_an_identity_without_the_right_creates_nothing(
        node: tuple[Store, Callable[[], Assembly]]) -> None:
    store, build = node
    store.create_handle(Handle.parse("88.100.1/user"), [
        HandleValue(301, "HS_SECKEY", b"s", permissions=0x0C)])

    async def go() -> list[RegistryError | None]:
        parts = build()
        try:
            return await ChainWriter(parts.edge.chain).create_many(
                CONN, Identity("88.100.1/user", 301),
                [_item("88.100.1/u1"), _item("88.100.1/u2")])
        finally:
            await parts.writes.close()
    results = run(go())
    assert all(isinstance(r, InvalidAdmin | InsufficientPermissions) for r in results)
    assert not store.exists("88.100.1/u1") and not store.exists("88.100.1/u2")


def test_the_opcode_is_refused_from_the_wire(node: tuple[Store, Callable[[], Assembly]]
                                             ) -> None:
    _, build = node

    async def go() -> Message:
        parts = build()
        try:
            ctx = RequestContext(Connection(("tcp", 1), "tcp", ("127.0.0.1", 5)),
                                 identity=ADMIN)
            reply = await parts.edge.chain(ctx, Message(opcode=BATCH_CREATE, body=b"\0" * 8))
            assert isinstance(reply, Message)
            return reply
        except OperationNotSupported as exc:
            return Message(opcode=BATCH_CREATE, response_code=exc.response_code)
        finally:
            await parts.writes.close()
    assert run(go()).response_code == ResponseCode.OPERATION_NOT_SUPPORTED


def test_a_mirror_refuses_the_whole_batch(node: tuple[Store, Callable[[], Assembly]]
                                          ) -> None:
    store, build = node

    async def go() -> None:
        parts = build()
        assert parts.replica is not None
        parts.replica.state = dataclasses.replace(parts.replica.state,
                                                  role=ReplicaRole.MIRROR)
        try:
            await ChainWriter(parts.edge.chain).create_many(CONN, ADMIN, [_item("88.100.1/m")])
        except ReadOnly as exc:
            assert "mirror" in str(exc)
            return
        finally:
            await parts.writes.close()
        raise AssertionError("a mirror took a batch of writes")
    run(go())
    assert not store.exists("88.100.1/m")
