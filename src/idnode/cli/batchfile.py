"""Parser for the CNRI generic batch format (``hdl-genericbatch``, ``handle-protocol.md`` §16.3).

A batch file is a sequence of records. The first word of a record line names the operation
(case-insensitive); the rest of that line is its argument::

    AUTHENTICATE PUBKEY:300:88.1/ADMIN      next line: key file [| passphrase]
    AUTHENTICATE SECKEY:300:88.1/ADMIN      next line: the secret
    CREATE 88.1/abc                         value lines follow, a blank line ends them
    ADD 88.1/abc                            (same)
    MODIFY 88.1/abc                         (same)
    DELETE 88.1/abc
    REMOVE 1,2:88.1/abc                     comma-separated indexes, then the handle
    HOME 127.0.0.1:2641:TCP                 prefix handles follow, one a line, until a blank line
    UNHOME 127.0.0.1:2641:TCP               (same)
    SESSIONSETUP                            option lines until a blank line (accepted, not used)

A value line is ``index TYPE ttl perms DATATYPE data`` where ``perms`` is four 0/1 characters
(admin read, admin write, public read, public write) and ``DATATYPE`` is one of

* ``UTF8 text`` — the rest of the line as UTF-8;
* ``ADMIN index:perms:handle`` — HS_ADMIN with the 12 permission bits **LSB-first** (add
  handle first, list handles last; ``handle-protocol.md`` §6.2);
* ``LIST index:handle;index:handle;`` — an HS_VLIST;
* ``FILE path`` — the bytes of a file.

Lines starting with ``#`` between records are comments (an idnode extension). The parser is
pure apart from reading ``FILE`` data, which goes through an injectable ``read_file``. Errors
do not stop parsing: a bad record becomes an :class:`Invalid` item carrying the line number, and
the following records are still parsed, as CNRI's tool does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from idnode.errors import InvalidValue, RegistryError
from idnode.identifiers.value import HandleValue, Reference
from idnode.identifiers.values.admin import AdminData
from idnode.identifiers.values.vlist import VListData

__all__ = [
    "AuthenticateOp",
    "BatchItem",
    "BatchSyntaxError",
    "DeleteOp",
    "HomeOp",
    "Invalid",
    "RemoveOp",
    "SessionSetupOp",
    "ValuesOp",
    "parse_batch",
    "parse_value_line",
]

ReadFile = Callable[[str], bytes]


class BatchSyntaxError(RegistryError):
    """A batch-file line could not be parsed; ``line`` is 1-based."""

    fmt = "line {line}: {reason}"

    def __init__(self, *, line: int, reason: str) -> None:
        super().__init__(line=line, reason=reason)
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AuthenticateOp:
    """Switch the identity used by later operations.

    ``kind`` is ``PUBKEY`` (``key_file`` and optional ``passphrase`` set) or ``SECKEY``
    (``secret`` set).
    """

    line: int
    kind: str
    index: int
    handle: str
    key_file: str | None = None
    passphrase: str | None = field(default=None, repr=False)
    secret: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ValuesOp:
    """CREATE, ADD or MODIFY ``handle`` with ``values``."""

    line: int
    op: str
    handle: str
    values: tuple[HandleValue, ...]


@dataclass(frozen=True, slots=True)
class DeleteOp:
    line: int
    handle: str


@dataclass(frozen=True, slots=True)
class RemoveOp:
    line: int
    handle: str
    indexes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class HomeOp:
    """HOME or UNHOME one prefix handle on the server at ``host:port`` (``protocol`` as given).

    One item per prefix-handle line; ``line`` is that line's number.
    """

    line: int
    home: bool
    host: str
    port: int
    protocol: str
    prefix_handle: str


@dataclass(frozen=True, slots=True)
class SessionSetupOp:
    """A SESSIONSETUP block; idnode uses plain challenge-response and only reports it."""

    line: int


@dataclass(frozen=True, slots=True)
class Invalid:
    """A record that could not be parsed."""

    line: int
    reason: str

    def error(self) -> BatchSyntaxError:
        return BatchSyntaxError(line=self.line, reason=self.reason)


BatchItem = AuthenticateOp | ValuesOp | DeleteOp | RemoveOp | HomeOp | SessionSetupOp | Invalid

_VALUE_OPS = ("CREATE", "ADD", "MODIFY")
_U32_MAX = 0xFFFF_FFFF
# [v6]:port:protocol or v4-or-name:port:protocol
_SERVER_RE = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:\s]+)):(?P<port>\d+):(?P<proto>\w+)$")


class _Lines:
    """Numbered lines with one-line look-ahead consumption."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()
        self._pos = 0

    @property
    def number(self) -> int:
        """1-based number of the line returned last."""
        return self._pos

    def next(self) -> str | None:
        if self._pos >= len(self._lines):
            return None
        line = self._lines[self._pos]
        self._pos += 1
        return line

    def block(self) -> Iterator[tuple[int, str]]:
        """Following lines up to a blank line or the end (the blank line is consumed)."""
        while (line := self.next()) is not None and line.strip():
            yield self._pos, line.strip()

    def skip_block(self) -> None:
        for _ in self.block():
            pass


