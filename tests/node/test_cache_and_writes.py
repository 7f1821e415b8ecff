"""Cache bounds, cross-worker generations, and group commit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from idnode.errors import HandleExists, ServerBusy
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.node.cache import Generation, LruCache
from idnode.node.challenges import Challenges
from idnode.node.writes import WriteQueue
from idnode.protocol.digest import RequestDigest
from idnode.protocol.message import Message
from idnode.storage import open_store
from idnode.storage.ops import CreateHandle
from node.conftest import run


def test_lru_evicts_the_least_recently_used() -> None:
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    disabled: LruCache[str, int] = LruCache(0)
    disabled.put("a", 1)
    assert disabled.get("a") is None


def test_generation_is_shared_between_workers(tmp_path: Path) -> None:
    one = Generation(tmp_path / "gen", 0)
    two = Generation(tmp_path / "gen", 1)
    assert not one.changed() and not two.changed()
    two.bump()
    assert one.changed()  # another worker's commit is seen
    assert not two.changed()  # a worker's own commit is already applied to its cache
    assert not one.changed()
    with pytest.raises(ValueError, match="out of range"):
        Generation(tmp_path / "gen", 65)
    tool = Generation(tmp_path / "gen", 64)  # TOOL_SLOT: `idnode promote` bumps it
    tool.bump()
    assert one.changed() and two.changed()


def test_challenges_expire_and_are_bounded() -> None:
    now = [0.0]
    challenges = Challenges(timeout=10, max_pending=2, clock=lambda: now[0])
    digest = RequestDigest(3, b"\x00" * 32)
    for rid in (1, 2, 3):
        challenges.add(("tcp", 1), Message(100, request_id=rid), b"n", digest)
    assert challenges.take(("tcp", 1), 1) is None  # oldest dropped
    now[0] = 11
    assert challenges.take(("tcp", 1), 2) is False  # expired
    assert challenges.take(("tcp", 2), 3) is None  # other channel


def test_challenges_are_bounded_in_bytes_and_purge_expired_entries() -> None:
    now = [0.0]
    challenges = Challenges(timeout=10, max_pending=1000, max_bytes=100_000,
                            clock=lambda: now[0])
    digest = RequestDigest(3, b"\x00" * 32)
    big = b"x" * 20_000
    for rid in range(10):
        challenges.add(("tcp", 1), Message(100, request_id=rid, body=big), b"n", digest)
    assert challenges.held_bytes <= 100_000 and len(challenges) < 10
    assert challenges.take(("tcp", 1), 9) is not None  # the newest survive
    now[0] = 11
    challenges.add(("tcp", 2), Message(100, request_id=1, body=b"small"), b"n", digest)
    assert len(challenges) == 1  # the expired ones were purged on arrival
    assert challenges.held_bytes < 1000


def test_group_commit_acknowledges_each_write_with_its_own_result() -> None:
    store = open_store("memory:")
    store.home_prefix("88.1")
    commits = []

    async def go() -> None:
        queue = WriteQueue(store, batch_max=16, on_commit=lambda ops: commits.append(len(ops)))
        queue.start()
        ops = [CreateHandle(Handle.parse(f"88.1/h{i % 50}"), (HandleValue(1, "URL", b"x"),))
               for i in range(100)]
        results = await asyncio.gather(*(queue.submit(op) for op in ops),
                                       return_exceptions=True)
        assert sum(not isinstance(r, Exception) for r in results) == 50
        assert all(isinstance(r, HandleExists) for r in results[50:])
        await queue.close()
        with pytest.raises(ServerBusy):
            await queue.submit(ops[0])
    run(go())
    assert len(store.list_handles("88.1", limit=1000)) == 50
    assert 1 <= len(commits) <= 100 // 16 + 2  # writes shared commits
    assert sum(commits) == 50  # each successful write reported once


def test_a_batch_is_committed_whole_with_a_result_per_operation() -> None:
    store = open_store("memory:")
    store.home_prefix("88.1")
    store.create_handle(Handle.parse("88.1/taken"), [HandleValue(1, "URL", b"old")])
    groups: list[int] = []
    applied: list[int] = []
    original = store.apply

    def apply(ops: list[CreateHandle], prepared: object = None,
              plan: object = None) -> list[object]:
        applied.append(len(ops))
        return original(ops, prepared, plan)  # type: ignore[arg-type,return-value]

    store.apply = apply  # type: ignore[assignment,method-assign]

    async def go() -> None:
        queue = WriteQueue(store, batch_max=16, on_commit=lambda ops: groups.append(len(ops)))
        queue.start()
        ops = [CreateHandle(Handle.parse(f"88.1/b{i}"), (HandleValue(1, "URL", b"x"),))
               for i in range(100)]
        ops[7] = CreateHandle(Handle.parse("88.1/taken"), (HandleValue(1, "URL", b"x"),))
        lone = asyncio.ensure_future(queue.submit(CreateHandle(
            Handle.parse("88.1/lone"), (HandleValue(1, "URL", b"x"),))))
        results = await queue.submit_many(ops)
        await lone
        assert len(results) == 100 and isinstance(results[7], HandleExists)
        assert sum(not isinstance(r, Exception) for r in results) == 99
        assert await queue.submit_many([]) == []
        await queue.close()
    run(go())
    assert 100 in applied or 101 in applied  # batch_max never splits a batch
    assert sum(groups) == 100  # 99 of the batch and the lone write
    assert store.count_handles("88.1") == 101


def test_a_read_that_overlaps_a_local_commit_is_not_cached(tmp_path: Path) -> None:
    from idnode.node.records import Records

    store = open_store("memory:")
    store.home_prefix("88.1")
    handle = Handle.parse("88.1/raced")
    records = Records(store, Generation(None, 0), 100)
    real_read = store.get_record

    def read_then_commit_lands(key: str) -> object:
        old = real_read(key)  # the old state (not found) ...
        store.create_handle(handle, [HandleValue(1, "URL", b"x")])
        records.committed([CreateHandle(handle, (HandleValue(1, "URL", b"x"),))])
        return old  # ... returned after the commit was applied

    store.get_record = read_then_commit_lands  # type: ignore[method-assign]
    assert run(records.get(handle.key)) is None
    store.get_record = real_read  # type: ignore[method-assign]
    assert records.cached(handle.key) is None  # the stale "not found" was not cached
    assert run(records.get(handle.key)) is not None


def test_a_read_that_overlaps_another_workers_commit_is_not_cached(tmp_path: Path) -> None:
    from idnode.node.records import Records

    store = open_store("memory:")
    store.home_prefix("88.1")
    handle = Handle.parse("88.1/raced")
    worker_a = Records(store, Generation(tmp_path / "gen", 0), 100)
    worker_b = Records(store, Generation(tmp_path / "gen", 1), 100)
    real_read = store.get_record

    def read_while_a_commits(key: str) -> object:
        old = real_read(key)
        store.create_handle(handle, [HandleValue(1, "URL", b"new")])
        worker_a.committed([CreateHandle(handle, (HandleValue(1, "URL", b"new"),))])
        worker_b.check_generation()  # B serves another request meanwhile
        return old

    store.get_record = read_while_a_commits  # type: ignore[method-assign]
    assert run(worker_b.get(handle.key)) is None
    store.get_record = real_read  # type: ignore[method-assign]
    assert worker_b.cached(handle.key) is None
    assert run(worker_b.get(handle.key)) is not None


def test_a_failing_commit_hook_still_answers_and_keeps_the_queue_alive() -> None:
    store = open_store("memory:")
    store.home_prefix("88.1")

    def broken_hook(ops: object) -> None:
        raise RuntimeError("hook broke")

    async def go() -> None:
        queue = WriteQueue(store, on_commit=broken_hook)
        queue.start()
        for name in ("a", "b"):
            await asyncio.wait_for(queue.submit(CreateHandle(
                Handle.parse(f"88.1/{name}"), (HandleValue(1, "URL", b"x"),))), 5)
        await queue.close()
    run(go())
    assert len(store.list_handles("88.1", limit=10)) == 2


def test_failure_throttle_counts_per_address_within_the_window() -> None:
    from idnode.node.throttle import FailureThrottle

    now = [0.0]
    throttle = FailureThrottle(3, window=60, max_addresses=2, clock=lambda: now[0])
    for _ in range(3):
        throttle.check("10.0.0.1")
        throttle.failed("10.0.0.1")
    with pytest.raises(ServerBusy, match="failed authentications"):
        throttle.check("10.0.0.1")
    throttle.check("10.0.0.2")  # other addresses are not affected
    now[0] = 61
    throttle.check("10.0.0.1")  # the window has passed
    throttle.failed("a")
    throttle.failed("b")
    throttle.failed("c")  # bounded: the least recently failing address is forgotten
    assert len(throttle._failures) <= 2
