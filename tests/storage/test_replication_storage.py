"""The storage primitives of replication, run against every backend: replaying a primary's
log with its ids, installing dump pages and repairs, the log's floor and upkeep, the public
metadata, and the digests that compare two stores."""

from __future__ import annotations

import logging
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from idnode.errors import RegistryError, StorageError
from idnode.identifiers.value import HandleValue
from idnode.storage import (
    BUCKETS,
    AddValues,
    CreateHandle,
    DeleteHandle,
    HomePrefix,
    MemoryStore,
    ModifyValues,
    Record,
    RemoveValues,
    Store,
    Txn,
    UnhomePrefix,
    WriteOp,
    bucket_of,
    open_store,
    record_hash,
)
from services import drop_postgres_schema, postgres_url

from .helpers import check_digests, h, pg_to_value_rows, to_value_rows, v

PREFIXES = ("88.1", "88.2", "88.10")


@pytest.fixture
def mirror(backend: str, tmp_path: Path) -> Iterator[Store]:
    """A second, empty store of the same backend."""
    if backend == "memory":
        store: Store = MemoryStore()
        yield store
        store.close()
    elif backend == "sqlite":
        with open_store(f"sqlite://{tmp_path}/mirror.db") as store:
            yield store
    else:
        url = postgres_url()
        try:
            with open_store(url) as store:
                yield store
        finally:
            drop_postgres_schema(url)


def record(handle: str, *values: HandleValue) -> Record:
    return Record(handle, h(handle).key, tuple(values))


def txn(txn_id: int, op: str, handle: str, *values: HandleValue,
        timestamp: float = 1000.0) -> Txn:
    key = handle if op in ("home", "unhome") else h(handle).key
    text = f"0.NA/{handle}" if op in ("home", "unhome") else handle
    return Txn(txn_id, timestamp, op, key, text, tuple(values))


def state(store: Store) -> tuple[object, ...]:
    """Everything replication must copy, digests included."""
    buckets = store.bucket_digests()
    return (store.dump(limit=100_000), store.homed_prefixes(),
            [store.count_handles(prefix) for prefix in PREFIXES],
            store.search([("URL", "http://r.org/*")], limit=1000),
            store.search([("CHECKSUM", "md5:*")], limit=1000),
            buckets, [store.bucket_hashes(bucket) for bucket, _, _ in buckets])


def with_log(store: Store) -> tuple[object, ...]:
    return (*state(store), store.txns_after(0, 10_000))


def random_ops(rng: random.Random, count: int) -> list[WriteOp]:
    """Writes of every kind over a small key space, many of them failing."""
    ops: list[WriteOp] = []
    for n in range(count):
        prefix = rng.choice(PREFIXES)
        handle = h(f"{prefix}/{rng.choice('abc')}{rng.randrange(2)}")
        values = tuple(v(index, f"http://r.org/{rng.randrange(50)}") if index % 2
                       else v(index, f"md5:{rng.randrange(9)}", "CHECKSUM")
                       for index in rng.sample(range(1, 8), rng.randrange(4)))
        kind = rng.randrange(9)
        if kind < 3:
            ops.append(CreateHandle(handle, values, overwrite=rng.random() < 0.5))
        elif kind == 3:
            ops.append(DeleteHandle(handle))
        elif kind == 4:
            ops.append(AddValues(handle, values, overwrite=rng.random() < 0.5))
        elif kind == 5:  # one value, at an index that often exists
            ops.append(ModifyValues(handle, (v(rng.randrange(1, 4), f"http://r.org/m{n}"),)))
        elif kind == 6:
            ops.append(RemoveValues(handle, tuple(rng.sample(range(1, 8), 1))))
        elif kind == 7:
            ops.append(HomePrefix(prefix))
        else:
            ops.append(UnhomePrefix(prefix))
    return ops


# -- replicate -------------------------------------------------------------------------


