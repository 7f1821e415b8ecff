"""End-to-end: real `idnode init` / `idnode serve` processes, real loopback sockets."""

from __future__ import annotations

import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from idnode.auth.identity import Identity
from idnode.auth.keys import generate_private_key, load_private_key, public_key_data
from idnode.client import PublicKeyAuth, SecretKeyAuth, SyncHandleClient
from idnode.errors import RemoteError
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.protocol.bodies import ErrorBody, ResolutionRequest, ResolutionResponse
from idnode.protocol.constants import DEFAULT_RESOLUTION_FLAGS, EnvelopeFlag, OpFlag
from idnode.protocol.message import Message, decode_envelope, decode_frame
from integration.nodeproc import NodeProcess, idnode, init_node, set_limit

pytestmark = pytest.mark.integration

SECRET = "s3cret-for-tests"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("node") / "home"
    assert init_node(path) == "300:88.100.1/ADMIN"
    return path


@pytest.fixture(scope="module")
def node(home: Path) -> Iterator[NodeProcess]:
    proc = NodeProcess.start(home)
    yield proc
    assert proc.stop() == 0, proc.text


def key_auth(home: Path) -> PublicKeyAuth:
    return PublicKeyAuth(Identity("88.100.1/ADMIN", 300),
                         load_private_key(home / "keys" / "admin.key"))


def secret_auth() -> SecretKeyAuth:
    return SecretKeyAuth(Identity("88.100.1/ADMIN", 301), SECRET.encode())


def url(index: int, text: str) -> HandleValue:
    return HandleValue(index, "URL", text.encode())


