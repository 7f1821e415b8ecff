"""Recursive node benchmark: cache-hit throughput and cold four-level resolution latency.

A benchmark, not a test (pytest only collects ``tests/``). Run from the repository root::

    .venv/bin/python bench/bench_recursive.py            # full run, workers 1 and 2 (~1 min)
    .venv/bin/python bench/bench_recursive.py --quick    # smoke run (~20 s)

It builds a four-level hierarchy of ``idnode serve`` processes on 127.0.0.1: a root node
(0.NA), a national top-level node (88), a secondary node (88.118) and an enterprise node
(88.118.8) holding ``--handles`` identifiers, with the delegation records the resolver walks
(``0.NA/88`` and ``0.NA/88.118`` with HS_SITE.PREFIX, ``0.NA/88.118.8`` with HS_SITE). Then:

1. **cache hits**: a recursive node (``--workers N``) answers resolutions of the
   enterprise's identifiers over UDP; the generator's warm-up fills its cache, the measured
   window is all cache hits (closed loop, W outstanding requests, ``udpload.c``);
2. **cold resolutions**: a second recursive node with ``cache_max_entries = 0`` must walk
   all four levels for every request (root → top-level → secondary → enterprise: four
   upstream round trips over UDP); one request at a time, so the latency is the walk's.

Targets (issue 4, 2-core machine): cache hits ≥ 40,000/s over UDP; cold four-level
resolution p50 < 5 ms. Everything binds and sends to 127.0.0.1 only; every load loop is
bounded in time and count; every process is stopped on exit, Ctrl-C or error. Results: a
table on stdout and ``bench/results/recursive-latest.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench_node import (
    HOST,
    Generator,
    LoadSpec,
    Node,
    _on_sigterm,
    _stop_all,
    _tempdir,
    machine_info,
    run_load,
    say,
)
from benchlib import bench_values, write_request_file
from idnode.auth.keys import load_private_key
from idnode.config import load_config
from idnode.identifiers.handle import Handle, handle_key
from idnode.identifiers.value import HandleValue
from idnode.node.worker import build_site
from idnode.storage import CreateHandle, open_store

BENCH = Path(__file__).resolve().parent
TARGET_HITS = 40_000
TARGET_COLD_P50_MS = 5.0
LEVELS = (("root", "root", "0.NA"), ("top", "top-level", "88"),
          ("secondary", "secondary", "88.118"), ("enterprise", "enterprise", "88.118.8"))


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((HOST, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((HOST, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


def init(home: Path, *args: str) -> None:
    out = subprocess.run([sys.executable, "-m", "idnode", "init", str(home), *args,
                          "--http", "off", "--https", "off"],
                         capture_output=True, text=True, timeout=120, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"idnode init failed:\n{out.stdout}\n{out.stderr}")
    config = home / "config.toml"
    config.write_text(re.sub(r"^access_log = .*$", 'access_log = "off"', config.read_text(),
                             flags=re.M))


def site_value(home: Path, index: int, type_: str) -> HandleValue:
    config = load_config(home)
    assert config.udp is not None and config.tcp is not None
    site = build_site(config, (config.udp.host, config.udp.port),
                      (config.tcp.host, config.tcp.port), load_private_key(config.server_key))
    return HandleValue(index, type_, site.to_bytes()).with_timestamp()


def write(home: Path, records: dict[str, list[HandleValue]]) -> None:
    config = load_config(home)
    store = open_store(config.storage_url, max_values=config.limits.max_values_per_handle)
    try:
        names = sorted(records, key=handle_key)
        for i in range(0, len(names), 1000):
            ops = [CreateHandle(Handle.parse(n), tuple(records[n]), True)
                   for n in names[i:i + 1000]]
            for result in store.apply(ops):
                if isinstance(result, Exception):
                    raise result
    finally:
        store.close()


def names(handles: int) -> list[str]:
    return [f"88.118.8/dev-{n:07d}" for n in range(handles)]


def build(tmp: Path, handles: int) -> dict[str, Path]:
    """The four authoritative homes, their delegation records and the identifiers."""
    homes = {}
    for name, role, prefix in LEVELS:
        port = free_port()
        homes[name] = tmp / name
        init(homes[name], "--role", role, "--prefix", prefix,
             "--udp", f"{HOST}:{port}", "--tcp", f"{HOST}:{port}")
    write(homes["root"], {"0.NA/88": [site_value(homes["top"], 1, "HS_SITE"),
                                      site_value(homes["top"], 2, "HS_SITE.PREFIX")]})
    write(homes["top"], {"0.NA/88.118": [site_value(homes["secondary"], 1, "HS_SITE"),
                                         site_value(homes["secondary"], 2,
                                                    "HS_SITE.PREFIX")]})
    write(homes["secondary"], {"0.NA/88.118.8": [site_value(homes["enterprise"], 1,
                                                            "HS_SITE")]})
    write(homes["enterprise"], {
        name: [v.with_timestamp() for v in bench_values(n)]
        for n, name in enumerate(names(handles))})
    return homes


def recursive_home(tmp: Path, name: str, root: Path, workers: int, cache: int) -> Path:
    root_config = load_config(root)
    assert root_config.udp is not None
    port = free_port()
    home = tmp / name
    init(home, "--role", "recursive", "--root", str(root_config.udp),
         "--udp", f"{HOST}:{port}", "--tcp", f"{HOST}:{port}")
    config = home / "config.toml"
    text = config.read_text()
    text = re.sub(r"^workers = .*$", f"workers = {workers}", text, flags=re.M)
    text = re.sub(r"^cache_max_entries = .*$", f"cache_max_entries = {cache}", text,
                  flags=re.M)
    config.write_text(text)
    return home


def measure(gen: Generator, args: argparse.Namespace, tmp: Path, homes: dict[str, Path],
            workers: int, reqfile: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"workers": workers}
    hot = Node.start(recursive_home(tmp, f"recursive-w{workers}", homes["root"], workers,
                                    100_000), workers)
    try:
        for lanes in args.lanes:
            say(f"cache hits, workers {workers}, W={lanes}")
            r = run_load(gen, LoadSpec("udp-load", hot.udp[1], reqfile, lanes,
                                       sockets=min(lanes, 16), warmup=args.warmup,
                                       duration=args.duration,
                                       max_requests=args.max_requests, procs=1), hot)
            out[f"hits_w{lanes}"] = r
            show(r)
    finally:
        hot.stop()
    if workers == 1:
        cold = Node.start(recursive_home(tmp, "recursive-cold", homes["root"], 1, 0), 1)
        try:
            say("cold four-level resolutions (cache off), one at a time")
            r = run_load(gen, LoadSpec("udp-load", cold.udp[1], reqfile, 1, sockets=1,
                                       warmup=1.0, duration=args.duration,
                                       max_requests=args.max_requests, procs=1), cold)
            out["cold"] = r
            show(r)
        finally:
            cold.stop()
    return out


def show(r: dict[str, Any]) -> None:
    print(f"   {r['rate']:>8,}/s  p50 {r['p50_us'] / 1000:.2f} ms  p99 "
          f"{r['p99_us'] / 1000:.2f} ms  p99.9 {r['p999_us'] / 1000:.2f} ms  "
          f"errors {r['errors']} timeouts {r['timeouts']}  server cpu "
          f"{r.get('server_cpu', '?')}", flush=True)


def table(result: dict[str, Any]) -> str:
    lines = ["| workers | measurement | rate/s | p50 | p90 | p99 | p99.9 | errors / timeouts "
             "| server CPU (cores) |", "|---|---|---|---|---|---|---|---|---|"]
    for run in result["runs"]:
        for key, r in run.items():
            if not isinstance(r, dict):
                continue
            what = ("cold 4-level, W=1 (cache off)" if key == "cold"
                    else f"cache hits, W={r['lanes']}")
            lines.append(
                f"| {run['workers']} | {what} | {r['rate']:,} | {r['p50_us'] / 1000:.2f} ms | "
                f"{r['p90_us'] / 1000:.2f} ms | {r['p99_us'] / 1000:.2f} ms | "
                f"{r['p999_us'] / 1000:.2f} ms | {r['errors']} / {r['timeouts']} | "
                f"{r.get('server_cpu', '?')} |")
    hits = max((r["rate"] for run in result["runs"] for k, r in run.items()
                if isinstance(r, dict) and k != "cold"), default=0)
    colds = [run["cold"] for run in result["runs"] if "cold" in run]
    lines.append("")
    lines.append(f"cache hits target ≥ {TARGET_HITS:,}/s: best {hits:,}/s — "
                 f"{'MET' if hits >= TARGET_HITS else 'NOT MET'}")
    if colds:
        p50 = colds[0]["p50_us"] / 1000
        lines.append(f"cold four-level p50 target < {TARGET_COLD_P50_MS:g} ms: {p50:.2f} ms — "
                     f"{'MET' if p50 < TARGET_COLD_P50_MS else 'NOT MET'}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a short smoke run")
    p.add_argument("--workers", type=int, action="append",
                   help="recursive node worker counts (default 1 and 2)")
    p.add_argument("--handles", type=int, default=10_000)
    p.add_argument("--lanes", type=int, action="append",
                   help="outstanding requests for the cache-hit runs (default 16, 64)")
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=4.0)
    p.add_argument("--max-requests", type=int, default=5_000_000)
    p.add_argument("--generator", choices=("auto", "c", "python"), default="auto")
    p.add_argument("--json", type=Path, default=BENCH / "results" / "recursive-latest.json")
    p.add_argument("--tmp", type=Path, help="parent directory for the temporary homes")
    p.add_argument("--keep", action="store_true", help="keep the temporary homes")
    args = p.parse_args(argv)
    args.workers = args.workers or ([1] if args.quick else [1, 2])
    args.lanes = args.lanes or ([64] if args.quick else [16, 64])
    if args.quick:
        args.duration, args.warmup, args.handles = 3.0, 2.0, 2000
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    started = time.monotonic()
    result: dict[str, Any] = {"machine": machine_info(),
                              "command": " ".join([Path(sys.executable).name, *sys.argv]),
                              "targets": {"cache_hits_per_s": TARGET_HITS,
                                          "cold_p50_ms": TARGET_COLD_P50_MS},
                              "runs": []}
    nodes: list[Node] = []
    try:
        with _tempdir(args.tmp, args.keep) as tmp:
            gen = Generator.build(tmp, args.generator)
            say(f"building the hierarchy ({args.handles:,} identifiers)")
            homes = build(tmp, args.handles)
            nodes = [Node.start(homes[name], 1) for name, _, _ in LEVELS]
            reqfile = tmp / "requests.bin"
            write_request_file(reqfile, names(args.handles))
            for workers in args.workers:
                result["runs"].append(measure(gen, args, tmp, homes, workers, reqfile))
    except KeyboardInterrupt:
        print("interrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        for node in nodes:
            node.stop()
        _stop_all()
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    print()
    print(table(result))
    print(f"\n(total {result['elapsed_s']} s)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
