"""RC 408 "log in first" (idis.md §4.3, Appendix) over real TCP connections: an IDIS client
(protocol 2.10, as the message version or the suggested one) that has not logged in gets
RC 408 instead of a challenge, and after an OC 2001 key login the same request succeeds; a
CNRI-style client (2.1–2.9, or 2.11) keeps getting the RC 402 challenge. The
``limits.login_first`` modes are checked on the stage itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from idnode.auth.identity import Identity
from idnode.auth.keys import load_private_key
from idnode.client import PublicKeyAuth
from idnode.config import load_config
from idnode.errors import AuthenticationNeeded, LoginFirst
from idnode.identifiers.value import HandleValue
from idnode.node.context import Connection, RequestContext
from idnode.node.pipeline import Response
from idnode.node.stages.auth import Auth, AuthSettings
from idnode.protocol.bodies import CreateHandleRequest, ErrorBody, LoginRequest
from idnode.protocol.constants import OpCode, ResponseCode
from idnode.protocol.message import Message
from idnode.transport.client import TcpConnection
from integration.nodeproc import NodeProcess, init_node, set_limit
from integration.wire import exchange as _exchange

pytestmark = pytest.mark.integration

_ids = iter(range(1, 1 << 30))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    home = tmp_path_factory.mktemp("login-first") / "home"
    init_node(home, "88.121.1")
    proc = NodeProcess.start(home)
    yield proc
    assert proc.stop() == 0, proc.text


def _message(opcode: int, body: bytes, minor: int, suggested: int = 11) -> Message:
    return Message(opcode=opcode, body=body, request_id=next(_ids), major=2, minor=minor,
                   suggested_major=2, suggested_minor=suggested,
                   expiration=int(time.time()) + 60)


def _create(handle: str, minor: int, suggested: int = 11) -> Message:
    value = HandleValue(1, "URL", b"https://idis.example/" + handle.encode())
    return _message(OpCode.CREATE_HANDLE, CreateHandleRequest(handle, (value,)).to_wire(),
                    minor, suggested)


def _auth(node: NodeProcess) -> PublicKeyAuth:
    return PublicKeyAuth(Identity("88.121.1/ADMIN", 300),
                         load_private_key(node.home / "keys" / "admin.key"))


def test_an_idis_client_must_log_in_first(node: NodeProcess) -> None:
    async def run() -> None:
        async with await TcpConnection.open(node.tcp) as conn:
            # Even a client able to answer a challenge is not offered one.
            refused = (await _exchange(conn, _create("88.121.1/first", 10), _auth(node)))[-1]
            assert refused.response_code == ResponseCode.LOGIN_FIRST == 408
            message = ErrorBody.from_wire(refused.body).message
            assert "log in" in message and "OC 2001" in message and "2000" in message
            login = _message(OpCode.LOGIN_ID_SYSTEM,
                             LoginRequest("88.121.1/ADMIN", 300).to_wire(), 10)
            assert (await _exchange(conn, login, _auth(node)))[-1].response_code == 1
            again = await _exchange(conn, _create("88.121.1/first", 10))
            assert [m.response_code for m in again] == [ResponseCode.SUCCESS]
        async with await TcpConnection.open(node.tcp) as other:  # a new connection: 408 again
            # ID-SDK's own envelope: compatibility version 2.3, suggesting 2.10
            answer = (await _exchange(other, _create("88.121.1/second", 3, 10)))[-1]
            assert answer.response_code == 408
    asyncio.run(run())


@pytest.mark.parametrize(("minor", "suggested"), [(1, 11), (3, 11), (11, 11), (9, 9)])
def test_a_cnri_client_is_still_challenged(node: NodeProcess, minor: int,
                                           suggested: int) -> None:
    handle = f"88.121.1/cnri-{minor}-{suggested}"

    async def run() -> None:
        async with await TcpConnection.open(node.tcp) as conn:
            challenged = (await _exchange(conn, _create(handle, minor, suggested)))[-1]
            assert challenged.response_code == ResponseCode.AUTHENTICATION_NEEDED
            answered = await _exchange(conn, _create(handle, minor, suggested), _auth(node))
            assert [m.response_code for m in answered] == [ResponseCode.SUCCESS]
    asyncio.run(run())


def test_login_first_is_a_documented_setting(tmp_path_factory: pytest.TempPathFactory
                                             ) -> None:
    home = tmp_path_factory.mktemp("login-first-config") / "home"
    init_node(home, "88.121.2", secret=None)
    assert load_config(home).limits.login_first == "idis"
    text = (home / "config.toml").read_text()
    assert "login_first = \"idis\"" in text and "login_lifetime = 86400" in text
    set_limit(home, "login_first", '"never"')
    set_limit(home, "login_lifetime", "600")
    config = load_config(home)
    assert (config.limits.login_first, config.limits.login_lifetime) == ("never", 600.0)


@pytest.mark.parametrize(("mode", "transport", "minor", "expected"), [
    ("idis", "tcp", 10, 408), ("idis", "tcp", 9, 402), ("idis", "tcp", 11, 402),
    ("idis", "udp", 10, 402), ("always", "tcp", 1, 408), ("always", "udp", 1, 402),
    ("never", "tcp", 10, 402)])
def test_login_first_modes(mode: str, transport: str, minor: int, expected: int) -> None:
    auth = Auth(AuthSettings(login_first=mode), records=None)  # type: ignore[arg-type]

    async def needs_identity(ctx: RequestContext, request: Message) -> Response:
        raise AuthenticationNeeded(reason="test")

    async def run() -> int:
        ctx = RequestContext(Connection((transport, 1), transport, ("127.0.0.1", 1)))
        try:
            reply = await auth.handle(ctx, _create("88.121.1/x", minor), needs_identity)
        except LoginFirst as exc:
            return exc.response_code
        assert isinstance(reply, Message)
        return reply.response_code
    assert asyncio.run(run()) == expected
