"""Several processes on one database, and a writer killed with SIGKILL mid-stream."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from idnode.storage import Store, Txn, open_store
from services import drop_postgres_schema, postgres_url

from .helpers import check_digests

WRITER = str(Path(__file__).with_name("writer_proc.py"))


def _spawn(url: str, tag: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, WRITER, url, tag, str(count)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _check_log_matches_records(store: Store) -> list[Txn]:
    """Only creates were written: the log and the records must describe the same set."""
    log = store.txns_after(0, limit=100_000)
    ids = [t.txn_id for t in log]
    assert ids == sorted(set(ids))
    assert all(t.op == "create" for t in log)
    records = {r.key: r for r in store.dump(limit=100_000)}
    assert {t.key for t in log} == set(records)
    for txn in log:
        assert records[txn.key].values == txn.values
    check_digests(store)  # kept in step by every process's transactions
    return log


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path}/shared.db"
    else:
        url = postgres_url()
        yield url
        drop_postgres_schema(url)


def test_processes_share_one_database(shared_url: str) -> None:
    store = open_store(shared_url)  # creates the schema before the writers race
    followed: list[int] = []
    done = threading.Event()

    def follow() -> None:
        last = 0
        while True:
            finished = done.is_set()
            for txn in store.txns_after(last):
                assert txn.txn_id > last
                followed.append(txn.txn_id)
                last = txn.txn_id
            if finished:
                return

    follower = threading.Thread(target=follow)
    follower.start()
    writers = [_spawn(shared_url, f"p{n}", 20) for n in range(3)]
    outputs = [w.communicate(timeout=60) for w in writers]
    done.set()
    follower.join(30)
    for writer, (_, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
    acknowledged = [line for out, _ in outputs for line in out.splitlines()]
    assert len(acknowledged) == 3 * (10 * 1 + 10 * 8)
    log = _check_log_matches_records(store)
    assert len(log) == len(acknowledged)
    assert followed == [t.txn_id for t in log]  # nothing committed behind the follower
    store.close()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/crash.db"
    open_store(url).close()
    writer = _spawn(url, "k", 0)
    assert writer.stdout is not None
    acknowledged: list[str] = []
    for line in writer.stdout:
        acknowledged.append(line)
        if len(acknowledged) >= 400:
            break
    assert len(acknowledged) >= 400, writer.communicate(timeout=30)[1]
    os.kill(writer.pid, signal.SIGKILL)
    # Read the rest through the same buffered reader: communicate() would read the raw pipe
    # and skip what the reader already buffered, splitting a line in two.
    rest = writer.stdout.read()
    writer.wait(timeout=30)
    if writer.stderr is not None:
        writer.stderr.close()
    writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    acknowledged.extend(rest.splitlines(keepends=True))
    # a line cut short by the kill was never fully acknowledged
    handles = [line.rstrip("\n") for line in acknowledged if line.endswith("\n")]
    with open_store(url) as store:
        log = _check_log_matches_records(store)
        stored = {t.handle for t in log}
        missing = [handle for handle in handles if handle not in stored]
        assert missing == []
        assert len(stored) >= len(handles)
