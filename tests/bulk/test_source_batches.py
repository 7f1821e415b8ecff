"""Source.batches and Parser.rows (the import's fast path) against the row-by-row reading:
the same records, in the same lists, and the same rows, whatever the input."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bulk.conftest import PREFIX, TEMPLATE
from idnode.bulk import source
from idnode.bulk.source import Parser, RawRecord, open_source
from idnode.templates import Template
from idnode.templates.codec import loads

HEADER = b"handle,productName,model,quantity,productionDate\n"


def _template() -> Template:
    return loads(json.dumps(TEMPLATE))


def reference_records(body: bytes, start: int, number: int, limit: int,
                      ) -> Iterator[RawRecord]:
    """The CSV records of ``body`` (which begins at byte ``start``, after row ``number``)
    exactly as they were cut line by line before batches: the reference."""
    pos, parts, size, quotes = start, [], 0, 0
    for line in _lf_lines(body):
        pos += len(line)
        quotes += line.count(b'"')
        size += len(line)
        if size <= limit:
            parts.append(line)
        if quotes % 2:
            continue
        number += 1
        if size > limit:
            yield number, pos, None
        elif not source._blank(raw := b"".join(parts)):
            yield number, pos, raw
        parts, size, quotes = [], 0, 0
    if parts or size:
        number += 1
        last = b"".join(parts) if size <= limit else None
        if last is None or not source._blank(last):
            yield number, pos, last


def _lf_lines(body: bytes) -> list[bytes]:
    """Lines as a binary file gives them: cut after each \\n only."""
    lines = [line + b"\n" for line in body.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    return [line for line in lines if line]


def _chunks(records: Iterator[RawRecord], size: int) -> list[list[RawRecord]]:
    return [chunk for chunk in iter(lambda: list(islice(records, size)), [])]


FRAGMENTS = [b"a", b"Z9", b",", b",,", b'"', b'""', b'"x,y"', b"\n", b"\r\n", b"\r", b" ",
             b"\t", b"\xe6\x89\xb3", b"\xff", b"\x00", f"{PREFIX}/x".encode(), b"\xe3\x80\x80",
             b"\xc2\x85", b"~", b"\x7f", b"\x0b"]
PLAIN_ROW = st.builds(lambda i, name: f"{PREFIX}/B{i},{name},JX-1,{i},2024-03-15\n".encode(),
                      st.integers(0, 10**6), st.sampled_from(["扳手", "w", " 扳 ", ""]))
CRLF_ROW = PLAIN_ROW.map(lambda line: line[:-1] + b"\r\n")
ODD_LINE = st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(b"".join)
BODIES = st.lists(st.one_of(PLAIN_ROW, PLAIN_ROW, CRLF_ROW, ODD_LINE), max_size=40).map(b"".join)


def _check(body: bytes, size: int, block: int, limit: int, resume: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            mock.patch.object(source, "_BLOCK", block), \
            mock.patch.object(source, "MAX_ROW_BYTES", limit):
        path = Path(tmp) / "rows.csv"
        path.write_bytes(HEADER + body)
        expected = list(reference_records(body, len(HEADER), 1, limit))
        offset, row = 0, 0
        if expected and resume:  # resume after one of the records, as a checkpoint would
            row, offset = expected[min(resume, len(expected)) - 1][:2]
            expected = expected[min(resume, len(expected)):]
        with open_source(path, "csv", _template(), offset=offset, row=row) as src:
            assert list(src.records()) == expected
        with open_source(path, "csv", _template(), offset=offset, row=row) as src:
            batches = list(src.batches(size))
            parser = src.parser
        assert batches == _chunks(iter(expected), size)
        for batch in batches:
            rows = parser.rows(batch)
            assert rows == [parser.row(record) for record in batch]
            assert all(type(r) is source.Row for r in rows)


@settings(max_examples=400, deadline=None)
@given(BODIES, st.integers(1, 9), st.sampled_from([1, 40, 200, 1 << 17]),
       st.sampled_from([50, 64, 1 << 16]), st.integers(0, 5))
@example(b"", 1, 1 << 17, 1 << 16, 0)
@example(b"\n\n \n\t\r\n", 2, 1, 64, 0)
@example(b'a,"b\nc",d\n\n"', 3, 40, 50, 0)
@example(f"{PREFIX}/1,a,b,c,d\n{PREFIX}/2,a,b,c,d".encode(), 5, 1 << 17, 1 << 16, 1)
def test_batches_and_rows_as_row_by_row(body: bytes, size: int, block: int, limit: int,
                                        resume: int) -> None:
    _check(body, size, block, limit, resume)


RECORD = st.tuples(st.integers(0, 99), st.integers(0, 999),
                   st.one_of(st.none(), PLAIN_ROW, CRLF_ROW, ODD_LINE, st.binary(max_size=12)))


@settings(max_examples=400, deadline=None)
@given(st.lists(RECORD, max_size=150),
       st.sampled_from([("handle", "productName", "model", "quantity", "productionDate"),
                        ("handle",), ("productName", "handle", "model")]))
def test_rows_of_any_records(records: list[RawRecord], columns: tuple[str, ...]) -> None:
    parser = Parser("csv", columns)
    assert parser.rows(records) == [parser.row(record) for record in records]


def test_plain_rows_take_the_fast_path() -> None:
    lines = [f"{PREFIX}/B{i}, 扳手 {i},JX-1,{i},2024-03-15\r\n".encode() for i in range(300)]
    records: list[RawRecord] = [(i + 2, 100 * i, line) for i, line in enumerate(lines)]
    parser = Parser("csv", ("handle", "productName", "model", "quantity", "productionDate"))
    assert parser._plain_rows(records) == [parser.row(record) for record in records]
    odd = [*records[:150], (152, 15_000, b"x,y\n"), *records[150:]]
    calls: list[RawRecord] = []
    row = Parser.row

    def counted(self: Parser, record: RawRecord) -> source.Row:
        calls.append(record)
        return row(self, record)

    with mock.patch.object(Parser, "row", counted):
        rows = parser.rows(odd)
    assert rows == [parser.row(record) for record in odd]
    assert rows[150].problem == "2 cells where the header has 5"
    assert len(calls) == source._PIECE  # the odd row's piece only, row by row


def test_jsonl_batches() -> None:
    lines = [json.dumps({"handle": f"{PREFIX}/J{i}", "productName": "x"}).encode() + b"\n"
             for i in range(7)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.jsonl"
        path.write_bytes(b"".join(lines[:3]) + b"\n  \n" + b"".join(lines[3:]))
        with open_source(path, "jsonl", _template()) as src:
            expected = _chunks(src.records(), 3)
        with open_source(path, "jsonl", _template()) as src:
            batches = list(src.batches(3))
            assert batches == expected
            assert [len(b) for b in batches] == [3, 3, 1]
            assert src.parser.rows(batches[0]) == [src.parser.row(r) for r in batches[0]]
