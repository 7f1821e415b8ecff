"""Command-line VALUE syntax, server addresses and authentication options."""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path

import pytest

from idnode.auth import (
    Identity,
    generate_private_key,
    public_key_data,
    save_private_key,
    save_secret,
)
from idnode.cli.commands import (
    UsageError,
    add_auth_options,
    authenticator_from_args,
    parse_server,
    read_passphrase_file,
)
from idnode.cli.commands.admin import default_admin, parse_value_spec
from idnode.client import PublicKeyAuth, SecretKeyAuth
from idnode.identifiers.value import PERM_DEFAULT, PERM_SECRET, HandleValue
from idnode.identifiers.values import AdminData, SiteData, VListData

# -- VALUE ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "expected"), [
    ("1:URL=https://example.com", HandleValue(1, "URL", b"https://example.com")),
    ("2:EMAIL=a@b.c", HandleValue(2, "EMAIL", b"a@b.c")),
    ("3:DESC=a=b: c", HandleValue(3, "DESC", b"a=b: c")),  # only the first '=' splits
    ("4:DESC=", HandleValue(4, "DESC", b"")),
    ("5:10320/LOC=<locations/>", HandleValue(5, "10320/LOC", b"<locations/>")),
    ("6:X!hex=00ff", HandleValue(6, "X", b"\x00\xff")),
    ("7:X!HEX=00 ff", HandleValue(7, "X", b"\x00\xff")),
    ("8:X!base64=AP8=", HandleValue(8, "X", b"\x00\xff")),
    ("300:HS_SECKEY=sesame", HandleValue(300, "HS_SECKEY", b"sesame",
                                         permissions=PERM_SECRET)),
    ("9:URL!text=x", HandleValue(9, "URL", b"x", permissions=PERM_DEFAULT)),
])
def test_value_spec(spec: str, expected: HandleValue) -> None:
    assert parse_value_spec(spec) == expected


@pytest.mark.parametrize(("spec", "admin"), [
    ("100:HS_ADMIN=300:88.1/ADMIN", AdminData(0x0FFF, "88.1/ADMIN", 300)),
    # permissions are the REST API's 12 bits, MSB-first: 011111110011 = 0x7F3
    ("100:HS_ADMIN=300:88.1/ADMIN@011111110011", AdminData(0x7F3, "88.1/ADMIN", 300)),
    # an '@' that is not followed by 12 bits belongs to the handle
    ("100:hs_admin=300:88.1/a@b.c", AdminData(0x0FFF, "88.1/a@b.c", 300)),
])
def test_admin_value_spec(spec: str, admin: AdminData) -> None:
    value = parse_value_spec(spec)
    assert (value.index, value.type.upper()) == (100, "HS_ADMIN")
    assert AdminData.from_bytes(value.data) == admin


def test_vlist_value_spec() -> None:
    value = parse_value_spec("200:HS_VLIST=300:88.1/ADMIN, 301:88.1/OPS")
    members = VListData.from_bytes(value.data).members
    assert [(m.index, m.handle) for m in members] == [(300, "88.1/ADMIN"), (301, "88.1/OPS")]


def test_file_value_spec(tmp_path: Path) -> None:
    raw = tmp_path / "key.bin"
    raw.write_bytes(b"\x01\x02")
    assert parse_value_spec(f"300:X!file={raw}").data == b"\x01\x02"
    site = tmp_path / "siteinfo.json"
    site.write_text(json.dumps({
        "version": 1, "protocolVersion": "2.10", "serialNumber": 3, "primarySite": True,
        "multiPrimary": False, "servers": [{"serverId": 1, "address": "127.0.0.1",
            "interfaces": [{"query": True, "admin": True, "protocol": "TCP", "port": 2641}]}],
    }))
    value = parse_value_spec(f"1:HS_SITE!file={site}")
    assert SiteData.from_bytes(value.data).serial == 3


