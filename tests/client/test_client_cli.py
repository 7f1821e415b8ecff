"""The ``idnode`` client commands end to end against the in-process fake server."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fakeserver import ADMIN_HANDLE, ADMIN_INDEX, SECRET, FakeServer

from idnode.auth import save_private_key, save_secret
from idnode.cli.main import main
from idnode.identifiers.handle import handle_key
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values import AdminData

ADMIN = f"{ADMIN_INDEX}:{ADMIN_HANDLE}"


def srv(server: FakeServer) -> list[str]:
    return ["--server", f"127.0.0.1:{server.port}"]


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret"
    save_secret(path, SECRET + b"\n")
    return path


@pytest.fixture
def key_file(tmp_path: Path, admin_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "admin.pem"
    save_private_key(path, admin_key)
    return path


def auth(secret_file: Path) -> list[str]:
    return ["--auth", ADMIN, "--secret-file", str(secret_file)]


def test_resolve_table_and_json(server: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.records[handle_key("88.1/x")] = (
        HandleValue(1, "URL", b"https://example.com", timestamp=1_700_000_000),)
    assert main(["resolve", "88.1/x", *srv(server)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[0] == "INDEX"
    assert out[1].split() == ["1", "URL", "86400", "2023-11-14T22:13:20Z", "1110",
                              "https://example.com"]
    assert main(["resolve", "88.1/x", "--json", "--tcp", *srv(server)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["responseCode"] == 1 and answer["handle"] == "88.1/x"
    assert answer["values"][0]["data"] == {"format": "string", "value": "https://example.com"}
    assert [t for t, _ in server.log] == ["udp", "tcp"]


def test_resolve_not_found(server: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["resolve", "88.1/none", *srv(server)]) == 1
    assert capsys.readouterr().err == ("error: resolve 88.1/none — response code 100 "
                                       "(handle not found)\n")
    assert main(["resolve", "88.1/none", "--json", *srv(server)]) == 1
    assert json.loads(capsys.readouterr().out) == {"responseCode": 100,
                                                   "handle": "88.1/none"}


def test_unreachable_server_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a port nobody listens on (UDP and TCP)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["resolve", "88.1/x", "--server", f"127.0.0.1:{port}"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: resolve 88.1/x — cannot connect to 127.0.0.1:")


def test_admin_commands(server: FakeServer, secret_file: Path, key_file: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["create", "88.1/a", "1:URL=https://a", *auth(secret_file),
                 *srv(server)]) == 0
    assert capsys.readouterr().out == "created 88.1/a\n"
    values = server.records[handle_key("88.1/a")]
    assert [(v.index, v.type) for v in values] == [(1, "URL"), (100, "HS_ADMIN")]
    assert AdminData.from_bytes(values[1].data) == AdminData(0xFFF, ADMIN_HANDLE, ADMIN_INDEX)

    key_auth = ["--auth", ADMIN, "--key", str(key_file)]
    for argv, printed in [
        (["add", "88.1/a", "2:EMAIL=a@b.c"], "added 1 value(s) to 88.1/a"),
        (["modify", "88.1/a", "2:EMAIL=x@y.z"], "modified 1 value(s) of 88.1/a"),
        (["remove", "88.1/a", "1"], "removed index 1 from 88.1/a"),
        (["list", "88.1"], "88.1/a"),
        (["home", "88.7"], "homed 0.NA/88.7"),
        (["unhome", "88.7"], "unhomed 0.NA/88.7"),
        (["delete", "88.1/a"], "deleted 88.1/a"),
    ]:
        assert main([*argv, *key_auth, *srv(server)]) == 0, argv
        assert capsys.readouterr().out == printed + "\n"
    assert server.records == {}


def test_admin_json_output(server: FakeServer, secret_file: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["create", "88.1/", "--mint", "100:HS_ADMIN=300:88.1/ADMIN@011111110011",
                 "--json", *auth(secret_file), *srv(server)]) == 0
    assert json.loads(capsys.readouterr().out) == {"responseCode": 1,
                                                   "handle": "88.1/minted-1"}
    assert main(["list", "88.1", "--json", *auth(secret_file), *srv(server)]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "responseCode": 1, "prefix": "88.1", "handles": ["88.1/minted-1"]}


def test_server_errors_exit_1(server: FakeServer, secret_file: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["delete", "88.1/x", *srv(server)]) == 1
    assert capsys.readouterr().err == ("error: delete 88.1/x — response code 402 "
                                       "(authentication needed)\n")
    assert main(["delete", "88.1/x", "--auth", "300:88.1/OTHER", "--secret-file",
                 str(secret_file), *srv(server)]) == 1
    assert capsys.readouterr().err == (
        "error: delete 88.1/x — response code 401 (insufficient permissions): "
        "300:88.1/OTHER is not an administrator\n")


BATCH = """\
AUTHENTICATE SECKEY:300:88.1/ADMIN
{secret}

