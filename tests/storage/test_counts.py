"""Per-prefix handle counts (Store.count_handles), run against every backend."""

from __future__ import annotations

import pytest

from idnode.errors import HandleExists, HandleNotFound, InvalidHandle, InvalidValue
from idnode.identifiers.value import HandleValue
from idnode.storage import AddValues, CreateHandle, DeleteHandle, RemoveValues, Store

from .helpers import h, v


def counts(store: Store, *prefixes: str) -> list[int]:
    return [store.count_handles(prefix) for prefix in prefixes]


def test_counts_follow_creates_and_deletes_per_prefix(store: Store) -> None:
    assert counts(store, "88.1", "88.2") == [0, 0]
    store.apply([CreateHandle(h(f"88.1/{i}"), (v(1),)) for i in range(5)]
                + [CreateHandle(h(f"88.2/{i}"), (v(1),)) for i in range(3)])
    store.create_handle(h("88.10/x"), [v(1)])  # a prefix that extends another one
    store.create_handle(h("0.NA/88.1"), [v(1)])  # lives under 0.NA, not 88.1
    assert counts(store, "88.1", "88.2", "88.10", "0.NA", "88") == [5, 3, 1, 1, 0]
    store.delete_handle(h("88.1/0"))
    store.delete_handle(h("88.2/0"))
    assert counts(store, "88.1", "88.2") == [4, 2]
    with pytest.raises(HandleNotFound):
        store.delete_handle(h("88.1/0"))
    assert counts(store, "88.1") == [4]
    for i in range(1, 5):
        store.delete_handle(h(f"88.1/{i}"))
    assert counts(store, "88.1", "88.10") == [0, 1]


def test_prefix_forms_and_case(store: Store) -> None:
    store.create_handle(h("88.Abc/one"), [v(1)])
    store.create_handle(h("88.aBC/two"), [v(1)])
    assert counts(store, "88.abc", "88.ABC", "0.na/88.abc", "0.NA/88.Abc") == [2, 2, 2, 2]
    for bad in ("", "88.1/x", "0.NA/"):
        with pytest.raises(InvalidHandle):
            store.count_handles(bad)


def test_overwrites_and_value_changes_do_not_count(store: Store) -> None:
    store.create_handle(h("88.1/a"), [v(1)])
    store.create_handle(h("88.1/a"), [v(2)], overwrite=True)
    store.create_handle(h("88.1/A"), [v(2)], overwrite=True)  # suffixes are case-sensitive
    store.create_handle(h("88.1/b"), [v(1)], overwrite=True)  # overwrite of nothing creates
    store.add_values(h("88.1/a"), [v(3)])
    store.remove_values(h("88.1/a"), [2, 3])
    assert counts(store, "88.1") == [3]
    with pytest.raises(HandleExists):
        store.create_handle(h("88.1/a"), [v(1)])
    assert counts(store, "88.1") == [3]
    store.create_handle(h("88.abc/x"), [v(1)])
    store.create_handle(h("88.ABC/x"), [v(1)], overwrite=True)  # same key, new spelling
    assert counts(store, "88.abc") == [1]


def test_counts_in_a_group_with_failing_and_rolled_back_ops(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.apply([CreateHandle(h(f"88.1/{i}"), (v(1),)) for i in range(3)])
    original = store._append_txn

    def append(timestamp: float, op: str, k: str, handle: str,
               values: tuple[HandleValue, ...]) -> None:
        original(timestamp, op, k, handle, values)
        if k in ("88.1/new-bad", "88.1/1"):  # after the record (and count) were written
            raise InvalidValue(reason="injected failure")

    monkeypatch.setattr(store, "_append_txn", append)
    results = store.apply([
        # overwrite=True: each in its savepoint, not in a run of creates (.creates)
        CreateHandle(h("88.1/new-ok"), (v(1),), overwrite=True),
        CreateHandle(h("88.1/new-bad"), (v(1),), overwrite=True),  # rolled back after it
        DeleteHandle(h("88.1/1")),                      # rolled back after its write
        DeleteHandle(h("88.1/2")),
        CreateHandle(h("88.1/0"), (v(1),)),             # exists
        DeleteHandle(h("88.1/missing")),                # missing
        CreateHandle(h("88.2/x"), (v(1),)),
        DeleteHandle(h("88.2/x")),                      # sees the create before it
        RemoveValues(h("88.1/0"), (1,)),
        AddValues(h("88.1/0"), (v(5),)),
    ])
    assert [type(r).__name__ for r in results] == [
        "Record", "InvalidValue", "InvalidValue", "NoneType", "HandleExists",
        "HandleNotFound", "Record", "NoneType", "Record", "Record"]
    monkeypatch.undo()
    assert counts(store, "88.1", "88.2") == [3, 0]  # 0, 1, new-ok
    assert store.list_handles("88.1") == ["88.1/0", "88.1/1", "88.1/new-ok"]


def test_a_failed_group_changes_no_count(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.create_handle(h("88.1/keep"), [v(1)])
    error: type[Exception] = store.driver_errors[0] if store.driver_errors else RuntimeError
    original = store._append_txn

    def append(timestamp: float, op: str, k: str, handle: str,
               values: tuple[HandleValue, ...]) -> None:
        original(timestamp, op, k, handle, values)
        if k == "88.1/b":
            raise error("disk on fire")

    monkeypatch.setattr(store, "_append_txn", append)
    with pytest.raises(Exception, match="disk on fire"):
        store.apply([CreateHandle(h("88.1/a"), (v(1),)), DeleteHandle(h("88.1/keep")),
                     CreateHandle(h("88.1/b"), (v(1),))])
    monkeypatch.undo()
    assert counts(store, "88.1") == [1]


def test_counts_agree_with_listing(store: Store) -> None:
    for i in range(30):
        store.create_handle(h(f"88.{i % 3}/{i}"), [v(1)])
    for i in range(0, 30, 4):
        store.delete_handle(h(f"88.{i % 3}/{i}"))
    for prefix in ("88.0", "88.1", "88.2"):
        assert store.count_handles(prefix) == len(store.list_handles(prefix, limit=100))


def test_closed_store_refuses_counts_and_searches(store: Store) -> None:
    from idnode.errors import StorageError

    store.close()
    with pytest.raises(StorageError, match="closed"):
        store.count_handles("88.1")
    with pytest.raises(StorageError, match="closed"):
        store.search([("URL", "x")], limit=1)
