"""A lane's prepared creates are what the store works out from the creates alone: the wire
forms the compiled check makes (:meth:`Compiled.checked`) and the creates the lane makes
change nothing stored."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from bulk.conftest import PREFIX, TEMPLATE
from idnode.bulk.lane import Batch, JobOptions, Lane
from idnode.bulk.source import Parser
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.storage import CreateHandle, HomePrefix, Store, open_store
from idnode.storage.creates import Prepared
from idnode.templates import loads

ROWS = [
    {"handle": f"{PREFIX}/A", "productName": "扳手", "model": "JX-1", "quantity": 3,
     "productionDate": "2024-03-15"},
    {"handle": f"{PREFIX}/B", "productionDate": "2024-03-15", "productName": "b"},  # unordered
    {"handle": f"{PREFIX}/C", "value": [  # the SNMS form, out of index order
        {"index": 2002, "type": "quantity", "data": "12"},
        {"index": 2000, "data": {"format": "string", "value": "c"}}]},
    {"handle": f"{PREFIX}/D", "PRODUCTNAME": "d", "quantity": "0"},  # the full check's
    {"handle": f"{PREFIX}/E", "productName": "e", "quantity": "x"},  # bad
]


def _sealed(store: Store, options: JobOptions) -> Batch:
    lane = Lane(store, loads(json.dumps(TEMPLATE)), options)
    parser = Parser("jsonl")
    batch = lane.read(parser.row((n, 0, json.dumps(row, ensure_ascii=False).encode()))
                      for n, row in enumerate(ROWS, 1))
    lane.seal(batch)
    return batch


@pytest.mark.parametrize("indexed", [["URL"], ["URL", "productName"]])
def test_prepared_as_the_store_works_it_out(indexed: list[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The creates a lane makes (a dry run's, and an import's with unique items) and the
    records it plans (an import's) are what the store works out from the creates alone."""
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.5)  # both batches' stamp
    store = open_store("memory:", index_types=indexed)
    try:
        store.apply([HomePrefix(PREFIX)])
        admin = (300, "0.NA/88")
        batch = _sealed(store, JobOptions(admin=admin, dry_run=True))
        assert [row.number for row, *_ in batch.rows] == [1, 2, 3, 4]
        assert [row[5] is None for row in batch.rows] == [False, False, False, True]
        assert len(batch.bad) == 1 and batch.plan is None
        assert batch.ops == [CreateHandle(op.handle, op.values) for op in batch.ops]
        assert all(value.timestamp == 1_700_000_000 for op in batch.ops for value in op.values)
        prepared = store.prepare_creates(batch.ops)
        assert any(p.entries for p in prepared if p is not None) == (len(indexed) > 1)
        items = [p for p in prepared if isinstance(p, Prepared)]
        assert len(items) == 4
        for item in items:
            assert (item.digest, item.bucket) == _digests(item.key, item.text, item.encoded)

        planned = _sealed(store, JobOptions(admin=admin))
        plan = planned.plan
        assert plan is not None and not planned.ops and len(planned.bad) == 1
        assert planned.owners == [row for row, *_ in planned.rows]
        assert plan.rows == [(item.key, item.text, item.encoded) for item in items]
        assert plan.hashes == [(item.bucket, item.key, item.digest) for item in items]
        assert plan.entries == [(item.key, item.entries) for item in items if item.entries]
        assert plan.counts == [(PREFIX, 4)]
    finally:
        store.close()


def _digests(key: str, text: str, encoded: bytes) -> tuple[bytes, int]:
    """The record hash and bucket as :mod:`idnode.storage.digest` defines them."""
    fields = b"".join(len(part).to_bytes(4, "big") + part
                      for part in (key.encode(), text.encode(), encoded))
    of_key = hashlib.blake2b(key.encode(), digest_size=16).digest()
    return hashlib.blake2b(fields, digest_size=16).digest(), int.from_bytes(of_key[:2]) >> 4


def test_given_encoding_ignored_for_values_out_of_order() -> None:
    """The store sorts such values itself: an encoding made in the given order is not
    theirs."""
    store = open_store("memory:")
    try:
        values = (HandleValue(2001, "b", b"2"), HandleValue(2000, "a", b"1"))
        ops = [CreateHandle(Handle(f"{PREFIX}/X", f"{PREFIX}/X"), values)]
        assert store.prepare_creates(ops, [b"not these values"]) == store.prepare_creates(ops)
    finally:
        store.close()
