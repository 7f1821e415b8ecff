"""HandleClient and SyncHandleClient against the in-process fake server (see conftest)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fakeserver import ADMIN_HANDLE, ADMIN_INDEX, SECRET, FakeServer

from idnode.auth import Identity
from idnode.client import HandleClient, PublicKeyAuth, SecretKeyAuth, SyncHandleClient
from idnode.errors import RemoteError
from idnode.identifiers.handle import handle_key
from idnode.identifiers.value import PERM_SECRET, HandleValue
from idnode.protocol.constants import OpCode, OpFlag

T = TypeVar("T")
FAST = (0.1, 0.1, 0.1)
ADMIN = Identity(ADMIN_HANDLE, ADMIN_INDEX)


def url(index: int, text: str = "https://example.com") -> HandleValue:
    return HandleValue(index, "URL", text.encode())


def run(server: FakeServer, action: Callable[[HandleClient], Awaitable[T]], *,
        auth: object = None, transport: str = "udp") -> T:
    async def go() -> T:
        async with HandleClient(("127.0.0.1", server.port), transport=transport,  # type: ignore[arg-type]
                                auth=auth, udp_timeouts=FAST, timeout=3) as client:  # type: ignore[arg-type]
            return await action(client)
    return asyncio.run(go())


def ops(server: FakeServer) -> list[tuple[str, int, int]]:
    return [(transport, int(m.opcode), m.request_id) for transport, m in server.log]


# -- resolution ---------------------------------------------------------------------------

def test_resolve_over_udp_public_only(server: FakeServer) -> None:
    server.records[handle_key("88.1/x")] = (
        url(1), HandleValue(2, "HS_SECKEY", b"s", permissions=PERM_SECRET))
    result = run(server, lambda c: c.resolve("88.1/x"))
    assert result.handle == "88.1/x"
    assert [v.index for v in result.values] == [1]
    assert result.by_index(1) == url(1)
    assert result.by_type("URL") == (url(1),)
    (transport, request), = server.log
    assert transport == "udp"
    assert request.opflags == int(OpFlag.RECURSIVE | OpFlag.CACHE_CERTIFY | OpFlag.PUBLIC_ONLY)


def test_resolve_flags_and_filters(server: FakeServer) -> None:
    server.records[handle_key("88.1/x")] = (url(1),)
    run(server, lambda c: c.resolve("88.1/x", types=["URL", "HS_SITE."], indexes=[1],
                                    authoritative=True), transport="tcp")
    (transport, request), = server.log
    assert transport == "tcp"
    assert request.has_flag(OpFlag.AUTHORITATIVE) and request.has_flag(OpFlag.KEEP_ALIVE)


def test_resolve_not_found(server: FakeServer) -> None:
    with pytest.raises(RemoteError) as info:
        run(server, lambda c: c.resolve("88.1/missing"))
    assert info.value.response_code == 100
    assert str(info.value) == "response code 100 (handle not found)"


def test_resolve_retries_a_lost_datagram(server: FakeServer) -> None:
    server.records[handle_key("88.1/x")] = (url(1),)
    server.udp_drop = 1
    result = run(server, lambda c: c.resolve("88.1/x"))
    assert len(result.values) == 1
    assert [t for t, _ in server.log] == ["udp"]


def test_resolve_falls_back_to_tcp_when_udp_is_silent(server: FakeServer) -> None:
    server.records[handle_key("88.1/x")] = (url(1),)
    server.udp_drop = 100
    result = run(server, lambda c: c.resolve("88.1/x"))
    assert len(result.values) == 1
    assert [t for t, _ in server.log] == ["tcp"]


def test_truncated_udp_answer_goes_to_tcp_at_once(server: FakeServer) -> None:
    server.records[handle_key("88.1/big")] = tuple(url(i, "https://example.com/" + "x" * 60)
                                                   for i in range(1, 30))
    server.udp_budget = 512
    result = asyncio.run(_timed_resolve(server, "88.1/big"))
    assert len(result[0].values) == 29
    assert result[1] < 1.0  # no UDP retries: the notice sends the client straight to TCP
    assert [t for t, _ in server.log] == ["udp", "tcp"]


async def _timed_resolve(server: FakeServer, handle: str) -> tuple[object, float]:
    loop = asyncio.get_running_loop()
    async with HandleClient(("127.0.0.1", server.port), udp_timeouts=(2.0, 2.0)) as client:
        started = loop.time()
        result = await client.resolve(handle)
        return result, loop.time() - started


def test_multi_packet_udp_answer(server: FakeServer) -> None:
    server.records[handle_key("88.1/big")] = tuple(url(i, "https://example.com/" + "x" * 60)
                                                   for i in range(1, 30))
    result = run(server, lambda c: c.resolve("88.1/big"))
    assert len(result.values) == 29
    assert [t for t, _ in server.log] == ["udp"]


def test_resolve_all_values_authenticates(server: FakeServer,
                                          admin_key: rsa.RSAPrivateKey) -> None:
    server.records[handle_key("88.1/x")] = (
        url(1), HandleValue(2, "HS_SECKEY", b"s", permissions=PERM_SECRET))
    result = run(server, lambda c: c.resolve("88.1/x", public_only=False),
                 auth=PublicKeyAuth(ADMIN, admin_key))
    assert [v.index for v in result.values] == [1, 2]


def test_site_info(server: FakeServer) -> None:
    site = run(server, lambda c: c.get_site_info())
    assert str(site.servers[0].ip) == "127.0.0.1"
    assert site.servers[0].interfaces[0].port == server.port


# -- administration -----------------------------------------------------------------------

def test_create_with_public_key(server: FakeServer, admin_key: rsa.RSAPrivateKey) -> None:
    created = run(server, lambda c: c.create_handle("88.1/new", [url(1)]),
                  auth=PublicKeyAuth(ADMIN, admin_key))
    assert created == "88.1/new"
    assert server.records[handle_key("88.1/new")] == (url(1),)
    # challenged, answered on the same connection with the same request id
    (_, create_op, create_id), (_, answer_op, answer_id) = ops(server)
    assert (create_op, answer_op) == (OpCode.CREATE_HANDLE, OpCode.CHALLENGE_RESPONSE)
    assert create_id == answer_id
    assert server.connections == 1


def test_admin_operations_with_a_secret(server: FakeServer) -> None:
    auth = SecretKeyAuth(ADMIN, SECRET)

    async def session(client: HandleClient) -> list[str]:
        await client.create_handle("88.1/a", [url(1)])
        await client.add_values("88.1/a", [url(2), url(3)])
        await client.modify_values("88.1/a", [url(2, "https://changed")])
        await client.remove_values("88.1/a", [3])
        await client.create_handle("88.1/b", [url(1)])
        await client.delete_handle("88.1/b")
        return await client.list_handles("88.1")

    assert run(server, session, auth=auth) == ["88.1/a"]
    assert server.records[handle_key("88.1/a")] == (url(1), url(2, "https://changed"))
    assert server.connections == 1  # one keep-alive connection for everything


def test_list_handles_collects_continued_answers(server: FakeServer) -> None:
    for name in "abcde":
        server.records[handle_key(f"88.1/{name}")] = (url(1),)
    server.records[handle_key("88.2/z")] = (url(1),)
    handles = run(server, lambda c: c.list_handles("0.NA/88.1"),
                  auth=SecretKeyAuth(ADMIN, SECRET))
    assert handles == ["88.1/a", "88.1/b", "88.1/c", "88.1/d", "88.1/e"]


def test_prefixes(server: FakeServer) -> None:
    async def session(client: HandleClient) -> tuple[list[str], list[str]]:
        await client.home_prefix("88.1")
        await client.home_prefix("0.NA/88.2")
        homed = await client.list_homed_prefixes()
        await client.unhome_prefix("88.1")
        return homed, await client.list_homed_prefixes()

    homed, after = run(server, session, auth=SecretKeyAuth(ADMIN, SECRET))
    assert homed == ["0.NA/88.1", "0.NA/88.2"]
    assert after == ["0.NA/88.2"]


def test_mint(server: FakeServer) -> None:
    created = run(server, lambda c: c.create_handle("88.1/", [url(1)], mint=True),
                  auth=SecretKeyAuth(ADMIN, SECRET))
    assert created == "88.1/minted-1"


def test_overwrite_flags(server: FakeServer) -> None:
    server.records[handle_key("88.1/a")] = (url(1),)
    run(server, lambda c: c.create_handle("88.1/a", [url(5)], overwrite=True),
        auth=SecretKeyAuth(ADMIN, SECRET))
    assert server.records[handle_key("88.1/a")] == (url(5),)
    run(server, lambda c: c.add_values("88.1/a", [url(5, "https://b")], overwrite=True),
        auth=SecretKeyAuth(ADMIN, SECRET))
    assert server.records[handle_key("88.1/a")] == (url(5, "https://b"),)


@pytest.mark.parametrize(("auth", "code", "text"), [
    (None, 402, "response code 402 (authentication needed)"),
    (SecretKeyAuth(Identity("88.1/OTHER", 300), SECRET), 401,
     "response code 401 (insufficient permissions): 300:88.1/OTHER is not an administrator"),
    (SecretKeyAuth(ADMIN, b"wrong"), 403,
     "response code 403 (authentication failed): bad signature"),
])
def test_admin_errors(server: FakeServer, auth: object, code: int, text: str) -> None:
    with pytest.raises(RemoteError) as info:
        run(server, lambda c: c.delete_handle("88.1/x"), auth=auth)
    assert info.value.response_code == code
    assert str(info.value) == text


def test_create_existing_handle(server: FakeServer) -> None:
    server.records[handle_key("88.1/a")] = (url(1),)
    with pytest.raises(RemoteError, match=r"^response code 101 \(handle already exists\): "
                                          r"88.1/a already exists$"):
        run(server, lambda c: c.create_handle("88.1/a", [url(1)]),
            auth=SecretKeyAuth(ADMIN, SECRET))


def test_reconnects_after_the_server_dropped_the_connection(server: FakeServer) -> None:
    async def session(client: HandleClient) -> None:
        await client.create_handle("88.1/a", [url(1)])
        server.drop_connections()
        await asyncio.sleep(0.1)
        await client.delete_handle("88.1/a")

    run(server, session, auth=SecretKeyAuth(ADMIN, SECRET))
    assert server.connections == 2
    assert handle_key("88.1/a") not in server.records


def test_auth_can_change_between_operations(server: FakeServer) -> None:
    async def session(client: HandleClient) -> None:
        with pytest.raises(RemoteError):
            await client.delete_handle("88.1/a")
        client.auth = SecretKeyAuth(ADMIN, SECRET)
        await client.create_handle("88.1/a", [url(1)])

    run(server, session)
    assert handle_key("88.1/a") in server.records


# -- the sync facade ----------------------------------------------------------------------

def test_sync_client(server: FakeServer, admin_key: rsa.RSAPrivateKey) -> None:
    with SyncHandleClient(("127.0.0.1", server.port), auth=PublicKeyAuth(ADMIN, admin_key),
                          udp_timeouts=FAST) as client:
        assert client.create_handle("88.1/s", [url(1)]) == "88.1/s"
        client.add_values("88.1/s", [url(2)])
        assert [v.index for v in client.resolve("88.1/s").values] == [1, 2]
        client.modify_values("88.1/s", [url(2, "https://m")])
        client.remove_values("88.1/s", [1])
        assert client.list_handles("88.1") == ["88.1/s"]
        client.home_prefix("88.9")
        assert client.list_homed_prefixes() == ["0.NA/88.9"]
        client.unhome_prefix("88.9")
        assert client.get_site_info().servers
        client.delete_handle("88.1/s")
        with pytest.raises(RemoteError, match="handle not found"):
            client.resolve("88.1/s")
    client.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        client.resolve("88.1/s")
