"""The storage conformance suite: every rule of the Store API, run against every backend."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from idnode.errors import (
    HandleExists,
    HandleNotFound,
    InvalidHandle,
    InvalidValue,
    StorageError,
    TooManyValues,
    ValueExists,
    ValuesNotFound,
)
from idnode.identifiers.value import TTL_ABSOLUTE, HandleValue, Reference
from idnode.storage import (
    AddValues,
    CreateHandle,
    DeleteHandle,
    HomePrefix,
    ModifyValues,
    Record,
    RemoveValues,
    Store,
    UnhomePrefix,
)

from .conftest import Opener
from .helpers import h, v

# -- create / get ----------------------------------------------------------------------


def test_create_and_get_round_trip(store: Store) -> None:
    odd = HandleValue(7, "HS_ADMIN", bytes(range(256)), ttl_type=TTL_ABSOLUTE, ttl=12345,
                      timestamp=1_700_000_000, permissions=0x0C,
                      references=(Reference("0.NA/88.1", 300), Reference("88.1/x", 2)))
    record = store.create_handle(h("88.1/abc"), [v(2, "b"), odd, v(1, "a")])
    assert record == Record("88.1/abc", "88.1/abc", (v(1, "a"), v(2, "b"), odd))
    assert store.get_record("88.1/abc") == record
    assert store.exists("88.1/abc")
    assert store.get_record("88.1/abd") is None
    assert not store.exists("88.1/abd")


def test_create_with_no_values(store: Store) -> None:
    assert store.create_handle(h("88.1/empty"), []).values == ()
    assert store.get_record("88.1/empty") == Record("88.1/empty", "88.1/empty", ())
    assert store.exists("88.1/empty")


def test_create_existing_fails(store: Store) -> None:
    store.create_handle(h("88.1/abc"), [v(1)])
    with pytest.raises(HandleExists, match=r"88\.1/abc"):
        store.create_handle(h("88.1/abc"), [v(2)])
    assert store.get_record("88.1/abc") == Record("88.1/abc", "88.1/abc", (v(1),))


def test_create_overwrite_replaces_the_whole_record(store: Store) -> None:
    store.create_handle(h("88.1/abc"), [v(1, "a"), v(2, "b"), v(3, "c")])
    record = store.create_handle(h("88.1/abc"), [v(2, "new"), v(9)], overwrite=True)
    assert record.values == (v(2, "new"), v(9))
    assert store.get_record("88.1/abc") == record
    # overwrite of a missing handle simply creates it
    assert store.create_handle(h("88.1/fresh"), [v(1)], overwrite=True).values == (v(1),)


def test_overwrite_takes_the_new_prefix_spelling(store: Store) -> None:
    store.create_handle(h("88.abc/x"), [v(1)])
    record = store.create_handle(h("88.ABC/x"), [v(1)], overwrite=True)
    assert record.handle == "88.ABC/x"
    assert store.list_handles("88.abc") == ["88.ABC/x"]


# -- delete ----------------------------------------------------------------------------


def test_delete(store: Store) -> None:
    store.create_handle(h("88.1/abc"), [v(1), v(2)])
    store.delete_handle(h("88.1/abc"))
    assert store.get_record("88.1/abc") is None
    assert not store.exists("88.1/abc")
    with pytest.raises(HandleNotFound, match=r"88\.1/abc"):
        store.delete_handle(h("88.1/abc"))
    # no value survives into a re-created record
    assert store.create_handle(h("88.1/abc"), [v(5)]).values == (v(5),)
    assert store.get_record("88.1/abc") == Record("88.1/abc", "88.1/abc", (v(5),))


# -- add / modify / remove -------------------------------------------------------------


def test_add_values(store: Store) -> None:
    with pytest.raises(HandleNotFound):
        store.add_values(h("88.1/abc"), [v(1)])
    store.create_handle(h("88.1/abc"), [v(1, "a"), v(3, "c")])
    record = store.add_values(h("88.1/abc"), [v(2, "b"), v(4, "d")])
    assert record.values == (v(1, "a"), v(2, "b"), v(3, "c"), v(4, "d"))
    assert store.get_record("88.1/abc") == record


def test_add_existing_index_fails_and_names_it(store: Store) -> None:
    store.create_handle(h("88.1/abc"), [v(1, "a"), v(3, "c")])
    with pytest.raises(ValueExists, match=r"\b3\b") as info:
        store.add_values(h("88.1/abc"), [v(2), v(3, "other")])
    assert info.value.response_code == 201
    assert store.get_record("88.1/abc") == Record("88.1/abc", "88.1/abc", (v(1, "a"), v(3, "c")))


def test_add_overwrite_replaces(store: Store) -> None:
    store.create_handle(h("88.1/abc"), [v(1, "a"), v(3, "c")])
    record = store.add_values(h("88.1/abc"), [v(3, "C"), v(5, "e")], overwrite=True)
    assert record.values == (v(1, "a"), v(3, "C"), v(5, "e"))
    assert store.get_record("88.1/abc") == record


def test_modify_values(store: Store) -> None:
    with pytest.raises(HandleNotFound):
        store.modify_values(h("88.1/abc"), [v(1)])
    store.create_handle(h("88.1/abc"), [v(1, "a"), v(2, "b")])
    record = store.modify_values(h("88.1/abc"), [v(2, "B", "EMAIL")])
    assert record.values == (v(1, "a"), v(2, "B", "EMAIL"))
    assert store.get_record("88.1/abc") == record


def test_modify_missing_index_fails_and_names_them(store: Store) -> None:
    store.create_handle(h("88.1/abc"), [v(1, "a")])
    with pytest.raises(ValuesNotFound, match=r"4, 7") as info:
        store.modify_values(h("88.1/abc"), [v(1, "z"), v(7), v(4)])
    assert info.value.response_code == 200
    assert store.get_record("88.1/abc") == Record("88.1/abc", "88.1/abc", (v(1, "a"),))


def test_remove_values(store: Store) -> None:
    with pytest.raises(HandleNotFound):
        store.remove_values(h("88.1/abc"), [1])
    store.create_handle(h("88.1/abc"), [v(1), v(2), v(3)])
    with pytest.raises(ValuesNotFound, match=r"\b9\b"):
        store.remove_values(h("88.1/abc"), [1, 9])
    assert len(store.get_record("88.1/abc").values) == 3  # type: ignore[union-attr]
    assert store.remove_values(h("88.1/abc"), [3, 1]).values == (v(2),)
    assert store.remove_values(h("88.1/abc"), [2]).values == ()
    assert store.get_record("88.1/abc") == Record("88.1/abc", "88.1/abc", ())


@pytest.mark.parametrize("op", [
    CreateHandle(h("88.1/new"), (v(1), v(1, "again"))),
    AddValues(h("88.1/abc"), (v(5), v(5))),
    ModifyValues(h("88.1/abc"), (v(1, "q"), v(1, "r"))),
    RemoveValues(h("88.1/abc"), (1, 1)),
])
def test_duplicate_indexes_in_one_op_are_invalid(store: Store, op: object) -> None:
    store.create_handle(h("88.1/abc"), [v(1)])
    [result] = store.apply([op])  # type: ignore[list-item]
    assert isinstance(result, InvalidValue)
    assert not isinstance(result, TooManyValues)
    assert store.get_record("88.1/abc") == Record("88.1/abc", "88.1/abc", (v(1),))
    assert not store.exists("88.1/new")


def test_index_zero_is_invalid(store: Store) -> None:
    with pytest.raises(InvalidValue, match="index 0"):
        store.create_handle(h("88.1/abc"), [v(1), v(0)])
    store.create_handle(h("88.1/abc"), [v(1)])
    with pytest.raises(InvalidValue, match="index 0"):
        store.add_values(h("88.1/abc"), [v(0)])
    assert store.last_txn_id() == 1


def test_too_many_values(opener: Opener) -> None:
    store = opener(max_values=4)
    with pytest.raises(TooManyValues, match="5"):
        store.create_handle(h("88.1/abc"), [v(i) for i in range(1, 6)])
    assert not store.exists("88.1/abc")
    store.create_handle(h("88.1/abc"), [v(i) for i in range(1, 4)])
    with pytest.raises(TooManyValues):
        store.add_values(h("88.1/abc"), [v(4), v(5)])
    assert store.add_values(h("88.1/abc"), [v(4)]).indexes() == [1, 2, 3, 4]  # exactly max
    # replacing values does not grow the record
    assert store.add_values(h("88.1/abc"), [v(4, "new")], overwrite=True).indexes() == \
        [1, 2, 3, 4]


# -- case rules ------------------------------------------------------------------------


def test_prefix_is_case_insensitive_suffix_is_not(store: Store) -> None:
    store.create_handle(h("88.abc/Suffix"), [v(1)])
    assert store.get_record(h("88.ABC/Suffix").key) is not None
    assert store.get_record(h("88.aBc/Suffix").key).handle == "88.abc/Suffix"  # type: ignore[union-attr]
    assert store.get_record(h("88.abc/suffix").key) is None
    with pytest.raises(HandleExists):
        store.create_handle(h("88.ABC/Suffix"), [v(1)])
    store.create_handle(h("88.abc/SUFFIX"), [v(2)])
    assert store.list_handles("88.ABC") == ["88.abc/SUFFIX", "88.abc/Suffix"]
    store.add_values(h("88.Abc/Suffix"), [v(2)])  # any prefix spelling reaches the record
    assert store.get_record(h("88.abc/Suffix").key).indexes() == [1, 2]  # type: ignore[union-attr]


def test_prefix_handles_are_case_insensitive_throughout(store: Store) -> None:
    store.create_handle(h("0.na/88.abc"), [v(1)])
    assert store.get_record(h("0.NA/88.ABC").key) is not None
    with pytest.raises(HandleExists):
        store.create_handle(h("0.NA/88.Abc"), [v(1)])
    assert store.list_handles("0.na") == ["0.na/88.abc"]


# -- listing and dumping ---------------------------------------------------------------


def test_list_handles_by_prefix_with_keyset_paging(store: Store) -> None:
    names = [f"88.1/h{i:02d}" for i in range(10)]
    neighbours = ["88.10/x", "88.1.2/x", "88.0/x", "88.2/x", "0.NA/88.1", "88/x"]
    store.apply([CreateHandle(h(text), (v(1),)) for text in names + neighbours])
    assert store.list_handles("88.1") == names
    pages: list[list[str]] = []
    after = ""
    while page := store.list_handles("88.1", after=after, limit=3):
        pages.append(page)
        after = page[-1]
    assert pages == [names[0:3], names[3:6], names[6:9], names[9:]]
    assert store.list_handles("0.NA/88.1") == names  # the prefix handle form is accepted
    assert store.list_handles("88.10") == ["88.10/x"]
    assert store.list_handles("88.1.2") == ["88.1.2/x"]
    assert store.list_handles("88.3") == []
    assert store.list_handles("88.1", after="88.1/zzz") == []
    assert store.list_handles("88.1", after="0") == names  # an `after` below the range
    assert store.list_handles("88.1", limit=0) == []


def test_list_handles_orders_by_key_and_matches_prefix_case_insensitively(
        store: Store) -> None:
    # keys compare as UTF-8 bytes (= code points): B < a < b < ~ < é < 中
    texts = ["88.Ab/b", "88.aB/a", "88.AB/B", "88.ab/é", "88.ab/中", "88.ab/~"]
    store.apply([CreateHandle(h(t), (v(1),)) for t in texts])
    expected = ["88.AB/B", "88.aB/a", "88.Ab/b", "88.ab/~", "88.ab/é", "88.ab/中"]
    assert store.list_handles("88.ab") == expected
    assert store.list_handles("88.AB", after=expected[2], limit=2) == expected[3:5]
    assert store.list_handles("88.aB", after=h(expected[2]).key, limit=2) == expected[3:5]


def test_list_handles_rejects_non_prefixes(store: Store) -> None:
    for bad in ("", "88.1/x", "0.NA/"):
        with pytest.raises(InvalidHandle):
            store.list_handles(bad)


def test_dump_pages_over_all_records(store: Store) -> None:
    texts = [f"88.{p}/h{i}" for p in (1, 2, 3) for i in range(4)] + ["0.NA/88.1"]
    store.apply([CreateHandle(h(t), (v(1, t), v(2))) for t in texts])
    store.create_handle(h("88.9/empty"), [])
    everything: list[Record] = []
    after = ""
    while page := store.dump(after=after, limit=5):
        assert len(page) <= 5
        everything.extend(page)
        after = page[-1].key
    assert [r.key for r in everything] == sorted(h(t).key for t in [*texts, "88.9/empty"])
    by_key = {r.key: r for r in everything}
    assert by_key["88.2/h3"] == Record("88.2/h3", "88.2/h3", (v(1, "88.2/h3"), v(2)))
    assert by_key["88.9/empty"].values == ()
    assert store.dump(limit=0) == []
    assert store.dump(after="zzz") == []


# -- homing ----------------------------------------------------------------------------


def test_homing(store: Store) -> None:
    assert store.homed_prefixes() == []
    assert not store.is_homed("88.abc")
    store.home_prefix("88.abc")
    store.home_prefix("0.NA/88.Def")
    store.home_prefix("88.ABC")  # idempotent
    assert store.homed_prefixes() == ["88.ABC", "88.DEF"]
    assert store.is_homed("88.Abc")
    assert store.is_homed("0.na/88.def")
    assert not store.is_homed("88.ab")
    store.unhome_prefix("0.na/88.abc")
    assert store.homed_prefixes() == ["88.DEF"]
    with pytest.raises(HandleNotFound, match=r"88\.ABC"):
        store.unhome_prefix("88.abc")
    with pytest.raises(InvalidHandle):
        store.home_prefix("88.1/x")
    with pytest.raises(InvalidHandle):
        store.home_prefix("")


# -- transaction log -------------------------------------------------------------------


def test_every_successful_write_logs_one_txn(store: Store) -> None:
    assert store.last_txn_id() == 0
    assert store.txns_after(0) == []
    handle = h("88.abc/X")
    store.create_handle(handle, [v(1), v(2)])
    store.add_values(handle, [v(3)])
    store.modify_values(handle, [v(1, "m")])
    store.remove_values(handle, [2])
    store.delete_handle(handle)
    store.home_prefix("0.na/88.abc")
    store.unhome_prefix("88.ABC")
    # failures leave no trace
    for failing in (lambda: store.delete_handle(handle),
                    lambda: store.add_values(handle, [v(1)]),
                    lambda: store.unhome_prefix("88.abc")):
        with pytest.raises((HandleNotFound, ValueExists)):
            failing()
    txns = store.txns_after(0)
    assert [(t.op, t.key, t.handle) for t in txns] == [
        ("create", "88.ABC/X", "88.abc/X"),
        ("add", "88.ABC/X", "88.abc/X"),
        ("modify", "88.ABC/X", "88.abc/X"),
        ("remove", "88.ABC/X", "88.abc/X"),
        ("delete", "88.ABC/X", "88.abc/X"),
        ("home", "88.ABC", "0.NA/88.ABC"),
        ("unhome", "88.ABC", "0.NA/88.ABC"),
    ]
    # each entry carries the whole record after the write
    assert [t.values for t in txns] == [
        (v(1), v(2)),
        (v(1), v(2), v(3)),
        (v(1, "m"), v(2), v(3)),
        (v(1, "m"), v(3)),
        (), (), (),
    ]
    ids = [t.txn_id for t in txns]
    assert ids == sorted(set(ids))
    assert store.last_txn_id() == ids[-1]
    assert all(isinstance(t.timestamp, float) and t.timestamp > 1e9 for t in txns)


def test_txns_after_pages(store: Store) -> None:
    store.apply([CreateHandle(h(f"88.1/{i}"), (v(1),)) for i in range(10)])
    seen = []
    last = 0
    while page := store.txns_after(last, limit=4):
        assert len(page) <= 4
        seen.extend(page)
        last = page[-1].txn_id
    assert [t.handle for t in seen] == [f"88.1/{i}" for i in range(10)]
    assert last == store.last_txn_id()
    assert store.txns_after(last) == []
    assert store.txns_after(seen[4].txn_id, limit=2) == seen[5:7]
    assert store.txns_after(0, limit=0) == []


# -- group commit ----------------------------------------------------------------------


def test_group_commit_isolates_a_failing_op(store: Store) -> None:
    store.create_handle(h("88.1/old"), [v(1)])
    start = store.last_txn_id()
    results = store.apply([
        CreateHandle(h("88.1/a"), (v(1, "a"),)),
        CreateHandle(h("88.1/old"), (v(9),)),          # exists
        AddValues(h("88.1/a"), (v(2, "b"),)),           # sees the first op
        RemoveValues(h("88.1/a"), (1, 7)),              # 7 missing
        DeleteHandle(h("88.1/nothing")),                # missing
        ModifyValues(h("88.1/old"), (v(1, "m"),)),
        HomePrefix("88.1"),
        UnhomePrefix("88.2"),                           # not homed
    ])
    assert results[0] == Record("88.1/a", "88.1/a", (v(1, "a"),))
    assert isinstance(results[1], HandleExists)
    assert results[2] == Record("88.1/a", "88.1/a", (v(1, "a"), v(2, "b")))
    assert isinstance(results[3], ValuesNotFound)
    assert isinstance(results[4], HandleNotFound)
    assert results[5] == Record("88.1/old", "88.1/old", (v(1, "m"),))
    assert results[6] is None
    assert isinstance(results[7], HandleNotFound)
    assert store.get_record("88.1/a") == results[2]
    assert store.get_record("88.1/old") == results[5]
    assert store.is_homed("88.1")
    txns = store.txns_after(start)
    assert [t.op for t in txns] == ["create", "add", "modify", "home"]
    assert store.apply([]) == []


def _fail_on(store: Store, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make journaling ``key`` fail *after* its data was written: only a savepoint (or the
    transaction) can then undo the write."""
    original = store._append_txn

    def append(timestamp: float, op: str, k: str, handle: str,
               values: tuple[HandleValue, ...]) -> None:
        original(timestamp, op, k, handle, values)
        if k == key:
            raise InvalidValue(reason="injected failure")

    monkeypatch.setattr(store, "_append_txn", append)


