"""PostgreSQL-specific behaviour: URLs, connection failures, schema version, plans."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from idnode.errors import ConfigError, StorageError
from idnode.storage import open_store
from idnode.storage.contract import SCHEMA_VERSION
from services import drop_postgres_schema, postgres_url

from .helpers import check_digests, h, pg_to_value_rows, v

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    url = postgres_url()
    yield url
    drop_postgres_schema(url)


def test_url_helpers() -> None:
    from idnode.storage.postgres import redact_url, split_url

    assert redact_url("postgresql://u:pw@db:5433/x?schema=s") == \
        "postgresql://u:***@db:5433/x?schema=s"
    assert redact_url("postgresql://u@db/x") == "postgresql://u@db/x"
    assert split_url("postgresql://u@db/x?schema=s1&sslmode=disable") == \
        ("postgresql://u@db/x?sslmode=disable", "s1")
    assert split_url("postgres://u@db/x") == ("postgres://u@db/x", None)
    with pytest.raises(ConfigError):
        split_url("postgresql://u@db/x?schema=bad;name")
    with pytest.raises(ConfigError):
        split_url("mysql://u@db/x")


def test_unreachable_server_is_a_storage_error_without_the_password() -> None:
    url = "postgresql://someone:s3cret@127.0.0.1:1/nodb?schema=x"
    with pytest.raises(StorageError) as info:
        open_store(url)
    message = str(info.value)
    assert "127.0.0.1:1" in message
    assert "s3cret" not in message
    assert "someone:***@" in message


def test_schema_is_created_and_reopened(pg_url: str) -> None:
    with open_store(pg_url) as store:
        store.create_handle(h("88.1/a"), [v(1)])
        store.home_prefix("88.1")
        assert store.url == pg_url  # nothing to redact here
    with open_store(pg_url) as store:
        assert store.get_record("88.1/a") is not None
        assert store.homed_prefixes() == ["88.1"]
        assert store.last_txn_id() == 2


def test_a_newer_schema_is_refused(pg_url: str) -> None:
    import psycopg

    from idnode.storage.postgres import SCHEMA_VERSION, split_url

    open_store(pg_url).close()
    conninfo, schema = split_url(pg_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"UPDATE {schema}.meta SET v = %s WHERE k = 'schema_version'",
                     (str(SCHEMA_VERSION + 1),))
    with pytest.raises(StorageError, match=rf"schema version {SCHEMA_VERSION + 1}.*upgrade"):
        open_store(pg_url)


def test_range_reads_use_the_indexes(pg_url: str) -> None:
    from idnode.storage import postgres as backend

    with open_store(pg_url) as store:
        store.create_handle(h("88.1/a"), [v(1)])
        pool = store._pool  # type: ignore[attr-defined]
        with pool.connection() as conn:
            conn.execute("SET enable_seqscan = off")
            for statement, params in [(backend._SCAN_FROM, ("88.1/", "88.10", 10)),
                                      (backend._GET, ("88.1/a",)),
                                      (backend._DUMP, ("88.1/", 10))]:
                plan = " ".join(r[0] for r in conn.execute("EXPLAIN " + statement, params))
                assert "Index" in plan and "Seq Scan" not in plan, plan
            conn.execute("RESET enable_seqscan")


def test_a_server_error_mid_group_aborts_it_and_the_store_recovers(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from idnode.identifiers.value import HandleValue
    from idnode.storage import CreateHandle

    with open_store(pg_url) as store:
        original = store._append_txn

        def append(timestamp: float, op: str, key: str, handle: str,
                   values: tuple[HandleValue, ...]) -> None:
            original(timestamp, op, key, handle, values)
            if key == "88.1/b":
                store._writer().execute("SELECT 1 / 0")  # type: ignore[attr-defined]

        original_many = store._append_txns

        def append_many(rows: list[tuple[float, str, str, str, tuple[HandleValue, ...],
                                         bytes]]) -> None:
            original_many(rows)  # a run of creates logs them at once (.creates)
            if any(row[2] == "88.1/b" for row in rows):
                store._writer().execute("SELECT 1 / 0")  # type: ignore[attr-defined]

        monkeypatch.setattr(store, "_append_txn", append)
        monkeypatch.setattr(store, "_append_txns", append_many)
        ops = [CreateHandle(h(f"88.1/{name}"), (v(1),)) for name in "abc"]
        with pytest.raises(StorageError, match="division by zero"):
            store.apply(ops)
        assert store.dump() == []
        assert store.last_txn_id() == 0
        monkeypatch.undo()
        assert all(r is not None for r in store.apply(ops))
        assert [t.key for t in store.txns_after(0)] == ["88.1/a", "88.1/b", "88.1/c"]


def test_groups_with_rolled_back_ops_keep_working(pg_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # psycopg forgets its prepared statements on a ROLLBACK (TO SAVEPOINT); with automatic
    # preparing on, a later statement in the pipeline named one the server had dropped.
    from idnode.errors import InvalidValue
    from idnode.identifiers.value import HandleValue
    from idnode.storage import AddValues, CreateHandle, DeleteHandle, ModifyValues

    with open_store(pg_url) as store:
        original = store._append_txn

        def append(timestamp: float, op: str, key: str, handle: str,
                   values: tuple[HandleValue, ...]) -> None:
            original(timestamp, op, key, handle, values)
            if key == "88.1/bad":
                raise InvalidValue(reason="injected failure")

        monkeypatch.setattr(store, "_append_txn", append)
        for i in range(12):
            store.apply([CreateHandle(h(f"88.1/{i}{n}"), (v(1),)) for n in "ab"])
            results = store.apply([CreateHandle(h("88.1/bad"), (v(1),)),
                                   AddValues(h(f"88.1/{i}a"), (v(2),)),
                                   ModifyValues(h(f"88.1/{i}b"), (v(1, "m"),)),
                                   DeleteHandle(h(f"88.1/{i}a"))])
            assert [type(r).__name__ for r in results] == \
                ["InvalidValue", "Record", "Record", "NoneType"]
        assert store.count_handles("88.1") == 12


def _make_version_1(url: str) -> None:
    """Reduce a store to what idnode with schema version 1 wrote."""
    import psycopg

    from idnode.storage.postgres import split_url

    conninfo, schema = split_url(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        pg_to_value_rows(conn, schema)
        for table in ("value_index", "value_index_rev", "handle_counts", "record_hashes",
                      "bucket_digests"):
            conn.execute(f"DROP TABLE {schema}.{table}")
        conn.execute(f"DELETE FROM {schema}.meta WHERE k != 'schema_version'")
        conn.execute(f"UPDATE {schema}.meta SET v = '1' WHERE k = 'schema_version'")
        tables = {row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))}
        assert tables == {"handles", "handle_values", "txlog", "homed", "meta"}


def test_a_version_1_store_is_upgraded_and_an_interruption_resumes(
        pg_url: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from idnode.storage import CreateHandle
    from idnode.storage.base import Store

    monkeypatch.setattr("idnode.storage.base.BATCH_SIZE", 4)
    with open_store(pg_url) as store:
        store.apply([CreateHandle(h(f"88.{i % 2}/{i:02d}"), (v(1, f"http://p.org/{i:02d}"),))
                     for i in range(25)])
        store.delete_handle(h("88.0/00"))
        before = store.dump(limit=100), store.txns_after(0, 100)
    _make_version_1(pg_url)
    original = Store._backfill
    calls: list[int] = []

    def crash_on_third(self: Store, job: object, records: object) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        original(self, job, records)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "_backfill", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        open_store(pg_url)
    monkeypatch.setattr(Store, "_backfill", original)
    with caplog.at_level(logging.INFO, logger="idnode.storage"):
        store = open_store(pg_url)
    with store:
        assert "back-fill done: 16 handles" in caplog.text  # the 24 less two batches
        assert (store.dump(limit=100), store.txns_after(0, 100)) == before
        assert (store.count_handles("88.0"), store.count_handles("88.1")) == (12, 12)
        assert store.search([("URL", "http://p.org/*")], limit=100) == \
            sorted(f"88.{i % 2}/{i:02d}" for i in range(1, 25))
        assert store.search([("URL", "*/07")], limit=100) == ["88.1/07"]


def test_searches_use_the_indexes(pg_url: str) -> None:
    from idnode.storage import postgres as backend
    from idnode.storage.index import Criterion

    with open_store(pg_url) as store:
        store.create_handle(h("88.1/a"), [v(1, "http://x/a.pdf")])
        cases: list[tuple[str, tuple[object, ...]]] = [
            (backend._EXACT.format(op=">=", stop=" AND i.key < %s"), ("URL", "x", "8/", "80", 9)),
            (backend._MANY, (["88.1/a", "88.1/b"],)),
            ("SELECT n FROM handle_counts WHERE prefix = %s", ("88.1",)),
        ]
        for pattern in ("http://x/*", "*/x.pdf"):
            crit = Criterion.parse("URL", pattern)
            table, column = backend._side(crit)
            high = backend._bound(column, crit.high)
            cases.append((backend._EXCEEDS.format(table=table, column=column, high=high),
                          ("URL", crit.low, crit.high, 11)))
            cases.append((backend._KEYS.format(table=table, column=column, high=high,
                                               stop=" AND key < %s"),
                          ("URL", crit.low, crit.high, crit.like(), "88.1/", "88.10", 10)))
            cases.append((backend._RANGE.format(table=table, column=column, high=high,
                                                stop=" AND key < %s"),
                          ("URL", crit.low, crit.high, crit.like(), "88.1/", "88.10", 10)))
        pool = store._pool  # type: ignore[attr-defined]
        with pool.connection() as conn:
            conn.execute("SET enable_seqscan = off")
            for statement, params in cases:
                plan = " ".join(r[0] for r in conn.execute("EXPLAIN " + statement, params))
                assert "Index" in plan and "Seq Scan" not in plan, plan
            conn.execute("RESET enable_seqscan")


def test_a_version_3_store_gets_one_row_per_record(pg_url: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    import logging

    import psycopg

    from idnode.storage import AddValues, CreateHandle
    from idnode.storage.postgres import split_url

    with open_store(pg_url) as store:
        store.home_prefix("88.1")
        store.apply([CreateHandle(h(f"88.1/{i:02d}"), (v(1, f"http://p.org/{i}"), v(2, "b")))
                     for i in range(12)])
        store.create_handle(h("88.1/empty"), [])
        store.apply([AddValues(h("88.1/03"), (v(7, "more"),))])
        store.delete_handle(h("88.1/05"))
        before = (store.dump(limit=100), store.txns_after(0, 100), store.bucket_digests(),
                  store.search([("URL", "http://p.org/1*")], limit=100))
    conninfo, schema = split_url(pg_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        pg_to_value_rows(conn, schema)
        conn.execute(f"UPDATE {schema}.meta SET v = '3' WHERE k = 'schema_version'")
    with caplog.at_level(logging.INFO, logger="idnode.storage"), open_store(pg_url) as store:
        assert (store.dump(limit=100), store.txns_after(0, 100), store.bucket_digests(),
                store.search([("URL", "http://p.org/1*")], limit=100)) == before
        check_digests(store)
        store.create_handle(h("88.1/new"), [v(1)])
    assert "moving each record's values into its handle row" in caplog.text
    with psycopg.connect(conninfo, autocommit=True) as conn:
        tables = {row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))}
        assert "handle_values" not in tables
        version = conn.execute(f"SELECT v FROM {schema}.meta WHERE k = 'schema_version'"
                               ).fetchone()
        assert version == (str(SCHEMA_VERSION),)
