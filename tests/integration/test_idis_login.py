"""The IDIS dialect's login opcodes over a real TCP connection (idis.md §4.4): OC 2001 (key
login: challenge, answer, then the connection is authenticated) and OC 2000 (password
login), RC 3001 for a credential that does not verify, and writes on a logged-in connection
without a challenge per request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from idnode.auth.identity import Identity
from idnode.auth.keys import generate_private_key, load_private_key
from idnode.client import PublicKeyAuth
from idnode.identifiers.value import HandleValue
from idnode.protocol.bodies import CreateHandleRequest, LegacyLoginRequest, LoginRequest
from idnode.protocol.constants import OpCode, OpFlag, ResponseCode
from idnode.protocol.message import Message
from idnode.transport.client import TcpConnection
from integration.nodeproc import NodeProcess, init_node
from integration.wire import answer as _exchange

pytestmark = pytest.mark.integration

SECRET = "s3cret-for-tests"
_ids = iter(range(1, 1 << 30))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    home = tmp_path_factory.mktemp("idis") / "home"
    init_node(home, "88.120.1", secret=SECRET)
    proc = NodeProcess.start(home)
    yield proc
    assert proc.stop() == 0, proc.text


def _message(opcode: int, body: bytes) -> Message:
    return Message(opcode=opcode, body=body, request_id=next(_ids),
                   expiration=int(time.time()) + 60)


def _create(handle: str) -> Message:
    value = HandleValue(1, "URL", b"https://idis.example/" + handle.encode())
    return _message(OpCode.CREATE_HANDLE, CreateHandleRequest(handle, (value,)).to_wire())


def test_key_login_authenticates_the_connection(node: NodeProcess) -> None:
    key = load_private_key(node.home / "keys" / "admin.key")
    auth = PublicKeyAuth(Identity("88.120.1/ADMIN", 300), key)

    async def run() -> None:
        async with await TcpConnection.open(node.tcp) as conn:
            login = _message(OpCode.LOGIN_ID_SYSTEM,
                             LoginRequest("88.120.1/ADMIN", 300).to_wire())
            answer = await _exchange(conn, login, auth)
            assert answer.response_code == ResponseCode.SUCCESS
            # Logged in: a write goes through with no challenge (no authenticator given).
            for i in range(3):
                done = await _exchange(conn, _create(f"88.120.1/after-login-{i}"))
                assert done.response_code == ResponseCode.SUCCESS, done
        async with await TcpConnection.open(node.tcp) as other:
            # Another connection is not logged in: the same write is challenged.
            challenged = await _exchange(other, _create("88.120.1/no-login"))
            assert challenged.response_code == ResponseCode.AUTHENTICATION_NEEDED
    asyncio.run(run())


def test_key_login_with_another_key_is_rc_3001(node: NodeProcess) -> None:
    stranger = PublicKeyAuth(Identity("88.120.1/ADMIN", 300), generate_private_key("RSA", 1024))

    async def run() -> None:
        async with await TcpConnection.open(node.tcp) as conn:
            login = _message(OpCode.LOGIN_ID_SYSTEM,
                             LoginRequest("88.120.1/ADMIN", 300).to_wire())
            answer = await _exchange(conn, login, stranger)
            assert answer.response_code == 3001
            still = await _exchange(conn, _create("88.120.1/stranger"))
            assert still.response_code == ResponseCode.AUTHENTICATION_NEEDED
    asyncio.run(run())


def test_key_login_answered_as_someone_else_is_rc_3001(node: NodeProcess) -> None:
    key = load_private_key(node.home / "keys" / "admin.key")
    # The challenge for a login as 301:… is answered as 300:… (a valid key, wrong identity).
    auth = PublicKeyAuth(Identity("88.120.1/ADMIN", 300), key)

    async def run() -> None:
        async with await TcpConnection.open(node.tcp) as conn:
            login = _message(OpCode.LOGIN_ID_SYSTEM,
                             LoginRequest("88.120.1/ADMIN", 301).to_wire())
            answer = await _exchange(conn, login, auth)
            assert answer.response_code == 3001
    asyncio.run(run())


def test_password_login(node: NodeProcess) -> None:
    async def run() -> None:
        async with await TcpConnection.open(node.tcp) as conn:
            wrong = await _exchange(conn, _message(
                OpCode.LOGIN, LegacyLoginRequest("301:88.120.1/ADMIN", "nope").to_wire()))
            assert wrong.response_code == 3001
            ok = await _exchange(conn, _message(
                OpCode.LOGIN, LegacyLoginRequest("88.120.1/ADMIN", SECRET).to_wire()))
            assert ok.response_code == ResponseCode.SUCCESS
            done = await _exchange(conn, _create("88.120.1/by-password"))
            assert done.response_code == ResponseCode.SUCCESS
    asyncio.run(run())


def test_login_over_udp_is_refused(node: NodeProcess) -> None:
    from idnode.transport.client import udp_exchange
    login = _message(OpCode.LOGIN, LegacyLoginRequest("88.120.1/ADMIN", SECRET).to_wire())
    answer = asyncio.run(udp_exchange(node.udp, login))
    assert answer.response_code == ResponseCode.OPERATION_NOT_SUPPORTED


def test_idis_2_10_client_version_is_accepted(node: NodeProcess) -> None:
    """ID-SDK speaks 2.10 (idis.md §4.1)."""
    from idnode.protocol.bodies import ResolutionRequest

    async def run() -> None:
        async with await TcpConnection.open(node.tcp) as conn:
            request = _message(OpCode.RESOLUTION,
                               ResolutionRequest("88.120.1/ADMIN").to_wire())
            request = request.with_(major=2, minor=10, opflags=int(OpFlag.PUBLIC_ONLY))
            answer = await _exchange(conn, request)
            assert answer.response_code == ResponseCode.SUCCESS
    asyncio.run(run())

