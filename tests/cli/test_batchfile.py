"""The CNRI generic batch-file parser: operations, value lines and errors with line numbers."""

from __future__ import annotations

import pytest

from idnode.cli.batchfile import (
    AuthenticateOp,
    DeleteOp,
    HomeOp,
    Invalid,
    RemoveOp,
    SessionSetupOp,
    ValuesOp,
    parse_batch,
    parse_value_line,
)
from idnode.errors import InvalidValue
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values import AdminData, VListData


def _text(*lines: str) -> str:
    return "\n".join(lines) + "\n"


# -- value lines -------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "expected"), [
    ("1 URL 86400 1110 UTF8 https://example.com/a b",
     HandleValue(1, "URL", b"https://example.com/a b", ttl=86400, permissions=0x0E)),
    ("2 EMAIL 3600 1100 utf8 a@b.c", HandleValue(2, "EMAIL", b"a@b.c", ttl=3600,
                                                 permissions=0x0C)),
    ("3 DESC 0 1111 UTF8", HandleValue(3, "DESC", b"", ttl=0, permissions=0x0F)),
    ("4\tDESC\t60\t0010\tUTF8\t  tabs and  spaces  ",
     HandleValue(4, "DESC", b"tabs and  spaces", ttl=60, permissions=0x02)),
    # permission strings longer than 4 characters: only the first four count (as CNRI)
    ("5 URL 10 111011 UTF8 x", HandleValue(5, "URL", b"x", ttl=10, permissions=0x0E)),
])
def test_value_line(line: str, expected: HandleValue) -> None:
    assert parse_value_line(line) == expected


def test_admin_value_line_is_lsb_first() -> None:
    # 0x7F3 (pyhandle's default) is 011111110011 MSB-first and 110011111110 LSB-first.
    value = parse_value_line("100 HS_ADMIN 86400 1110 ADMIN 300:110011111110:88.1/ADMIN")
    admin = AdminData.from_bytes(value.data)
    assert (admin.index, admin.handle, admin.permissions) == (300, "88.1/ADMIN", 0x7F3)
    # only "add handle" (bit 0x001) is the first character
    value = parse_value_line("100 HS_ADMIN 1 1110 ADMIN 7:100000000000:0.NA/88.1")
    assert AdminData.from_bytes(value.data).permissions == 0x001


def test_admin_handle_may_contain_colons() -> None:
    value = parse_value_line("100 HS_ADMIN 1 1110 ADMIN 300:111111111111:88.1/a:b")
    assert AdminData.from_bytes(value.data).handle == "88.1/a:b"


def test_list_value_line() -> None:
    value = parse_value_line("200 HS_VLIST 86400 1110 LIST 300:88.1/ADMIN;301:88.1/OPS;")
    members = VListData.from_bytes(value.data).members
    assert [(m.index, m.handle) for m in members] == [(300, "88.1/ADMIN"), (301, "88.1/OPS")]


def test_file_value_line_uses_the_reader() -> None:
    value = parse_value_line("300 HS_PUBKEY 86400 1110 FILE keys/pub.bin",
                             read_file=lambda name: name.encode() + b"!")
    assert value.data == b"keys/pub.bin!"


def test_file_value_line_reads_the_file_system(tmp_path: object) -> None:
    from pathlib import Path
    path = Path(str(tmp_path)) / "data.bin"
    path.write_bytes(b"\x00\x01")
    assert parse_value_line(f"1 X 1 1110 FILE {path}").data == b"\x00\x01"


