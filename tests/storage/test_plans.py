"""Runs planned whole before their transaction (``storage/plans.py``) write exactly what the
same creates write one by one: records, log, index, counts and digests, on every backend."""

from __future__ import annotations

import pytest

from idnode.errors import HandleExists, TooManyValues
from idnode.identifiers.value import HandleValue, encode_values
from idnode.storage import CreateHandle, DeleteHandle, Record, Store, open_store
from idnode.storage.digest import hash_and_bucket, hashes_and_buckets

from .conftest import Opener
from .helpers import check_digests, h, v


def _values(i: int) -> tuple[HandleValue, ...]:
    return (v(1, f"https://x/{i}"), v(2, f"sn-{i}", "EMAIL"), v(3, f"m-{i}", "MODEL"))


def _creates(n: int, start: int = 0) -> list[CreateHandle]:
    return [CreateHandle(h(f"88.1/item-{i}"), _values(i)) for i in range(start, start + n)]


def _records(n: int, start: int = 0) -> list[tuple[str, str, bytes]]:
    return [(f"88.1/item-{i}", f"88.1/item-{i}", encode_values(_values(i)))
            for i in range(start, start + n)]


def _state(store: Store) -> tuple[object, ...]:
    txns = [(t.op, t.key, t.handle, t.values) for t in store.txns_after(0, limit=10_000)]
    return (store.dump(limit=10_000), txns, store.bucket_digests(),
            store.count_handles("88.1"), store.search([("EMAIL", "sn-1*")], limit=100))


def _one_by_one(ops: list[CreateHandle]) -> tuple[object, ...]:
    """The state of a memory store given ``ops`` one at a time."""
    with open_store("memory:", index_types=["URL", "EMAIL"]) as other:
        for op in ops:
            other.create_handle(op.handle, op.values)
        return _state(other)


def test_a_planned_run_equals_the_creates_one_by_one(opener: Opener) -> None:
    store = opener(index_types=["URL", "EMAIL"])
    ops = _creates(300)
    prepared = store.prepare_creates(ops)
    plan = store.plan_run(ops, prepared)
    assert plan is not None
    results = store.apply(ops, prepared, plan)
    assert results is plan.results
    assert results == [Record(op.handle.text, op.handle.key, op.values) for op in ops]
    assert _state(store) == _one_by_one(ops)
    check_digests(store)


def test_records_planned_from_their_encoding_equal_the_creates(opener: Opener) -> None:
    store = opener(index_types=["URL", "EMAIL"])
    plan = store.plan_new(_records(300), {"URL", "EMAIL", "MODEL"})
    assert plan.results is None and len(plan.entries) == 300  # EMAIL and URL are indexed
    assert store.create_new(plan) == []
    assert _state(store) == _one_by_one(_creates(300))
    check_digests(store)


def test_index_entries_only_for_indexed_types(store: Store) -> None:
    assert store.plan_new(_records(3), {"EMAIL"}).entries == []  # URL, EMAIL not indexed
    assert store.create_new(store.plan_new(_records(3), {"EMAIL"})) == []
    assert store.search([("URL", "https://x/1")], limit=10) == []


def test_existing_handles_are_named_and_left_alone(store: Store) -> None:
    store.create_handle(h("88.1/item-3"), [v(1, "old")])
    store.create_handle(h("88.1/item-7"), [v(1, "old")])
    plan = store.plan_new(_records(10), {"URL", "EMAIL", "MODEL"})
    assert store.create_new(plan) == [3, 7]
    assert store.get_record("88.1/item-3").values == (v(1, "old"),)  # type: ignore[union-attr]
    assert store.get_record("88.1/item-4").values == _values(4)  # type: ignore[union-attr]
    assert store.count_handles("88.1") == 10
    creates = [t.key for t in store.txns_after(0)]
    assert creates[2:] == [f"88.1/item-{i}" for i in range(10) if i not in (3, 7)]
    check_digests(store)
    # everything exists now: nothing is written, every position named
    again = store.plan_new(_records(10), set())
    last = store.last_txn_id()
    assert store.create_new(again) == list(range(10))
    assert store.last_txn_id() == last and store.count_handles("88.1") == 10
    check_digests(store)


def test_apply_falls_back_when_a_planned_handle_exists(store: Store) -> None:
    ops = _creates(5)
    prepared = store.prepare_creates(ops)
    plan = store.plan_run(ops, prepared)
    assert plan is not None
    store.create_handle(h("88.1/item-2"), [v(1, "first")])  # after planning
    results = store.apply(ops, prepared, plan)
    assert results is not plan.results
    assert [type(r).__name__ for r in results] == ["Record"] * 2 + ["HandleExists"] + \
        ["Record"] * 2
    assert isinstance(results[2], HandleExists)
    assert store.get_record("88.1/item-2").values == (v(1, "first"),)  # type: ignore[union-attr]
    assert store.count_handles("88.1") == 5
    check_digests(store)


def test_what_cannot_be_planned(store: Store) -> None:
    twice = [*_creates(2), *_creates(1)]
    assert store.plan_run(twice, store.prepare_creates(twice)) is None
    bad = [*_creates(2), CreateHandle(h("88.1/zero"), (v(0),))]
    assert store.plan_run(bad, store.prepare_creates(bad)) is None
    one = _creates(1)
    assert store.plan_run(one, store.prepare_creates(one)) is None
    with pytest.raises(ValueError, match="twice"):
        store.plan_new([*_records(2), *_records(1)], set())
    with pytest.raises(ValueError, match="plan"):
        store.apply(_creates(3), None, store.plan_new(_records(3), set()))


def test_too_many_values_are_refused_when_planned(opener: Opener) -> None:
    store = opener(max_values=2)
    with pytest.raises(TooManyValues):
        store.plan_new(_records(2), set())


def test_a_planned_run_and_other_writes_in_one_transaction(store: Store) -> None:
    """Digest changes buffered after a planned run's in the same transaction are merged
    with it, the later change of a record winning: the aggregates and hashes stay exact."""
    plan = store.plan_new(_records(6), set())
    with store._write_lock, store._writing():
        assert store._insert_planned(plan) == set()
        store._finish_run_plan(plan)
        store._execute(DeleteHandle(h("88.1/item-1")))
        store._execute(CreateHandle(h("88.1/other"), (v(1, "o"),)))
    assert not store.exists("88.1/item-1") and store.exists("88.1/item-5")
    assert store.count_handles("88.1") == 6
    check_digests(store)


@pytest.mark.parametrize(("key", "text"), [("88.1/a", "88.1/a"), ("88.1/A", "88.1/a"),
                                           ("88.1/扳手", "88.1/扳手"), ("X/1", "x/1")])
def test_a_run_is_hashed_as_each_record(key: str, text: str) -> None:
    encoded = encode_values(_values(1))
    digest, bucket = hash_and_bucket(key, text, encoded)
    assert hashes_and_buckets([(key, text, encoded)] * 2) == [(bucket, key, digest)] * 2
