"""Bodies of the replication opcodes: OC 1000 (status, "get next txn id"), OC 1001
(retrieve transaction log) and OC 1002 (dump handles).

The RFCs name these opcodes but do not specify their bodies (``handle-protocol.md`` §12), and
CNRI's layouts are Java classes that are not documented, so idnode defines its own, in the
protocol's own field types (big-endian integers, length-prefixed UTF-8 strings, HandleValue
lists). ``u64`` is two ``int4`` words, high first. The layouts are in
``docs/operations.md`` ("Replication on the wire").

History is named by *epochs*: a promotion starts a new epoch at the next transaction id, so
two stores agree on a transaction id only if they agree on its epoch (like Raft's terms).
"""

from __future__ import annotations

import struct
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Self

from idnode.errors import ProtocolError, RegistryError
from idnode.identifiers.value import HandleValue
from idnode.protocol.constants import MAX_HANDLE_LENGTH
from idnode.protocol.wire import Parser, Writer

__all__ = [
    "DIGEST_BYTES",
    "DumpMode",
    "DumpRequest",
    "DumpResponse",
    "Epoch",
    "FetchedRecord",
    "LogEntry",
    "LogRequest",
    "LogResponse",
    "LogStatus",
    "ReplicaRole",
    "StatusRequest",
    "StatusResponse",
]

_FORMAT: Final = 1
_U64 = struct.Struct(">Q")
#: Length of a record hash and of a bucket digest.
DIGEST_BYTES: Final = 16
#: Entries, keys, buckets or epochs in one body, at most (bounds allocation on decode).
_MAX_ITEMS: Final = 1_000_000
# The smallest encoding of one HandleValue (a bound for the count check).
_MIN_VALUE = 4 + 4 + 4 + 1 + 1 + 4 + 4


class ReplicaRole(IntEnum):
    PRIMARY = 1
    MIRROR = 2


class LogStatus(IntEnum):
    #: entries follow (possibly none, after the wait)
    ENTRIES = 0
    #: the entries after ``after_id`` were pruned (retention): load a dump
    GAP = 1
    #: the asker's history is not a prefix of this one: keep up to ``common`` and repair
    DIVERGED = 2


class DumpMode(IntEnum):
    RECORDS = 0
    DIGESTS = 1
    HASHES = 2
    FETCH = 3


def _put_u64(writer: Writer, value: int) -> None:
    if not 0 <= value < 1 << 64:
        raise ProtocolError(reason=f"{value} is not an unsigned 64-bit number")
    writer.put_bytes(_U64.pack(value))


def _get_u64(parser: Parser) -> int:
    return int(_U64.unpack(parser.get_bytes(8))[0])


def _count(parser: Parser, item_size: int) -> int:
    return parser.get_count(item_size, _MAX_ITEMS)


def _get_text(parser: Parser) -> str:
    length = parser.get_uint32()
    if length > MAX_HANDLE_LENGTH * 4:
        raise parser.error(f"string of {length} bytes is too long")
    raw = parser.get_bytes(length)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise parser.error("string is not valid UTF-8") from None


def _get_values(parser: Parser, max_values: int) -> tuple[HandleValue, ...]:
    count = parser.get_uint32()
    if count > max_values:
        raise ProtocolError(reason=f"{parser.what}: {count} values exceed the limit of "
                                   f"{max_values}", response_code=202)
    if count * _MIN_VALUE > parser.remaining():
        raise parser.error(f"{count} values cannot fit in {parser.remaining()} bytes")
    return tuple(HandleValue.from_wire_parser(parser) for _ in range(count))


def _put_values(writer: Writer, values: Sequence[HandleValue]) -> None:
    writer.put_uint32(len(values))
    for value in values:
        value.write(writer)


def _get_digest(parser: Parser) -> bytes:
    return parser.get_bytes(DIGEST_BYTES)


