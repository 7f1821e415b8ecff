"""A store tuned for a bulk job (``Store.bulk_writes``): SQLite folds the logged record hashes
in whole passes and leaves the copying of its write-ahead log to ``checkpoint()``; the
digests stay exact throughout, and the job's end leaves the store as other writes keep it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from idnode.storage import CreateHandle, DeleteHandle, SQLiteStore, Store, open_store

from .helpers import check_digests, h, v


def _logged(store: SQLiteStore) -> int:
    return int(store._writer.execute("SELECT count(*) FROM hash_log").fetchone()[0])


def _creates(start: int, n: int) -> list[CreateHandle]:
    return [CreateHandle(h(f"88.7/b{i:03d}"), (v(1, f"http://b/{i}"),))
            for i in range(start, start + n)]


def test_bulk_writes_fold_the_whole_log_at_once(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("idnode.storage.sqlite.FOLD_AT", 4)  # what other writes would do
    monkeypatch.setattr("idnode.storage.sqlite.BULK_FOLD", 10)
    with open_store(f"sqlite://{tmp_path}/s.db") as store:
        assert isinstance(store, SQLiteStore)
        store.home_prefix("88.7")
        store.bulk_writes()
        store.apply(_creates(0, 4))
        store.apply([*_creates(4, 4), DeleteHandle(h("88.7/b001"))])
        assert _logged(store) == 9  # past FOLD_AT: kept for one larger pass
        check_digests(store)
        store.apply(_creates(8, 4))
        assert _logged(store) == 0  # 13 >= 10: folded whole
        check_digests(store)
        store.apply(_creates(12, 2))
        store.apply(_creates(14, 3))
        assert _logged(store) == 5
        store.end_bulk_writes()  # folded but for half of FOLD_AT, as other writes leave it
        assert _logged(store) == 2
        assert store._writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        check_digests(store)
        assert store.count_handles("88.7") == 16
        store.apply(_creates(20, 3))  # other writes fold as before
        assert _logged(store) < 4


def test_the_pass_grows_with_the_store(tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("idnode.storage.sqlite.BULK_FOLD", 2)
    monkeypatch.setattr("idnode.storage.sqlite.FOLD_AT", 2)
    monkeypatch.setattr("idnode.storage.sqlite.FOLD_MIN", 1000)
    with open_store(f"sqlite://{tmp_path}/s.db") as store:
        assert isinstance(store, SQLiteStore)
        store.home_prefix("88.7")
        store.apply(_creates(0, 80))
        assert _logged(store) == 0
        store.bulk_writes()  # a sixteenth of 80 records
        store.apply(_creates(100, 4))
        assert _logged(store) == 4
        store.apply(_creates(104, 1))
        assert _logged(store) == 0


def test_checkpoints_left_to_the_bulk_writer(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with open_store(f"sqlite://{path}") as store:
        store.home_prefix("88.7")
        store.bulk_writes()
        before = os.path.getsize(path)
        store.apply(_creates(0, 300))  # well under the deferred checkpoint's 16,384 pages
        assert os.path.getsize(path) == before  # all of it still in the write-ahead log
        store.checkpoint()
        assert os.path.getsize(path) > before
        store.end_bulk_writes()
    with open_store(f"sqlite://{path}") as store:
        assert store.count_handles("88.7") == 300
        check_digests(store)


def test_elsewhere_bulk_writes_change_nothing(store: Store) -> None:
    store.bulk_writes()
    store.apply(_creates(0, 5))
    store.checkpoint()
    store.end_bulk_writes()
    store.end_bulk_writes()  # twice: nothing more to do
    assert store.count_handles("88.7") == 5
    check_digests(store)
