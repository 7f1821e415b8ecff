"""SM2/SM3 identities over real TCP connections (idis.md §4.4–4.5): a node whose admin
holds an ``SM2_PUB_KEY`` HS_PUBKEY; OC 2001 key login with the SM2 key, RC 3001 for another
SM2 key, a challenge answered with SM2 for an ordinary create, an answer built byte for byte
as teleinfo-dev/id-pointer-sdk builds it, and ``idnode keygen --alg SM2``."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import gmalg
import pytest

from idnode.auth.identity import Identity
from idnode.auth.keys import load_identity_key, public_key_data, save_private_key
from idnode.auth.sm2 import SM2PrivateKey, encode_signature, sm3
from idnode.client import HandleClient, PublicKeyAuth, SecretKeyAuth
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.pubkey import SM2_PUB_KEY, PublicKeyData
from idnode.protocol.bodies import CreateHandleRequest, LoginRequest
from idnode.protocol.constants import OpCode, ResponseCode
from idnode.protocol.digest import RequestDigest
from idnode.protocol.message import Message
from idnode.protocol.wire import Writer
from idnode.transport.client import TcpConnection
from integration.nodeproc import NodeProcess, idnode, init_node
from integration.wire import answer as _exchange

pytestmark = pytest.mark.integration

PREFIX = "88.121.1"
ADMIN = f"{PREFIX}/ADMIN"
SECRET = "s3cret-for-tests"
SM2_KEY = SM2PrivateKey.generate()
_ids = iter(range(1, 1 << 30))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """A node whose admin identity 300:88.121.1/ADMIN has been switched to an SM2 key (by the
    admin's secret, 301:…, over the protocol)."""
    home = tmp_path_factory.mktemp("sm2") / "home"
    init_node(home, PREFIX, secret=SECRET)
    proc = NodeProcess.start(home)

    async def switch_to_sm2() -> None:
        auth = SecretKeyAuth(Identity(ADMIN, 301), SECRET.encode())
        async with HandleClient(proc.tcp, transport="tcp", auth=auth) as client:
            record = await client.resolve(ADMIN, indexes=[300], public_only=False)
            (old,) = record.values
            new = replace(old, data=public_key_data(SM2_KEY).to_bytes())
            await client.modify_values(ADMIN, [new])
            stored = await client.resolve(ADMIN, indexes=[300], public_only=False)
            assert PublicKeyData.from_bytes(stored.values[0].data).key_type == SM2_PUB_KEY

    try:
        asyncio.run(switch_to_sm2())
    except BaseException:
        proc.stop()
        raise
    yield proc
    assert proc.stop() == 0, proc.text


def _message(opcode: int, body: bytes) -> Message:
    return Message(opcode=opcode, body=body, request_id=next(_ids),
                   expiration=int(time.time()) + 60)


def _create(handle: str) -> Message:
    value = HandleValue(1, "URL", b"https://sm2.example/" + handle.encode())
    return _message(OpCode.CREATE_HANDLE, CreateHandleRequest(handle, (value,)).to_wire())


def _login() -> Message:
    return _message(OpCode.LOGIN_ID_SYSTEM, LoginRequest(ADMIN, 300).to_wire())


def test_sm2_key_login_authorizes_later_admin_requests(node: NodeProcess) -> None:
    auth = PublicKeyAuth(Identity(ADMIN, 300), SM2_KEY)

    async def run() -> None:
        async with await TcpConnection.open(node.tcp) as conn:
            answer = await _exchange(conn, _login(), auth)
            assert answer.response_code == ResponseCode.SUCCESS, answer
            for i in range(2):  # logged in: no challenge, no authenticator
                done = await _exchange(conn, _create(f"{PREFIX}/sm2-login-{i}"))
                assert done.response_code == ResponseCode.SUCCESS, done
        async with await TcpConnection.open(node.tcp) as other:
            challenged = await _exchange(other, _create(f"{PREFIX}/sm2-no-login"))
            assert challenged.response_code in (ResponseCode.AUTHENTICATION_NEEDED, 408)
    asyncio.run(run())


def test_another_sm2_key_is_rc_3001(node: NodeProcess) -> None:
    stranger = PublicKeyAuth(Identity(ADMIN, 300), SM2PrivateKey.generate())

    async def run() -> None:
        async with await TcpConnection.open(node.tcp) as conn:
            answer = await _exchange(conn, _login(), stranger)
            assert answer.response_code == 3001
            still = await _exchange(conn, _create(f"{PREFIX}/sm2-stranger"))
            assert still.response_code in (ResponseCode.AUTHENTICATION_NEEDED, 408)
    asyncio.run(run())


def test_create_by_sm2_challenge_response(node: NodeProcess) -> None:
    auth = PublicKeyAuth(Identity(ADMIN, 300), SM2_KEY)

    async def run() -> None:
        async with await TcpConnection.open(node.tcp) as conn:
            done = await _exchange(conn, _create(f"{PREFIX}/sm2-challenged"), auth)
            assert done.response_code == ResponseCode.SUCCESS, done
        async with HandleClient(node.tcp, transport="tcp") as reader:
            record = await reader.resolve(f"{PREFIX}/sm2-challenged")
            assert record.values[0].data == b"https://sm2.example/88.121.1/sm2-challenged"
    asyncio.run(run())


class _SdkAnswer:
    """An authenticator that builds OC 200's answer as id-pointer-sdk does, with gmalg alone
    (``PublicKeyAuthenticationInfo.authenticate``): hutool ``SM2.sign(SM3(nonce ‖ digest),
    id = the identity handle)`` in DER, after the hash name ``"SM3"``."""

    identity = Identity(ADMIN, 300)
    auth_type = "HS_PUBKEY"

    def sign_challenge(self, nonce: bytes, digest: RequestDigest,
                       version: tuple[int, int]) -> bytes:
        engine = gmalg.SM2(SM2_KEY.secret.to_bytes(32, "big"), ADMIN.encode(),
                       SM2_KEY.public_key().point)
        r, s = engine.sign(sm3(nonce + digest.digest))
        writer = Writer()
        writer.put_counted_bytes(b"SM3")
        writer.put_counted_bytes(encode_signature(int.from_bytes(r, "big"),
                                                  int.from_bytes(s, "big")))
        return writer.getvalue()


def test_login_answered_exactly_as_the_sdk_does(node: NodeProcess) -> None:
    async def run() -> None:
        async with await TcpConnection.open(node.tcp) as conn:
            answer = await _exchange(conn, _login(), _SdkAnswer())
            assert answer.response_code == ResponseCode.SUCCESS, answer
            done = await _exchange(conn, _create(f"{PREFIX}/sm2-sdk-shaped"))
            assert done.response_code == ResponseCode.SUCCESS, done
    asyncio.run(run())


def test_keygen_writes_an_sm2_key(tmp_path: Path) -> None:
    out = tmp_path / "sm2.key"
    shown = idnode("keygen", str(out), "--alg", "SM2").stdout
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert "SM2 256-bit" in shown
    key = load_identity_key(out)
    assert isinstance(key, SM2PrivateKey)
    encoded = next(line.split("base64=", 1)[1] for line in shown.splitlines()
                   if "HS_PUBKEY!base64=" in line)
    data = PublicKeyData.from_bytes(base64.b64decode(encoded))
    assert data == public_key_data(key) and data.key_type == SM2_PUB_KEY
    locked = tmp_path / "locked.key"
    (tmp_path / "pass").write_text("a passphrase\n")
    idnode("keygen", str(locked), "--alg", "sm2", "--passphrase-file", str(tmp_path / "pass"))
    assert b"ENCRYPTED PRIVATE KEY" in locked.read_bytes()
    assert isinstance(load_identity_key(locked, "a passphrase"), SM2PrivateKey)
    refused = idnode("keygen", str(tmp_path / "x.key"), "--alg", "SM2", "--bits", "2048",
                     check=False)
    assert refused.returncode != 0 and "256" in refused.stderr


def test_cli_with_sm2_keys_signs_and_verifies(node: NodeProcess, tmp_path: Path) -> None:
    """``--key`` takes an SM2 key for the challenge, and ``idnode sign`` / ``resolve --verify``
    carry SM2SM3 JWS certificates and signatures."""
    admin_key, root = tmp_path / "admin-sm2.key", SM2PrivateKey.generate()
    save_private_key(admin_key, SM2_KEY)
    save_private_key(tmp_path / "root-sm2.key", root)
    server = f"{node.tcp[0]}:{node.tcp[1]}"
    auth = ["--auth", f"300:{ADMIN}", "--key", str(admin_key), "--server", server]

    async def setup() -> None:
        async with HandleClient(node.tcp, transport="tcp",
                                auth=PublicKeyAuth(Identity(ADMIN, 300), SM2_KEY)) as client:
            await client.create_handle(f"{PREFIX}/0.0", [
                HandleValue(300, "HS_PUBKEY", public_key_data(root).to_bytes())])
            await client.create_handle(f"{PREFIX}/ITEM", [
                HandleValue(1, "URL", b"https://sm2.example/item")])
    asyncio.run(setup())

    issued = idnode("sign", "--cert", ADMIN, "--subject-index", "300",
                    "--perms", f"handlesUnderThisPrefix:{PREFIX}", "--issuer",
                    f"300:{PREFIX}/0.0", "--issuer-key", str(tmp_path / "root-sm2.key"), *auth)
    assert "HS_CERT added at index 400" in issued.stdout
    signed = idnode("sign", f"{PREFIX}/ITEM", "--index", "1", "--cert-handle",
                    f"400:{ADMIN}", *auth)
    assert "HS_SIGNATURE added at index 400" in signed.stdout
    verify = ["--verify", "--trust-root", f"{PREFIX}/0.0", "--server", server]
    ok = idnode("resolve", f"{PREFIX}/ITEM", *verify)
    assert "trust       valid" in ok.stdout, ok.stdout
    stranger = ["--auth", f"300:{ADMIN}", "--key", str(tmp_path / "root-sm2.key"),
                "--server", server]
    refused = idnode("sign", f"{PREFIX}/ITEM", "--index", "1", *stranger, check=False)
    assert refused.returncode != 0