def _put_digest(writer: Writer, digest: bytes) -> None:
    if len(digest) != DIGEST_BYTES:
        raise ProtocolError(reason=f"a digest is {DIGEST_BYTES} bytes, not {len(digest)}")
    writer.put_bytes(digest)


@dataclass(frozen=True, slots=True)
class Epoch:
    """Epoch ``number`` began at transaction ``first_id``."""

    number: int
    first_id: int


def _put_epochs(writer: Writer, epochs: Sequence[Epoch]) -> None:
    writer.put_uint32(len(epochs))
    for epoch in epochs:
        writer.put_uint32(epoch.number)
        _put_u64(writer, epoch.first_id)


def _get_epochs(parser: Parser) -> tuple[Epoch, ...]:
    return tuple(Epoch(parser.get_uint32(), _get_u64(parser))
                 for _ in range(_count(parser, 12)))


class _Body(ABC):
    """``from_wire``/``to_wire`` over the per-class ``_read``/``_write`` pair."""

    __slots__ = ()

    @classmethod
    def from_wire(cls, data: bytes, *, max_values: int = 2048) -> Self:
        parser = Parser(data, cls.__name__)
        try:
            body = cls._read(parser, max_values)
            parser.expect_end()
        except ProtocolError:
            raise
        except RegistryError as exc:  # a value constructor refused: still a bad body
            raise ProtocolError(exc.message, response_code=exc.response_code) from None
        return body

    @classmethod
    @abstractmethod
    def _read(cls, parser: Parser, max_values: int) -> Self:
        """Read the body after the format word (each class reads its own layout)."""

    def to_wire(self) -> bytes:
        writer = Writer()
        writer.put_uint32(_FORMAT)
        self._write(writer)
        return writer.getvalue()

    @abstractmethod
    def _write(self, writer: Writer) -> None:
        """Write the body after the format word (the mirror of :meth:`_read`)."""


def _check_format(parser: Parser) -> None:
    version = parser.get_uint32()
    if version != _FORMAT:
        raise parser.error(f"replication body format {version}; this idnode speaks "
                           f"{_FORMAT}")


# -- OC 1000 ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StatusRequest(_Body):
    """OC 1000 request: ``int4 format``; nothing else."""

    @classmethod
    def _read(cls, parser: Parser, max_values: int) -> Self:
        _check_format(parser)
        return cls()

    def _write(self, writer: Writer) -> None:
        pass


@dataclass(frozen=True, slots=True)
class StatusResponse(_Body):
    """OC 1000 answer: where this server's history stands.

    ``int4 format; u8 role; int4 server_id; u64 position; u64 oldest; u64 last_time_us;
    epochs; string following``. ``position`` is the newest transaction id (the "next txn id"
    minus one), ``oldest`` the oldest still in the log (0: none), ``last_time_us`` the time
    of the newest entry, ``following`` the address a mirror replicates from.
    """

    role: ReplicaRole
    server_id: int
    position: int
    oldest: int
    last_time_us: int
    epochs: tuple[Epoch, ...]
    following: str = ""

    @property
    def epoch(self) -> int:
        return self.epochs[-1].number if self.epochs else 0

    @classmethod
    def _read(cls, parser: Parser, max_values: int) -> Self:
        _check_format(parser)
        raw_role = parser.get_uint8()
        try:
            role = ReplicaRole(raw_role)
        except ValueError:
            raise parser.error(f"unknown replica role {raw_role}") from None
        return cls(role, parser.get_uint32(), _get_u64(parser), _get_u64(parser),
                   _get_u64(parser), _get_epochs(parser), _get_text(parser))

    def _write(self, writer: Writer) -> None:
        writer.put_uint8(int(self.role))
        writer.put_uint32(self.server_id)
        _put_u64(writer, self.position)
        _put_u64(writer, self.oldest)
        _put_u64(writer, self.last_time_us)
        _put_epochs(writer, self.epochs)
        writer.put_string(self.following)