def _reason(exc: RegistryError) -> str:
    """The bare reason of an error (without the class's "invalid value: " lead-in)."""
    return str(exc.kwargs.get("reason", exc))


def _uint(text: str, what: str) -> int:
    text = text.strip()
    if not text.isdigit():
        raise InvalidValue(reason=f"{what} {text!r} is not a non-negative integer")
    value = int(text)
    if value > _U32_MAX:
        raise InvalidValue(reason=f"{what} {value} is too large")
    return value


def _value_permissions(text: str) -> int:
    # admin read, admin write, public read, public write: the PERM_* bits MSB-first
    if len(text) < 4 or set(text[:4]) - {"0", "1"}:
        raise InvalidValue(reason=f"value permissions {text!r} must start with four 0/1 "
                                  "characters (admin read, admin write, public read, "
                                  "public write)")
    return int(text[:4], 2)


def _admin_data(text: str) -> bytes:
    parts = text.split(":", 2)
    if len(parts) != 3 or not parts[2].strip():
        raise InvalidValue(reason=f"ADMIN data {text!r} must be index:permissions:handle")
    index = _uint(parts[0], "admin index")
    permissions = AdminData.permissions_from_batch_text(parts[1])
    return AdminData(permissions, parts[2].strip(), index).to_bytes()


def _list_data(text: str) -> bytes:
    members: list[Reference] = []
    for item in text.split(";"):
        if not item.strip():
            continue
        index, sep, handle = item.partition(":")
        if not sep or not handle.strip():
            raise InvalidValue(reason=f"LIST entry {item.strip()!r} must be index:handle")
        members.append(Reference(handle.strip(), _uint(index, "LIST index")))
    if not members:
        raise InvalidValue(reason="LIST data names no index:handle entries")
    return VListData(tuple(members)).to_bytes()


def parse_value_line(line: str, read_file: ReadFile | None = None) -> HandleValue:
    """Parse one ``index TYPE ttl perms DATATYPE data`` line.

    :param read_file: reads ``FILE`` data; defaults to reading from the file system.
    :raises InvalidValue: with a message naming the faulty field.
    """
    fields = line.strip().split(None, 5)
    if len(fields) < 5:
        raise InvalidValue(reason="a value line needs: index TYPE ttl permissions "
                                  "UTF8|ADMIN|LIST|FILE data")
    index = _uint(fields[0], "index")
    type_ = fields[1]
    ttl = _uint(fields[2], "ttl")
    permissions = _value_permissions(fields[3])
    kind = fields[4].upper()
    rest = fields[5].strip() if len(fields) > 5 else ""
    if kind == "UTF8":
        data = rest.encode("utf-8")
    elif kind == "ADMIN":
        data = _admin_data(rest)
    elif kind == "LIST":
        data = _list_data(rest)
    elif kind == "FILE":
        if not rest:
            raise InvalidValue(reason="FILE needs a file name")
        reader = read_file or (lambda name: Path(name).read_bytes())
        try:
            data = reader(rest)
        except OSError as exc:
            raise InvalidValue(reason=f"cannot read {rest!r}: {exc.strerror or exc}") from None
    else:
        raise InvalidValue(reason=f"data type {fields[4]!r} is not UTF8, ADMIN, LIST or FILE")
    return HandleValue(index, type_, data, ttl=ttl, permissions=permissions)


def _values_block(lines: _Lines, read_file: ReadFile | None) -> tuple[HandleValue, ...]:
    values: list[HandleValue] = []
    error: BatchSyntaxError | None = None
    for number, text in lines.block():
        if error is not None:
            continue  # consume the rest of the block after the first error
        try:
            values.append(parse_value_line(text, read_file))
        except RegistryError as exc:
            error = BatchSyntaxError(line=number, reason=_reason(exc))
    if error is not None:
        raise error
    if not values:
        raise BatchSyntaxError(line=lines.number, reason="no value lines follow")
    return tuple(values)


