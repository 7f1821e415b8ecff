"""Instructions per imported row: ``idnode import`` in one process under callgrind.

    .venv/bin/python bench/count_import.py [--rows 20000]

Wall-clock rates on a shared VM move by ±15 % from run to run and by 2x between machines
that report the same CPU; instruction counts do neither, so two commits can be compared
exactly. The same node home and rows as ``bench_import.py`` are made once; then ``idnode
import`` runs under ``valgrind --tool=callgrind`` twice, on one row and on ``--rows`` rows,
each into its own copy of the home, kept in one process (no worker). The difference divided
by the extra rows is what one row costs, without the interpreter's start, the imports and the
store's opening. Takes about a minute per 20,000 rows. Needs valgrind.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import bench_import
from idnode.cli.main import main

#: the import, kept in one process however large the input
_IMPORT = ("from idnode.bulk import limits; limits.SPLIT_BYTES = 1 << 60; import sys; "
           "from idnode.cli.main import main; sys.exit(main(sys.argv[1:]))")
_TIMEOUT = 1800.0


def _rows(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("handle,productName,model,quantity,productionDate\n")
        for i in range(count):
            f.write(f"{bench_import.PREFIX}/B{i:08d},扳手 {i},JXDY-21,{i % 1000},2024-03-15\n")


def _instructions(root: Path, home: Path, rows: Path, template: Path, name: str) -> int:
    copy = root / name
    shutil.copytree(home, copy)
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={root / name}.cg",
         sys.executable, "-c", _IMPORT, "import", str(copy), str(rows), "--template",
         str(template), "--batch", "5000", "--quiet"],
        capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    found = re.search(r"Collected : (\d+)", out.stderr)
    if out.returncode != 0 or found is None:
        raise SystemExit(f"import under callgrind failed ({out.returncode}):\n{out.stderr}")
    return int(found.group(1))


def main_count() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed", file=sys.stderr)
        return 2
    count = min(max(args.rows, 2), 200_000)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = root / "node"
        assert main(["init", str(home), "--prefix", bench_import.PREFIX, "--udp",
                     "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--http", "off", "--https", "off",
                     "--key-bits", "1024", "--admin-secret", "bench-secret"]) == 0
        template = root / "t.json"
        template.write_text(json.dumps(bench_import.TEMPLATE, ensure_ascii=False),
                            encoding="utf-8")
        one, many = root / "one.csv", root / "rows.csv"
        _rows(one, 1)
        _rows(many, count)
        base = _instructions(root, home, one, template, "one")
        total = _instructions(root, home, many, template, "many")
    per_row = (total - base) / (count - 1)
    print(f"{count} rows: {total:,} instructions, {base:,} for one row; "
          f"{per_row:,.0f} instructions per row")
    return 0


if __name__ == "__main__":
    sys.exit(main_count())
