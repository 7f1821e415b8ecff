"""SQLite-specific behaviour: the file, its durability settings, its schema and its plans."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from idnode.errors import ConfigError, StorageError
from idnode.storage import CreateHandle, SQLiteStore, open_store
from idnode.storage.sqlite import SCHEMA_VERSION, sqlite_path

from .helpers import h, to_value_rows, v


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
    from idnode.storage import sqlite_log as txlog

    with open_store(f"sqlite://{tmp_path}/s.db") as store:
        assert isinstance(store, SQLiteStore)
        conn = store._writer
        cases = [
            (backend._GET, ("88.1/a",)),
            (backend._SCAN_FROM, ("88.1/", "88.10", 10)),
            (backend._SCAN_AFTER, ("88.1/x", "88.10", 10)),
            (backend._DUMP, ("88.1/x", 10)),
            (txlog._TXNS, (5, 10)),
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


# -- schema version 2: the reverse index and the handle counts -------------------------

_V1_TABLES = {"handles", "handle_values", "txlog", "homed", "meta", "sqlite_sequence"}


def _make_version_1(path: Path) -> None:
    """Reduce a store to what idnode with schema version 1 wrote: the same five tables (and
    AUTOINCREMENT's sqlite_sequence), and only ``schema_version`` in ``meta``."""
    with sqlite3.connect(path) as conn:
        to_value_rows(conn)
        for table in ("value_index", "value_index_rev", "handle_counts", "record_hashes",
                      "bucket_digests"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM meta WHERE k != 'schema_version'")
        conn.execute("UPDATE meta SET v = '1' WHERE k = 'schema_version'")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master"
                                                 " WHERE type = 'table'")}
        assert tables == _V1_TABLES
    conn.close()


def _fill(url: str, count: int) -> tuple[object, ...]:
    with open_store(url) as store:
        store.apply([CreateHandle(h(f"88.{i % 3}/h{i:03d}"),
                                  (v(1, f"http://m.org/{i:03d}"), v(2, f"md5:{i % 2}", "CHECKSUM")))
                     for i in range(count)])
        store.delete_handle(h("88.0/h000"))
        store.home_prefix("88.1")
        return store.dump(limit=1000), store.homed_prefixes(), store.txns_after(0, 1000)