@pytest.mark.parametrize(("line", "message"), [
    ("1 URL 86400 1110", "a value line needs"),
    ("x URL 86400 1110 UTF8 a", "index 'x'"),
    ("1 URL -5 1110 UTF8 a", "ttl '-5'"),
    ("1 URL 99999999999 1110 UTF8 a", "ttl 99999999999 is too large"),
    ("1 URL 86400 11 UTF8 a", "four 0/1 characters"),
    ("1 URL 86400 11x0 UTF8 a", "four 0/1 characters"),
    ("1 URL 86400 1110 TEXT a", "data type 'TEXT'"),
    ("1 HS_ADMIN 1 1110 ADMIN 300:1111:88.1/A", "12 characters"),
    ("1 HS_ADMIN 1 1110 ADMIN 300:111111111111", "index:permissions:handle"),
    ("1 HS_ADMIN 1 1110 ADMIN x:111111111111:88.1/A", "admin index 'x'"),
    ("1 HS_VLIST 1 1110 LIST 300", "must be index:handle"),
    ("1 HS_VLIST 1 1110 LIST ;;", "names no index:handle"),
    ("1 HS_PUBKEY 1 1110 FILE", "FILE needs a file name"),
])
def test_bad_value_lines(line: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        parse_value_line(line)


def test_unreadable_file_is_an_invalid_value() -> None:
    def missing(name: str) -> bytes:
        raise FileNotFoundError(2, "No such file or directory", name)

    with pytest.raises(InvalidValue, match="cannot read 'nope'"):
        parse_value_line("1 X 1 1110 FILE nope", read_file=missing)


# -- whole files ---------------------------------------------------------------------------

URL1 = HandleValue(1, "URL", b"https://a", ttl=86400, permissions=0x0E)


@pytest.mark.parametrize(("text", "expected"), [
    (_text("CREATE 88.1/a", "1 URL 86400 1110 UTF8 https://a", ""),
     [ValuesOp(1, "CREATE", "88.1/a", (URL1,))]),
    # the last block may end at the end of the file; commands are case-insensitive
    (_text("add 88.1/a", "1 URL 86400 1110 UTF8 https://a"),
     [ValuesOp(1, "ADD", "88.1/a", (URL1,))]),
    (_text("MODIFY 88.1/a", "1 URL 86400 1110 UTF8 https://a", "", "DELETE 88.1/b"),
     [ValuesOp(1, "MODIFY", "88.1/a", (URL1,)), DeleteOp(4, "88.1/b")]),
    (_text("REMOVE 1,2, 3:88.1/a"), [RemoveOp(1, "88.1/a", (1, 2, 3))]),
    (_text("", "# a comment", "   ", "DELETE 88.1/x"), [DeleteOp(4, "88.1/x")]),
    (_text("HOME 127.0.0.1:2641:tcp", "0.NA/88.1", "0.na/88.2", "", "DELETE 88.1/x"),
     [HomeOp(2, True, "127.0.0.1", 2641, "TCP", "0.NA/88.1"),
      HomeOp(3, True, "127.0.0.1", 2641, "TCP", "0.na/88.2"), DeleteOp(5, "88.1/x")]),
    (_text("UNHOME [::1]:2641:UDP", "0.NA/88.1"),
     [HomeOp(2, False, "::1", 2641, "UDP", "0.NA/88.1")]),
    (_text("AUTHENTICATE PUBKEY:300:88.1/ADMIN", "/keys/admin.pem|pass phrase"),
     [AuthenticateOp(1, "PUBKEY", 300, "88.1/ADMIN", key_file="/keys/admin.pem",
                     passphrase="pass phrase")]),
    (_text("AUTHENTICATE pubkey:300:88.1/ADMIN", "admin.pem"),
     [AuthenticateOp(1, "PUBKEY", 300, "88.1/ADMIN", key_file="admin.pem")]),
    (_text("AUTHENTICATE SECKEY:301:88.1/ADMIN", "s3cret value"),
     [AuthenticateOp(1, "SECKEY", 301, "88.1/ADMIN", secret=b"s3cret value")]),
    (_text("SESSIONSETUP", "USESESSION:1", "OPTIONS:111", "", "DELETE 88.1/x"),
     [SessionSetupOp(1), DeleteOp(5, "88.1/x")]),
])
def test_parse_batch(text: str, expected: list[object]) -> None:
    assert parse_batch(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # an unknown command does not swallow the next record
    (_text("FROB 88.1/a", "DELETE 88.1/b"),
     [Invalid(1, "unknown operation 'FROB'"), DeleteOp(2, "88.1/b")]),
    # a bad value line: the block is skipped, the error names the value line
    (_text("CREATE 88.1/a", "1 URL 86400 1110 UTF8 ok", "2 URL x 1110 UTF8 bad",
           "3 URL 1 1110 UTF8 ok", "", "DELETE 88.1/b"),
     [Invalid(3, "ttl 'x' is not a non-negative integer"), DeleteOp(6, "88.1/b")]),
    (_text("CREATE 88.1/a", "", "DELETE 88.1/b"),
     [Invalid(2, "no value lines follow"), DeleteOp(3, "88.1/b")]),
    (_text("CREATE", "1 URL 1 1110 UTF8 x", "", "DELETE 88.1/b"),
     [Invalid(1, "CREATE names no handle"), DeleteOp(4, "88.1/b")]),
    (_text("DELETE"), [Invalid(1, "DELETE names no handle")]),
    (_text("REMOVE 88.1/a"), [Invalid(1, "REMOVE needs indexes:handle (e.g. 1,2:88.1/abc)")]),
    (_text("REMOVE 1,x:88.1/a"), [Invalid(1, "index 'x' is not a non-negative integer")]),
    (_text("HOME localhost", "0.NA/88.1", "", "DELETE 88.1/b"),
     [Invalid(1, "HOME/UNHOME needs address:port:protocol (e.g. 127.0.0.1:2641:TCP)"),
      DeleteOp(4, "88.1/b")]),
    (_text("HOME 127.0.0.1:2641:TCP", "88.1", "0.NA/88.2"),
     [Invalid(2, "'88.1' is not a prefix handle (0.NA/...)"),
      HomeOp(3, True, "127.0.0.1", 2641, "TCP", "0.NA/88.2")]),
    (_text("HOME 127.0.0.1:2641:TCP", "", "DELETE 88.1/b"),
     [Invalid(1, "no prefix handles follow"), DeleteOp(3, "88.1/b")]),
    (_text("AUTHENTICATE SECKEY:300:88.1/ADMIN"),
     [Invalid(1, "SECKEY must be followed by a secret on the next line")]),
    (_text("AUTHENTICATE PUBKEY:300:88.1/ADMIN", "", "DELETE 88.1/b"),
     [Invalid(1, "PUBKEY must be followed by a private key file on the next line"),
      DeleteOp(3, "88.1/b")]),
    # the credential line is consumed (and never echoed) even when the first line is bad
    (_text("AUTHENTICATE PASSWORD:300:88.1/ADMIN", "hunter2", "DELETE 88.1/b"),
     [Invalid(1, "AUTHENTICATE needs PUBKEY:index:handle or SECKEY:index:handle"),
      DeleteOp(3, "88.1/b")]),
    (_text("AUTHENTICATE SECKEY:x:88.1/ADMIN", "secret"),
     [Invalid(1, "identity index 'x' is not a non-negative integer")]),
    (_text("AUTHENTICATE SECKEY:300:", "secret"),
     [Invalid(1, "AUTHENTICATE names no handle")]),
])
def test_parse_errors_carry_line_numbers(text: str, expected: list[object]) -> None:
    assert parse_batch(text) == expected


