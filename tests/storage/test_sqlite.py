"""SQLite-specific behaviour: the file, its durability settings, its schema and its plans."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from idnode.errors import ConfigError, StorageError
from idnode.storage import CreateHandle, SQLiteStore, open_store
from idnode.storage.sqlite import SCHEMA_VERSION, sqlite_path

from .helpers import h, v


def test_reopening_keeps_everything(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/store.db"
    with open_store(url) as store:
        store.create_handle(h("88.1/a"), [v(1, "a"), v(2, "b")])
        store.apply([CreateHandle(h(f"88.1/g{i}"), (v(1),)) for i in range(5)])
        store.delete_handle(h("88.1/g0"))
        store.home_prefix("88.1")
        before = (store.dump(), store.homed_prefixes(), store.txns_after(0))
    with open_store(url) as store:
        assert (store.dump(), store.homed_prefixes(), store.txns_after(0)) == before
        store.create_handle(h("88.1/later"), [v(1)])
        assert store.last_txn_id() == before[2][-1].txn_id + 1


def test_ids_are_never_reused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with open_store(f"sqlite://{path}") as store:
        store.create_handle(h("88.1/a"), [v(1)])
        store.create_handle(h("88.1/b"), [v(1)])
    with sqlite3.connect(path) as conn:  # e.g. the log was pruned
        conn.execute("DELETE FROM txlog")
    conn.close()
    with open_store(f"sqlite://{path}") as store:
        store.create_handle(h("88.1/c"), [v(1)])
        assert [t.txn_id for t in store.txns_after(0)] == [3]


def test_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with open_store(f"sqlite://{path}") as store:
        store.create_handle(h("88.1/a"), [v(1)])
        for name in ("store.db", "store.db-wal"):
            assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name


def test_missing_directory_is_a_storage_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "store.db"
    with pytest.raises(StorageError, match=str(path)):
        open_store(f"sqlite://{path}")


def test_a_corrupt_file_is_a_storage_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"this is not a database, just some bytes " * 200)
    with pytest.raises(StorageError, match=str(path)):
        open_store(f"sqlite://{path}")


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    open_store(f"sqlite://{path}").close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone() == \
            (str(SCHEMA_VERSION),)
        conn.execute("UPDATE meta SET v = ? WHERE k = 'schema_version'",
                     (str(SCHEMA_VERSION + 1),))
    conn.close()
    with pytest.raises(StorageError, match=rf"schema version {SCHEMA_VERSION + 1}.*upgrade"):
        open_store(f"sqlite://{path}")


@pytest.mark.parametrize(("sync", "level"), [("full", 2), ("normal", 1)])
def test_sync_modes(tmp_path: Path, sync: str, level: int) -> None:
    with open_store(f"sqlite://{tmp_path}/s.db", sync=sync) as store:
        assert isinstance(store, SQLiteStore)
        store.create_handle(h("88.1/a"), [v(1)])
        assert store._writer.execute("PRAGMA synchronous").fetchone() == (level,)
        assert store._writer.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert store._reader().execute("PRAGMA synchronous").fetchone() == (level,)


def test_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sqlite_path("sqlite:///abs/path.db") == "/abs/path.db"
    assert sqlite_path("sqlite:relative/path.db") == "relative/path.db"
    assert sqlite_path("SQLite:x.db") == "x.db"
    for bad in ("sqlite:", "sqlite://", "postgresql://x/y"):
        with pytest.raises(ConfigError):
            sqlite_path(bad)
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:rel.db") as store:
        assert store.url == f"sqlite://{tmp_path}/rel.db"
        assert store.kind == "sqlite"
    assert (tmp_path / "rel.db").exists()


def test_reads_are_index_lookups_and_range_scans(tmp_path: Path) -> None:
    from idnode.storage import sqlite as backend

    with open_store(f"sqlite://{tmp_path}/s.db") as store:
        assert isinstance(store, SQLiteStore)
        conn = store._writer
        cases = [
            (backend._GET, ("88.1/a",)),
            (backend._SCAN_FROM, ("88.1/", "88.10", 10)),
            (backend._SCAN_AFTER, ("88.1/x", "88.10", 10)),
            (backend._DUMP, ("88.1/x", 10)),
            (backend._TXNS, (5, 10)),
            ("SELECT MAX(id) FROM txlog", ()),
            ("SELECT 1 FROM homed WHERE prefix = ?", ("88.1",)),
        ]
        for statement, params in cases:
            plan = " | ".join(row[3] for row in
                              conn.execute("EXPLAIN QUERY PLAN " + statement, params))
            # "SCAN" of a table would be a full scan; the dump's subquery result is fine.
            scans = [part for part in plan.split(" | ")
                     if part.startswith("SCAN") and not part.startswith("SCAN h")]
            assert scans == [], f"{statement}: {plan}"
            assert "TEMP B-TREE" not in plan or statement is backend._DUMP, plan


def test_threads_get_their_own_read_connection(tmp_path: Path) -> None:
    import threading

    with open_store(f"sqlite://{tmp_path}/s.db") as store:
        assert isinstance(store, SQLiteStore)
        store.create_handle(h("88.1/a"), [v(1)])
        conns: list[sqlite3.Connection] = []  # kept alive, so no two can share an id

        def read() -> None:
            assert store.exists("88.1/a")
            conns.append(store._reader())

        threads = [threading.Thread(target=read) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        read()
        read()
        assert len({id(conn) for conn in conns}) == 4  # three threads + this one
        assert conns[-1] is conns[-2]