def udp_roundtrip(addr: tuple[str, int], data: bytes, timeout: float = 2.0) -> list[bytes]:
    """Send one datagram; collect every datagram that comes back within ``timeout``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(data, addr)
        out = []
        try:
            while True:
                out.append(sock.recv(65536))
                sock.settimeout(0.3)
        except TimeoutError:
            return out


def resolution(handle: str, request_id: int = 77, flags: int = DEFAULT_RESOLUTION_FLAGS
               ) -> Message:
    return Message(1, opflags=flags, request_id=request_id,
                   body=ResolutionRequest(handle).to_wire())


# -- init and configuration -----------------------------------------------------------------
def test_init_creates_private_keys_and_documented_config(home: Path) -> None:
    for name in ("server.key", "admin.key", "admin.secret"):
        mode = stat.S_IMODE((home / "keys" / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    text = (home / "config.toml").read_text()
    assert "prefixes = [\"88.100.1\"]" in text
    assert text.count("\n#") > 20  # every key documented


def test_init_refuses_existing_home(home: Path) -> None:
    proc = idnode("init", str(home), "--prefix", "88.100.1", check=False)
    assert proc.returncode == 2
    assert "already a node home" in proc.stderr


def test_serve_refuses_unknown_key_naming_it(tmp_path: Path) -> None:
    init_node(tmp_path / "n", secret=None)
    cfg = tmp_path / "n" / "config.toml"
    cfg.write_text(cfg.read_text().replace("max_message_bytes =", "max_mesage_bytes ="))
    proc = idnode("serve", str(tmp_path / "n"), check=False)
    assert proc.returncode == 2
    assert "limits.max_mesage_bytes" in proc.stderr
    cfg.write_text(cfg.read_text().replace("max_mesage_bytes = 262144",
                                           'max_message_bytes = "big"'))
    proc = idnode("serve", str(tmp_path / "n"), check=False)
    assert proc.returncode == 2
    assert "limits.max_message_bytes" in proc.stderr and "integer" in proc.stderr


# -- resolution -----------------------------------------------------------------------------
def test_resolve_over_udp_and_tcp_agree(node: NodeProcess) -> None:
    with SyncHandleClient(node.udp) as udp, SyncHandleClient(node.tcp, transport="tcp") as tcp:
        over_udp = udp.resolve("88.100.1/ADMIN")
        over_tcp = tcp.resolve("88.100.1/ADMIN")
    assert over_udp == over_tcp
    assert {v.type for v in over_udp.values} == {"HS_ADMIN", "HS_VLIST", "HS_PUBKEY"}
    # HS_SECKEY (admin read only) never leaves the server in a public resolution
    assert all(v.type != "HS_SECKEY" for v in over_udp.values)


def test_type_and_index_filters(node: NodeProcess) -> None:
    with SyncHandleClient(node.udp) as client:
        assert [v.index for v in client.resolve("88.100.1/ADMIN", types=["HS_PUBKEY"]).values] \
            == [300]
        assert [v.index for v in client.resolve("88.100.1/ADMIN", indexes=[100, 200]).values] \
            == [100, 200]
        with pytest.raises(RemoteError) as err:
            client.resolve("88.100.1/ADMIN", types=["URL"])
        assert err.value.response_code == 200


def test_missing_handle_is_100_and_unhomed_prefix_is_301(node: NodeProcess) -> None:
    with SyncHandleClient(node.udp) as client:
        with pytest.raises(RemoteError) as err:
            client.resolve("88.100.1/no-such-thing")
        assert err.value.response_code == 100
        with pytest.raises(RemoteError) as err:
            client.resolve("88.999.9/anything")
        assert err.value.response_code == 301


def test_prefix_case_insensitive_suffix_case_sensitive(node: NodeProcess, home: Path) -> None:
    with SyncHandleClient(node.tcp, transport="tcp", auth=secret_auth()) as client:
        client.home_prefix("88.ABC")
        client.create_handle("88.ABC/CaseTest", [url(1, "https://example.com/case")])
        answer = client.resolve("88.abc/CaseTest")  # prefix: ASCII case does not matter
        assert answer.handle == "88.abc/CaseTest"  # echoed exactly as asked
        assert answer.by_index(1) is not None
        with pytest.raises(RemoteError) as err:
            client.resolve("88.ABC/casetest")  # suffix: case matters
        assert err.value.response_code == 100
        assert client.resolve("0.na/88.100.1").handle == "0.na/88.100.1"  # 0.NA/ handles
        client.unhome_prefix("88.ABC")


# -- administration -------------------------------------------------------------------------
def test_create_with_key_then_modify_add_remove_delete(node: NodeProcess, home: Path) -> None:
    with SyncHandleClient(node.tcp, transport="tcp", auth=key_auth(home)) as admin, \
            SyncHandleClient(node.udp) as reader:
        admin.create_handle("88.100.1/KEYED", [url(1, "https://example.com/1")])
        assert reader.resolve("88.100.1/KEYED").by_index(1).data == b"https://example.com/1"
        admin.modify_values("88.100.1/KEYED", [url(1, "https://example.com/2")])
        admin.add_values("88.100.1/KEYED", [HandleValue(2, "EMAIL", b"ops@example.com")])
        record = reader.resolve("88.100.1/KEYED")
        assert record.by_index(1).data == b"https://example.com/2"
        assert record.by_index(2).data == b"ops@example.com"
        assert record.by_index(1).timestamp > 0
        admin.remove_values("88.100.1/KEYED", [2])
        assert reader.resolve("88.100.1/KEYED").by_index(2) is None
        with pytest.raises(RemoteError) as err:
            admin.create_handle("88.100.1/KEYED", [url(1, "https://example.com/again")])
        assert err.value.response_code == 101
        admin.delete_handle("88.100.1/KEYED")
        with pytest.raises(RemoteError) as err:
            reader.resolve("88.100.1/KEYED")
        assert err.value.response_code == 100


def test_create_with_secret_and_list(node: NodeProcess) -> None:
    with SyncHandleClient(node.tcp, transport="tcp", auth=secret_auth()) as admin:
        for i in range(5):
            admin.create_handle(f"88.100.1/LIST-{i}", [url(1, f"https://example.com/{i}")])
        listed = admin.list_handles("88.100.1")
    assert {f"88.100.1/LIST-{i}" for i in range(5)} <= set(listed)
    assert "88.100.1/ADMIN" in listed


def test_wrong_key_is_refused_with_403(node: NodeProcess) -> None:
    wrong = PublicKeyAuth(Identity("88.100.1/ADMIN", 300), generate_private_key("RSA", 1024))
    with SyncHandleClient(node.tcp, transport="tcp", auth=wrong) as client, \
            pytest.raises(RemoteError) as err:
        client.create_handle("88.100.1/NOPE", [url(1, "https://example.com/nope")])
    assert err.value.response_code == 403
    bad_secret = SecretKeyAuth(Identity("88.100.1/ADMIN", 301), b"not the secret")
    with SyncHandleClient(node.tcp, transport="tcp", auth=bad_secret) as client, \
            pytest.raises(RemoteError) as err:
        client.delete_handle("88.100.1/ADMIN")
    assert err.value.response_code == 403


def test_identity_without_admin_rights_is_refused(node: NodeProcess, home: Path) -> None:
    user_key = generate_private_key("RSA", 1024)
    with SyncHandleClient(node.tcp, transport="tcp", auth=secret_auth()) as admin:
        admin.create_handle("88.100.1/USER", [
            HandleValue(100, "HS_ADMIN",
                        AdminData(ALL_PERMISSIONS, "88.100.1/USER", 300).to_bytes()),
            HandleValue(300, "HS_PUBKEY", public_key_data(user_key).to_bytes()),
        ])
    user = PublicKeyAuth(Identity("88.100.1/USER", 300), user_key)
    with SyncHandleClient(node.tcp, transport="tcp", auth=user) as client:
        with pytest.raises(RemoteError) as err:
            client.create_handle("88.100.1/BY-USER", [url(1, "https://example.com/u")])
        assert err.value.response_code in (400, 401)
        # only server administrators home or unhome prefixes
        for action in (client.home_prefix, client.unhome_prefix):
            with pytest.raises(RemoteError) as err:
                action("88.100.1")
            assert err.value.response_code == 401
        with pytest.raises(RemoteError) as err:
            client.list_homed_prefixes()
        assert err.value.response_code == 401
        # but it administers its own handle
        client.add_values("88.100.1/USER", [url(1, "https://example.com/me")])
    with SyncHandleClient(node.tcp, transport="tcp", auth=secret_auth()) as admin:
        assert admin.list_homed_prefixes() == ["0.NA/88.100.1"]


def test_bad_handle_102_and_bad_value_202(node: NodeProcess) -> None:
    with SyncHandleClient(node.tcp, transport="tcp", auth=secret_auth()) as admin:
        with pytest.raises(RemoteError) as err:
            admin.resolve("no-slash-here")
        assert err.value.response_code == 102
        with pytest.raises(RemoteError) as err:
            admin.create_handle("88.100.1/BADVALUE", [HandleValue(100, "HS_ADMIN", b"\x01")])
        assert err.value.response_code == 202
        assert "HS_ADMIN" in str(err.value)


# -- malformed input --------------------------------------------------------------------------
def test_malformed_udp_gets_rc4_no_larger_than_request(node: NodeProcess) -> None:
    good = resolution("88.100.1/ADMIN", request_id=4242).to_frame()
    # Corrupt the body length so it overruns the message.
    bad = good[:40] + struct.pack(">I", 0x7FFF) + good[44:] + b"\x00" * 40
    bad = bad[:16] + struct.pack(">I", len(bad) - 20) + bad[20:]
    answers = udp_roundtrip(node.udp, bad)
    assert len(answers) == 1
    reply = decode_frame(answers[0])
    assert reply.response_code == 4 and reply.request_id == 4242
    assert len(answers[0]) <= len(bad)
    assert udp_roundtrip(node.udp, b"\x01", timeout=0.5) == []  # garbage: dropped


def test_malformed_tcp_gets_rc4(node: NodeProcess) -> None:
    with socket.create_connection(node.tcp, timeout=5) as sock:
        frame = resolution("88.100.1/ADMIN").to_frame()
        frame = frame[:16] + struct.pack(">I", 10_000_000) + frame[20:]
        sock.sendall(frame)
        data = sock.recv(65536)
    reply = decode_frame(data)
    assert reply.response_code == 4
    assert "limit" in ErrorBody.from_wire(reply.body).message


def test_unknown_opcode_5_and_sessions_refused(node: NodeProcess) -> None:
    reply = decode_frame(udp_roundtrip(node.udp, Message(999, request_id=9).to_frame())[0])
    assert reply.response_code == 5 and reply.request_id == 9
    assert "999" in ErrorBody.from_wire(reply.body).message
    with socket.create_connection(node.tcp, timeout=5) as sock:
        sock.sendall(Message(400, request_id=10, body=b"\x00\x01\x00\x00\x00\x3c"
                             b"\x00\x00\x00\x00\x00\x00\x00\x00").to_frame())
        reply = decode_frame(sock.recv(65536))
    assert reply.response_code == 5
    assert "session" in ErrorBody.from_wire(reply.body).message


# -- UDP size limits and multi-packet answers --------------------------------------------------
BIG = [HandleValue(i, "DESC", (f"value {i} " * 20).encode()) for i in range(1, 25)]


def test_large_answer_over_udp_is_truncated_and_client_falls_back(node: NodeProcess) -> None:
    with SyncHandleClient(node.tcp, transport="tcp", auth=secret_auth()) as admin:
        admin.create_handle("88.100.1/BIG", BIG)
    answers = udp_roundtrip(node.udp, resolution("88.100.1/BIG").to_frame())
    assert len(answers) == 1 and len(answers[0]) <= 512
    env = decode_envelope(answers[0])
    assert env.flags & EnvelopeFlag.TRUNCATED
    assert decode_frame(answers[0]).response_code == 2
    with SyncHandleClient(node.udp) as client:  # UDP client retries over TCP by itself
        assert len(client.resolve("88.100.1/BIG").values) == len(BIG)


def test_multi_packet_answer_when_operator_allows_it(tmp_path: Path) -> None:
    home = tmp_path / "mp"
    init_node(home)
    set_limit(home, "udp_max_answer_packets", "16")
    proc = NodeProcess.start(home)
    try:
        with SyncHandleClient(proc.tcp, transport="tcp", auth=secret_auth()) as admin:
            admin.create_handle("88.100.1/BIG", BIG)
        answers = udp_roundtrip(proc.udp, resolution("88.100.1/BIG").to_frame())
        assert len(answers) > 1
        assert all(len(a) <= 512 for a in answers)
        assert all(decode_envelope(a).flags & EnvelopeFlag.TRUNCATED for a in answers)
        with SyncHandleClient(proc.udp, udp_timeouts=(1.0,)) as client:
            assert len(client.resolve("88.100.1/BIG").values) == len(BIG)
    finally:
        assert proc.stop() == 0


# -- signatures, logs, shutdown ------------------------------------------------------------------
def test_certified_response_is_signed_with_the_server_key(node: NodeProcess) -> None:
    from idnode.auth.keys import public_key_from_data
    from idnode.auth.signing import verify_message
    from idnode.identifiers.values.pubkey import PublicKeyData

    with SyncHandleClient(node.udp) as client:
        site = client.get_site_info()
    server_key = public_key_from_data(PublicKeyData.from_bytes(site.servers[0].public_key))
    request = resolution("88.100.1/ADMIN", 31,
                         DEFAULT_RESOLUTION_FLAGS | OpFlag.CERTIFY)
    with socket.create_connection(node.tcp, timeout=5) as sock:
        sock.sendall(request.to_frame())
        reply = decode_frame(sock.recv(65536))
    assert reply.response_code == 1 and reply.credential
    assert verify_message(reply, server_key)
    tampered = reply.with_(body=reply.body[:-1] + bytes([reply.body[-1] ^ 1]))
    assert not verify_message(tampered, server_key)
    assert ResolutionResponse.from_wire(reply.body).handle == "88.100.1/ADMIN"


def test_access_log_has_one_line_per_request(node: NodeProcess, home: Path) -> None:
    with SyncHandleClient(node.udp) as client:
        client.resolve("88.100.1/ADMIN")
    time.sleep(0.7)
    with SyncHandleClient(node.udp) as client:  # a later request flushes the buffer
        client.resolve("88.100.1/ADMIN")
    log_file = home / "logs" / "access.log"
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    lines = log_file.read_text().splitlines()
    assert any(" UDP:HDL(" in ln and " RESOLUTION 1 " in ln and ln.endswith("88.100.1/ADMIN")
               for ln in lines)
    assert any("CHALLENGE_RESPONSE 1" in ln and "[adm=301:88.100.1/ADMIN]" in ln for ln in lines)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signals_finish_cleanly(tmp_path: Path, sig: int) -> None:
    home = tmp_path / "t"
    init_node(home, secret=None)
    proc = NodeProcess.start(home)
    assert proc.stop(sig) == 0
    assert "stopping" in proc.text
    assert "Traceback" not in proc.text


def test_dsa_admin_key_authenticates(tmp_path: Path) -> None:
    home = tmp_path / "dsa"
    init_node(home, "88.100.1", "--key-alg", "DSA", secret=None)
    proc = NodeProcess.start(home)
    try:
        auth = PublicKeyAuth(Identity("88.100.1/ADMIN", 300),
                             load_private_key(home / "keys" / "admin.key"))
        with SyncHandleClient(proc.tcp, transport="tcp", auth=auth) as admin:
            admin.create_handle("88.100.1/DSA", [url(1, "https://example.com/dsa")])
            assert admin.resolve("88.100.1/DSA").by_index(1) is not None
            key = admin.resolve("88.100.1/ADMIN", types=["HS_PUBKEY"]).values[0]
        assert key.data.startswith(b"\x00\x00\x00\x0bDSA_PUB_KEY")
    finally:
        assert proc.stop() == 0


# -- durability and workers --------------------------------------------------------------------
WRITER = r"""
import sys
from idnode.auth.identity import Identity
from idnode.client import SecretKeyAuth, SyncHandleClient
from idnode.identifiers.value import HandleValue
host, port, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
auth = SecretKeyAuth(Identity("88.100.1/ADMIN", 301), secret)
with SyncHandleClient((host, port), transport="tcp", auth=auth, timeout=5) as c:
    for i in range(100000):
        h = f"88.100.1/DUR-{i}"
        c.create_handle(h, [HandleValue(1, "URL", f"https://example.com/{i}".encode())])
        print(h, flush=True)
