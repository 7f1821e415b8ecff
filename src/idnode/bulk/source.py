"""Input rows with the byte offset after each one, so a checkpoint can seek back to it.

CSV: a header row of English type names (idType) and one ``handle`` column; cells may be
quoted and span lines (RFC 4180). JSON Lines: ``{"handle": …, "value": [{index, type,
data}…]}`` (the SNMS registration form) or ``{"handle": …, <type>: <value>, …}``.
Row numbers are positions in the file as a person counts them: the CSV header is row 1,
a JSON line's row number is its line number.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from idnode.bulk.errors import ImportRefused
from idnode.bulk.limits import MAX_ROW_BYTES, MAX_VALUES_PER_ROW
from idnode.templates import Template

__all__ = ["FORMATS", "Row", "Source", "guess_format", "open_source"]

FORMATS = ("csv", "jsonl")
_HANDLE = "handle"


@dataclass(frozen=True, slots=True)
class Row:
    """One input row; ``problem`` set means it cannot be validated at all."""

    number: int
    end: int
    handle: str
    data: object
    problem: str | None = None


def guess_format(path: Path) -> str:
    return "csv" if path.suffix.lower() in (".csv", ".txt") else "jsonl"


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

    def rows(self) -> Iterator[Row]:
        return self._csv_rows() if self.format == "csv" else self._jsonl_rows()

    def _records(self) -> Iterator[tuple[int, bytes | None, int]]:
        """(first row number, record bytes or None when too long, end offset). A CSV record
        ends at a newline outside quotes: quotes are doubled inside fields, so parity works."""
        pos, number, parts, size, quotes = self.offset, self._row, [], 0, 0
        for line in self._file:
            pos += len(line)
            quotes += line.count(b'"')
            size += len(line)
            if size <= MAX_ROW_BYTES:
                parts.append(line)
            if quotes % 2:
                continue
            number += 1
            yield number, (b"".join(parts) if size <= MAX_ROW_BYTES else None), pos
            parts, size, quotes = [], 0, 0
        if parts or size:
            number += 1
            yield number, (b"".join(parts) if size <= MAX_ROW_BYTES else None), pos

    def _csv_rows(self) -> Iterator[Row]:
        columns = self._columns
        width = len(columns)
        for number, raw, end in self._records():
            if raw is None:
                yield Row(number, end, "", None, f"row longer than {MAX_ROW_BYTES} bytes")
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield Row(number, end, "", None, "not UTF-8 text")
                continue
            if not text.strip():
                continue
            cells = next(csv.reader([text]))
            if len(cells) != width:
                yield Row(number, end, "", None,
                          f"{len(cells)} cells where the header has {width}")
                continue
            data = dict(zip(columns, cells, strict=True))
            handle = data.pop(_HANDLE).strip()
            yield Row(number, end, handle, data)

    def _jsonl_rows(self) -> Iterator[Row]:
        pos, number = self.offset, self._row
        for line in self._file:
            pos += len(line)
            number += 1
            if len(line) > MAX_ROW_BYTES:
                yield Row(number, pos, "", None, f"row longer than {MAX_ROW_BYTES} bytes")
                continue
            if not line.strip():
                continue
            yield _json_row(number, pos, line)


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
