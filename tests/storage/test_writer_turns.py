"""Writers of one SQLite file take turns through a lock file (storage/turns.py)."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from idnode.errors import StorageError
from idnode.storage import open_store
from idnode.storage.turns import WriterTurns

from .helpers import h, v


def test_a_second_writer_waits_for_the_turn_then_gives_up(tmp_path: Path) -> None:
    database = str(tmp_path / "store.db")
    first, second = WriterTurns(database), WriterTurns(database)  # two open files, as two processes
    try:
        assert stat.S_IMODE(os.stat(first.path).st_mode) == 0o600
        first.take(1.0)
        with pytest.raises(StorageError, match=r"more than 0\.2 s"):
            second.take(0.2)
        released = threading.Timer(0.1, first.give_back)
        released.start()
        started = time.monotonic()
        second.take(5.0)  # taken once the first gives it back, long before the timeout
        assert time.monotonic() - started < 4.0
        second.give_back()
        released.join()
    finally:
        first.close()
        second.close()


def test_stores_sharing_a_file_write_in_turns(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/store.db"
    stores = [open_store(url), open_store(url)]
    try:
        stores[0].home_prefix("88.1")

        def write(n: int) -> None:
            for i in range(50):
                stores[n].create_handle(h(f"88.1/{n}-{i}"), [v(1)])
        threads = [threading.Thread(target=write, args=(n,)) for n in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert stores[1].count_handles("88.1") == 100
        assert len(stores[0].txns_after(0, limit=1000)) == 101  # the home and 100 creates
    finally:
        for store in stores:
            store.close()