def test_invalid_item_as_error() -> None:
    error = Invalid(7, "unknown operation 'FROB'").error()
    assert error.line == 7
    assert str(error) == "line 7: unknown operation 'FROB'"


def test_secrets_stay_out_of_repr() -> None:
    (op,) = parse_batch(_text("AUTHENTICATE SECKEY:301:88.1/ADMIN", "hunter2"))
    assert "hunter2" not in repr(op)
    (op,) = parse_batch(_text("AUTHENTICATE PUBKEY:300:88.1/ADMIN", "k.pem|hunter2"))
    assert "hunter2" not in repr(op)


def test_pyhandle_style_batch() -> None:
    # The shape pyhandle's BatchHandleClient writes: CREATE blocks with ADMIN lines.
    text = _text(
        "AUTHENTICATE SECKEY:300:21.T1/ADMIN", "pw", "",
        "CREATE 21.T1/test",
        "100 HS_ADMIN 86400 1110 ADMIN 300:111111111111:21.T1/ADMIN",
        "1 URL 86400 1110 UTF8 http://example.org",
        "",
        "REMOVE 1:21.T1/test",
        "DELETE 21.T1/test",
    )
    items = parse_batch(text)
    assert [type(i).__name__ for i in items] == [
        "AuthenticateOp", "ValuesOp", "RemoveOp", "DeleteOp"]
    create = items[1]
    assert isinstance(create, ValuesOp)
    assert [v.index for v in create.values] == [100, 1]
    assert (items[2].line, items[3].line) == (8, 9)
