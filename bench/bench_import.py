"""Bulk import throughput: ``idnode import`` of N generated rows into a fresh SQLite home.

    .venv/bin/python bench/bench_import.py [--rows 200000] [--batch 5000] [--unique]
        [--storage URL] [--in-process] [--profile]

Prints rows/s against the target of 100,000 identifiers/s. The store is opened with
``sync = "full"`` (one fsync per batch: the checkpoint must never run ahead of durable data).
``--unique`` makes ``productName`` a unique (唯一) item (indexed): one reverse-index lookup
per row, as the SNMS API checks it (such imports run in one process). ``--in-process``
keeps a large import in one process (no worker, see ``idnode.bulk.worker``). ``--profile``
sees this process only, not the worker's half of the batches.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

from idnode.bulk import limits
from idnode.cli.main import main

TARGET = 100_000
MAX_ROWS = 2_000_000
PREFIX = "88.100.1"
TEMPLATE = {
    "prefix": PREFIX, "version": "1.0", "code": "bench", "type": 2, "status": "published",
    "items": [
        {"name": "产品名称", "idType": "productName", "idIndex": 2000, "required": True,
         "metadata": {"type": "string", "maxLength": 64}},
        {"name": "型号", "idType": "model", "idIndex": 2001,
         "metadata": {"type": "string", "pattern": "[A-Z0-9-]+"}},
        {"name": "数量", "idType": "quantity", "idIndex": 2002, "metadata": {"type": "number"}},
        {"name": "生产日期", "idType": "productionDate", "idIndex": 2003,
         "metadata": {"type": "date", "dateFormat": "yyyy-MM-dd"}},
    ]}


def main_bench() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--unique", action="store_true",
                        help="productName unique (唯一): one index lookup per row")
    parser.add_argument("--storage", default=None,
                        help="a postgresql://…?schema=NEW URL instead of SQLite (the schema "
                             "is created; drop it afterwards)")
    parser.add_argument("--in-process", action="store_true",
                        help="no worker process, whatever the input's size")
    parser.add_argument("--profile", action="store_true",
                        help="print the top functions (of this process)")
    args = parser.parse_args()
    if args.in_process:
        limits.SPLIT_BYTES = MAX_ROWS * 1000  # type: ignore[misc]  # a bench knob
    rows = min(max(args.rows, 1), MAX_ROWS)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = root / "node"
        init = ["init", str(home), "--prefix", PREFIX, "--udp", "127.0.0.1:0", "--tcp",
                "127.0.0.1:0", "--http", "off", "--https", "off", "--key-bits", "1024",
                "--admin-secret", "bench-secret"]
        if args.storage:
            init += ["--storage", args.storage]
        assert main(init) == 0
        body = json.loads(json.dumps(TEMPLATE))
        if args.unique:
            body["items"][0]["unique"] = True
            config = home / "config.toml"
            config.write_text(config.read_text(encoding="utf-8").replace(
                'reverse_index_types = ["URL", "CHECKSUM"]',
                'reverse_index_types = ["URL", "CHECKSUM", "productName"]'), encoding="utf-8")
        template = root / "t.json"
        template.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        data = root / "rows.csv"
        with data.open("w", encoding="utf-8") as f:
            f.write("handle,productName,model,quantity,productionDate\n")
            for i in range(rows):
                f.write(f"{PREFIX}/B{i:08d},扳手 {i},JXDY-21,{i % 1000},2024-03-15\n")
        argv = ["import", str(home), str(data), "--template", str(template), "--batch",
                str(args.batch), "--quiet"]
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        code = main(argv)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
    rate = rows / elapsed
    print(f"imported {rows} rows in {elapsed:.2f} s: {rate:,.0f} rows/s "
          f"({rate / TARGET:.0%} of the {TARGET:,}/s target), exit {code}")
    if profiler:
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main_bench())