def test_replicate_copies_ids_timestamps_and_records(store: Store, mirror: Store) -> None:
    store.create_handle(h("88.1/a"), [v(1, "http://r.org/a"), v(2, "md5:1", "CHECKSUM")])
    store.home_prefix("88.1")
    store.add_values(h("88.1/a"), [v(3)])
    store.create_handle(h("88.1/b"), [v(1)])
    store.delete_handle(h("88.1/b"))
    log = store.txns_after(0)
    assert mirror.replicate(log) == log[-1].txn_id == store.position()
    assert mirror.txns_after(0) == log
    assert mirror.position() == store.position()
    assert state(mirror) == state(store)
    check_digests(mirror)


def test_replicate_skips_redelivered_entries(store: Store, mirror: Store) -> None:
    for name in "abcd":
        store.create_handle(h(f"88.1/{name}"), [v(1, name)])
    log = store.txns_after(0)
    assert mirror.replicate(log[:2]) == log[1].txn_id
    assert mirror.replicate(log[:2]) == log[1].txn_id  # all of it again
    assert mirror.replicate(log[1:]) == log[-1].txn_id  # overlapping
    assert mirror.replicate([]) == log[-1].txn_id
    assert mirror.txns_after(0) == log
    assert state(mirror) == state(store)


def test_replicate_keeps_gaps_and_later_local_ids_follow(store: Store) -> None:
    store.replicate([txn(5, "create", "88.1/a", v(1)), txn(9, "create", "88.1/b", v(1))])
    assert [t.txn_id for t in store.txns_after(0)] == [5, 9]
    assert [t.txn_id for t in store.txns_after(5)] == [9]
    assert store.position() == 9
    store.create_handle(h("88.1/c"), [v(1)])
    assert store.last_txn_id() > 9


def test_replicate_rejects_ids_that_do_not_increase(store: Store) -> None:
    store.replicate([txn(1, "create", "88.1/a", v(1))])
    for bad in ([txn(2, "create", "88.1/b", v(1)), txn(2, "create", "88.1/c", v(1))],
                [txn(3, "create", "88.1/b", v(1)), txn(2, "create", "88.1/c", v(1))],
                [txn(4, "create", "88.1/b", v(1)), txn(5, "bogus", "88.1/c")],
                [txn(4, "create", "88.1/b", v(1)),
                 Txn(5, 1.0, "create", "88.1/WRONG", "88.1/c", ())]):
        with pytest.raises(StorageError):
            store.replicate(bad)
    assert store.position() == 1
    assert [rec.key for rec in store.dump()] == ["88.1/a"]
    check_digests(store)