@pytest.mark.parametrize(("spec", "message"), [
    ("URL=https://x", "'URL' is not INDEX:TYPE=DATA"),
    ("1:URL", "'1:URL' is not INDEX:TYPE=DATA"),
    ("x:URL=a", "index must be a number"),
    ("99999999999:URL=a", "index must be a number"),
    ("1:=a", "the type is empty"),
    ("1:X!rot13=a", "encoding 'rot13' is not one of text, hex, base64, file"),
    ("1:X!hex=zz", "not valid hex"),
    ("1:X!base64=***", "not valid base64"),
    ("1:X!file=/nonexistent/file", "cannot read /nonexistent/file"),
    ("100:HS_ADMIN=88.1/ADMIN", "HS_ADMIN data is INDEX:HANDLE"),
    ("100:HS_ADMIN=x:88.1/ADMIN", "HS_ADMIN data is INDEX:HANDLE"),
    ("200:HS_VLIST=300", "HS_VLIST data is INDEX:HANDLE"),
    ("1:HS_SITE!hex=0001", "HS_SITE data is malformed"),
])
def test_bad_value_specs(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_value_spec(spec)


def test_bad_value_spec_never_echoes_the_data() -> None:
    with pytest.raises(UsageError) as info:
        parse_value_spec("x:HS_SECKEY=top-secret")
    assert "top-secret" not in str(info.value)


def test_default_admin_takes_index_100_or_the_next_free_one() -> None:
    identity = Identity("88.1/ADMIN", 300)
    admin = default_admin(identity, [HandleValue(1, "URL", b"x")])
    assert (admin.index, admin.type) == (100, "HS_ADMIN")
    assert AdminData.from_bytes(admin.data) == AdminData(0x0FFF, "88.1/ADMIN", 300)
    taken = [HandleValue(100, "URL", b"x"), HandleValue(101, "URL", b"y")]
    assert default_admin(identity, taken).index == 102


# -- --server -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:2641", ("127.0.0.1", 2641)),
    ("localhost", ("localhost", 2641)),
    ("example.org:12641", ("example.org", 12641)),
    ("[::1]:2641", ("::1", 2641)),
    ("[::1]", ("::1", 2641)),
    ("::1", ("::1", 2641)),
])
def test_parse_server(text: str, expected: tuple[str, int]) -> None:
    assert parse_server(text) == expected


@pytest.mark.parametrize("text", [":2641", "host:0", "host:70000", "host:x", "[::1", "[::1]x"])
def test_bad_server(text: str) -> None:
    with pytest.raises(UsageError, match="bad server address"):
        parse_server(text)


# -- authentication options ---------------------------------------------------------------

def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_auth_options(parser)
    return parser.parse_args(argv)


def test_no_auth() -> None:
    assert authenticator_from_args(_args()) is None


def test_key_auth(tmp_path: Path) -> None:
    key = generate_private_key("RSA", 1024)
    path = tmp_path / "admin.pem"
    save_private_key(path, key, "pass phrase")
    passfile = tmp_path / "pass"
    passfile.write_text("pass phrase\n")
    auth = authenticator_from_args(_args("--auth", "300:88.1/ADMIN", "--key", str(path),
                                         "--passphrase-file", str(passfile)))
    assert isinstance(auth, PublicKeyAuth)
    assert auth.identity == Identity("88.1/ADMIN", 300)
    assert auth.private_key.private_numbers() == key.private_numbers()


def test_secret_file_auth_drops_one_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    save_secret(path, b"sesame\n")
    auth = authenticator_from_args(_args("--auth", "301:88.1/ADMIN", "--secret-file",
                                         str(path)))
    assert isinstance(auth, SecretKeyAuth)
    assert bytes(auth.secret) == b"sesame"
    assert auth.identity.index == 301


def test_secret_on_the_command_line_warns(capsys: pytest.CaptureFixture[str]) -> None:
    auth = authenticator_from_args(_args("--auth", "300:88.1/ADMIN", "--secret", "s"))
    assert isinstance(auth, SecretKeyAuth)
    assert "process list" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (("--secret", "s"), "need --auth"),
    (("--auth", "300:88.1/ADMIN"), "exactly one of"),
    (("--auth", "300:88.1/ADMIN", "--secret", "s", "--secret-file", "f"), "exactly one of"),
    (("--auth", "88.1/ADMIN", "--secret", "s"), "--auth: invalid handle"),
    (("--auth", "300:88.1/ADMIN", "--secret", "s", "--passphrase-file", "p"),
     "--passphrase-file goes with --key"),
])
def test_bad_auth_options(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        authenticator_from_args(_args(*argv))


def test_passphrase_file_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(UsageError, match="is empty"):
        read_passphrase_file(str(empty))
    with pytest.raises(UsageError, match="cannot read passphrase file"):
        read_passphrase_file(str(tmp_path / "missing"))


def test_base64_round_trip_of_keygen_values() -> None:
    # keygen prints 300:HS_PUBKEY!base64=…; that must parse back to the same bytes
    data = public_key_data(generate_private_key("RSA", 1024)).to_bytes()
    spec = f"300:HS_PUBKEY!base64={base64.b64encode(data).decode()}"
    assert parse_value_spec(spec).data == data
