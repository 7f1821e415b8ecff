"""What the CLI prints: value rendering, the table, JSON shapes, errors and exit codes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from idnode.auth import KeyFileError, load_private_key, public_key_data
from idnode.cli.commands import EXIT_CONNECTION, EXIT_SERVER_ERROR, EXIT_USAGE, UsageError
from idnode.cli.main import build_parser, exit_code_for, main
from idnode.cli.output import (
    error_json,
    format_error,
    format_values_table,
    render_data,
    resolution_json,
)
from idnode.errors import HandleNotFound, InvalidValue, ProtocolError, RemoteError
from idnode.identifiers.value import TTL_ABSOLUTE, HandleValue, Reference
from idnode.identifiers.values import (
    AdminData,
    Interface,
    PublicKeyData,
    ServerRecord,
    SiteData,
    VListData,
)
from idnode.transport.client import TransportError, TransportTimeout

RSA_KEY = PublicKeyData.rsa(65537, (1 << 2047) + 12345)


@pytest.mark.parametrize(("value", "text"), [
    (HandleValue(1, "URL", b"https://example.com"), "https://example.com"),
    (HandleValue(2, "EMAIL", "jos\u00e9@b.c".encode()), "jos\u00e9@b.c"),
    (HandleValue(3, "DESC", b"two\nlines\t!"), "two\\nlines\\t!"),
    (HandleValue(100, "HS_ADMIN", AdminData(0x7F3, "88.1/ADMIN", 300).to_bytes()),
     "300:88.1/ADMIN 011111110011"),
    (HandleValue(200, "HS_VLIST", VListData((Reference("88.1/A", 300),
                                             Reference("88.1/B", 301))).to_bytes()),
     "300:88.1/A, 301:88.1/B"),
    (HandleValue(300, "HS_PUBKEY", RSA_KEY.to_bytes()), "RSA_PUB_KEY 2048-bit, exponent 65537"),
    (HandleValue(301, "HS_PUBKEY", PublicKeyData("SM2_PUB_KEY", 0, (), b"abc").to_bytes()),
     "SM2_PUB_KEY (3 bytes)"),
    (HandleValue(4, "X-BLOB", b"\x00\x01\xfe"), "hex:0001fe"),
    (HandleValue(301, "HS_SECKEY", b"sesame", permissions=0x0C), "<secret, 6 bytes>"),
    (HandleValue(5, "X-BLOB", bytes(40)), "base64:" + "A" * 54 + "=="),
    (HandleValue(6, "IDIS_META", b"plain text"), "plain text"),
    # malformed structured data is shown as bytes, not an exception
    (HandleValue(7, "HS_ADMIN", b"\x00"), "hex:00"),
])
def test_render_data(value: HandleValue, text: str) -> None:
    assert render_data(value) == text


def test_render_site() -> None:
    server = ServerRecord.from_ip(1, "127.0.0.1", b"", (Interface(3, 1, 2641),
                                                        Interface(2, 0, 2641),
                                                        Interface(3, 2, 8000)))
    value = HandleValue(1, "HS_SITE", SiteData(servers=(server,)).to_bytes())
    assert render_data(value) == ("primary site, protocol 2.10, serial 1; "
                                  "#1 127.0.0.1 tcp/2641 udp/2641 http/8000")
    empty = HandleValue(1, "HS_SITE", SiteData(primary=False).to_bytes())
    assert render_data(empty) == "secondary site, protocol 2.10, serial 1; no servers"


def test_values_table() -> None:
    values = [
        HandleValue(1, "URL", b"https://example.com", timestamp=1_700_000_000),
        HandleValue(100, "HS_ADMIN", AdminData(0xFFF, "88.1/ADMIN", 300).to_bytes(),
                    ttl_type=TTL_ABSOLUTE, ttl=1_800_000_000, permissions=0x0C),
    ]
    lines = format_values_table(values).splitlines()
    assert lines[0].split() == ["INDEX", "TYPE", "TTL", "TIMESTAMP", "PERMS", "DATA"]
    assert lines[1].split() == ["1", "URL", "86400", "2023-11-14T22:13:20Z", "1110",
                                "https://example.com"]
    assert lines[2].split() == ["100", "HS_ADMIN", "until", "2027-01-15T08:00:00Z", "-",
                                "1100", "300:88.1/ADMIN", "111111111111"]
    # columns line up
    assert lines[1].index("https") == lines[2].index("300:") == lines[0].index("DATA")


def test_resolution_json_is_the_rest_shape() -> None:
    value = HandleValue(1, "URL", b"https://example.com", timestamp=1_700_000_000)
    assert resolution_json("88.1/x", [value]) == {
        "responseCode": 1, "handle": "88.1/x",
        "values": [{"index": 1, "type": "URL",
                    "data": {"format": "string", "value": "https://example.com"},
                    "ttl": 86400, "timestamp": "2023-11-14T22:13:20Z"}],
    }


def test_error_json() -> None:
    exc = RemoteError("response code 301 (x): not here", response_code=301,
                      server_message="not here")
    assert error_json(exc, handle="88.1/x") == {"responseCode": 301, "handle": "88.1/x",
                                                "message": "not here"}
    bare = RemoteError("response code 100 (handle not found)", response_code=100)
    assert error_json(bare, handle="h") == {"responseCode": 100, "handle": "h"}


def test_format_error() -> None:
    exc = RemoteError("response code 401 (insufficient permissions): not an admin",
                      response_code=401)
    assert format_error("create 88.1/x", exc) == (
        "error: create 88.1/x — response code 401 (insufficient permissions): not an admin")
    assert format_error("resolve 88.1/x", TransportError(reason="cannot connect")) == (
        "error: resolve 88.1/x — cannot connect")


@pytest.mark.parametrize(("exc", "code"), [
    (RemoteError("x", response_code=401), EXIT_SERVER_ERROR),
    (ProtocolError(reason="bad answer"), EXIT_SERVER_ERROR),
    (HandleNotFound(handle="x"), EXIT_SERVER_ERROR),
    (TransportError(reason="refused"), EXIT_CONNECTION),
    (TransportTimeout(reason="slow"), EXIT_CONNECTION),
    (ConnectionResetError(), EXIT_CONNECTION),
    (UsageError(reason="bad"), EXIT_USAGE),
    (KeyFileError(path="k", reason="missing"), EXIT_USAGE),
    (InvalidValue(reason="bad bits"), EXIT_USAGE),
    (FileNotFoundError(), EXIT_USAGE),
])
def test_exit_codes(exc: BaseException, code: int) -> None:
    assert exit_code_for(exc) == code


# -- main() -------------------------------------------------------------------------------

def test_every_command_is_registered() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert set(commands) >= {"resolve", "create", "delete", "add", "modify", "remove", "list",
                             "home", "unhome", "batch", "keygen", "init", "serve"}


@pytest.mark.parametrize("argv", [
    [], ["resolve"], ["frobnicate"], ["remove", "88.1/x", "one"],
    ["resolve", "88.1/x", "--index", "x"],
])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_USAGE
    assert capsys.readouterr().err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "resolve" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["create", "88.1/x", "1:URL=https://x"], "create needs --auth"),
    (["add", "88.1/x", "1:URL"], "is not INDEX:TYPE=DATA"),
    (["add", "88.1/x", "1:URL=a", "1:URL=b"], "index 1 is given twice"),
    (["resolve", "88.1/x", "--all"], "--all needs --auth"),
    (["resolve", "88.1/x", "--server", "host:99999"], "port must be 1..65535"),
    (["delete", "88.1/x", "--auth", "300:88.1/ADMIN", "--key", "/nonexistent.pem"],
     "key file /nonexistent.pem: does not exist"),
])
def test_local_errors_exit_2_before_connecting(argv: list[str], message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"error: {argv[0]} 88.1/x — ") or err.startswith("error: ")
    assert message in err


def test_keygen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "admin.pem"
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse\n")
    assert main(["keygen", str(out), "--bits", "1024", "--passphrase-file", str(passfile),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["privateKey"] == str(out) and report["encrypted"] is True
    if os.name == "posix":
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
    key = load_private_key(out, "correct horse")
    assert report["publicKey"]["hex"] == public_key_data(key).to_bytes().hex()
    # a second run does not overwrite the key
    assert main(["keygen", str(out), "--bits", "1024"]) == EXIT_USAGE
    assert "already exists" in capsys.readouterr().err


def test_keygen_text_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dsa.pem"
    assert main(["keygen", str(out), "--alg", "dsa", "--bits", "1024"]) == 0
    text = capsys.readouterr().out
    assert f"written to {out}" in text
    assert "HS_PUBKEY hex:" in text and "300:HS_PUBKEY!base64=" in text
    assert main(["keygen", str(tmp_path / "x.pem"), "--bits", "512"]) == EXIT_USAGE