CREATE 88.1/b1
100 HS_ADMIN 86400 1110 ADMIN 300:111111111111:88.1/ADMIN
1 URL 86400 1110 UTF8 https://b1

CREATE 88.1/b1
1 URL 86400 1110 UTF8 https://again

ADD 88.1/b1
2 EMAIL 86400 1110 UTF8 a@b.c
3 DESC x 1110 UTF8 bad ttl

MODIFY 88.1/b1
1 URL 86400 1110 UTF8 https://changed

REMOVE 1:88.1/b1
HOME 127.0.0.1:{port}:TCP
0.NA/88.5

AUTHENTICATE PUBKEY:300:88.1/ADMIN
{key}

DELETE 88.1/b1
DELETE 88.1/b1
"""


def test_batch(server: FakeServer, tmp_path: Path, key_file: Path,
               capsys: pytest.CaptureFixture[str]) -> None:
    batch = tmp_path / "ops.txt"
    batch.write_text(BATCH.format(secret=SECRET.decode(), port=server.port, key=key_file))
    assert main(["batch", str(batch), *srv(server)]) == 1  # some operations fail
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "SUCCESS[4]: create 88.1/b1"
    assert lines[1].startswith("FAILURE[8]: create 88.1/b1: response code 101 "
                               "(handle already exists)")
    assert lines[2] == "INVALID[13]: ttl 'x' is not a non-negative integer"
    assert lines[3:] == [
        "SUCCESS[15]: modify values 88.1/b1",
        "SUCCESS[18]: remove values 88.1/b1",
        "SUCCESS[20]: home 0.NA/88.5",
        "SUCCESS[25]: delete 88.1/b1",
        "FAILURE[26]: delete 88.1/b1: response code 100 (handle not found)",
    ]
    assert "5 of 8 operation(s) succeeded" in captured.err
    assert server.homed == ["0.NA/88.5"]


def test_batch_json_and_dry_run(server: FakeServer, tmp_path: Path, secret_file: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    batch = tmp_path / "ops.txt"
    batch.write_text("AUTHENTICATE SECKEY:300:88.1/ADMIN\nhunter2\n\n"
                     "CREATE 88.1/c\n1 URL 86400 1110 UTF8 https://c\n")
    assert main(["batch", str(batch), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == ["AUTHENTICATE[1]: SECKEY:300:88.1/ADMIN",
                                "CREATE[4]: create 88.1/c with 1:URL"]
    assert "hunter2" not in out
    batch.write_text("CREATE 88.1/c\n1 URL 86400 1110 UTF8 https://c\n")
    assert main(["batch", str(batch), "--json", *auth(secret_file), *srv(server)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {"succeeded": 1, "failed": 0, "operations": [
        {"line": 1, "status": "SUCCESS", "detail": "create 88.1/c"}]}


def test_batch_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "/nonexistent/batch.txt"]) == 2
    assert "cannot read batch file" in capsys.readouterr().err
