"""PostgreSQL-specific behaviour: URLs, connection failures, schema version, plans."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from idnode.errors import ConfigError, StorageError
from idnode.storage import open_store
from services import drop_postgres_schema, postgres_url

from .helpers import h, v

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

        monkeypatch.setattr(store, "_append_txn", append)
        ops = [CreateHandle(h(f"88.1/{name}"), (v(1),)) for name in "abc"]
        with pytest.raises(StorageError, match="division by zero"):
            store.apply(ops)
        assert store.dump() == []
        assert store.last_txn_id() == 0
        monkeypatch.undo()
        assert all(r is not None for r in store.apply(ops))
        assert [t.key for t in store.txns_after(0)] == ["88.1/a", "88.1/b", "88.1/c"]