def test_a_failing_op_is_rolled_back_alone(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.create_handle(h("88.1/keep"), [v(1)])
    start = store.last_txn_id()
    _fail_on(store, "88.1/B", monkeypatch)
    # overwrite=True keeps the creates out of a savepoint-free run (test_runs_of_creates)
    results = store.apply([
        CreateHandle(h("88.1/A"), (v(1),), overwrite=True),
        CreateHandle(h("88.1/B"), (v(1),), overwrite=True),
        DeleteHandle(h("88.1/keep")),
        CreateHandle(h("88.1/C"), (v(1),), overwrite=True),
    ])
    assert [type(r).__name__ for r in results] == ["Record", "InvalidValue", "NoneType",
                                                   "Record"]
    assert store.exists("88.1/A") and store.exists("88.1/C")
    assert not store.exists("88.1/B")
    assert not store.exists("88.1/keep")
    assert [t.key for t in store.txns_after(start)] == ["88.1/A", "88.1/keep", "88.1/C"]
    # a lone op (no savepoint) is rolled back with its transaction
    [result] = store.apply([AddValues(h("88.1/A"), (v(2),)), ])
    assert isinstance(result, Record)
    store.create_handle(h("88.1/pre"), [v(1)])
    [result] = store.apply([CreateHandle(h("88.1/B"), (v(1),))])
    assert isinstance(result, InvalidValue)
    assert not store.exists("88.1/B")
    with pytest.raises(InvalidValue, match="injected"):
        store.create_handle(h("88.1/B"), [v(1)])
    assert store.list_handles("88.1") == ["88.1/A", "88.1/C", "88.1/pre"]


def test_a_storage_failure_aborts_the_whole_group(store: Store,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # A driver error becomes a StorageError; anything unexpected (the memory backend has
    # no driver) propagates as it is. Either way nothing of the group is committed.
    error: type[Exception] = store.driver_errors[0] if store.driver_errors else RuntimeError
    expected = StorageError if store.driver_errors else RuntimeError
    original = store._append_txn

    def append(timestamp: float, op: str, k: str, handle: str,
               values: tuple[HandleValue, ...]) -> None:
        original(timestamp, op, k, handle, values)
        if k == "88.1/b":
            raise error("disk on fire")

    original_many = store._append_txns

    def append_many(rows: Sequence[tuple[float, str, str, str, tuple[HandleValue, ...],
                                         bytes]]) -> None:
        original_many(rows)  # a run of creates (.creates) logs them all at once
        if any(row[2] == "88.1/b" for row in rows):
            raise error("disk on fire")

    monkeypatch.setattr(store, "_append_txn", append)
    monkeypatch.setattr(store, "_append_txns", append_many)
    for ops in ([CreateHandle(h("88.1/a"), (v(1),)), CreateHandle(h("88.1/b"), (v(1),))],
                [CreateHandle(h("88.1/b"), (v(1),))]):
        with pytest.raises(expected, match="disk on fire"):
            store.apply(ops)
        assert store.dump() == []
        assert store.last_txn_id() == 0
    monkeypatch.undo()
    store.create_handle(h("88.1/a"), [v(1)])  # the store is still usable
    assert [t.key for t in store.txns_after(0)] == ["88.1/a"]


# -- the objects -----------------------------------------------------------------------


def test_ops_and_records_are_frozen() -> None:
    op = CreateHandle(h("88.1/a"), [v(1)])  # type: ignore[arg-type]
    assert op.values == (v(1),)
    assert RemoveValues(h("88.1/a"), [1, 2]).indexes == (1, 2)  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.overwrite = True  # type: ignore[misc]
    assert hash(op) == hash(CreateHandle(h("88.1/a"), (v(1),)))
    record = Record("88.1/a", "88.1/a", (v(1), v(3)))
    assert record.value(3) == v(3)
    assert record.value(2) is None


def test_closed_store_refuses_work(opener: Opener) -> None:
    store = opener()
    store.create_handle(h("88.1/a"), [v(1)])
    store.close()
    store.close()  # idempotent
    with pytest.raises(StorageError, match="closed"):
        store.get_record("88.1/a")
    with pytest.raises(StorageError, match="closed"):
        store.create_handle(h("88.1/b"), [v(1)])


def test_kind_and_url(store: Store, backend: str) -> None:
    assert store.kind == backend
    assert store.url.startswith(backend if backend != "memory" else "memory:")


# -- compare-and-set: writes authorized against a record that has since changed ---------

def test_writes_with_a_matching_expectation_succeed(store: Store) -> None:
    record = store.create_handle(h("88.1/cas"), [v(1), v(2)])
    results = store.apply([
        AddValues(h("88.1/cas"), (v(3),), expect=record.values),
    ])
    assert isinstance(results[0], Record)
    current = store.get_record("88.1/cas")
    assert current is not None
    assert store.apply([ModifyValues(h("88.1/cas"), (v(1, "new"),),
                                     expect=current.values)])[0] is not None
    current = store.get_record("88.1/cas")
    assert current is not None
    assert isinstance(store.apply([RemoveValues(h("88.1/cas"), (3,),
                                                expect=current.values)])[0], Record)
    current = store.get_record("88.1/cas")
    assert current is not None
    assert isinstance(store.apply([CreateHandle(h("88.1/cas"), (v(9),), overwrite=True,
                                                expect=current.values)])[0], Record)
    current = store.get_record("88.1/cas")
    assert current is not None
    assert store.apply([DeleteHandle(h("88.1/cas"), expect=current.values)]) == [None]
    assert store.get_record("88.1/cas") is None


def test_writes_against_a_changed_record_conflict_and_change_nothing(store: Store) -> None:
    from idnode.errors import WriteConflict

    seen = store.create_handle(h("88.1/cas"), [v(1), v(2)]).values
    store.modify_values(h("88.1/cas"), [v(2, "changed meanwhile")])
    before = store.get_record("88.1/cas")
    txns = store.last_txn_id()
    ops = [
        AddValues(h("88.1/cas"), (v(3),), expect=seen),
        ModifyValues(h("88.1/cas"), (v(1, "x"),), expect=seen),
        RemoveValues(h("88.1/cas"), (1,), expect=seen),
        CreateHandle(h("88.1/cas"), (v(9),), overwrite=True, expect=seen),
        DeleteHandle(h("88.1/cas"), expect=seen),
        DeleteHandle(h("88.1/gone"), expect=seen),  # expected a record that is not there
    ]
    results = store.apply(ops)
    assert all(isinstance(r, WriteConflict) and r.response_code == 3 for r in results)
    assert store.get_record("88.1/cas") == before
    assert store.last_txn_id() == txns
