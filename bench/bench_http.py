"""idnode HTTP benchmark: REST GET of existing and missing handles, authenticated creates.

A benchmark, not a test. Run from the repository root (needs ``wrk``: ``apt-get install
wrk``)::

    .venv/bin/python bench/bench_http.py                # workers 1 and 2, 10 s per load
    .venv/bin/python bench/bench_http.py --quick        # workers 1, 3 s per load

For each worker count: ``idnode init`` a temporary home (HTTP and HTTPS on loopback, an admin
secret), preload ``--handles`` records through the storage API, ``idnode serve --workers N``
and drive it with wrk (``bench/wrk/*.lua``) from the same machine:

1. ``GET /api/handles/88.100.1/dev-N`` over plain HTTP, spread over the preloaded handles;
2. ``GET`` of a handle that does not exist (404 / RC 100);
3. ``PUT ...?overwrite=false`` creates over HTTPS with HTTP Basic authentication (HS_SECKEY),
   every request a new handle; afterwards the store is counted to check that every
   acknowledged create is there.

Targets (issue 3, 2-core machine, generator on the same machine): ≥ 20,000 GET/s with p99
under 10 ms; ≥ 2,000 authenticated creates/s over HTTPS. Loopback only; every load is bounded
by its duration; every process is stopped on exit. Results: a table and
``bench/results/http-latest.json``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_node import HOST, PREFIX, SECRET, Node, _stop_all, make_home, say
from benchlib import check_loopback
from idnode.config import load_config
from idnode.storage import open_store

WRK_DIR = Path(__file__).resolve().parent / "wrk"
RESULTS = Path(__file__).resolve().parent / "results"
GET_TARGET, GET_P99_MS, CREATE_TARGET = 20_000, 10.0, 2_000


def wrk(url: str, script: str, seconds: float, connections: int, threads: int,
        env: dict[str, str]) -> dict[str, Any]:
    check_loopback(url.split("/")[2].rsplit(":", 1)[0])
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "5s",
           "-s", str(WRK_DIR / script), url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60,
                          env=dict(os.environ, IDNODE_WRK_DIR=str(WRK_DIR), **env),
                          check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    result: dict[str, Any] = json.loads(lines[-1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(result[k] for k in ("connect_errors", "read_errors",
                                               "write_errors", "status_errors", "timeouts"))
    result["stderr_lines"] = proc.stderr.count("\n")
    return result


def fmt(name: str, r: dict[str, Any]) -> str:
    return (f"{name:<34} {r['rps']:>10,.0f} /s  p50 {r['p50_us'] / 1000:6.2f} ms  "
            f"p99 {r['p99_us'] / 1000:6.2f} ms  p99.9 {r['p999_us'] / 1000:6.2f} ms  "
            f"errors {r['errors']}")


def run_workers(workers: int, args: argparse.Namespace, base: Path) -> dict[str, Any]:
    home, _ = make_home(base, args.handles, "off", http=f"{HOST}:0", https=f"{HOST}:0")
    config_path = home / "config.toml"
    text = config_path.read_text().replace("workers = 1", f"workers = {workers}")
    config_path.write_text(text)
    node = Node.start(home, workers)
    out: dict[str, Any] = {"workers": workers}
    try:
        http = f"http://{node.http[0]}:{node.http[1]}"
        https = f"https://{node.https[0]}:{node.https[1]}"
        env = {"IDNODE_COUNT": str(args.handles)}
        say(f"workers {workers}: warming the cache")
        wrk(f"{http}/api/handles/{PREFIX}/dev-", "get.lua", 2, 16, 1,
            {"IDNODE_COUNT": str(args.handles)})
        say(f"workers {workers}: GET existing ({args.seconds:g} s)")
        out["get"] = wrk(f"{http}/api/handles/{PREFIX}/dev-", "get.lua", args.seconds,
                         args.connections, args.threads, env)
        say(f"workers {workers}: GET missing")
        missing = wrk(f"{http}/api/handles/{PREFIX}/no-such-handle", "get.lua",
                      args.seconds, args.connections, args.threads, {"IDNODE_COUNT": "0"})
        missing["errors"] -= missing["status_errors"]  # every answer is a 404, as it must be
        out["get_missing"] = missing
        say(f"workers {workers}: authenticated creates over HTTPS")
        token = base64.b64encode(f"301%3A{PREFIX}/ADMIN:{SECRET}".encode()).decode()
        out["create"] = wrk(f"{https}/api/handles/{PREFIX}/", "create.lua", args.seconds,
                            args.create_connections, args.threads,
                            {"IDNODE_AUTH": token, "IDNODE_RUN": f"w{workers}",
                             "IDNODE_ADMIN": f"{PREFIX}/ADMIN"})
    finally:
        node.stop()
    config = load_config(home)
    store = open_store(config.storage_url, index_types=config.reverse_index_types)
    try:
        stored = store.count_handles(PREFIX) - args.handles - 1  # minus the preload, ADMIN
    finally:
        store.close()
    acknowledged = out["create"]["requests"] - out["create"]["status_errors"]
    out["create"]["stored"] = stored
    # wrk counts requests it sent; a create in flight when it stopped may be stored without
    # being counted, never the reverse.
    out["create"]["lost"] = max(0, acknowledged - stored)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, action="append")
    parser.add_argument("--handles", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--create-connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    if args.quick:
        args.seconds = min(args.seconds, 3.0)
        args.handles = min(args.handles, 2_000)
    workers_list = args.workers or ([1] if args.quick else [1, 2])
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    results = []
    try:
        for workers in workers_list:
            with tempfile.TemporaryDirectory(prefix="idnode-bench-http-") as tmp:
                results.append(run_workers(workers, args, Path(tmp)))
    finally:
        _stop_all()
    print()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; wrk -t{args.threads} "
          f"-c{args.connections} (creates -c{args.create_connections}), "
          f"{args.seconds:g} s each")
    ok = True
    for r in results:
        w = r["workers"]
        print(fmt(f"workers {w}: GET existing", r["get"]))
        print(fmt(f"workers {w}: GET missing (404)", r["get_missing"]))
        print(fmt(f"workers {w}: HTTPS Basic creates", r["create"])
              + f"  stored {r['create']['stored']}, lost {r['create']['lost']}")
        ok &= r["create"]["lost"] == 0
    best_get = max(results, key=lambda r: r["get"]["rps"])["get"]
    best_create = max(results, key=lambda r: r["create"]["rps"])["create"]
    get_met = best_get["rps"] >= GET_TARGET and best_get["p99_us"] < GET_P99_MS * 1000
    print(f"target GET ≥ {GET_TARGET:,}/s, p99 < {GET_P99_MS} ms: best "
          f"{best_get['rps']:,.0f}/s p99 {best_get['p99_us'] / 1000:.2f} ms -> "
          f"{'met' if get_met else 'NOT met'}")
    print(f"target creates ≥ {CREATE_TARGET:,}/s over HTTPS: best "
          f"{best_create['rps']:,.0f}/s -> "
          f"{'met' if best_create['rps'] >= CREATE_TARGET else 'NOT met'}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "http-latest.json").write_text(json.dumps(
        {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
         "machine": platform.platform(), "cpus": os.cpu_count(), "args": vars(args),
         "results": results}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
