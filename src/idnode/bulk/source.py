"""Input rows with the byte offset after each one, so a checkpoint can seek back to it.

CSV: a header row of English type names (idType) and one ``handle`` column; cells may be
quoted and span lines (RFC 4180). JSON Lines: ``{"handle": …, "value": [{index, type,
data}…]}`` (the SNMS registration form) or ``{"handle": …, <type>: <value>, …}``.
Row numbers are positions in the file as a person counts them: the CSV header is row 1,
a JSON line's row number is its line number.

Reading is in two steps: :meth:`Source.records` cuts the file into raw records (one per row;
blank lines are left out), and a :class:`Parser` makes each a :class:`Row`. The import can
parse and check a batch's records in another process (:mod:`.worker`): raw records are
cheap to send. The import takes both a batch at a time (:meth:`Source.batches`,
:meth:`Parser.rows`): plain CSV lines, the usual ones, are then cut and parsed with a few
calls over the whole batch rather than row by row (in about two thirds of the time,
measured).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate, islice, repeat
from pathlib import Path
from typing import BinaryIO, NamedTuple, cast

from idnode.bulk.errors import ImportRefused
from idnode.bulk.limits import MAX_ROW_BYTES, MAX_VALUES_PER_ROW
from idnode.templates import Template

__all__ = ["FORMATS", "Parser", "RawRecord", "Row", "Rows", "Source", "guess_format",
           "open_source"]

FORMATS = ("csv", "jsonl")
_HANDLE = "handle"
#: bytes of lines read at a time for :meth:`Source.batches`
_BLOCK = 1 << 17
#: records parsed together again when a batch has a row that is not plain
_PIECE = 64

#: (row number, end offset, the record's bytes or None when longer than MAX_ROW_BYTES)
RawRecord = tuple[int, int, bytes | None]


class Row(NamedTuple):
    """One input row; ``problem`` set means it cannot be validated at all. (A named tuple:
    one is made per row, and a tuple is made in a third of a frozen dataclass's time.)"""

    number: int
    end: int
    handle: str
    data: object
    problem: str | None = None


def guess_format(path: Path) -> str:
    return "csv" if path.suffix.lower() in (".csv", ".txt") else "jsonl"


@dataclass(frozen=True, slots=True)
class Parser:
    """Makes rows of raw records: the format and, for CSV, the header's item types."""

    format: str
    columns: tuple[str, ...] = ()

    def row(self, record: RawRecord) -> Row:
        number, end, raw = record
        if raw is None:
            return Row(number, end, "", None, f"row longer than {MAX_ROW_BYTES} bytes")
        if self.format == "csv":
            return self._csv_row(number, end, raw)
        return _json_row(number, end, raw)

    def rows(self, records: list[RawRecord]) -> list[Row]:
        """``[self.row(record) for record in records]``, faster."""
        if self.format != "csv" or not records:
            return [self.row(record) for record in records]
        rows = self._plain_rows(records)
        if rows is not None:
            return rows
        rows = []  # a row that is not plain: the others still go in pieces
        for start in range(0, len(records), _PIECE):
            piece = records[start:start + _PIECE]
            rows += self._plain_rows(piece) or [self.row(record) for record in piece]
        return rows

    def _plain_rows(self, records: list[RawRecord]) -> list[Row] | None:
        """The rows of ``records`` when each is one plain line (as :meth:`_csv_row` splits
        at the commas, ending in a line break) of UTF-8 with the header's count of cells;
        else None. Calls over the whole batch, none per row in Python."""
        numbers, ends, raws = zip(*records, strict=True)
        if None in raws:
            return None
        lines = cast(tuple[bytes, ...], raws)
        # joined at NUL, which no plain line has: each line break must then be at the end of
        # a record, before the NUL that follows it (or, the last, at the very end)
        blob, count = b"\0".join(lines), len(lines) - 1
        if b'"' in blob or not lines[-1].endswith(b"\n") or blob.count(b"\0") != count or \
                blob.count(b"\n\0") != count or blob.count(b"\n") != count + 1:
            return None
        if b"\r" in blob:
            if blob.count(b"\r") != blob.count(b"\r\n"):
                return None
            blob = blob.replace(b"\r\n", b"\n")  # what rstrip("\r\n") takes off
        try:
            texts = blob[:-1].decode("utf-8").split("\n\0")
        except UnicodeDecodeError:
            return None  # (each record decodes alone exactly when all do together)
        cells = list(map(str.split, texts, repeat(",")))
        del texts  # each freed once done with (measured: a little faster)
        if set(map(len, cells)) != {len(self.columns)}:
            return None
        data = list(map(dict, map(zip, repeat(self.columns), cells)))
        del cells
        handles = map(str.strip, map(dict.pop, data, repeat(_HANDLE)))
        # tuple.__new__ of a named tuple's class: what Row._make does, with no call in Python
        values = zip(numbers, ends, handles, data, repeat(None))
        return cast(list[Row], list(map(tuple.__new__, repeat(Row), values)))

    def _csv_row(self, number: int, end: int, raw: bytes) -> Row:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return Row(number, end, "", None, "not UTF-8 text")
        columns = self.columns
        # no quotes and no line break but the last: csv.reader would split at the commas
        plain = text.rstrip("\r\n") if '"' not in text else None
        if plain is not None and "\r" not in plain and "\n" not in plain and \
                "\0" not in plain:
            cells = plain.split(",")
        else:
            try:
                cells = next(csv.reader([text]))
            except csv.Error as exc:  # a line break alone inside an unquoted cell
                return Row(number, end, "", None, f"not CSV: {exc}")
        if len(cells) != len(columns):
            return Row(number, end, "", None,
                       f"{len(cells)} cells where the header has {len(columns)}")
        data = dict(zip(columns, cells))  # noqa: B905 - the lengths are equal (checked)
        return Row(number, end, data.pop(_HANDLE).strip(), data)


class Rows:
    """What :meth:`Source.rows` gives: the rows in order, parsed as they are taken. The
    import may take the raw :attr:`records` instead, or lists of them from :attr:`batches`,
    and parse them elsewhere with :attr:`parser`; :attr:`remaining` is the bytes left to
    read when it started. Only one of the three is to be taken from."""

    def __init__(self, records: Iterator[RawRecord], parser: Parser, remaining: int,
                 batches: Callable[[int], Iterator[list[RawRecord]]]) -> None:
        self.records, self.parser, self.remaining = records, parser, remaining
        self.batches = batches

    def __iter__(self) -> Rows:
        return self

    def __next__(self) -> Row:
        return self.parser.row(next(self.records))


class Source:
    """Rows of ``path`` from byte ``offset`` on (the row after ``row``)."""

    def __init__(self, path: Path, fmt: str, template: Template, offset: int, row: int) -> None:
        if fmt not in FORMATS:
            raise ImportRefused(reason=f"unknown format {fmt!r} (csv or jsonl)")
        self.path, self.format = path, fmt
        self.size = path.stat().st_size
        self._file: BinaryIO = path.open("rb")
        self._columns: list[str] = []
        self._row = row
        if fmt == "csv":
            try:
                header_end = self._read_header(template)
            except BaseException:
                self._file.close()
                raise
            offset = max(offset, header_end)
            self._row = max(row, 1)
        self._file.seek(offset)
        self.offset = offset
        self.parser = Parser(fmt, tuple(self._columns))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_header(self, template: Template) -> int:
        raw = self._file.readline(MAX_ROW_BYTES + 1)
        text = raw.decode("utf-8-sig", "replace")
        columns = [c.strip() for c in next(csv.reader([text]), [])]
        known = {item.type.lower(): item.type for item in template.items}
        lowered = [c.lower() for c in columns]
        if lowered.count(_HANDLE) != 1:
            raise ImportRefused(reason=f"{self.path}: the header needs exactly one 'handle' column")
        unknown = [c for c in columns if c.lower() != _HANDLE and c.lower() not in known]
        if unknown:
            raise ImportRefused(reason=f"{self.path}: column {unknown[0]!r} is not an item of "
                                    f"template (元数据模板) {template.label()}")
        if len(set(lowered)) != len(lowered):
            raise ImportRefused(reason=f"{self.path}: a column is named twice")
        if len(columns) - 1 > MAX_VALUES_PER_ROW:
            raise ImportRefused(reason=f"{self.path}: {len(columns) - 1} columns, more than the "
                                    f"limit {MAX_VALUES_PER_ROW}")
        self._columns = [known.get(c.lower(), _HANDLE) for c in columns]
        return len(raw)

    def rows(self) -> Rows:
        return Rows(self.records(), self.parser, self.size - self.offset, self.batches)

    def records(self) -> Iterator[RawRecord]:
        """The raw record of each row, in order; blank lines (which make no row) left out."""
        return self._csv_records() if self.format == "csv" else self._jsonl_records()

    def batches(self, size: int) -> Iterator[list[RawRecord]]:
        """The records of :meth:`records` in lists of ``size`` (the last maybe fewer)."""
        records = self._csv_blocks(plain=True) if self.format == "csv" else \
            map(_one, self._jsonl_records())
        pending: list[RawRecord] = []
        for block in records:
            pending += block
            if len(pending) >= size:
                for start in range(0, len(pending) - size + 1, size):
                    yield pending[start:start + size]
                del pending[:len(pending) - len(pending) % size]
        if pending:
            yield pending

    def _csv_records(self) -> Iterator[RawRecord]:
        for block in self._csv_blocks(plain=False):
            yield from block

    def _csv_blocks(self, *, plain: bool) -> Iterator[list[RawRecord]]:
        """The records of the file's lines a block at a time; with ``plain``, a block of
        plain lines (the usual) is cut with a few calls over it, none per line."""
        cut = _Cut(self.offset, self._row)
        while lines := self._file.readlines(_BLOCK):
            records = _plain_records(lines, cut) if plain and not cut.size else None
            yield cut.lines(lines) if records is None else records
        yield cut.end()

    def _jsonl_records(self) -> Iterator[RawRecord]:
        pos, number = self.offset, self._row
        for line in self._file:
            pos += len(line)
            number += 1
            if len(line) > MAX_ROW_BYTES:
                yield number, pos, None
            elif line.strip():
                yield number, pos, line


def _one(record: RawRecord) -> list[RawRecord]:
    return [record]


class _Cut:
    """Cuts lines into CSV records. A record ends at a newline outside quotes: quotes are
    doubled inside fields, so parity works. ``pos`` and ``number`` are those of the last
    line taken; ``parts`` the lines of a record begun (those within MAX_ROW_BYTES)."""

    def __init__(self, pos: int, number: int) -> None:
        self.pos, self.number = pos, number
        self.parts: list[bytes] = []
        self.size = self.quotes = 0

    def lines(self, lines: Iterable[bytes]) -> list[RawRecord]:
        pos, number, parts, size, quotes = self.pos, self.number, self.parts, self.size, \
            self.quotes
        records: list[RawRecord] = []
        for line in lines:
            pos += len(line)
            quotes += line.count(b'"')
            size += len(line)
            if size <= MAX_ROW_BYTES:
                parts.append(line)
            if quotes % 2:
                continue
            number += 1
            if size > MAX_ROW_BYTES:
                records.append((number, pos, None))
            elif len(parts) == 1:
                if not _blank(line):
                    records.append((number, pos, line))
            elif not _blank(raw := b"".join(parts)):
                records.append((number, pos, raw))
            parts, size, quotes = [], 0, 0
        self.pos, self.number, self.parts, self.size, self.quotes = pos, number, parts, \
            size, quotes
        return records

    def end(self) -> list[RawRecord]:
        """The last record, when the file ends inside quotes."""
        if not (self.parts or self.size):
            return []
        self.number += 1
        last = b"".join(self.parts) if self.size <= MAX_ROW_BYTES else None
        self.parts, self.size, self.quotes = [], 0, 0
        return [(self.number, self.pos, last)] if last is None or not _blank(last) else []


def _plain_records(lines: list[bytes], cut: _Cut) -> list[RawRecord] | None:
    """The records of ``lines`` (none begun before them) when each is a record, as
    :meth:`_Cut.lines` would find: no quotes, none too long, none blank (every line's
    first byte printable ASCII: the least and the greatest line's); else None."""
    if b'"' in b"".join(lines) or max(map(len, lines)) > MAX_ROW_BYTES or \
            not b"!" <= min(lines)[:1] <= max(lines)[:1] <= b"~":
        return None
    first = cut.number + 1
    ends = islice(accumulate(map(len, lines), initial=cut.pos), 1, None)
    records = list(zip(range(first, first + len(lines)), ends, lines, strict=False))
    cut.number, cut.pos = records[-1][0], records[-1][1]
    return cast(list[RawRecord], records)


def _blank(raw: bytes) -> bool:
    """Whether a CSV record is only white space (as ``str.strip`` sees it): no row. Bytes
    that are not UTF-8 make a row (a bad one)."""
    stripped = raw.lstrip()
    if stripped and 0x20 < stripped[0] < 0x7F:  # ASCII, and not white space to str.strip
        return False
    try:
        return not raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return False


def _json_row(number: int, end: int, line: bytes) -> Row:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        return Row(number, end, "", None, f"not JSON: {exc}")
    if not isinstance(obj, dict):
        return Row(number, end, "", None, "not a JSON object")
    handle = obj.pop(_HANDLE, None)
    if not isinstance(handle, str):
        return Row(number, end, "", None, "no \"handle\" text")
    if "value" in obj:
        data = obj.pop("value")
        if obj:
            return Row(number, end, handle, None,
                       f"unexpected field {sorted(obj)[0]!r} beside \"value\"")
    else:
        data = obj
    if isinstance(data, list | dict) and len(data) > MAX_VALUES_PER_ROW:
        return Row(number, end, handle, None,
                   f"{len(data)} values, more than the limit {MAX_VALUES_PER_ROW}")
    return Row(number, end, handle.strip(), data)


def open_source(path: Path, fmt: str, template: Template, *, offset: int = 0,
                row: int = 0) -> Source:
    """Open ``path``; for CSV the header is checked against ``template`` first.

    :raises ImportRefused: a bad header or format.
    """
    return Source(path, fmt, template, offset, row)