"""


def test_kill_9_loses_no_acknowledged_write(tmp_path: Path) -> None:
    home = tmp_path / "d"
    init_node(home)
    proc = NodeProcess.start(home)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, proc.tcp[0], str(proc.tcp[1]),
                               SECRET], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True)
    acked: list[str] = []
    assert writer.stdout is not None
    while len(acked) < 150:
        line = writer.stdout.readline()
        assert line, "writer stopped early"
        acked.append(line.strip())
    proc.kill()  # SIGKILL mid-stream: no chance to flush or close anything
    out, _ = writer.communicate(timeout=30)
    acked += [ln for ln in out.splitlines() if ln]
    restarted = NodeProcess.start(home)
    try:
        with SyncHandleClient(restarted.tcp, transport="tcp") as client:
            for handle in acked:
                assert client.resolve(handle).values, handle
    finally:
        assert restarted.stop() == 0


def test_two_workers_share_ports_and_never_serve_stale_answers(tmp_path: Path) -> None:
    home = tmp_path / "w"
    init_node(home)
    proc = NodeProcess.start(home, "--workers", "2")
    try:
        time.sleep(0.5)  # let the second worker bind
        with SyncHandleClient(proc.tcp, transport="tcp", auth=secret_auth()) as admin:
            for i in range(20):
                handle = f"88.100.1/W-{i}"
                readers = [SyncHandleClient(proc.udp) for _ in range(4)]
                try:
                    for reader in readers:  # prime caches with "not found"
                        with pytest.raises(RemoteError):
                            reader.resolve(handle)
                    admin.create_handle(handle, [url(1, f"https://example.com/{i}")])
                    for reader in readers:  # different source ports: both workers answer
                        assert reader.resolve(handle).by_index(1) is not None
                finally:
                    for reader in readers:
                        reader.close()
    finally:
        assert proc.stop() == 0


# -- PostgreSQL storage --------------------------------------------------------------------------
def test_node_on_postgresql_storage(tmp_path: Path) -> None:
    from services import drop_postgres_schema, postgres_url

    url_ = postgres_url()
    home = tmp_path / "pg"
    init_node(home, "88.100.1", "--storage", url_)
    proc = NodeProcess.start(home)
    try:
        with SyncHandleClient(proc.tcp, transport="tcp", auth=secret_auth()) as admin, \
                SyncHandleClient(proc.udp) as reader:
            admin.create_handle("88.100.1/PG", [url(1, "https://example.com/pg")])
            assert reader.resolve("88.100.1/PG").by_index(1).data == b"https://example.com/pg"
            admin.delete_handle("88.100.1/PG")
            with pytest.raises(RemoteError) as err:
                reader.resolve("88.100.1/PG")
            assert err.value.response_code == 100
    finally:
        assert proc.stop() == 0
        drop_postgres_schema(url_)


# -- non-public values ----------------------------------------------------------------------------
def test_restricted_values_need_authentication(node: NodeProcess) -> None:
    with SyncHandleClient(node.udp) as anonymous, pytest.raises(RemoteError) as err:
        anonymous.resolve("88.100.1/ADMIN", public_only=False)
    assert err.value.response_code == 402
    with SyncHandleClient(node.udp, auth=secret_auth()) as admin:
        record = admin.resolve("88.100.1/ADMIN", public_only=False)
    assert record.by_index(301) is not None
    assert record.by_index(301).data == SECRET.encode()


def test_listing_continues_over_several_messages(tmp_path: Path) -> None:
    home = tmp_path / "l"
    init_node(home)
    set_limit(home, "list_page_size", "7")
    proc = NodeProcess.start(home)
    try:
        with SyncHandleClient(proc.tcp, transport="tcp", auth=secret_auth()) as admin:
            for i in range(30):
                admin.create_handle(f"88.100.1/P{i:02d}", [url(1, "https://example.com")])
            listed = admin.list_handles("0.NA/88.100.1")

        assert sorted(listed) == sorted([f"88.100.1/P{i:02d}" for i in range(30)]
                                        + ["88.100.1/ADMIN"])
    finally:
        assert proc.stop() == 0


# -- the command-line client against a real node ---------------------------------------------------
def test_cli_create_resolve_batch_keygen(node: NodeProcess, home: Path, tmp_path: Path) -> None:
    import json

    server = f"{node.tcp[0]}:{node.tcp[1]}"
    auth = ["--auth", "300:88.100.1/ADMIN", "--key", str(home / "keys" / "admin.key")]
    idnode("create", "88.100.1/CLI-1", "1:URL=https://example.com/cli", "2:EMAIL=a@b.c",
           "--server", server, *auth)
    shown = json.loads(idnode("resolve", "88.100.1/CLI-1", "--server", server,
                              "--json").stdout)
    assert shown["responseCode"] == 1 and shown["handle"] == "88.100.1/CLI-1"
    assert {v["type"] for v in shown["values"]} >= {"URL", "EMAIL", "HS_ADMIN"}
    assert all("timestamp" in v for v in shown["values"])
    table = idnode("resolve", "88.100.1/CLI-1", "--server", server, "--tcp").stdout
    assert "https://example.com/cli" in table
    missing = idnode("resolve", "88.100.1/CLI-missing", "--server", server, check=False)
    assert missing.returncode == 1 and "100 (handle not found)" in missing.stderr

    batch = tmp_path / "ops.txt"
    batch.write_text(
        "CREATE 88.100.1/BATCH-1\n"
        "100 HS_ADMIN 86400 1110 ADMIN 300:111111111111:88.100.1/ADMIN\n"
        "1 URL 86400 1110 UTF8 https://example.com/batch\n"
        "\n"
        "ADD 88.100.1/BATCH-1\n"
        "2 EMAIL 86400 1110 UTF8 batch@example.com\n"
        "\n"
        "DELETE 88.100.1/NOT-THERE\n"
        "\n")
    run = idnode("batch", str(batch), "--server", server, *auth, check=False)
    assert run.returncode == 1  # one operation failed, the others went through
    assert run.stdout.count("SUCCESS") == 2 and "FAILURE" in run.stdout
    record = idnode("resolve", "88.100.1/BATCH-1", "--server", server, "--json").stdout
    assert "batch@example.com" in record

    key_file = tmp_path / "new.key"
    out = idnode("keygen", str(key_file), "--bits", "1024").stdout
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "HS_PUBKEY" in out


def test_mint_new_suffix(node: NodeProcess) -> None:
    with SyncHandleClient(node.tcp, transport="tcp", auth=secret_auth()) as admin:
        minted = admin.create_handle("88.100.1/", [url(1, "https://example.com/minted")],
                                     mint=True)
        assert minted.startswith("88.100.1/") and len(minted) > len("88.100.1/") + 30
        assert admin.resolve(minted).by_index(1).data == b"https://example.com/minted"


def test_home_and_unhome_a_prefix_over_the_wire(node: NodeProcess) -> None:
    with SyncHandleClient(node.tcp, transport="tcp", auth=secret_auth()) as admin:
        with pytest.raises(RemoteError) as err:
            admin.resolve("88.100.7/x")
        assert err.value.response_code == 301
        admin.home_prefix("88.100.7")
        assert "0.NA/88.100.7" in admin.list_homed_prefixes()
        admin.create_handle("88.100.7/x", [url(1, "https://example.com/7")])
        assert admin.resolve("88.100.7/x").by_index(1) is not None
        admin.unhome_prefix("88.100.7")
        with pytest.raises(RemoteError) as err:
            admin.resolve("88.100.7/x")
        assert err.value.response_code == 301


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_client_that_never_reads_cannot_grow_server_memory(tmp_path: Path) -> None:
    home = tmp_path / "bp"
    init_node(home)
    proc = NodeProcess.start(home)
    try:
        big = [HandleValue(i, "DESC", bytes([65 + i % 26]) * 2000) for i in range(1, 101)]
        with SyncHandleClient(proc.tcp, transport="tcp", auth=secret_auth()) as admin:
            admin.create_handle("88.100.1/HUGE", big)  # a ~210 KB answer
        before = _rss_kib(proc.proc.pid)
        request = resolution("88.100.1/HUGE").to_frame()
        with socket.create_connection(proc.tcp, timeout=5) as sock:
            sock.setblocking(False)
            sent, deadline = 0, time.monotonic() + 3
            while sent < 4000 and time.monotonic() < deadline:
                try:
                    sock.send(request)
                    sent += 1
                except BlockingIOError:
                    time.sleep(0.01)
            time.sleep(1)
            grown = _rss_kib(proc.proc.pid) - before
            # Unbounded, every request answered would be buffered: ~210 KB each.
            assert grown < 60_000, f"server grew by {grown} KiB after {sent} unread requests"
        with SyncHandleClient(proc.udp) as client:  # and it still serves others
            assert client.resolve("88.100.1/ADMIN").values
    finally:
        assert proc.stop() == 0


def test_guessing_floods_neither_stall_resolution_nor_go_on_unbounded(tmp_path: Path) -> None:
    """OC 201 verifications (each a fresh PBKDF2 derivation) run off the event loop: a
    resolution sent behind a flood of them is answered before the flood is. After
    ``auth_failures_per_minute`` failures the address is refused (RC 3) without more work,
    and OC 201 over UDP (forgeable source) is refused outright."""
    import secrets as _secrets
    import select

    from idnode.auth.challenge import answer_with_secret
    from idnode.protocol.bodies import VerifyChallengeRequest
    from idnode.protocol.digest import RequestDigest
    from idnode.protocol.framing import StreamDecoder

    home = tmp_path / "flood"
    init_node(home)
    proc = NodeProcess.start(home)
    digest = RequestDigest(3, b"\x11" * 32)
    flood = []
    for i in range(100):  # each needs a fresh 10,000-round PBKDF2 (a new salt)
        nonce = _secrets.token_bytes(16)
        answer = answer_with_secret(b"a guess", nonce, digest.digest,
                                    salt=_secrets.token_bytes(16))
        body = VerifyChallengeRequest("88.100.1/ADMIN", 301, nonce, digest, answer).to_wire()
        flood.append(Message(201, request_id=10_000 + i, body=body).to_frame())
    try:
        over_udp = udp_roundtrip(proc.udp, flood[0])
        assert decode_frame(over_udp[0]).response_code == 5
        order: list[str] = []
        codes: list[int] = []
        decoder = StreamDecoder()
        with socket.create_connection(proc.tcp, timeout=5) as attacker, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as reader:
            attacker.sendall(b"".join(flood))
            reader.sendto(resolution("88.100.1/ADMIN", 99).to_frame(), proc.udp)
            while len(codes) < len(flood):
                ready, _, _ = select.select([attacker, reader], [], [], 5)
                if not ready:
                    break
                for sock in ready:  # whichever answer arrives first is read first
                    if sock is reader:
                        assert decode_frame(sock.recv(65536)).response_code == 1
                        order.append("resolution")
                        continue
                    decoder.receive_data(sock.recv(65536))
                    while (reply := decoder.next_message()) is not None:
                        codes.append(reply.response_code)
                        order.append("verification")
        assert "resolution" in order
        assert order.index("resolution") < len(order) - 1, "resolution waited for the flood"
        assert codes.count(1) == 30  # verified (and failed) up to the per-minute limit
        assert codes[30:] == [3] * (len(flood) - 30)  # then refused without work
    finally:
        assert proc.stop() == 0


def test_too_many_failed_authentications_lock_the_address_out(tmp_path: Path) -> None:
    home = tmp_path / "lock"
    init_node(home)
    set_limit(home, "auth_failures_per_minute", "3")
    proc = NodeProcess.start(home)
    try:
        wrong = SecretKeyAuth(Identity("88.100.1/ADMIN", 301), b"wrong")
        seen = []
        with SyncHandleClient(proc.tcp, transport="tcp", auth=wrong) as client:
            for _ in range(4):
                with pytest.raises(RemoteError) as err:
                    client.delete_handle("88.100.1/ADMIN")
                seen.append(err.value.response_code)
        assert seen == [403, 403, 403, 3]
        with SyncHandleClient(proc.tcp, transport="tcp", auth=secret_auth()) as client, \
                pytest.raises(RemoteError) as err:  # even the right secret must wait
            client.create_handle("88.100.1/LOCKED", [url(1, "https://example.com")])
        assert err.value.response_code == 3 and "failed authentications" in str(err.value)
        with SyncHandleClient(proc.udp) as reader:  # resolution is not affected
            assert reader.resolve("88.100.1/ADMIN").values
    finally:
        assert proc.stop() == 0