def test_replicate_replaces_records_wholesale(store: Store) -> None:
    store.create_handle(h("88.1/a"), [v(1, "http://r.org/old"), v(2, "md5:2", "CHECKSUM")])
    start = store.position()
    store.replicate([
        # the after-image: index 2 is gone, 1 changed, 3 new
        txn(start + 1, "modify", "88.1/a", v(1, "http://r.org/new"), v(3, "x")),
        txn(start + 2, "delete", "88.1/missing"),  # deleting nothing is no error
        txn(start + 3, "unhome", "88.9"),          # nor is unhoming what is not homed
        txn(start + 4, "home", "88.9"),
        txn(start + 5, "home", "88.9"),
        txn(start + 6, "create", "88.10/z"),
    ])
    assert store.get_record("88.1/a") == record("88.1/a", v(1, "http://r.org/new"), v(3, "x"))
    assert store.search([("URL", "http://r.org/*")], limit=10) == ["88.1/a"]
    assert store.search([("URL", "http://r.org/old")], limit=10) == []
    assert store.search([("CHECKSUM", "md5:2")], limit=10) == []
    assert store.homed_prefixes() == ["88.9"]
    assert store.get_record("88.10/z") == record("88.10/z")
    assert [store.count_handles(p) for p in ("88.1", "88.10")] == [1, 1]
    assert store.position() == start + 6
    check_digests(store)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_replicated_store_equals_its_primary(store: Store, mirror: Store,
                                               seed: int) -> None:
    rng = random.Random(seed)
    failed = 0
    for _ in range(40):
        results = store.apply(random_ops(rng, rng.randrange(1, 12)))
        failed += sum(isinstance(result, RegistryError) for result in results)
    assert failed > 0  # the groups did mix failing and successful writes
    x = h("88.2/x")
    store.apply([CreateHandle(x, (v(1, "http://r.org/x"), v(2))), ModifyValues(x, (v(2, "m"),)),
                 RemoveValues(x, (1,)), AddValues(x, (v(5, "http://r.org/5"),)),
                 CreateHandle(h("88.2/y"), ()), DeleteHandle(h("88.2/y")),
                 HomePrefix("88.3"), UnhomePrefix("88.3")])
    ops = {t.op for t in store.txns_after(0, 10_000)}
    assert ops == {"create", "delete", "add", "modify", "remove", "home", "unhome"}
    check_digests(store)
    log = store.txns_after(0, 10_000)
    position = 0
    while position < log[-1].txn_id:  # in batches, each delivered twice
        batch = store.txns_after(position, rng.randrange(1, 30))
        mirror.replicate(batch)
        position = mirror.replicate(batch)
        assert position == batch[-1].txn_id
    assert state(mirror) == state(store)
    assert mirror.txns_after(0, 10_000) == log
    check_digests(mirror)


# -- install_page and install ----------------------------------------------------------


def _fill(store: Store, names: str) -> None:
    store.apply([CreateHandle(h(f"88.1/{name}"), (v(1, f"http://r.org/{name}"),))
                 for name in names])


def test_install_page_replaces_exactly_its_range(store: Store) -> None:
    _fill(store, "abcdef")
    store.home_prefix("88.1")
    log = store.txns_after(0)
    store.install_page([record("88.1/b", v(1, "http://r.org/B")),
                        record("88.1/cc", v(2, "md5:1", "CHECKSUM")),
                        record("88.1/d", v(1, "http://r.org/d"))],
                       after="88.1/a", through="88.1/d")
    assert [rec.key for rec in store.dump()] == \
        ["88.1/a", "88.1/b", "88.1/cc", "88.1/d", "88.1/e", "88.1/f"]  # c was stale
    assert store.get_record("88.1/b") == record("88.1/b", v(1, "http://r.org/B"))
    assert store.search([("URL", "http://r.org/*")], limit=10) == \
        ["88.1/a", "88.1/b", "88.1/d", "88.1/e", "88.1/f"]
    assert store.search([("URL", "http://r.org/c")], limit=10) == []
    assert store.search([("CHECKSUM", "md5:1")], limit=10) == ["88.1/cc"]
    assert store.count_handles("88.1") == 6
    assert store.homed_prefixes() == ["88.1"]  # homed=None leaves them
    assert store.txns_after(0) == log  # not logged
    check_digests(store)
    # the last page: through=None reaches the end of the key space
    store.install_page([record("88.1/e2")], after="88.1/d", through=None, homed=["0.NA/88.2"])
    assert [rec.key for rec in store.dump()] == \
        ["88.1/a", "88.1/b", "88.1/cc", "88.1/d", "88.1/e2"]
    assert store.homed_prefixes() == ["88.2"]
    assert store.count_handles("88.1") == 5
    check_digests(store)
    # an empty page empties its range; the first page starts after ""
    store.install_page([], after="", through="88.1/b")
    assert [rec.key for rec in store.dump()] == ["88.1/cc", "88.1/d", "88.1/e2"]
    check_digests(store)


