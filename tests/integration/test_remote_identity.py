"""Identities homed on other nodes (分布式身份, ``idis.md`` §5.1), over loopback sockets.

Enterprise node A homes 88.130.1; enterprise node B homes 88.130.2 and holds its users'
public keys (HS_PUBKEY at 300) and a group (HS_VLIST). A holds no record of B's, and
authenticates B's users by resolving their keys through a recursive node (递归节点) that
reaches B from the root: root → B for 88.130.2, the way ``test_hierarchy.py`` builds its
hierarchy. Every node is a real worker (``tests/resolver/cluster.py``); clients talk to A
over TCP with challenge–response (OC 200) or the IDIS key login (OC 2001).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from idnode.auth.identity import Identity
from idnode.auth.keys import generate_private_key, public_key_data, sign_data
from idnode.client import HandleClient, PublicKeyAuth, SecretKeyAuth
from idnode.client.flow import response_body
from idnode.config import HttpConfig
from idnode.config_identity import IdentityConfig
from idnode.errors import RemoteError
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import PERM_SECRET, HandleValue, Reference
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData, AdminPerm
from idnode.identifiers.values.rights import RightsData
from idnode.identifiers.values.vlist import VListData
from idnode.node.identities import RemoteIdentities
from idnode.protocol.bodies import LoginRequest, ResolutionRequest, ResolutionResponse
from idnode.protocol.constants import DEFAULT_RESOLUTION_FLAGS, OpCode, OpFlag, ResponseCode
from idnode.protocol.message import Message
from idnode.transport.client import TcpConnection
from integration.wire import answer as _exchange
from resolver.cluster import Cluster, Node, site_value, url

T = TypeVar("T")
A, B = "88.130.1", "88.130.2"
USER, MEMBER, STRANGER = f"{B}/user", f"{B}/member", f"{B}/stranger"
WINE = f"{A}/wine-001"
USER_KEY = generate_private_key("RSA", 1024)
MEMBER_KEY = generate_private_key("RSA", 1024)
STRANGER_KEY = generate_private_key("RSA", 1024)
OTHER_KEY = generate_private_key("RSA", 1024)
#: A's bound on one lookup through the recursive node
TIMEOUT = 1.5
SCHEDULE = {"udp_timeouts": (0.2, 0.3), "tcp_timeout": 1.0}


def pubkey(key: object) -> HandleValue:
    return HandleValue(300, "HS_PUBKEY", public_key_data(key).to_bytes())  # type: ignore[arg-type]


def b_records() -> dict[str, list[HandleValue]]:
    return {
        USER: [pubkey(USER_KEY),
               HandleValue(301, "HS_SECKEY", b"secret-of-user", permissions=PERM_SECRET)],
        MEMBER: [pubkey(MEMBER_KEY)],
        STRANGER: [pubkey(STRANGER_KEY)],
        # team ∋ member: a group on B that A's records name
        f"{B}/team": [HandleValue(200, "HS_VLIST", VListData(
            (Reference(MEMBER, 300),)).to_bytes())],
    }


def a_records() -> dict[str, list[HandleValue]]:
    rights = RightsData.from_json({"readerScope": 2, "handleUserReaders": [
        {"id": f"300:{USER}", "indexes": [2000]}]})
    return {
        # B's user may create handles under A's prefix
        f"0.NA/{A}": [HandleValue(100, "HS_ADMIN", AdminData(
            AdminPerm.ADD_HANDLE | AdminPerm.DELETE_HANDLE, USER, 300).to_bytes())],
        WINE: [url("https://a.example/wine-001"),
               # members of B's team administer the record
               HandleValue(100, "HS_ADMIN", AdminData(ALL_PERMISSIONS, f"{B}/team",
                                                      200).to_bytes()),
               rights.to_value(),
               HandleValue(2000, "receiptNumber", b"TSQ202406231", permissions=PERM_SECRET),
               HandleValue(2001, "purchasePrice", b"1999.00", permissions=PERM_SECRET)],
    }


def run(make: Callable[[Cluster], Awaitable[T]], tmp_path: Path) -> T:
    async def main() -> T:
        async with Cluster(tmp_path) as cluster:
            return await asyncio.wait_for(make(cluster), 60)
    return asyncio.run(main())


async def federation(cluster: Cluster, *, enable: bool = True,
                     http: bool = False) -> dict[str, Node]:
    """root (0.NA) → B (88.130.2); a recursive node from the root; A asking it."""
    root = await cluster.add_node("root", ["0.NA"])
    b = await cluster.add_node("b", [B], b_records())
    root.put("0.NA/0.NA", [site_value(1, root.site(desc="root"))])
    root.put(f"0.NA/{B}", [site_value(1, b.site(desc="enterprise B"))])
    rec = await cluster.add_recursive("rec", [root.site()], http=False, **SCHEDULE)
    assert rec.udp is not None
    # The recursive node listens on its UDP port (TCP on another port here); the lookup asks
    # over UDP first, which is all these small answers need.
    identity = IdentityConfig(enable=enable, recursive=rec.udp, timeout=TIMEOUT,
                              cache_ttl=300, negative_ttl=60)
    a = await cluster.add_node("a", [A], a_records(), http=http, changes={
        "identity": identity, "web": HttpConfig(allow_credentials_over_http=True)})
    root.put(f"0.NA/{A}", [site_value(1, a.site(desc="enterprise A"))])
    return {"root": root, "b": b, "rec": rec, "a": a}


def client(node: Node, auth: PublicKeyAuth | SecretKeyAuth | None) -> HandleClient:
    assert node.tcp is not None
    return HandleClient(node.tcp, transport="tcp", auth=auth, timeout=10)


def as_user(key: object = USER_KEY, handle: str = USER) -> PublicKeyAuth:
    return PublicKeyAuth(Identity(handle, 300), key)  # type: ignore[arg-type]


def identities(node: Node) -> RemoteIdentities:
    found = node.worker.identities
    assert found is not None
    return found


async def scoped_read(node: Node, auth: PublicKeyAuth) -> list[int]:
    async with client(node, auth) as c:
        answer = await c.resolve(WINE, public_only=False)
    return sorted(v.index for v in answer.values)


def test_a_remote_user_authenticates_by_challenge_response(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await federation(cluster)
        a, rec = nodes["a"], nodes["rec"]
        # HS_ADMIN of 0.NA/88.130.1 names 300:88.130.2/user: a create succeeds
        async with client(a, as_user()) as c:
            await c.create_handle(f"{A}/made-by-b", [url("https://b.example/1")])
        assert a.worker.store is not None
        assert a.worker.store.get_record(Handle.parse(f"{A}/made-by-b").key) is not None
        assert rec.requests(USER) == 1
        # The second authentication is answered from A's cache: no new upstream request.
        hits = identities(a).cache_hits
        async with client(a, as_user()) as c:
            await c.create_handle(f"{A}/made-by-b-2", [url("https://b.example/2")])
        assert rec.requests(USER) == 1
        assert identities(a).upstream_requests == 1
        assert identities(a).cache_hits > hits
        # Data rights (IDIS.AUTH at 1100) name the remote user as a reader of 2000.
        assert await scoped_read(a, as_user()) == [1, 100, 2000]
        assert rec.requests(USER) == 1
    run(go, tmp_path)


def test_a_remote_group_member_administers_and_a_stranger_does_not(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await federation(cluster)
        a, rec = nodes["a"], nodes["rec"]
        # WINE's HS_ADMIN names 200:88.130.2/team, an HS_VLIST held on B only.
        async with client(a, as_user(MEMBER_KEY, MEMBER)) as c:
            await c.modify_values(WINE, [HandleValue(2001, "purchasePrice", b"1799.00",
                                                     permissions=PERM_SECRET)])
        assert await scoped_read(a, as_user(MEMBER_KEY, MEMBER)) == [1, 100, 1100, 2000,
                                                                      2001]
        assert rec.requests(f"{B}/team") == 1
        # A user of B who is in no group nor grant authenticates but gets no rights.
        async with client(a, as_user(STRANGER_KEY, STRANGER)) as c:
            with pytest.raises(RemoteError) as err:
                await c.modify_values(WINE, [url("https://evil.example/")])
        assert err.value.response_code in (ResponseCode.INVALID_ADMIN,
                                           ResponseCode.INSUFFICIENT_PERMISSIONS)
        assert await scoped_read(a, as_user(STRANGER_KEY, STRANGER)) == [1, 100]
    run(go, tmp_path)


def test_a_wrong_key_and_a_secret_key_are_refused(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await federation(cluster)
        a = nodes["a"]
        async with client(a, as_user(OTHER_KEY)) as c:
            with pytest.raises(RemoteError) as err:
                await c.create_handle(f"{A}/nope", [url("https://x.example/")])
        assert err.value.response_code == ResponseCode.AUTHENTICATION_FAILED
        assert "does not verify" in str(err.value)
        # B's secret key is never fetched: an HS_SECKEY answer is refused, saying why.
        upstream = identities(a).upstream_requests
        secret = SecretKeyAuth(Identity(USER, 301), b"secret-of-user")
        async with client(a, secret) as c:
            with pytest.raises(RemoteError) as err:
                await c.create_handle(f"{A}/nope", [url("https://x.example/")])
        assert err.value.response_code == ResponseCode.AUTHENTICATION_FAILED
        assert "never fetched" in str(err.value) and "HS_PUBKEY" in str(err.value)
        assert identities(a).upstream_requests == upstream
        # An identity that does not exist anywhere: refused, and remembered (negative cache).
        for _ in range(2):
            async with client(a, as_user(OTHER_KEY, f"{B}/nobody")) as c:
                with pytest.raises(RemoteError) as err:
                    await c.create_handle(f"{A}/nope", [url("https://x.example/")])
            assert "not held by this server nor found through the recursive node" in \
                str(err.value)
        assert nodes["rec"].requests(f"{B}/nobody") == 1
    run(go, tmp_path)


def test_the_idis_key_login_of_a_remote_user(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await federation(cluster)
        a = nodes["a"]
        assert a.tcp is not None
        async with await TcpConnection.open(a.tcp) as conn:
            login = Message(OpCode.LOGIN_ID_SYSTEM, request_id=901, major=2, minor=10,
                            expiration=int(time.time()) + 60,
                            body=LoginRequest(USER, 300).to_wire())
            assert (await _exchange(conn, login, as_user())).response_code == 1
            flags = DEFAULT_RESOLUTION_FLAGS & ~OpFlag.PUBLIC_ONLY
            resolve = Message(OpCode.RESOLUTION, opflags=flags, request_id=902, major=2,
                              minor=10, body=ResolutionRequest(WINE).to_wire())
            answer = await _exchange(conn, resolve, None)
            assert answer.response_code == ResponseCode.SUCCESS
            values = ResolutionResponse.from_wire(response_body(answer)).values
            assert sorted(v.index for v in values) == [1, 100, 2000]
        async with await TcpConnection.open(a.tcp) as conn:
            login = Message(OpCode.LOGIN_ID_SYSTEM, request_id=903, major=2, minor=10,
                            expiration=int(time.time()) + 60,
                            body=LoginRequest(USER, 300).to_wire())
            refused = await _exchange(conn, login, as_user(OTHER_KEY))
            assert refused.response_code == ResponseCode.VERIFY_CREDENTIAL_FAILED
    run(go, tmp_path)


def test_disabled_the_remote_user_is_refused_as_before(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await federation(cluster, enable=False)
        a = nodes["a"]
        assert a.worker.identities is None
        async with client(a, as_user()) as c:
            with pytest.raises(RemoteError) as err:
                await c.create_handle(f"{A}/nope", [url("https://x.example/")])
        assert err.value.response_code == ResponseCode.AUTHENTICATION_FAILED
        assert f"identity handle {USER} is not held by this server" in str(err.value)
        assert "recursive" not in str(err.value)
        assert nodes["rec"].requests(USER) == 0
    run(go, tmp_path)


def test_a_stopped_recursive_node_fails_authentication_clearly(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await federation(cluster)
        a, rec = nodes["a"], nodes["rec"]
        assert await scoped_read(a, as_user()) == [1, 100, 2000]  # USER is now cached
        await rec.stop()
        started = time.monotonic()
        async with client(a, as_user(STRANGER_KEY, STRANGER)) as c:
            with pytest.raises(RemoteError) as err:
                await c.resolve(WINE, public_only=False)
        assert time.monotonic() - started < TIMEOUT + 2
        assert err.value.response_code == ResponseCode.AUTHENTICATION_FAILED
        assert rec.label in str(err.value) and "unreachable" in str(err.value)
        # what was fetched before still authenticates until its TTL runs out
        assert await scoped_read(a, as_user()) == [1, 100, 2000]
    run(go, tmp_path)


def test_concurrent_misses_share_one_upstream_request(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="idnode.identity")

    async def go(cluster: Cluster) -> None:
        nodes = await federation(cluster)
        remote = identities(nodes["a"])
        handle = Handle.parse(MEMBER)
        answers = await asyncio.gather(*(remote.values_of(handle) for _ in range(8)))
        assert remote.upstream_requests == 1
        assert nodes["rec"].requests(MEMBER) == 1
        first = answers[0]
        assert first is not None and [v.type for v in first] == ["HS_PUBKEY"]
        assert all(answer == first for answer in answers)
        # only public HS_PUBKEY / HS_VLIST / HS_ADMIN values are kept: never HS_SECKEY
        user = await remote.values_of(Handle.parse(USER))
        assert user is not None and [(v.index, v.type) for v in user] == [(300, "HS_PUBKEY")]
        await remote.values_of(Handle.parse(USER))  # a cache hit: logged once
    run(go, tmp_path)
    fetched = [r.getMessage() for r in caplog.records if r.name == "idnode.identity"]
    assert len(fetched) == 2 and MEMBER in fetched[0] and USER in fetched[1]
    assert "300:HS_PUBKEY" in fetched[0] and "RSA" not in "".join(fetched)


def test_a_remote_user_over_rest_with_the_handle_scheme(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await federation(cluster, http=True)
        a = nodes["a"]
        assert a.http is not None
        base = f"http://127.0.0.1:{a.http[1]}"
        status, created = await fetch("POST", f"{base}/api/sessions")
        session, nonce = created["sessionId"], base64.b64decode(created["nonce"])
        cnonce = os.urandom(16)
        _, signature = sign_data(USER_KEY, nonce + cnonce, "SHA256")
        signed = (f'Handle version="0", sessionId="{session}", '
                  f'cnonce="{base64.b64encode(cnonce).decode()}", id="300:{USER}", '
                  f'type="HS_PUBKEY", alg="SHA256", '
                  f'signature="{base64.b64encode(signature).decode()}"')
        status, state = await fetch("PUT", f"{base}/api/sessions/this", signed)
        assert status == 200 and state["authenticated"] is True, state
        status, record = await fetch("GET", f"{base}/api/handles/{WINE}",
                                     f'Handle sessionId="{session}"')
        assert status == 200
        assert sorted(v["index"] for v in record["values"]) == [1, 100, 2000]
        # HTTP Basic is a secret (HS_SECKEY): never fetched from B, refused with the reason
        basic = base64.b64encode(f"301%3A{USER}:secret-of-user".encode()).decode()
        status, refused = await fetch("GET", f"{base}/api/handles/{WINE}", f"Basic {basic}")
        assert status == 401 and "never fetched" in json.dumps(refused), refused
    run(go, tmp_path)


async def fetch(method: str, url: str, authorization: str | None = None) -> tuple[int, Any]:
    headers = {} if authorization is None else {"Authorization": authorization}
    request = urllib.request.Request(url, method=method, headers=headers)

    def call() -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
    return await asyncio.to_thread(call)
