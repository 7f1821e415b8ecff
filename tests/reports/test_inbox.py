"""The receiver's inbox on SQLite (the node's file) and PostgreSQL (its database and schema):
exactly once per (source, stream, seq), also between concurrent connections."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from idnode.reports.inbox import Channel, Inbox, open_inbox
from idnode.storage import open_store
from services import drop_postgres_schema, postgres_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'node.db'}"
        open_store(url).close()  # the node's own file exists first (WAL on)
        yield url
        return
    url = postgres_url()
    open_store(url).close()
    try:
        yield url
    finally:
        drop_postgres_schema(url)


@pytest.fixture
def inbox(url: str) -> Iterator[Inbox]:
    box = open_inbox(url)
    yield box
    box.close()


def test_applied_duplicate_conflict_and_gap(inbox: Inbox) -> None:
    routes = Channel("88.1.2", "", "routes")

    def receive(seq: int, items: str = "[1]", digest: str = "d1", stream: str = "routes",
                reporter: str = "") -> tuple[str, int]:
        got = inbox.receive(Channel("88.1.2", reporter, stream), seq, items, digest,
                            "300:88.1/A", 1000.0 + seq)
        return got.outcome, got.mark

    assert inbox.mark(routes) == 0
    assert receive(2) == ("gap", 0)
    assert receive(1) == ("applied", 1)
    assert receive(1) == ("duplicate", 1)
    assert receive(1, digest="other") == ("conflict", 1)
    assert receive(3) == ("gap", 1)
    assert receive(2, '[{"a": 2}]', "d2") == ("applied", 2)
    assert receive(1, stream="metadata") == ("applied", 1)  # streams count apart
    assert receive(1, reporter="s2") == ("applied", 1)  # and so do reporters
    assert inbox.mark(routes) == 2
    assert [b.seq for b in inbox.batches(routes, 0, 10)] == [1, 2]
    [second] = inbox.batches(routes, 1, 1)
    assert (second.seq, second.received, second.identity) == (2, 1002.0, "300:88.1/A")
    assert second.items.replace(" ", "") == '[{"a":2}]'
    marks = inbox.marks()
    assert [(m.source, m.reporter, m.stream, m.mark) for m in marks] == [
        ("88.1.2", "", "metadata", 1), ("88.1.2", "", "routes", 2),
        ("88.1.2", "s2", "routes", 1)]
    assert inbox.marks("88.9") == []


def test_tables_survive_reopening(url: str) -> None:
    first = open_inbox(url)
    channel = Channel("88.1.2", "", "routes")
    first.receive(channel, 1, "[]", "d", "x", 1.0)
    first.close()
    again = open_inbox(url)
    try:
        assert again.mark(channel) == 1
    finally:
        again.close()


def test_concurrent_copies_of_a_batch_are_stored_once(url: str) -> None:
    boxes = [open_inbox(url) for _ in range(4)]
    channel = Channel("88.1.2", "", "registrations")
    outcomes: list[str] = []
    start = threading.Barrier(len(boxes))

    def send(box: Inbox) -> None:
        start.wait()
        for seq in range(1, 11):
            outcomes.append(box.receive(channel, seq, "[]", "d", "x", float(seq)).outcome)

    threads = [threading.Thread(target=send, args=(box,)) for box in boxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        assert outcomes.count("applied") == 10
        assert set(outcomes) <= {"applied", "duplicate", "gap"}
        assert [b.seq for b in boxes[0].batches(channel, 0, 100)] == list(range(1, 11))
    finally:
        for box in boxes:
            box.close()