def test_install_page_refuses_records_outside_its_range(store: Store) -> None:
    for records, after, through in (([record("88.1/a")], "88.1/a", "88.1/z"),
                                    ([record("88.1/z1")], "88.1/a", "88.1/z"),
                                    ([], "88.1/b", "88.1/a")):
        with pytest.raises(ValueError, match="88"):
            store.install_page(records, after=after, through=through)
    with pytest.raises(ValueError, match="not that of"):
        store.install_page([Record("88.1/a", "88.1/b", ())], after="", through=None)
    with pytest.raises(ValueError, match="twice"):
        store.install_page([record("88.1/a", v(2), v(1), v(2))], after="", through=None)


def test_a_store_installed_from_pages_equals_one_built_by_writes(store: Store,
                                                                 mirror: Store) -> None:
    rng = random.Random(7)
    for _ in range(20):
        store.apply(random_ops(rng, 10))
    records = store.dump(limit=1000)
    assert len(records) > 10
    mirror.create_handle(h("88.2/stale"), [v(1)])  # deleted by the pages
    after = ""
    for start in range(0, len(records), 4):
        page = records[start:start + 4]
        last = start + 4 >= len(records)
        through = None if last else page[-1].key
        mirror.install_page(page, after=after, through=through,
                            homed=store.homed_prefixes() if last else None,
                            floor=store.position() if last else None)
        after = page[-1].key
    assert state(mirror) == state(store)
    assert mirror.position() == store.position()
    assert mirror.txns_after(0) == [t for t in mirror.txns_after(0) if t.key == "88.2/stale"]
    check_digests(mirror)


def test_install_repairs_some_keys(store: Store) -> None:
    _fill(store, "abc")
    log = store.txns_after(0)
    store.install({"88.1/a": None, "88.1/b": record("88.1/b", v(9, "http://r.org/9")),
                   "88.1/new": record("88.1/new", v(1)), "88.1/absent": None})
    assert [rec.key for rec in store.dump()] == ["88.1/b", "88.1/c", "88.1/new"]
    assert store.get_records(["88.1/b", "88.1/zz"]) == \
        {"88.1/b": record("88.1/b", v(9, "http://r.org/9"))}
    assert store.search([("URL", "http://r.org/*")], limit=10) == ["88.1/b", "88.1/c"]
    assert store.count_handles("88.1") == 3
    assert store.txns_after(0) == log
    check_digests(store)
    with pytest.raises(ValueError, match="given for key"):
        store.install({"88.1/x": record("88.1/y")})


def test_get_records_reads_many_keys(store: Store) -> None:
    store.apply([CreateHandle(h(f"88.1/{i:04d}"), (v(1),)) for i in range(1200)])
    keys = [f"88.1/{i:04d}" for i in range(0, 1300, 2)]
    found = store.get_records(keys)
    assert sorted(found) == [key for key in keys if key < "88.1/1200"]
    assert store.get_records([]) == {}


# -- the log: floor, position, pruning, truncation -------------------------------------


def test_a_floor_raises_the_position_and_later_ids(store: Store) -> None:
    assert (store.position(), store.oldest_txn_id()) == (0, 0)
    store.install_page([record("88.1/a", v(1))], after="", through=None, floor=500)
    assert store.position() == 500
    assert store.last_txn_id() == 0  # the floor is not a log entry
    # entries the dump already held are skipped; the ones after it applied
    assert store.replicate([txn(499, "create", "88.1/old", v(1)),
                            txn(500, "delete", "88.1/a"),
                            txn(501, "create", "88.1/b", v(1))]) == 501
    assert [rec.key for rec in store.dump()] == ["88.1/a", "88.1/b"]
    store.create_handle(h("88.1/local"), [v(1)])
    assert store.last_txn_id() > 501
    assert store.oldest_txn_id() == 501


def test_local_writes_after_a_floor_get_larger_ids(store: Store) -> None:
    store.create_handle(h("88.1/a"), [v(1)])
    store.install_page([], after="88.2/", through=None, floor=1000)
    assert store.position() == 1000
    store.create_handle(h("88.1/b"), [v(1)])
    assert store.last_txn_id() > 1000
    assert store.position() == store.last_txn_id()
    # a lower floor than the log's newest id leaves the position at that id
    store.install_page([], after="88.2/", through=None, floor=3)
    assert store.position() == store.last_txn_id()


