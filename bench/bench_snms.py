"""idnode SNMS benchmark: ``POST /identityv2/data/batchCreate`` of 2,000 items per call.

A benchmark, not a test. Run from the repository root::

    .venv/bin/python bench/bench_snms.py                 # 20 calls (40,000 identifiers)
    .venv/bin/python bench/bench_snms.py --calls 5 --clients 2

``idnode init`` a temporary home (SQLite, HTTP on loopback with
``allow_credentials_over_http`` so no TLS cost is measured), ``idnode serve``, log in
(``POST /identity/token``), publish a two-item template, then send ``--calls`` batchCreate
calls of ``--batch`` new identifiers each from ``--clients`` keep-alive connections, and check
every item's result and the stored count. Reports identifiers/s and per-call p50/p99.
Bounded by ``--calls`` and ``--max-seconds``; loopback only; the node is stopped on exit.
Target: 20,000 identifiers/s. Results: ``bench/results/snms-latest.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench_node import HOST, PREFIX, SECRET, Node, make_home, say
from benchlib import check_loopback
from idnode.config import load_config
from idnode.storage import open_store

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 20_000
TEMPLATE = {"prefix": PREFIX, "version": "bench-1", "status": "published", "items": [
    {"name": "产品名称", "idType": "productName", "idIndex": 2000, "required": True,
     "metadata": {"type": "string", "maxLength": 64}},
    {"name": "生产日期", "idType": "productionDate", "idIndex": 2001,
     "metadata": {"type": "date"}}]}


class Client:
    def __init__(self, host: str, port: int, token: str = "") -> None:
        check_loopback(host)
        self.conn = http.client.HTTPConnection(host, port, timeout=120)
        self.token = token

    def call(self, method: str, path: str, body: Any) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.conn.request(method, path, json.dumps(body, ensure_ascii=False).encode(),
                          headers)
        answer = self.conn.getresponse()
        result: dict[str, Any] = json.loads(answer.read())
        return result


def batch(call: int, size: int) -> list[dict[str, Any]]:
    return [{"handle": f"{PREFIX}/snms-{call}-{n}", "templateVersion": "bench-1", "value": [
        {"index": 2000, "type": "productName", "auth": "",
         "data": {"format": "string", "value": f"电动扳手 wrench {n}"}},
        {"index": 2001, "type": "productionDate", "auth": "",
         "data": {"format": "string", "value": "2024-06-23"}}]} for n in range(size)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="idnode serve --workers")
    parser.add_argument("--storage", default=None,
                        help="a postgresql://…?schema=NEW URL instead of SQLite (the schema "
                             "is created; drop it afterwards)")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="idnode-bench-snms-") as tmp:
        home, _ = make_home(Path(tmp), 0, "off", http=f"{HOST}:0", storage=args.storage)
        config_path = home / "config.toml"
        text = config_path.read_text()
        config_path.write_text(text.replace("allow_credentials_over_http = false",
                                            "allow_credentials_over_http = true"))
        node = Node.start(home, max(1, min(args.workers, 8)))
        try:
            host, port = node.http
            login = Client(host, port).call("POST", "/identity/token", {
                "username": f"301:{PREFIX}/ADMIN", "password": SECRET})
            assert login["status"] == 1, login
            token = login["data"]["token"]
            answer = Client(host, port, token).call("POST", "/snms/api/v5/template", TEMPLATE)
            assert answer["status"] == 1, answer
            bodies = [batch(call, args.batch) for call in range(args.calls)]
            latencies: list[float] = []
            failures: list[str] = []
            deadline = time.monotonic() + args.max_seconds
            lock = threading.Lock()
            todo = list(range(args.calls))

            def worker() -> None:
                client = Client(host, port, token)
                while time.monotonic() < deadline:
                    with lock:
                        if not todo:
                            return
                        call = todo.pop(0)
                    started = time.perf_counter()
                    result = client.call("POST", "/identityv2/data/batchCreate",
                                         bodies[call])
                    elapsed = time.perf_counter() - started
                    with lock:
                        latencies.append(elapsed)
                        if result["status"] != 1:
                            failures.append(result["message"])
            say(f"{args.calls} calls of {args.batch} items from {args.clients} client(s)")
            started = time.perf_counter()
            threads = [threading.Thread(target=worker) for _ in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
        finally:
            node.stop()
        config = load_config(home)
        store = open_store(config.storage_url)
        try:
            stored = store.count_handles(PREFIX)
        finally:
            store.close()
    done = len(latencies) * args.batch
    latencies.sort()
    result = {
        "calls": len(latencies), "batch": args.batch, "clients": args.clients,
        "identifiers": done, "seconds": round(wall, 3), "ids_per_s": round(done / wall),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[min(len(latencies) - 1,
                                      int(len(latencies) * 0.99))] * 1000, 1),
        "failed_calls": len(failures), "stored": stored, "target": TARGET}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "snms-latest.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"batchCreate: {result['ids_per_s']:,} identifiers/s  p50 {result['p50_ms']} ms  "
          f"p99 {result['p99_ms']} ms per call of {args.batch}  ({done:,} identifiers, "
          f"{len(failures)} failed calls, {stored:,} handles stored)")
    if failures:
        print("first failure:", failures[0][:300])
    return 0 if not failures and stored >= done else 1


if __name__ == "__main__":
    sys.exit(main())