# -- OC 1001 ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LogRequest(_Body):
    """OC 1001 request: ``int4 format; u64 after_id; int4 after_epoch; int4 max_entries;
    int4 max_bytes; int4 wait_ms``.

    ``after_id`` is what the asker has durably applied (it doubles as its acknowledgement
    for synchronous writes), ``after_epoch`` the epoch it holds that id under. With nothing
    newer the server holds the request up to ``wait_ms`` (a long poll).
    """

    after_id: int
    after_epoch: int
    max_entries: int = 1000
    max_bytes: int = 4 << 20
    wait_ms: int = 1000

    @classmethod
    def _read(cls, parser: Parser, max_values: int) -> Self:
        _check_format(parser)
        return cls(_get_u64(parser), parser.get_uint32(), parser.get_uint32(),
                   parser.get_uint32(), parser.get_uint32())

    def _write(self, writer: Writer) -> None:
        _put_u64(writer, self.after_id)
        writer.put_uint32(self.after_epoch)
        writer.put_uint32(self.max_entries)
        writer.put_uint32(self.max_bytes)
        writer.put_uint32(self.wait_ms)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One transaction: ``u64 id; u64 time_us; string op; string key; string handle;
    int4 n; n x HandleValue`` (the whole record after the write)."""

    txn_id: int
    time_us: int
    op: str
    key: str
    handle: str
    values: tuple[HandleValue, ...]


@dataclass(frozen=True, slots=True)
class LogResponse(_Body):
    """OC 1001 answer: ``int4 format; u8 status; u64 position; u64 mark; epochs; int4 n;
    n x entry``.

    ``mark`` is, for GAP, the oldest id still in the log and, for DIVERGED, the last id both
    histories share; 0 otherwise.
    """

    status: LogStatus
    position: int
    mark: int
    epochs: tuple[Epoch, ...]
    entries: tuple[LogEntry, ...] = ()

    @classmethod
    def _read(cls, parser: Parser, max_values: int) -> Self:
        _check_format(parser)
        raw = parser.get_uint8()
        try:
            status = LogStatus(raw)
        except ValueError:
            raise parser.error(f"unknown log status {raw}") from None
        position, mark, epochs = _get_u64(parser), _get_u64(parser), _get_epochs(parser)
        entries = tuple(
            LogEntry(_get_u64(parser), _get_u64(parser), _get_text(parser), _get_text(parser),
                     _get_text(parser), _get_values(parser, max_values))
            for _ in range(_count(parser, 36)))
        return cls(status, position, mark, epochs, entries)

    def _write(self, writer: Writer) -> None:
        writer.put_uint8(int(self.status))
        _put_u64(writer, self.position)
        _put_u64(writer, self.mark)
        _put_epochs(writer, self.epochs)
        writer.put_uint32(len(self.entries))
        for entry in self.entries:
            _put_u64(writer, entry.txn_id)
            _put_u64(writer, entry.time_us)
            writer.put_string(entry.op)
            writer.put_string(entry.key)
            writer.put_string(entry.handle)
            _put_values(writer, entry.values)


# -- OC 1002 ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DumpRequest(_Body):
    """OC 1002 request: ``int4 format; u8 mode; string after; int4 limit; int4 bucket;
    string array keys``.

    RECORDS: the next page of at most ``limit`` records with keys after ``after``.
    DIGESTS: every non-empty bucket's digest. HASHES: the record hashes of ``bucket``.
    FETCH: the records of ``keys``.
    """

    mode: DumpMode
    after: str = ""
    limit: int = 1000
    bucket: int = 0
    keys: tuple[str, ...] = ()

    @classmethod
    def _read(cls, parser: Parser, max_values: int) -> Self:
        _check_format(parser)
        raw = parser.get_uint8()
        try:
            mode = DumpMode(raw)
        except ValueError:
            raise parser.error(f"unknown dump mode {raw}") from None
        after, limit, bucket = _get_text(parser), parser.get_uint32(), parser.get_uint32()
        keys = tuple(_get_text(parser) for _ in range(_count(parser, 4)))
        return cls(mode, after, limit, bucket, keys)

    def _write(self, writer: Writer) -> None:
        writer.put_uint8(int(self.mode))
        writer.put_string(self.after)
        writer.put_uint32(self.limit)
        writer.put_uint32(self.bucket)
        writer.put_uint32(len(self.keys))
        for key in self.keys:
            writer.put_string(key)


@dataclass(frozen=True, slots=True)
class FetchedRecord:
    """A record in a dump page or fetch answer; ``handle`` None: no such record."""

    key: str
    handle: str | None
    values: tuple[HandleValue, ...] = ()


@dataclass(frozen=True, slots=True)
class DumpResponse(_Body):
    """OC 1002 answer: ``int4 format; u8 mode`` and then by mode:

    RECORDS: ``string array homed; int4 n; n x (string key; string handle; values);
    string next`` (``next`` empty: the dump is complete). FETCH: ``int4 n; n x (string key;
    u8 present; [string handle; values])``. DIGESTS: ``int4 n; n x (int4 bucket;
    16 bytes xor; u64 count)``. HASHES: ``int4 n; n x (string key; 16 bytes hash)``.
    """

    mode: DumpMode
    records: tuple[FetchedRecord, ...] = ()
    homed: tuple[str, ...] = ()
    next_after: str = ""
    digests: tuple[tuple[int, bytes, int], ...] = ()
    hashes: tuple[tuple[str, bytes], ...] = ()

    @classmethod
    def _read(cls, parser: Parser, max_values: int) -> Self:
        _check_format(parser)
        raw = parser.get_uint8()
        try:
            mode = DumpMode(raw)
        except ValueError:
            raise parser.error(f"unknown dump mode {raw}") from None
        if mode is DumpMode.RECORDS:
            homed = tuple(_get_text(parser) for _ in range(_count(parser, 4)))
            records = tuple(FetchedRecord(_get_text(parser), _get_text(parser),
                                          _get_values(parser, max_values))
                            for _ in range(_count(parser, 12)))
            return cls(mode, records, homed, _get_text(parser))
        if mode is DumpMode.FETCH:
            fetched = []
            for _ in range(_count(parser, 5)):
                key = _get_text(parser)
                if parser.get_uint8():
                    fetched.append(FetchedRecord(key, _get_text(parser),
                                                 _get_values(parser, max_values)))
                else:
                    fetched.append(FetchedRecord(key, None))
            return cls(mode, tuple(fetched))
        if mode is DumpMode.DIGESTS:
            digests = tuple((parser.get_uint32(), _get_digest(parser), _get_u64(parser))
                            for _ in range(_count(parser, 28)))
            return cls(mode, digests=digests)
        hashes = tuple((_get_text(parser), _get_digest(parser))
                       for _ in range(_count(parser, 20)))
        return cls(mode, hashes=hashes)

    def _write(self, writer: Writer) -> None:
        writer.put_uint8(int(self.mode))
        if self.mode is DumpMode.RECORDS:
            writer.put_uint32(len(self.homed))
            for prefix in self.homed:
                writer.put_string(prefix)
            writer.put_uint32(len(self.records))
            for record in self.records:
                writer.put_string(record.key)
                writer.put_string(record.handle or "")
                _put_values(writer, record.values)
            writer.put_string(self.next_after)
        elif self.mode is DumpMode.FETCH:
            writer.put_uint32(len(self.records))
            for record in self.records:
                writer.put_string(record.key)
                writer.put_uint8(0 if record.handle is None else 1)
                if record.handle is not None:
                    writer.put_string(record.handle)
                    _put_values(writer, record.values)
        elif self.mode is DumpMode.DIGESTS:
            writer.put_uint32(len(self.digests))
            for bucket, digest, count in self.digests:
                writer.put_uint32(bucket)
                _put_digest(writer, digest)
                _put_u64(writer, count)
        else:
            writer.put_uint32(len(self.hashes))
            for key, digest in self.hashes:
                writer.put_string(key)
                _put_digest(writer, digest)
