"""Data rights (数据权限, idis.md §5.1, §7.4) end to end over real loopback sockets.

One node homes enterprise A (88.130.1) and enterprise B (88.130.2), as a secondary node
hosting both or an enterprise node holding B's identities would. A's identifier
``88.130.1/wine-001`` is scoped (readerScope 2) through ``/api/v1/single-handle/authorization``:
B's ``reader`` may read 2000 and 2001, members of B's ``partners`` group (nested HS_VLIST) may
read 2000, B's ``writer`` may write 2001; B's ``stranger`` is listed nowhere.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from idnode.auth.identity import Identity
from idnode.auth.keys import generate_private_key, public_key_data
from idnode.client import PublicKeyAuth, SecretKeyAuth, SyncHandleClient
from idnode.client.flow import response_body
from idnode.errors import RemoteError
from idnode.identifiers.value import PERM_SECRET, HandleValue, Reference
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.identifiers.values.vlist import VListData
from idnode.protocol.bodies import LoginRequest, ResolutionRequest, ResolutionResponse
from idnode.protocol.constants import DEFAULT_RESOLUTION_FLAGS, OpCode, OpFlag, ResponseCode
from idnode.protocol.message import Message
from idnode.transport.client import TcpConnection
from integration.nodeproc import NodeProcess, init_node, set_limit
from integration.wire import answer as _exchange

pytestmark = pytest.mark.integration

SECRET = "s3cret-for-tests"
A, B = "88.130.1", "88.130.2"
WINE = f"{A}/wine-001"
PATH = "/api/v1/single-handle/authorization"
READER_KEY = generate_private_key("RSA", 1024)
USERS = ("owner", "reader", "writer", "stranger", "member")


def secret_of(name: str) -> str:
    return f"secret-of-{name}"


def who(name: str) -> str:
    """The identity of a user: the owner is A's, the others are B's."""
    return f"301:{A}/owner" if name == "owner" else f"301:{B}/{name}"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    home = tmp_path_factory.mktemp("rights") / "home"
    init_node(home, A, "--http", "127.0.0.1:0", secret=SECRET)
    set_limit(home, "allow_credentials_over_http", "true")
    proc = NodeProcess.start(home)
    try:
        _populate(proc)
        yield proc
    finally:
        assert proc.stop() == 0, proc.text


def _server_admin(proc: NodeProcess) -> SyncHandleClient:
    return SyncHandleClient(proc.tcp, transport="tcp",
                            auth=SecretKeyAuth(Identity(f"{A}/ADMIN", 301), SECRET.encode()))


def _populate(proc: NodeProcess) -> None:
    with _server_admin(proc) as admin:
        admin.home_prefix(B)
        for name in USERS:
            handle = who(name).split(":", 1)[1]
            values = [HandleValue(301, "HS_SECKEY", secret_of(name).encode(),
                                  permissions=PERM_SECRET)]
            if name == "reader":
                values.append(HandleValue(300, "HS_PUBKEY",
                                          public_key_data(READER_KEY).to_bytes()))
            admin.create_handle(handle, values)
        # partners ∋ team ∋ member: a group followed recursively, as HS_ADMIN groups are
        admin.create_handle(f"{B}/team", [HandleValue(200, "HS_VLIST", VListData(
            (Reference(f"{B}/member", 301),)).to_bytes())])
        admin.create_handle(f"{B}/partners", [HandleValue(200, "HS_VLIST", VListData(
            (Reference(f"{B}/team", 200),)).to_bytes())])
        admin.create_handle(WINE, [
            HandleValue(1, "URL", b"https://a.example/wine-001"),
            HandleValue(100, "HS_ADMIN", AdminData(ALL_PERMISSIONS, f"{A}/owner",
                                                   301).to_bytes()),
            HandleValue(2000, "receiptNumber", b"TSQ202406231"),
            HandleValue(2001, "receiveDate", b"2024-06-23"),
            HandleValue(2002, "purchasePrice", b"1999.00")])
    answer = post(proc, "owner", {
        "handle": WINE, "readerScope": 2,
        "handleUserReaders": [{"id": f"0:{B}/reader", "indexes": [2000, 2001]},
                              {"id": f"200:{B}/partners", "indexes": [2000]}],
        "handleUserWriters": [{"id": who("writer"), "indexes": [2001]}]})
    assert answer["status"] == 1, answer


# -- HTTP helpers ---------------------------------------------------------------------------
def basic(name: str) -> str:
    user = who(name).replace("%", "%25").replace(":", "%3A")
    return "Basic " + base64.b64encode(f"{user}:{secret_of(name)}".encode()).decode()


def http(proc: NodeProcess, method: str, path: str, body: Any = None,
         user: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if user is not None:
        headers["Authorization"] = basic(user)
    data = None if body is None else (body if isinstance(body, bytes)
                                      else json.dumps(body).encode())
    request = urllib.request.Request(f"http://127.0.0.1:{proc.http[1]}{path}", data=data,
                                     method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def post(proc: NodeProcess, user: str | None, body: Any) -> Any:
    status, answer = http(proc, "POST", PATH, body, user)
    assert status == 200
    return answer


def rest_indexes(proc: NodeProcess, user: str | None) -> tuple[int, list[int]]:
    status, answer = http(proc, "GET", f"/api/handles/{WINE}", user=user)
    return status, sorted(v["index"] for v in answer.get("values", []))


def native_indexes(proc: NodeProcess, auth: Any, **kwargs: Any) -> list[int]:
    with SyncHandleClient(proc.tcp, transport="tcp", auth=auth) as client:
        return sorted(v.index for v in client.resolve(WINE, public_only=False,
                                                      **kwargs).values)


def seckey(name: str) -> SecretKeyAuth:
    ident = Identity.parse(who(name))
    return SecretKeyAuth(ident, secret_of(name).encode())


# -- reads ----------------------------------------------------------------------------------
def test_the_owner_reads_everything(node: NodeProcess) -> None:
    assert rest_indexes(node, "owner") == (200, [1, 100, 1100, 2000, 2001, 2002])
    assert native_indexes(node, seckey("owner")) == [1, 100, 1100, 2000, 2001, 2002]


def test_anonymous_clients_read_public_values_only(node: NodeProcess) -> None:
    assert rest_indexes(node, None) == (200, [1, 100])
    with SyncHandleClient(node.udp) as client:
        assert sorted(v.index for v in client.resolve(WINE).values) == [1, 100]
        with pytest.raises(RemoteError) as err:  # non-public values need a login
            client.resolve(WINE, public_only=False)
        assert err.value.response_code == ResponseCode.AUTHENTICATION_NEEDED


def test_a_listed_reader_reads_its_granted_indexes(node: NodeProcess) -> None:
    # Native TCP, answering the challenge with its HS_PUBKEY (the grant names index 0).
    by_key = PublicKeyAuth(Identity(f"{B}/reader", 300), READER_KEY)
    assert native_indexes(node, by_key) == [1, 100, 2000, 2001]
    assert native_indexes(node, by_key, indexes=[2001, 2002]) == [2001]
    # REST with HTTP Basic (its HS_SECKEY at 301)
    assert rest_indexes(node, "reader") == (200, [1, 100, 2000, 2001])


def test_a_listed_reader_reads_after_an_idis_login(node: NodeProcess) -> None:
    async def run() -> list[int]:
        async with await TcpConnection.open(node.tcp) as conn:
            auth = PublicKeyAuth(Identity(f"{B}/reader", 300), READER_KEY)
            login = Message(OpCode.LOGIN_ID_SYSTEM, request_id=901, major=2, minor=10,
                            expiration=int(time.time()) + 60,
                            body=LoginRequest(f"{B}/reader", 300).to_wire())
            assert (await _exchange(conn, login, auth)).response_code == 1
            flags = DEFAULT_RESOLUTION_FLAGS & ~OpFlag.PUBLIC_ONLY
            resolve = Message(OpCode.RESOLUTION, opflags=flags, request_id=902, major=2,
                              minor=10, body=ResolutionRequest(WINE).to_wire())
            answer = await _exchange(conn, resolve, None)
            assert answer.response_code == ResponseCode.SUCCESS, answer
            values = ResolutionResponse.from_wire(response_body(answer)).values
            return sorted(v.index for v in values)
    assert asyncio.run(run()) == [1, 100, 2000, 2001]


def test_a_group_member_reads_what_the_group_is_granted(node: NodeProcess) -> None:
    assert rest_indexes(node, "member") == (200, [1, 100, 2000])
    assert native_indexes(node, seckey("member")) == [1, 100, 2000]


def test_an_unlisted_user_reads_public_values_only(node: NodeProcess) -> None:
    assert rest_indexes(node, "stranger") == (200, [1, 100])
    assert native_indexes(node, seckey("stranger")) == [1, 100]
    with pytest.raises(RemoteError) as err:  # asking for a scoped value only
        native_indexes(node, seckey("stranger"), indexes=[2000])
    assert err.value.response_code == ResponseCode.INSUFFICIENT_PERMISSIONS
    assert "数据权限" in str(err.value)
    status, answer = http(node, "GET", f"/api/handles/{WINE}?index=2002", user="reader")
    assert (status, answer["responseCode"]) == (403, 401)


def test_snms_detail_follows_the_data_rights(node: NodeProcess) -> None:
    def detail(name: str) -> list[int]:
        _, token = http(node, "POST", "/identity/token",
                        {"username": who(name), "password": secret_of(name)})
        assert token["status"] == 1, token
        request = urllib.request.Request(
            f"http://127.0.0.1:{node.http[1]}/identityv2/data/detail?handle={WINE}",
            headers={"Authorization": "Bearer " + token["data"]["token"]})
        with urllib.request.urlopen(request, timeout=10) as reply:
            answer = json.loads(reply.read())
        assert answer["status"] == 1, answer
        return sorted(v["index"] for v in answer["data"]["value"])
    # (the SNMS form leaves HS_ADMIN out)
    assert detail("reader") == [1, 2000, 2001]
    assert detail("member") == [1, 2000]
    assert detail("stranger") == [1]


# -- writes ---------------------------------------------------------------------------------
def test_a_writer_modifies_only_granted_business_values(node: NodeProcess) -> None:
    with SyncHandleClient(node.tcp, transport="tcp", auth=seckey("writer")) as writer:
        # granted: 2001, even sent with public read (0x0E): it is stored scoped
        writer.modify_values(WINE, [HandleValue(2001, "receiveDate", b"2024-06-24")])
        assert native_indexes(node, seckey("writer")) == [1, 100, 2001]  # writers read
        for change, needle in [
                (lambda: writer.modify_values(WINE, [HandleValue(2002, "purchasePrice",
                                                                 b"1.00")]), "2002"),
                (lambda: writer.add_values(WINE, [HandleValue(2005, "note", b"x")]), "2005"),
                (lambda: writer.remove_values(WINE, [2000]), "2000"),
                (lambda: writer.modify_values(WINE, [HandleValue(100, "HS_ADMIN", AdminData(
                    ALL_PERMISSIONS, f"{B}/writer", 301).to_bytes())]), "100"),
                (lambda: writer.modify_values(WINE, [HandleValue(
                    1100, "IDIS.AUTH", b'{"readerScope":1}')]), "1100"),
                (lambda: writer.modify_values(WINE, [HandleValue(2001, "HS_ADMIN", AdminData(
                    ALL_PERMISSIONS, f"{B}/writer", 301).to_bytes())]), "HS_ADMIN"),
                (lambda: writer.delete_handle(WINE), "delete")]:
            with pytest.raises(RemoteError) as err:
                change()
            assert err.value.response_code in (400, 401), err.value
            assert needle in str(err.value), err.value
    assert rest_indexes(node, None) == (200, [1, 100])  # nothing became public
    status, answer = http(node, "GET", f"/api/handles/{WINE}?index=2001", user="reader")
    assert (status, answer["values"][0]["data"]["value"]) == (200, "2024-06-24")
    with SyncHandleClient(node.tcp, transport="tcp", auth=seckey("stranger")) as stranger:
        with pytest.raises(RemoteError) as err:
            stranger.modify_values(WINE, [HandleValue(2001, "receiveDate", b"1970-01-01")])
        assert err.value.response_code == ResponseCode.INVALID_ADMIN


# -- the authorization endpoint -------------------------------------------------------------
def test_the_endpoint_answers_the_grant_to_admins_only(node: NodeProcess) -> None:
    answer = http(node, "GET", f"{PATH}?handle={WINE}", user="owner")[1]
    assert answer["status"] == 1
    assert answer["data"] == {
        "handle": WINE, "readerScope": 2,
        "handleUserReaders": [{"id": f"0:{B}/reader", "indexes": [2000, 2001]},
                              {"id": f"200:{B}/partners", "indexes": [2000]}],
        "handleUserWriters": [{"id": who("writer"), "indexes": [2001]}]}
    refused = http(node, "GET", f"{PATH}?handle={WINE}", user="reader")[1]
    assert refused["status"] == -3 and "administrators" in refused["message"]
    assert http(node, "GET", f"{PATH}?handle={WINE}")[1]["status"] == -1


@pytest.mark.parametrize(("user", "body", "status", "needle"), [
    (None, {"handle": WINE, "readerScope": 1}, -1, "not logged in"),
    ("reader", {"handle": WINE, "readerScope": 1}, -3, "only its administrators"),
    ("writer", {"handle": WINE, "readerScope": 1}, -3, "only its administrators"),
    ("owner", {"handle": WINE}, -2, "readerScope: missing"),
    ("owner", {"handle": WINE, "readerScope": 3}, -2, "1 (public) or 2"),
    ("owner", {"handle": WINE, "readerScope": 2, "handleUserReaders": ["88.130.2/x"]}, -2,
     "handleUserReaders[0]"),
    ("owner", {"handle": WINE, "readerScope": 2,
               "handleUserReaders": [{"id": who("reader"), "indexes": [100]}]}, -2,
     "not a business value"),
    ("owner", {"handle": WINE, "readerScope": 2, "handleUserWriters": [
        who("writer"), who("writer")]}, -2, "listed twice"),
    ("owner", {"handle": WINE, "readerScope": 2, "readers": []}, -2, "unknown field"),
    ("owner", {"handle": f"{A}/missing", "readerScope": 2}, -2, "does not exist"),
    ("owner", [1, 2], -2, "JSON object"),
])
def test_the_endpoint_refuses_clearly(node: NodeProcess, user: str | None, body: Any,
                                      status: int, needle: str) -> None:
    answer = post(node, user, body)
    assert answer["status"] == status, answer
    assert needle in answer["message"], answer


def test_public_scope_and_removing_grants(node: NodeProcess) -> None:
    with _server_admin(node) as admin:
        admin.create_handle(f"{A}/wine-002", [
            HandleValue(100, "HS_ADMIN", AdminData(ALL_PERMISSIONS, f"{A}/owner",
                                                   301).to_bytes()),
            HandleValue(2000, "receiptNumber", b"TSQ2")])
    wine2 = f"/api/handles/{A}/wine-002"
    body: dict[str, Any] = {"handle": f"{A}/wine-002", "readerScope": 2,
                            "handleUserReaders": [who("stranger")]}
    assert post(node, "owner", body)["status"] == 1
    assert [v["index"] for v in http(node, "GET", wine2)[1]["values"]] == [100]
    assert [v["index"] for v in http(node, "GET", wine2, user="stranger")[1]["values"]] == [
        100, 2000]
    body = {"handle": f"{A}/wine-002", "readerScope": 1,
            "delHandleUserReaders": [who("stranger")]}
    answer = post(node, "owner", body)
    assert answer["status"] == 1, answer
    assert answer["data"]["handleUserReaders"] == []
    assert [v["index"] for v in http(node, "GET", wine2)[1]["values"]] == [100, 2000]
    owner_view = http(node, "GET", wine2, user="owner")[1]
    assert 1100 not in [v["index"] for v in owner_view["values"]]  # no grant left: no value
