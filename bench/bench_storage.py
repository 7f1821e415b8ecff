"""Storage at scale: point lookups and prefix listing as a store grows.

Not a test. Loads N handles (keys in sorted order, as a bulk importer would, through the
ordinary group-commit write path: one savepoint and one transaction-log entry per handle),
then measures random point lookups (``Store.get_record``), misses, and listing pages at random
positions, at several sizes. A B-tree lookup grows with log(N), so the figures at a few
million handles show the trend towards hundreds of millions.

    .venv/bin/python bench/bench_storage.py --sizes 100000,1000000,5000000
    .venv/bin/python bench/bench_storage.py --backend postgresql --sizes 100000,1000000
    .venv/bin/python bench/bench_storage.py --quick
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.storage import Store, open_store
from idnode.storage.ops import CreateHandle

PREFIX = "88.100.1"
BATCH = 2000
LOOKUPS = 20_000


def handle_name(i: int) -> str:
    return f"{PREFIX}/P{i:010d}"


def values(i: int) -> tuple[HandleValue, ...]:
    return (
        HandleValue(1, "URL", f"https://example.com/p/{i}".encode(), timestamp=1_700_000_000),
        HandleValue(2, "EMAIL", b"service@example.com", timestamp=1_700_000_000),
        HandleValue(2000, "DESC", f"batch {i // 1000} item {i}".encode(),
                    timestamp=1_700_000_000),
    )


def load(store: Store, start: int, stop: int) -> float:
    began = time.perf_counter()
    for first in range(start, stop, BATCH):
        ops = [CreateHandle(Handle.parse(handle_name(i)), values(i))
               for i in range(first, min(first + BATCH, stop))]
        results = store.apply(ops)
        bad = [r for r in results if isinstance(r, Exception)]
        if bad:
            raise SystemExit(f"load failed: {bad[0]}")
    return (stop - start) / (time.perf_counter() - began)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(store: Store, size: int, rng: random.Random) -> dict[str, float]:
    hits: list[float] = []
    for _ in range(LOOKUPS):
        key = Handle.parse(handle_name(rng.randrange(size))).key
        t = time.perf_counter()
        record = store.get_record(key)
        hits.append(time.perf_counter() - t)
        assert record is not None
    misses: list[float] = []
    for _ in range(LOOKUPS // 4):
        key = Handle.parse(f"{PREFIX}/MISSING{rng.randrange(10**9)}").key
        t = time.perf_counter()
        assert store.get_record(key) is None
        misses.append(time.perf_counter() - t)
    pages: list[float] = []
    for _ in range(200):
        after = Handle.parse(handle_name(rng.randrange(size))).key
        t = time.perf_counter()
        store.list_handles(PREFIX, after=after, limit=1000)
        pages.append(time.perf_counter() - t)
    return {
        "hit_p50_us": percentile(hits, 0.5) * 1e6,
        "hit_p99_us": percentile(hits, 0.99) * 1e6,
        "hit_mean_us": statistics.fmean(hits) * 1e6,
        "miss_p50_us": percentile(misses, 0.5) * 1e6,
        "page_p50_ms": percentile(pages, 0.5) * 1e3,
        "page_p99_ms": percentile(pages, 0.99) * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--sizes", default="100000,1000000,5000000")
    parser.add_argument("--pg", default=os.environ.get(
        "IDNODE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--quick", action="store_true", help="sizes 10000,100000")
    args = parser.parse_args()
    sizes = [10_000, 100_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="idnode-bench-storage-"))
    schema = f"bench_{os.getpid()}"
    url = (f"sqlite:///{tmp}/handles.db" if args.backend == "sqlite"
           else f"{args.pg}?schema={schema}")
    store = open_store(url, sync="full")
    rng = random.Random(42)
    print(f"backend {args.backend}; handles of 3 values; lookups of random existing keys")
    print(f"{'handles':>10} {'load/s':>9} {'hit p50':>9} {'hit p99':>9} {'miss p50':>9} "
          f"{'page p50':>9} {'page p99':>9} {'db size':>9}")
    loaded = 0
    try:
        store.home_prefix(PREFIX)
        for size in sorted(sizes):
            rate = load(store, loaded, size)
            loaded = size
            figures = measure(store, size, rng)
            db = (sum(f.stat().st_size for f in tmp.iterdir()) / 2**20
                  if args.backend == "sqlite" else float("nan"))
            print(f"{size:>10,} {rate:>9,.0f} {figures['hit_p50_us']:>7.1f}µs "
                  f"{figures['hit_p99_us']:>7.1f}µs {figures['miss_p50_us']:>7.1f}µs "
                  f"{figures['page_p50_ms']:>7.2f}ms {figures['page_p99_ms']:>7.2f}ms "
                  f"{db:>7.0f}MB", flush=True)
    finally:
        store.close()
        if args.backend == "postgresql":
            import psycopg
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