def _meta(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        rows = dict(conn.execute("SELECT k, v FROM meta").fetchall())
    conn.close()
    return rows


def _check_upgraded(url: str, count: int, before: tuple[object, ...]) -> None:
    with open_store(url) as store:
        assert (store.dump(limit=1000), store.homed_prefixes(),
                store.txns_after(0, 1000)) == before
        expected = {p: len([i for i in range(1, count) if i % 3 == int(p[-1])])
                    for p in ("88.0", "88.1", "88.2")}
        assert {p: store.count_handles(p) for p in expected} == expected
        found = store.search([("URL", "http://m.org/*")], limit=1000)
        assert found == sorted(f"88.{i % 3}/h{i:03d}" for i in range(1, count))
        assert store.search([("URL", "http://m.org/*0"), ("CHECKSUM", "md5:0")],
                            limit=1000) == \
            sorted(f"88.{i % 3}/h{i:03d}" for i in range(10, count, 10))


def test_a_version_1_store_is_upgraded_in_batches(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr("idnode.storage.base.BATCH_SIZE", 7)
    path = tmp_path / "store.db"
    url = f"sqlite://{path}"
    before = _fill(url, 40)
    _make_version_1(path)
    with caplog.at_level(logging.INFO, logger="idnode.storage"):
        _check_upgraded(url, 40, before)
    assert f"upgrading the storage schema from version 1 to {SCHEMA_VERSION}" in caplog.text
    assert "back-fill done: 39 handles" in caplog.text
    assert _meta(path) == {"schema_version": str(SCHEMA_VERSION),
                           "index_types": '["CHECKSUM", "URL"]'}
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="idnode.storage"):
        _check_upgraded(url, 40, before)  # nothing left to do
    assert "back-fill" not in caplog.text


def test_an_interrupted_upgrade_resumes_without_counting_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from idnode.storage.base import Store

    monkeypatch.setattr("idnode.storage.base.BATCH_SIZE", 5)
    path = tmp_path / "store.db"
    url = f"sqlite://{path}"
    before = _fill(url, 30)
    _make_version_1(path)
    original = Store._backfill
    batches: list[int] = []

    def crash_on_third(self: Store, job: object, records: object) -> None:
        batches.append(1)
        if len(batches) == 3:
            raise KeyboardInterrupt  # the process dies mid-batch
        original(self, job, records)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "_backfill", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        open_store(url)
    assert '"after": "88.1/h001"' in _meta(path)["index_job"]  # 2 batches committed
    monkeypatch.setattr(Store, "_backfill", original)
    _check_upgraded(url, 30, before)
    assert "index_job" not in _meta(path)


def test_stores_opened_at_once_share_the_upgrade(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    monkeypatch.setattr("idnode.storage.base.BATCH_SIZE", 2)
    path = tmp_path / "store.db"
    url = f"sqlite://{path}"
    before = _fill(url, 60)
    _make_version_1(path)
    errors: list[BaseException] = []

    def open_close() -> None:
        try:
            open_store(url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_close) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    _check_upgraded(url, 60, before)


def test_an_unreadable_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    open_store(f"sqlite://{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET v = 'two' WHERE k = 'schema_version'")
    conn.close()
    with pytest.raises(StorageError, match="unreadable schema version 'two'"):
        open_store(f"sqlite://{path}")


def test_searches_and_counts_are_index_range_scans(tmp_path: Path) -> None:
    from idnode.storage import sqlite as backend
    from idnode.storage.index import Criterion

    with open_store(f"sqlite://{tmp_path}/s.db") as store:
        assert isinstance(store, SQLiteStore)
        conn = store._writer
        cases: list[tuple[str, tuple[object, ...]]] = [
            (backend._EXACT.format(op=">=", stop=" AND i.key < ?"), ("URL", "x", "8/", "80", 9)),
            (backend._EXACT.format(op=">", stop=""), ("URL", "x", "88.1/x", 9)),
            (backend._MANY.format(marks="?, ?"), ("88.1/a", "88.1/b")),
            (backend._UNINDEX[0], ("URL", "x", "88.1/a", 1)),
            (backend._UNINDEX[1], ("URL", "x", "88.1/a", 1)),
            ("SELECT n FROM handle_counts WHERE prefix = ?", ("88.1",)),
        ]
        for pattern in ("http://x/*", "*/x.pdf"):
            crit = Criterion.parse("URL", pattern)
            table, column = backend._side(crit)
            high = backend._bound(column, crit.high)
            cases.append((backend._EXCEEDS.format(table=table, column=column, high=high),
                          ("URL", crit.low, crit.high, 11)))
            cases.append((backend._KEYS.format(table=table, column=column, high=high,
                                               stop=" AND key < ?"),
                          ("URL", crit.low, crit.high, crit.glob(), "88.1/", "88.10", 10)))
            cases.append((backend._RANGE.format(table=table, column=column, high=high,
                                                stop=" AND key < ?"),
                          ("URL", crit.low, crit.high, crit.glob(), "88.1/", "88.10", 10)))
        for statement, params in cases:
            plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement, params)]
            # only the bounded intermediate results (subqueries "m" and "(subquery-1)") are
            # scanned; every table access is a primary-key search
            scans = [step for step in plan if step.startswith("SCAN")
                     and step not in ("SCAN m", "SCAN (subquery-1)")]
            assert scans == [], f"{statement}: {plan}"
            searches = [step for step in plan if step.startswith("SEARCH")]
            assert searches and all("PRIMARY KEY" in step for step in searches), plan


def test_a_store_without_a_recorded_version_is_upgraded_from_empty_tables(
        tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite://{path}"
    before = _fill(url, 10)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM meta")
        conn.execute("UPDATE handle_counts SET n = n + 1000")
        conn.execute("INSERT INTO value_index VALUES ('URL', 'http://stale/', '88.1/gone', 1)")
    conn.close()
    _check_upgraded(url, 10, before)
    with open_store(url) as store:
        assert store.search([("URL", "http://stale/")], limit=5) == []
