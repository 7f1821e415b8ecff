"""Template validation throughput: rows/s of :func:`idnode.templates.validate`.

    .venv/bin/python bench/bench_validate.py [--seconds 3] [--form dict|snms]

The template is the common two-item case (a string of at most 64 characters and a
``yyyy-MM-dd`` date); rows are all valid, in the form ``idnode import`` passes (``dict``, type
name → value) or the SNMS batchCreate form (``snms``, ``[{index, type, data: {format,
value}}]``). Prints rows/s against the target of 300,000 rows/s: the validation share of the
100,000 identifiers/s the whole import or batchCreate path aims at. The loop is bounded by
``--seconds`` and by 20 million rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from idnode.templates import loads, publish, validate

TARGET = 300_000
MAX_ROWS = 20_000_000
TEMPLATE = {
    "prefix": "88.100.1", "version": "1.0", "type": 2,
    "items": [
        {"name": "产品名称", "idType": "productName", "idIndex": 2000, "required": True,
         "metadata": {"type": "string", "maxLength": 64}},
        {"name": "生产日期", "idType": "productionDate", "idIndex": 2001,
         "metadata": {"type": "date", "dateFormat": "yyyy-MM-dd"}}]}


def rows(form: str, count: int) -> list[object]:
    out: list[object] = []
    for n in range(count):
        name, day = f"产品 {n:08d}", f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}"
        if form == "dict":
            out.append({"productName": name, "productionDate": day})
        else:
            out.append([
                {"index": 2000, "type": "productName", "auth": "",
                 "data": {"format": "string", "value": name}},
                {"index": 2001, "type": "productionDate", "auth": "",
                 "data": {"format": "string", "value": day}}])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--form", choices=("dict", "snms"), default="dict")
    args = parser.parse_args()
    template = publish(loads(json.dumps(TEMPLATE)))
    sample = rows(args.form, 10_000)
    for data in sample[:100]:  # warm-up: compiles the template once
        validate(template, data)
    done = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    deadline = start + min(args.seconds, 60.0)
    while time.perf_counter() < deadline and done < MAX_ROWS:
        for data in sample:
            validate(template, data)
        done += len(sample)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    rate, cpu_rate = done / elapsed, done / cpu
    verdict = "meets" if cpu_rate >= TARGET else "BELOW"
    print(f"validate ({args.form} rows, 2 items): {done} rows in {elapsed:.2f} s "
          f"({cpu:.2f} s CPU) = {rate:,.0f} rows/s wall, {cpu_rate:,.0f} rows/s CPU; "
          f"target {TARGET:,} rows/s: {verdict}")
    return 0 if cpu_rate >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
