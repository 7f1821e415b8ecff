"""SQLite schema 5: a run of creates is logged as one row that readers see as its entries."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from idnode.errors import StorageError
from idnode.storage import (
    AddValues,
    CreateHandle,
    DeleteHandle,
    MemoryStore,
    SQLiteStore,
    Store,
    open_store,
)
from idnode.storage.ops import Txn, WriteOp
from idnode.storage.sqlite import SCHEMA_VERSION
from idnode.storage.txruns import encode_run, run_entries

from .helpers import h, v

Entry = tuple[int, str, str, str, tuple[object, ...]]


def _creates(names: str) -> list[WriteOp]:
    return [CreateHandle(h(f"88.1/{name}"), (v(1, f"https://x/{name}"),))
            for name in names]


#: single writes (txlog rows) between runs of creates (txruns rows); ids 1..16
_HISTORY: list[list[WriteOp]] = [
    _creates("a"),
    _creates("bcdef"),  # ids 2..6, one run
    [AddValues(h("88.1/b"), (v(2, "b@x", "EMAIL"),))],
    _creates("ghij"),  # ids 8..11
    [DeleteHandle(h("88.1/a"))],
    # a create that fails inside a run: the run logs the others only
    [*_creates("kl"), CreateHandle(h("88.1/Mixed Case"), (v(1, "m"),)),
     *_creates("g")],
    _creates("n"),
]


def _play(store: Store) -> None:
    for ops in _HISTORY:
        store.apply(ops)


def _entries(txns: list[Txn]) -> list[Entry]:
    return [(t.txn_id, t.op, t.key, t.handle,
             tuple((x.index, x.type, x.data) for x in t.values)) for t in txns]


def _runs(store: Store) -> list[tuple[int, int]]:
    assert isinstance(store, SQLiteStore)
    return [(int(a), int(b)) for a, b in
            store._writer.execute("SELECT first, last FROM txruns ORDER BY first")]


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    store = open_store(f"sqlite://{tmp_path}/s.db")
    _play(store)
    return store


def _expected() -> list[Entry]:
    with MemoryStore() as memory:
        _play(memory)
        return _entries(memory.txns_after(0, 100))


def test_runs_are_read_as_the_entries_one_by_one_writes_log(sqlite_store: Store) -> None:
    with sqlite_store as store:
        assert _runs(store) == [(2, 6), (8, 11), (13, 15)]
        expected = _expected()
        assert _entries(store.txns_after(0, 100)) == expected
        assert [e[0] for e in expected] == list(range(1, 17))
        assert store.last_txn_id() == 16 and store.oldest_txn_id() == 1
        # every page, starting anywhere, inside a run or not
        for start in range(0, 17):
            for limit in (1, 2, 3, 5, 100):
                page = _entries(store.txns_after(start, limit))
                assert page == expected[start:start + limit], (start, limit)


def test_ids_go_on_after_a_run(sqlite_store: Store) -> None:
    with sqlite_store as store:
        store.apply(_creates("p"))
        store.apply(_creates("qr"))
        assert [t.txn_id for t in store.txns_after(15, 10)] == [16, 17, 18, 19]
        assert _runs(store)[-1] == (18, 19)


@pytest.mark.parametrize("keep", [1, 3, 5, 6, 9, 15, 16, 20])
def test_pruning_takes_runs_whole_and_only_from_the_oldest_end(
        sqlite_store: Store, keep: int) -> None:
    with sqlite_store as store:
        deleted = store.prune_txns(before=time.time() + 60, keep=keep)
        left = [t.txn_id for t in store.txns_after(0, 100)]
        assert deleted == 16 - len(left)
        assert left == list(range(17 - len(left), 17))  # a suffix: no holes
        assert len(left) >= min(keep, 16)
        # a run is kept whole: the oldest entry left is a run's first, or no run's member
        runs = _runs(store)
        assert all(first >= left[0] for first, _ in runs)
        assert store.oldest_txn_id() == left[0]
        # no more than keep, except the entries of the run that holds the keep-th newest
        held = [(a, b) for a, b in [(2, 6), (8, 11), (13, 15)] if a <= 17 - keep <= b]
        assert left[0] == (held[0][0] if held else max(1, 17 - keep))


def test_pruning_keeps_young_runs(sqlite_store: Store) -> None:
    with sqlite_store as store:
        assert store.prune_txns(before=0.0) == 0
        assert len(store.txns_after(0, 100)) == 16


@pytest.mark.parametrize("after", [0, 1, 2, 4, 6, 7, 9, 11, 12, 14, 16])
def test_truncating_cuts_runs_where_asked(sqlite_store: Store, after: int) -> None:
    with sqlite_store as store:
        expected = _expected()
        tail = store.truncate_txns_after(after)
        assert _entries(tail) == expected[after:]
        assert _entries(store.txns_after(0, 100)) == expected[:after]
        assert store.last_txn_id() == after
        assert all(last <= after for _, last in _runs(store))
        # later entries get new ids, past every id handed out before
        store.apply(_creates("st"))
        assert [t.txn_id for t in store.txns_after(after, 100)] == [17, 18]


def test_a_damaged_run_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with open_store(f"sqlite://{path}") as store:
        _play(store)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE txruns SET body = substr(body, 1, length(body) - 5) WHERE first = 2")
    conn.close()
    with open_store(f"sqlite://{path}") as store:
        with pytest.raises(StorageError, match="log run 2: entry 6 is cut short"):
            store.txns_after(0, 100)
        assert len(store.txns_after(6, 100)) == 10  # the other entries stay readable


def test_a_version_4_store_keeps_its_log_and_logs_runs_from_then_on(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with open_store(f"sqlite://{path}") as store:
        _play(store)
        before = _entries(store.txns_after(0, 100))
    with sqlite3.connect(path) as conn:  # what schema 4 wrote: every entry a txlog row
        for first, ts, body in conn.execute("SELECT first, ts, body FROM txruns").fetchall():
            conn.executemany("INSERT INTO txlog (id, ts, op, key, handle, vals)"
                             " VALUES (?, ?, 'create', ?, ?, ?)",
                             [(i, ts, k, hd, vals) for i, k, hd, vals, _ in
                              run_entries(first, body)])
        conn.execute("DROP TABLE txruns")
        conn.execute("UPDATE meta SET v = '4' WHERE k = 'schema_version'")
    conn.close()
    with open_store(f"sqlite://{path}") as store:
        assert _entries(store.txns_after(0, 100)) == before
        store.apply(_creates("uv"))
        assert _runs(store) == [(17, 18)]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone() == \
            (str(SCHEMA_VERSION),)
    conn.close()


def test_a_run_body_spells_out_handles_only_when_they_differ_from_keys() -> None:
    body = encode_run([("88.1/a", "88.1/a", b"\x00\x00\x00\x00"),
                       ("88.1/b", "88.1/B", b"")])
    assert body == (b"\x00\x06\x00\x00\x00\x00\x00\x04" + b"88.1/a" + b"\x00" * 4
                    + b"\x00\x06\x00\x06\x00\x00\x00\x00" + b"88.1/b88.1/B")
    assert [e[:4] for e in run_entries(7, body)] == [
        (7, "88.1/a", "88.1/a", b"\x00" * 4), (8, "88.1/b", "88.1/B", b"")]
    assert [e[0] for e in run_entries(7, body, after=7)] == [8]


@pytest.mark.parametrize("page", [1, 3, 7, 100])
def test_a_mirror_follows_runs_page_by_page(tmp_path: Path, page: int) -> None:
    with open_store(f"sqlite://{tmp_path}/p.db") as primary, \
            open_store(f"sqlite://{tmp_path}/m.db") as mirror:
        primary.home_prefix("88.1")
        _play(primary)
        while (txns := primary.txns_after(mirror.position(), page)):
            mirror.replicate(txns)
        assert _entries(mirror.txns_after(0, 100)) == _entries(primary.txns_after(0, 100))
        assert mirror.position() == primary.last_txn_id()
        for key in ("88.1/b", "88.1/k", "88.1/a", "88.1/Mixed Case"):
            assert mirror.get_record(key) == primary.get_record(key)
        # the mirror keeps each entry as a row of its own; the next run continues after
        primary.apply(_creates("wx"))
        while (txns := primary.txns_after(mirror.position(), page)):
            mirror.replicate(txns)
        assert mirror.last_txn_id() == primary.last_txn_id()
        assert mirror.get_record("88.1/x") == primary.get_record("88.1/x")
