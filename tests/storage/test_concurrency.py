"""Concurrent writers and readers, run against every backend.

Two store objects on the same database stand in for two processes (separate connections,
separate write locks); the memory backend has only one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from idnode.storage import CreateHandle, Store, Txn

from .conftest import Opener
from .helpers import h, v

THREADS = 6
BATCHES = 12


def _run(threads: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:
                errors.append(exc)
        return run

    started = [threading.Thread(target=guarded(t)) for t in threads]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(60)
    return errors


def test_concurrent_writers_get_ids_in_commit_order(opener: Opener) -> None:
    stores = [opener(), opener()]
    done = threading.Event()
    followed: list[Txn] = []

    def writer(n: int) -> Callable[[], None]:
        def run() -> None:
            store = stores[n % 2]
            for i in range(BATCHES):
                if i % 3 == 0:
                    store.apply([CreateHandle(h(f"88.1/t{n}-{i}-{j}"), (v(1),))
                                 for j in range(4)])
                else:
                    store.create_handle(h(f"88.1/t{n}-{i}"), [v(1), v(2)])
        return run

    def follower() -> None:
        # Like a mirror: keep asking for what follows the last id seen. If an id were
        # committed after a larger one, it would be skipped here.
        last = 0
        while True:
            finished = done.is_set()
            for txn in stores[0].txns_after(last):
                assert txn.txn_id > last
                followed.append(txn)
                last = txn.txn_id
            if finished:
                return

    follow = threading.Thread(target=follower)
    follow.start()
    errors = _run([writer(n) for n in range(THREADS)])
    done.set()
    follow.join(60)
    assert errors == []
    log = stores[1].txns_after(0, limit=10_000)
    ids = [t.txn_id for t in log]
    assert ids == sorted(set(ids))
    expected = THREADS * sum(4 if i % 3 == 0 else 1 for i in range(BATCHES))
    assert len(log) == expected
    assert [t.txn_id for t in followed] == ids
    assert len(stores[0].list_handles("88.1", limit=10_000)) == expected


def test_readers_on_many_threads_see_whole_records(opener: Opener) -> None:
    store: Store = opener()
    keys = [f"88.1/r{i}" for i in range(40)]
    partial: list[tuple[str, int]] = []

    def write() -> None:
        for key in keys:
            store.create_handle(h(key), [v(i) for i in range(1, 6)])
        for key in keys:
            store.remove_values(h(key), [1, 2, 3, 4])

    def read() -> None:
        for _ in range(3):
            for key in keys:
                record = store.get_record(key)
                if record is not None and len(record.values) not in (5, 1):
                    partial.append((key, len(record.values)))

    errors = _run([write, *[read] * 4])
    assert errors == []
    assert partial == []
    assert all(len(store.get_record(k).values) == 1 for k in keys)  # type: ignore[union-attr]
