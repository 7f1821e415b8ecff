"""SQLite schema 4: a record is one row, record hashes are logged and then folded in."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from idnode.errors import StorageError
from idnode.storage import (
    AddValues,
    CreateHandle,
    DeleteHandle,
    RemoveValues,
    SQLiteStore,
    Store,
    bucket_of,
    open_store,
)
from idnode.storage.sqlite import SCHEMA_VERSION

from .helpers import check_digests, h, to_value_rows, v


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master"
                                                " WHERE type = 'table'")}
    conn.close()
    return names


def _logged(store: Store) -> int:
    assert isinstance(store, SQLiteStore)
    return int(store._writer.execute("SELECT count(*) FROM hash_log").fetchone()[0])


def _fill(store: Store, count: int) -> None:
    store.home_prefix("88.7")
    store.apply([CreateHandle(h(f"88.7/r{i:03d}"), (v(1, f"http://r/{i}"), v(2, "a", "EMAIL")))
                 for i in range(count)])
    store.create_handle(h("88.7/empty"), [])
    store.apply([AddValues(h("88.7/r001"), (v(3, "added"),)),
                 RemoveValues(h("88.7/r002"), (2,)),
                 DeleteHandle(h("88.7/r003"))])


def test_a_record_is_one_row_of_its_values(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with open_store(f"sqlite://{path}") as store:
        _fill(store, 5)
        assert [x.index for x in store.get_record(h("88.7/r001").key).values] == [1, 2, 3]
        assert [x.index for x in store.get_record(h("88.7/r002").key).values] == [1]
        assert store.get_record(h("88.7/empty").key).values == ()
        assert store.get_record(h("88.7/r003").key) is None
    assert "handle_values" not in _tables(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM handles").fetchone()[0] == 5
    conn.close()


def test_a_corrupt_row_is_a_storage_error_naming_the_record(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with open_store(f"sqlite://{path}") as store:
        store.create_handle(h("88.7/x"), [v(1)])
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE handles SET vals = x'0000000501' WHERE key = '88.7/x'")
    conn.close()
    with open_store(f"sqlite://{path}") as store:
        with pytest.raises(StorageError, match=r"corrupt value list stored for '88\.7/x'"):
            store.get_record("88.7/x")
        store.create_handle(h("88.7/y"), [v(1)])  # the rest of the store still works
        assert store.get_record("88.7/y") is not None


def test_hashes_are_folded_once_enough_are_logged(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("idnode.storage.sqlite.FOLD_AT", 8)
    with open_store(f"sqlite://{tmp_path}/s.db") as store:
        store.home_prefix("88.7")
        assert isinstance(store, SQLiteStore)
        for round_ in range(6):  # creates, updates and deletes, before and after folds
            store.apply([CreateHandle(h(f"88.7/k{round_}-{i}"), (v(1, f"{round_}"),))
                         for i in range(3)])
            store.apply([AddValues(h(f"88.7/k{round_}-0"), (v(2, "more"),))])
            store.delete_handle(h(f"88.7/k{round_}-1"))
            check_digests(store)
            assert _logged(store) < 8
            gone = h(f"88.7/k{round_}-1").key
            assert gone not in dict(store.bucket_hashes(bucket_of(gone)))
        folded = store._writer.execute("SELECT count(*) FROM record_hashes").fetchone()[0]
        assert folded + _logged(store) >= 12  # every live record's hash is somewhere
        assert folded > 0


def test_partial_folds_keep_the_newest_entry_of_a_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("idnode.storage.sqlite.FOLD_AT", 6)
    monkeypatch.setattr("idnode.storage.sqlite.FOLD_MIN", 2)
    with open_store(f"sqlite://{tmp_path}/s.db") as store:
        store.home_prefix("88.7")
        assert isinstance(store, SQLiteStore)
        keys = [f"88.7/p{i}" for i in range(4)]
        for round_ in range(12):  # the same records rewritten: entries of one key on both
            key = keys[round_ % 4]  # sides of each fold, deletions among them
            if round_ % 5 == 4:
                store.delete_handle(h(key))
            else:
                store.apply([CreateHandle(h(key), (v(1, f"{round_}"),), overwrite=True)])
            check_digests(store)
            for gone in keys:
                if store.get_record(gone) is None:
                    assert gone not in dict(store.bucket_hashes(bucket_of(gone)))
            assert _logged(store) < 6  # each write folds the oldest two
            # a fold writes a gone record as an empty hash, then deletes it
            assert store._writer.execute("SELECT count(*) FROM record_hashes"
                                         " WHERE hash = x''").fetchone()[0] == 0
        folded = store._writer.execute("SELECT count(*) FROM record_hashes").fetchone()[0]
        assert folded > 0


def test_a_deleted_record_logged_after_its_fold_leaves_its_bucket(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("idnode.storage.sqlite.FOLD_AT", 2)
    with open_store(f"sqlite://{tmp_path}/s.db") as store:
        store.home_prefix("88.7")
        store.apply([CreateHandle(h("88.7/a"), (v(1),)), CreateHandle(h("88.7/b"), (v(1),))])
        assert _logged(store) == 0  # folded
        store.delete_handle(h("88.7/a"))
        assert _logged(store) == 1  # the deletion waits in the log
        key = h("88.7/a").key
        assert key not in dict(store.bucket_hashes(bucket_of(key)))
        check_digests(store)


# -- upgrading from schema 3 ------------------------------------------------------------

def _make_version_3(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        to_value_rows(conn)
        conn.execute("UPDATE meta SET v = '3' WHERE k = 'schema_version'")
    conn.close()


def _snapshot(store: Store) -> tuple[object, ...]:
    return (store.dump(limit=1000), store.homed_prefixes(), store.txns_after(0, 1000),
            store.bucket_digests(), store.count_handles("88.7"),
            store.search([("EMAIL", "a")], limit=100))


def test_a_version_3_store_gets_one_row_per_record(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "s.db"
    url = f"sqlite://{path}"
    with open_store(url) as store:
        _fill(store, 30)
        before = _snapshot(store)
    _make_version_3(path)
    assert "handle_values" in _tables(path)
    with caplog.at_level(logging.INFO, logger="idnode.storage"), open_store(url) as store:
        assert _snapshot(store) == before
        check_digests(store)
        store.create_handle(h("88.7/new"), [v(1)])  # and it takes writes
    assert f"upgrading the storage schema from version 3 to {SCHEMA_VERSION}" in caplog.text
    assert "30 records moved" in caplog.text  # 29 live records and the empty one
    assert "handle_values" not in _tables(path)
    assert "hash_log" in _tables(path)


def test_an_interrupted_upgrade_leaves_version_3_whole(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.db"
    url = f"sqlite://{path}"
    with open_store(url) as store:
        _fill(store, 10)
        before = _snapshot(store)
    _make_version_3(path)
    original = SQLiteStore._merge_values

    def die_after_moving(self: SQLiteStore) -> None:
        original(self)
        raise KeyboardInterrupt  # the process is killed before the opening commit

    monkeypatch.setattr(SQLiteStore, "_merge_values", die_after_moving)
    with pytest.raises(KeyboardInterrupt):
        open_store(url)
    assert "handle_values" in _tables(path)
    monkeypatch.undo()
    with open_store(url) as store:
        assert _snapshot(store) == before
