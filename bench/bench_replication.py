"""Replication benchmark: a mirror following a primary under sustained writes, and catching up.

Two real ``idnode serve`` processes on 127.0.0.1 (SQLite, one worker each), the mirror
pulling over the TLS replication listener with challenge–response, as in production.

1. **Sustained load.** A writer process commits creates into the primary's store at a fixed
   rate (``--rate``, default 2,000/s, for ``--seconds``), in small group commits as the node's
   write queue makes them; each create carries three values. A sampler reads both positions
   every 20 ms and reports the mirror's lag in transactions and in seconds (how long ago the
   oldest transaction the mirror has not applied was committed).
2. **Catch-up.** The mirror is stopped, ``--backlog`` creates are committed, the mirror is
   started again: the time to apply the backlog gives the replication throughput in
   values/s.

The writes go into the primary's store directly, not through the protocol: the node's own
write path is measured by ``bench_node.py`` (authenticated creates/s); here the question is
whether replication keeps up with that rate, and the load generator must not steal the CPU
the two nodes need.

Target (2-core machine): the mirror keeps up with 2,000 writes/s with lag under one second.

Usage: ``cd bench && ../.venv/bin/python bench_replication.py [--rate 2000] [--seconds 20]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.storage import open_store
from idnode.storage.ops import CreateHandle
from replication.group import PREFIX, Group, wait_for

TARGET_RATE = 2000
TARGET_LAG = 1.0


def _values(i: int) -> tuple[HandleValue, ...]:
    return (HandleValue(1, "URL", f"https://products.example/{i}".encode()),
            HandleValue(2, "EMAIL", b"trace@factory.example"),
            HandleValue(2000, "DESC", f"batch {i // 1000} item {i}".encode()))


def _writer(url: str, rate: int, seconds: float, start: int, times: mp.Queue) -> None:
    """Commit ``rate`` creates a second in batches every 10 ms; report (txn id, time)."""
    store = open_store(url)
    per_tick = max(1, rate // 100)
    begin = time.monotonic()
    i = start
    tick = 0
    try:
        while time.monotonic() - begin < seconds:
            batch = [CreateHandle(Handle.parse(f"{PREFIX}/load-{n}"), _values(n))
                     for n in range(i, i + per_tick)]
            i += per_tick
            store.apply(batch)
            times.put((store.position(), time.time()))
            tick += 1
            delay = begin + tick * 0.01 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    finally:
        store.close()
        times.put(None)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def sustained(group: Group, rate: int, seconds: float) -> dict[str, float]:
    a_url = group.members["a"].home
    del a_url
    from idnode.config import load_config
    a_store_url = load_config(group.members["a"].home).storage_url
    times: mp.Queue = mp.Queue()
    writer = mp.Process(target=_writer, args=(a_store_url, rate, seconds, 0, times))
    commits: list[tuple[int, float]] = []
    lags_s: list[float] = []
    lags_n: list[int] = []
    with group.open("b") as mirror, group.open("a") as primary:
        start_pos = primary.position()
        began = time.time()
        writer.start()
        done = False
        while not done or mirror.position() < primary.position():
            while not times.empty():
                item = times.get()
                if item is None:
                    done = True
                else:
                    commits.append(item)
            now = time.time()
            head, have = primary.position(), mirror.position()
            lags_n.append(max(0, head - have))
            waiting = [t for txn, t in commits if txn > have]
            lags_s.append(now - min(waiting) if waiting else 0.0)
            if now - began > seconds + 60:
                break
            time.sleep(0.02)
        writer.join()
        ended = time.time()
        written = primary.position() - start_pos
    return {"writes": written, "rate": written / seconds, "lag_p50_s": _percentile(lags_s, .5),
            "lag_p99_s": _percentile(lags_s, .99), "lag_max_s": max(lags_s, default=0),
            "lag_max_txns": max(lags_n, default=0),
            "lag_mean_txns": statistics.fmean(lags_n) if lags_n else 0,
            "drain_s": ended - began - seconds}


def catch_up(group: Group, backlog: int) -> dict[str, float]:
    group.stop("b")
    with group.open("a") as store:
        for start in range(10**7, 10**7 + backlog, 1000):
            store.apply([CreateHandle(Handle.parse(f"{PREFIX}/backlog-{n}"), _values(n))
                         for n in range(start, min(start + 1000, 10**7 + backlog))])
        head = store.position()
    began = time.monotonic()
    group.start("b")
    with group.open("b") as mirror:
        wait_for("catch-up", lambda: mirror.position() >= head, timeout=600)
    took = time.monotonic() - began
    return {"backlog": backlog, "seconds": took, "txns_per_s": backlog / took,
            "values_per_s": 3 * backlog / took}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=TARGET_RATE)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--backlog", type=int, default=50_000)
    args = parser.parse_args()
    if not 1 <= args.rate <= 50_000 or not 1 <= args.seconds <= 600:
        raise SystemExit("rate 1…50,000/s and seconds 1…600, please")
    with tempfile.TemporaryDirectory() as tmp:
        group = Group(Path(tmp), storage=lambda name: "sqlite:store.db")
        try:
            group.start("a")
            b = group.start("b")
            wait_for("the mirror", lambda: (b.status() or {}).get("state") == "following")
            load = sustained(group, args.rate, args.seconds)
            print(f"sustained {load['rate']:,.0f} writes/s for {args.seconds:g} s "
                  f"({load['writes']:,} writes, 3 values each): mirror lag p50 "
                  f"{load['lag_p50_s'] * 1000:.0f} ms, p99 {load['lag_p99_s'] * 1000:.0f} ms, "
                  f"max {load['lag_max_s'] * 1000:.0f} ms ({load['lag_max_txns']:,} "
                  f"transactions); drained {load['drain_s']:.2f} s after the load stopped")
            ok = load["lag_p99_s"] < TARGET_LAG and load["rate"] >= 0.95 * args.rate
            print(f"target: keep up with {TARGET_RATE:,} writes/s with lag < {TARGET_LAG:g} s:"
                  f" {'met' if ok else 'NOT met'}")
            up = catch_up(group, args.backlog)
            print(f"catch-up: {up['backlog']:,} transactions in {up['seconds']:.2f} s = "
                  f"{up['txns_per_s']:,.0f} transactions/s, {up['values_per_s']:,.0f} values/s")
        finally:
            group.close()


if __name__ == "__main__":
    main()