def _authenticate(arg: str, number: int, lines: _Lines) -> AuthenticateOp:
    # The credential line is consumed even when the first line is wrong, so a secret is
    # never parsed (and echoed in an error) as if it were a command.
    follow = lines.next()
    credential = follow.strip() if follow is not None else ""
    parts = arg.split(":", 2)
    if len(parts) != 3 or parts[0].strip().upper() not in ("PUBKEY", "SECKEY"):
        raise BatchSyntaxError(line=number, reason="AUTHENTICATE needs PUBKEY:index:handle "
                                                   "or SECKEY:index:handle")
    kind = parts[0].strip().upper()
    handle = parts[2].strip()
    try:
        index = _uint(parts[1], "identity index")
    except InvalidValue as exc:
        raise BatchSyntaxError(line=number, reason=_reason(exc)) from None
    if not handle:
        raise BatchSyntaxError(line=number, reason="AUTHENTICATE names no handle")
    if not credential:
        what = "a secret" if kind == "SECKEY" else "a private key file"
        raise BatchSyntaxError(line=number, reason=f"{kind} must be followed by {what} "
                                                   "on the next line")
    if kind == "SECKEY":
        return AuthenticateOp(number, kind, index, handle, secret=credential.encode())
    key_file, sep, passphrase = credential.partition("|")
    return AuthenticateOp(number, kind, index, handle, key_file=key_file.strip(),
                          passphrase=passphrase.strip() if sep else None)


def _remove(arg: str, number: int) -> RemoveOp:
    indexes_text, sep, handle = arg.partition(":")
    if not sep or not handle.strip():
        raise BatchSyntaxError(line=number, reason="REMOVE needs indexes:handle "
                                                   "(e.g. 1,2:88.1/abc)")
    try:
        indexes = tuple(_uint(i, "index") for i in indexes_text.split(","))
    except InvalidValue as exc:
        raise BatchSyntaxError(line=number, reason=_reason(exc)) from None
    return RemoveOp(number, handle.strip(), indexes)


def _home(arg: str, home: bool, number: int, lines: _Lines) -> list[BatchItem]:
    match = _SERVER_RE.match(arg)
    if match is None:
        lines.skip_block()
        return [Invalid(number, "HOME/UNHOME needs address:port:protocol "
                                "(e.g. 127.0.0.1:2641:TCP)")]
    host = match["v6"] or match["host"]
    port = int(match["port"])
    protocol = match["proto"].upper()
    items: list[BatchItem] = []
    for line_number, text in lines.block():
        if text.upper().startswith("0.NA/") and len(text) > 5:
            items.append(HomeOp(line_number, home, host, port, protocol, text))
        else:
            items.append(Invalid(line_number, f"{text!r} is not a prefix handle (0.NA/...)"))
    if not items:
        items.append(Invalid(number, "no prefix handles follow"))
    return items


def _record(command: str, arg: str, number: int, lines: _Lines,
            read_file: ReadFile | None) -> list[BatchItem]:
    if command in _VALUE_OPS:
        if not arg:
            lines.skip_block()
            raise BatchSyntaxError(line=number, reason=f"{command} names no handle")
        return [ValuesOp(number, command, arg, _values_block(lines, read_file))]
    if command == "DELETE":
        if not arg:
            raise BatchSyntaxError(line=number, reason="DELETE names no handle")
        return [DeleteOp(number, arg)]
    if command == "REMOVE":
        return [_remove(arg, number)]
    if command in ("HOME", "UNHOME"):
        return _home(arg, command == "HOME", number, lines)
    if command == "AUTHENTICATE":
        return [_authenticate(arg, number, lines)]
    if command == "SESSIONSETUP":
        lines.skip_block()
        return [SessionSetupOp(number)]
    raise BatchSyntaxError(line=number, reason=f"unknown operation {command!r}")


def parse_batch(text: str, *, read_file: ReadFile | None = None) -> list[BatchItem]:
    """Parse a whole batch file into items in file order.

    Records that cannot be parsed become :class:`Invalid` items; parsing goes on with the
    next record.

    :param read_file: reads ``FILE`` value data; defaults to the file system.
    """
    lines = _Lines(text)
    items: list[BatchItem] = []
    while (raw := lines.next()) is not None:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        number = lines.number
        command, *rest = line.split(None, 1)
        arg = rest[0].strip() if rest else ""
        try:
            items.extend(_record(command.upper(), arg, number, lines, read_file))
        except BatchSyntaxError as exc:
            items.append(Invalid(exc.line, exc.reason))
    return items