def test_prune_keeps_the_newest_and_respects_before(store: Store,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("idnode.storage.base.PRUNE_BATCH", 3)
    store.replicate([txn(i, "create", f"88.1/{i}", v(1), timestamp=100.0 + i)
                     for i in range(1, 11)])
    assert store.prune_txns(before=105.0) == 4  # ids 1..4 (timestamps 101..104)
    assert store.oldest_txn_id() == 5
    assert store.prune_txns(before=105.0) == 0
    assert store.prune_txns(before=1e12, keep=3) == 3  # 5, 6, 7
    assert [t.txn_id for t in store.txns_after(0)] == [8, 9, 10]
    assert store.prune_txns(before=1e12) == 2
    assert [t.txn_id for t in store.txns_after(0)] == [10]
    assert store.position() == 10
    assert len(store.dump()) == 10  # records stay
    with pytest.raises(ValueError, match="keep"):
        store.prune_txns(before=1e12, keep=0)
    store.create_handle(h("88.1/after"), [v(1)])
    assert store.last_txn_id() == 11


def test_prune_stops_at_the_first_entry_within_retention(store: Store) -> None:
    # The log is in commit order: an entry stamped by a clock that stepped back waits for
    # the ones before it, and a prune never reads past the first young entry.
    stamps = [100.0, 150.0, 300.0, 100.0, 300.0, 100.0, 300.0]
    store.replicate([txn(i, "create", f"88.1/{i}", v(1), timestamp=stamp)
                     for i, stamp in enumerate(stamps, 1)])
    assert store.prune_txns(before=200.0) == 2
    assert [t.txn_id for t in store.txns_after(0)] == [3, 4, 5, 6, 7]
    assert store.prune_txns(before=350.0) == 4  # the newest one is always kept
    assert [t.txn_id for t in store.txns_after(0)] == [7]


def test_truncate_returns_the_tail_and_lowers_the_floor(store: Store) -> None:
    store.replicate([txn(i, "create", f"88.1/{i}", v(i)) for i in range(1, 6)])
    log = store.txns_after(0)
    assert store.truncate_txns_after(3) == log[3:]
    assert store.txns_after(0) == log[:3]
    assert len(store.dump()) == 5  # records stay
    assert store.truncate_txns_after(3) == []
    store.install_page([], after="88.2/", through=None, floor=50)
    assert store.position() == 50
    assert store.truncate_txns_after(2) == log[2:3]
    assert store.position() == 2
    # the new primary's entries after 2 are accepted again
    assert store.replicate([txn(3, "delete", "88.1/3")]) == 3
    assert not store.exists("88.1/3")
    with pytest.raises(ValueError, match="negative"):
        store.truncate_txns_after(-1)


# -- metadata --------------------------------------------------------------------------


def test_public_metadata(store: Store) -> None:
    assert store.get_meta("replication.role") is None
    store.set_meta("replication.role", "mirror")
    store.set_meta("replication.primary", "tcp://a:2641")
    assert store.get_meta("replication.role") == "mirror"
    store.set_meta("replication.role", None)
    assert store.get_meta("replication.role") is None
    assert store.get_meta("replication.primary") == "tcp://a:2641"
    for reserved in ("schema_version", "schema", "index_types", "index_job", "txn_floor", ""):
        with pytest.raises(ValueError, match="reserved"):
            store.set_meta(reserved, "x")
        with pytest.raises(ValueError, match="reserved"):
            store.get_meta(reserved)


# -- digests ---------------------------------------------------------------------------


def test_bucket_and_hash_functions() -> None:
    import hashlib

    from idnode.identifiers.value import encode_values

    for key in ("88.1/a", "0.NA/88.1", "88.1/ü"):
        digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
        assert bucket_of(key) == int.from_bytes(digest[:2], "big") >> 4
    assert {bucket_of(f"88.1/{i}") for i in range(100_000)} == set(range(BUCKETS))
    rec = record("88.1/a", v(1, "x"), v(2, "y"))
    parts = [b"88.1/a", b"88.1/a", encode_values(rec.values)]
    expected = hashlib.blake2b(b"".join(len(p).to_bytes(4, "big") + p for p in parts),
                               digest_size=16).digest()
    assert record_hash(rec) == expected
    assert record_hash(record("88.1/a", v(2, "y"), v(1, "x"))) == expected  # index order
    assert record_hash(Record("88.1/A", "88.1/a", rec.values)) != expected  # handle text
    assert record_hash(record("88.1/a", v(1, "x"), v(2, "y", ttl=5))) != expected


def test_digests_follow_every_write_and_pinpoint_a_change(store: Store,
                                                          mirror: Store) -> None:
    assert store.bucket_digests() == []
    _fill(store, "abcdefghij")
    _fill(mirror, "abcdefghij")
    assert store.bucket_digests() == mirror.bucket_digests()
    assert sum(count for _, _, count in store.bucket_digests()) == 10
    check_digests(store)
    store.modify_values(h("88.1/e"), [v(1, "http://r.org/E")])
    ours, theirs = store.bucket_digests(), mirror.bucket_digests()
    differ = [a[0] for a, b in zip(ours, theirs, strict=True) if a != b]
    assert differ == [bucket_of("88.1/e")]
    ours_h, theirs_h = store.bucket_hashes(differ[0]), mirror.bucket_hashes(differ[0])
    assert [k for (k, a), (_, b) in zip(ours_h, theirs_h, strict=True) if a != b] == ["88.1/e"]
    check_digests(store)
    # back to the same record: the same digests again
    store.modify_values(h("88.1/e"), [v(1, "http://r.org/e")])
    assert store.bucket_digests() == mirror.bucket_digests()
    for handle in "abcdefghij":
        store.delete_handle(h(f"88.1/{handle}"))
    assert store.bucket_digests() == []
    assert store.bucket_hashes(bucket_of("88.1/e")) == []
    with pytest.raises(ValueError, match="bucket"):
        store.bucket_hashes(BUCKETS)


def test_rolled_back_writes_leave_no_digest_change(store: Store,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from idnode.errors import InvalidValue

    _fill(store, "abc")
    original = store._append_txn

    def append(timestamp: float, op: str, k: str, handle: str,
               values: tuple[HandleValue, ...]) -> None:
        original(timestamp, op, k, handle, values)
        if k in ("88.1/bad", "88.1/b"):  # after the record (and its digest) were written
            raise InvalidValue(reason="injected failure")

    monkeypatch.setattr(store, "_append_txn", append)
    # overwrite=True: each create in its savepoint, not in a run of creates (.creates)
    results = store.apply([CreateHandle(h("88.1/ok"), (v(1),), overwrite=True),
                           CreateHandle(h("88.1/bad"), (v(1),), overwrite=True),
                           ModifyValues(h("88.1/b"), (v(1, "changed"),)),
                           DeleteHandle(h("88.1/b")),
                           DeleteHandle(h("88.1/c"))])
    assert [type(r).__name__ for r in results] == \
        ["Record", "InvalidValue", "InvalidValue", "InvalidValue", "NoneType"]
    assert store.apply([DeleteHandle(h("88.1/a"))]) == [None]  # lone op: no savepoint
    assert isinstance(store.apply([DeleteHandle(h("88.1/b"))])[0], InvalidValue)
    monkeypatch.undo()
    assert [rec.key for rec in store.dump()] == ["88.1/b", "88.1/ok"]
    check_digests(store)


def test_a_failed_group_leaves_the_digests_untouched(store: Store,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(store, "ab")
    before = store.bucket_digests()
    error: type[Exception] = store.driver_errors[0] if store.driver_errors else RuntimeError
    original = store._append_txn

    def append(timestamp: float, op: str, k: str, handle: str,
               values: tuple[HandleValue, ...]) -> None:
        original(timestamp, op, k, handle, values)
        if k == "88.1/z":
            raise error("disk on fire")

    monkeypatch.setattr(store, "_append_txn", append)
    with pytest.raises(Exception, match="disk on fire"):
        store.apply([DeleteHandle(h("88.1/a")), CreateHandle(h("88.1/z"), (v(1),))])
    monkeypatch.undo()
    assert store.bucket_digests() == before
    _fill(store, "c")
    check_digests(store)


# -- schema version 3: upgrading a version-2 store -------------------------------------


def _make_version_2(path: Path) -> None:
    """Reduce a SQLite store to what idnode with schema version 2 wrote."""
    with sqlite3.connect(path) as conn:
        to_value_rows(conn)
        conn.execute("DROP TABLE record_hashes")
        conn.execute("DROP TABLE bucket_digests")
        conn.execute("DELETE FROM meta WHERE k NOT IN ('schema_version', 'index_types')")
        conn.execute("UPDATE meta SET v = '2' WHERE k = 'schema_version'")
    conn.close()


def _sqlite_meta(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        rows = dict(conn.execute("SELECT k, v FROM meta").fetchall())
    conn.close()
    return rows


def _build(url: str) -> tuple[object, ...]:
    with open_store(url) as store:
        rng = random.Random(11)
        for _ in range(30):
            store.apply(random_ops(rng, 10))
        store.apply([CreateHandle(h(f"88.1/bulk{i:02d}"), (v(1, f"http://r.org/{i}"),))
                     for i in range(40)])
        check_digests(store)
        return with_log(store)


def test_a_version_2_sqlite_store_is_upgraded_and_its_digests_back_filled(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    from idnode.storage.base import Store as BaseStore
    from idnode.storage.contract import SCHEMA_VERSION

    monkeypatch.setattr("idnode.storage.base.BATCH_SIZE", 7)
    path = tmp_path / "store.db"
    url = f"sqlite://{path}"
    before = _build(url)
    _make_version_2(path)
    original = BaseStore._backfill
    batches: list[object] = []

    def crash_on_third(self: BaseStore, job: object, records: object) -> None:
        batches.append(job)
        if len(batches) == 3:
            raise KeyboardInterrupt  # the process dies mid-batch
        original(self, job, records)  # type: ignore[arg-type]

    monkeypatch.setattr(BaseStore, "_backfill", crash_on_third)
    with caplog.at_level(logging.INFO, logger="idnode.storage"), \
            pytest.raises(KeyboardInterrupt):
        open_store(url)
    assert f"upgrading the storage schema from version 2 to {SCHEMA_VERSION}" in caplog.text
    assert '"digests": true' in _sqlite_meta(path)["index_job"]
    assert '"index": false' in _sqlite_meta(path)["index_job"]
    monkeypatch.setattr(BaseStore, "_backfill", original)
    with open_store(url) as store:
        assert with_log(store) == before
        check_digests(store)
    assert _sqlite_meta(path) == {"schema_version": str(SCHEMA_VERSION),
                                  "index_types": '["CHECKSUM", "URL"]'}


def test_a_version_2_store_mid_back_fill_is_rebuilt_whole(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite://{path}"
    before = _build(url)
    _make_version_2(path)
    with sqlite3.connect(path) as conn:  # a version-2 re-index, interrupted
        conn.execute("DELETE FROM meta WHERE k = 'index_types'")
        conn.execute("INSERT INTO meta VALUES ('index_job', ?)",
                     ('{"types": ["URL"], "counts": false, "after": "88.1/c"}',))
        conn.execute("DELETE FROM value_index")
        conn.execute("UPDATE handle_counts SET n = n + 7")
    conn.close()
    with open_store(url) as store:
        assert with_log(store) == before
        check_digests(store)


@pytest.mark.postgres
def test_a_version_2_postgres_store_is_upgraded(monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    from idnode.storage.postgres import split_url

    monkeypatch.setattr("idnode.storage.base.BATCH_SIZE", 5)
    url = postgres_url()
    try:
        before = _build(url)
        conninfo, schema = split_url(url)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            pg_to_value_rows(conn, schema)
            conn.execute(f"DROP TABLE {schema}.record_hashes, {schema}.bucket_digests")
            conn.execute(f"UPDATE {schema}.meta SET v = '2' WHERE k = 'schema_version'")
        with open_store(url) as store:
            assert with_log(store) == before
            check_digests(store)
    finally:
        drop_postgres_schema(url)


def test_sqlite_replication_reads_are_range_scans(tmp_path: Path) -> None:
    from idnode.storage import SQLiteStore
    from idnode.storage import sqlite as backend
    from idnode.storage import sqlite_log as txlog

    with open_store(f"sqlite://{tmp_path}/s.db") as store:
        assert isinstance(store, SQLiteStore)
        conn = store._writer
        cases: list[tuple[str, tuple[object, ...]]] = [
            (backend._BUCKET_HASHES, (17,)),
            (backend._RANGE_TO.format(through=" AND key <= ?"), ("88.1/a", "88.1/z")),
            (backend._RANGE_TO.format(through=""), ("88.1/a",)),
            (txlog._PRUNABLE, (5, 900, 100)),
            (txlog._PRUNABLE_RUNS, (5, 900, 100)),
            (txlog._RUNS_AFTER, (5,)),
            (txlog._NEWEST_IDS, ()),
            (txlog._OLDEST_IDS, ()),
            (txlog._RUN_BELOW, (900,)),
            (txlog._COUNT_BETWEEN, (5, 900)),
            ("SELECT bucket, xor, n FROM bucket_digests WHERE bucket IN (?, ?)", (1, 2)),
            ("DELETE FROM record_hashes WHERE bucket = ? AND key = ?", (1, "88.1/a")),
            (backend._LOGGED_SPAN, ()),
            (backend._GET, ("88.1/a",)),
        ]
        for statement, params in cases:
            plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement, params)]
            scans = [step for step in plan
                     if step.startswith("SCAN") and step != "SCAN CONSTANT ROW"]
            assert scans == [], f"{statement}: {plan}"
        # the keep-th newest entry: a walk back from the newest, no sort
        plan = [row[3] for row in conn.execute(
            "EXPLAIN QUERY PLAN " + txlog._NTH_BETWEEN, (5, 900, 3))]
        assert plan == ["SEARCH txlog USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"], plan


@pytest.mark.postgres
def test_postgres_replication_reads_use_the_indexes() -> None:
    from idnode.storage import postgres as backend

    url = postgres_url()
    try:
        with open_store(url) as store:
            store.create_handle(h("88.1/a"), [v(1)])
            cases: list[tuple[str, tuple[object, ...]]] = [
                (backend._BUCKET_HASHES, (17,)),
                (backend._RANGE_TO.format(through=" AND key <= %s"), ("88.1/a", "88.1/z")),
                (backend._PRUNABLE, (5, 900, 100)),
                ("SELECT bucket, xor, n FROM bucket_digests WHERE bucket = ANY(%s)", ([1, 2],)),
            ]
            with store._pool.connection() as conn:  # type: ignore[attr-defined]
                conn.execute("SET enable_seqscan = off")
                for statement, params in cases:
                    plan = " ".join(r[0] for r in conn.execute("EXPLAIN " + statement, params))
                    assert "Index" in plan and "Seq Scan" not in plan, plan
                conn.execute("RESET enable_seqscan")
    finally:
        drop_postgres_schema(url)
