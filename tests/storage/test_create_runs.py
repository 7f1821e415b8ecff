"""Runs of plain creates (``storage/creates.py``) written without savepoints give exactly the
result of the same creates one by one: records, log, index, counts and digests."""

from __future__ import annotations

import pytest

from idnode.errors import HandleExists, InvalidValue, TooManyValues
from idnode.storage import CreateHandle, DeleteHandle, Store
from idnode.storage.creates import plain_create_runs
from idnode.storage.ops import WriteOp

from .conftest import Opener
from .helpers import check_digests, h, v


def _creates(n: int, prefix: str = "88.1") -> list[WriteOp]:
    return [CreateHandle(h(f"{prefix}/item-{i}"), (v(1, f"https://x/{i}"),
                                                   v(2, f"sn-{i}", "EMAIL")))
            for i in range(n)]


def _state(store: Store) -> tuple[object, ...]:
    txns = [(t.op, t.key, t.handle, t.values) for t in store.txns_after(0, limit=10_000)]
    return (store.dump(limit=10_000), txns, store.bucket_digests(),
            store.count_handles("88.1"), store.search([("EMAIL", "sn-1*")], limit=100))


def test_a_run_equals_the_same_creates_one_by_one(opener: Opener, store_url: str) -> None:
    bulk = opener()
    ops = _creates(300)
    results = bulk.apply(ops)
    assert all(r is not None and not isinstance(r, Exception) for r in results)
    state = _state(bulk)
    for op in ops:  # a fresh store, each create in a group of its own
        assert isinstance(op, CreateHandle)
        bulk.delete_handle(op.handle)
    for op in ops:
        assert isinstance(op, CreateHandle)
        bulk.create_handle(op.handle, op.values)
    again = _state(bulk)
    assert again[0] == state[0] and again[2:] == state[2:]
    # the log holds the creates in the same order, after the deletes
    assert [t[1] for t in again[1]][-300:] == [t[1] for t in state[1]][:300]
    check_digests(bulk)


def test_an_existing_handle_fails_alone(store: Store) -> None:
    store.create_handle(h("88.1/item-3"), [v(1, "old")])
    results = store.apply(_creates(6))
    assert [type(r).__name__ for r in results] == ["Record"] * 3 + ["HandleExists"] + \
        ["Record"] * 2
    assert isinstance(results[3], HandleExists)
    assert store.get_record("88.1/item-3").values == (v(1, "old"),)  # type: ignore[union-attr]
    assert store.count_handles("88.1") == 6
    check_digests(store)


def test_bad_values_fail_alone_and_write_nothing(store: Store) -> None:
    ops = _creates(4)
    ops[1] = CreateHandle(h("88.1/twice"), (v(1), v(1, "y")))
    ops[2] = CreateHandle(h("88.1/zero"), (v(0),))
    results = store.apply(ops)
    assert isinstance(results[1], InvalidValue) and "given twice" in str(results[1])
    assert isinstance(results[2], InvalidValue) and "index 0" in str(results[2])
    assert not store.exists("88.1/twice") and not store.exists("88.1/zero")
    assert [t.key for t in store.txns_after(0)] == ["88.1/item-0", "88.1/item-3"]
    check_digests(store)


def test_too_many_values_fail_alone(opener: Opener) -> None:
    store = opener(max_values=2)
    ops = _creates(3)
    ops[0] = CreateHandle(h("88.1/big"), (v(1), v(2), v(3)))
    results = store.apply(ops)
    assert isinstance(results[0], TooManyValues)
    assert store.count_handles("88.1") == 2


def test_the_same_handle_twice_in_one_group(store: Store) -> None:
    ops: list[WriteOp] = [*_creates(2), CreateHandle(h("88.1/item-0"), (v(1, "again"),))]
    results = store.apply(ops)
    assert isinstance(results[2], HandleExists)  # created by the first, earlier in the group
    assert store.get_record("88.1/item-0").values[0].data == b"https://x/0"  # type: ignore[union-attr]


def test_runs_between_other_operations_keep_their_order(store: Store) -> None:
    store.create_handle(h("88.1/gone"), [v(1)])
    ops: list[WriteOp] = [*_creates(3), DeleteHandle(h("88.1/gone")),
                          CreateHandle(h("88.1/gone"), (v(1, "back"),)), *_creates(5)[3:]]
    results = store.apply(ops)
    assert not any(isinstance(r, Exception) for r in results)
    keys = [t.key for t in store.txns_after(1)]
    assert keys == ["88.1/item-0", "88.1/item-1", "88.1/item-2", "88.1/gone", "88.1/gone",
                    "88.1/item-3", "88.1/item-4"]
    assert store.count_handles("88.1") == 6
    check_digests(store)


@pytest.mark.parametrize(("kinds", "spans"), [
    ("", []),
    ("c", []),
    ("cc", [(0, 2)]),
    ("ccdcc", [(0, 2), (3, 5)]),
    ("ccCcc", [(0, 2), (2, 5)]),  # C: the first handle again starts a run
    ("cdc", []),
    ("occc", [(1, 4)]),  # o: an overwriting create never joins a run
])
def test_runs_are_found(kinds: str, spans: list[tuple[int, int]]) -> None:
    ops: list[WriteOp] = []
    for n, kind in enumerate(kinds):
        if kind == "c":
            ops.append(CreateHandle(h(f"88.1/{n}"), (v(1),)))
        elif kind == "C":
            ops.append(CreateHandle(h("88.1/0"), (v(1),)))
        elif kind == "o":
            ops.append(CreateHandle(h(f"88.1/{n}"), (v(1),), overwrite=True))
        else:
            ops.append(DeleteHandle(h(f"88.1/{n}")))
    assert plain_create_runs(ops) == spans


def test_creates_worked_out_beforehand_write_the_same(opener: Opener) -> None:
    store = opener()
    ops = _creates(20)
    ops[4] = CreateHandle(h("88.1/twice"), (v(1), v(1, "y")))
    ops.insert(9, DeleteHandle(h("88.1/item-0")))
    prepared = store.prepare_creates(ops)
    assert prepared[9] is None and isinstance(prepared[4], InvalidValue)
    results = store.apply(ops, prepared)
    assert isinstance(results[4], InvalidValue) and results[9] is None
    assert store.count_handles("88.1") == 18  # 20 - the bad one - the deleted one
    assert [t.key for t in store.txns_after(0)][:3] == ["88.1/item-0", "88.1/item-1",
                                                        "88.1/item-2"]
    check_digests(store)
    with pytest.raises(ValueError, match="prepared"):
        store.apply(ops, prepared[:3])
