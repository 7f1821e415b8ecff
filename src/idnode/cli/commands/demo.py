"""``idnode demo [DIR]``: a whole identifier resolution hierarchy (工业互联网标识解析体系) on
127.0.0.1, with sample identifiers, until Ctrl-C.

Steps: create (or reuse) the node homes under DIR (:mod:`idnode.demo.homes`), check that every
port is free, start one ``idnode serve`` per server (:mod:`idnode.demo.runner`), wait until
all are ready, resolve a sample identifier through the recursive node with a trace, print
where to look (:mod:`idnode.demo.report`), then run until SIGINT/SIGTERM and stop every
process. Exit status: 0 after a requested stop, 1 when a node fails, 2 for a directory or
port problem, 130 when interrupted before the nodes were ready.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idnode.demo.errors import DemoError
from idnode.demo.topology import (
    DEFAULT_BASE_PORT,
    DEFAULT_RECURSIVE_PORT,
    Topology,
    build_topology,
)
from idnode.errors import RegistryError

if TYPE_CHECKING:
    from idnode.demo.homes import Homes
    from idnode.demo.runner import StopReport

__all__ = ["register"]

_READY_TIMEOUT = 60.0
_EXIT_FAILED, _EXIT_SETUP, _EXIT_INTERRUPTED = 1, 2, 130


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "demo", help="run a whole IDIS hierarchy (root, top-level, secondary, enterprise and "
                     "recursive nodes) on 127.0.0.1 with sample identifiers",
        description="Create node homes under DIR (reused on later runs), start a root node, "
                    "five top-level nodes and a disaster-recovery mirror, three secondary "
                    "nodes, enterprise nodes (one a three-server site with a mirror) and a "
                    "recursive node, all on 127.0.0.1, load sample identifiers, show a "
                    "resolution traced through every level, and run until Ctrl-C.")
    p.add_argument("dir", nargs="?", type=Path, default=Path("var/demo"),
                   help="where the node homes live (default var/demo)")
    p.add_argument("--base-port", type=int, metavar="N",
                   help=f"first port (default {DEFAULT_BASE_PORT}); node k listens on N+2k "
                        f"(UDP and TCP) and N+2k+1 (HTTP). Without it the recursive node "
                        f"takes {DEFAULT_RECURSIVE_PORT} for UDP and TCP; with it, N")
    p.add_argument("--fresh", action="store_true",
                   help="delete DIR (only if it is a demo directory) and create it anew")
    p.set_defaults(func=run)


def _topology(base_port: int | None, manifest: dict[str, Any] | None) -> Topology:
    if manifest is None:
        if base_port is None:
            return build_topology(DEFAULT_BASE_PORT, DEFAULT_RECURSIVE_PORT)
        return build_topology(base_port, None)
    made_with = manifest.get("basePort")
    if base_port is not None and base_port != made_with:
        raise DemoError(f"the demo directory was made with --base-port {made_with}; use that, "
                        "or add --fresh to make it anew with other ports")
    recursive = manifest.get("recursivePort")
    if not isinstance(made_with, int) or not (recursive is None or isinstance(recursive, int)):
        raise DemoError("the demo directory's manifest is damaged; run again with --fresh")
    topology = build_topology(made_with, recursive)
    if manifest.get("nodes") != [n.name for n in topology.nodes]:
        raise DemoError("the demo directory holds other nodes than this idnode's demo; "
                        "run again with --fresh")
    return topology


def _check_base_port(base_port: int | None) -> None:
    if base_port is None:
        return
    span = 2 * len(build_topology(base_port, None).nodes)
    if not 1024 <= base_port <= 65535 - span:
        raise DemoError(f"--base-port must be between 1024 and {65535 - span} (the demo "
                        f"needs {span} ports from it)")


@contextmanager
def _stop_requests() -> Iterator[threading.Event]:
    """SIGINT and SIGTERM set the event instead of raising, so stopping is always orderly."""
    event = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: event.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield event
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _section(title: str) -> None:
    print(f"\n{title}", flush=True)


def _stopped(report: StopReport) -> None:
    killed = f", {report.killed} killed after the grace period" if report.killed else ""
    print(f"stopped {report.stopped + report.killed} node process(es) in "
          f"{report.seconds:.1f} s{killed}", flush=True)


def _homes(directory: Path, topology: Topology, reuse: bool) -> Homes:
    from idnode.demo.homes import create_homes, existing_homes
    if reuse:
        homes = existing_homes(directory, topology)
        print(f"reusing the node homes in {directory} (--fresh makes them anew)", flush=True)
        return homes
    print(f"creating {len(topology.nodes)} node homes in {directory} …", flush=True)
    homes = create_homes(directory, topology)
    print(f"created {len(topology.nodes)} node homes ({homes.keys} RSA 2048 keys, records "
          f"loaded) in {homes.seconds:.1f} s", flush=True)
    return homes


def run(args: argparse.Namespace) -> int:
    # imported here, not at the top: every idnode command (the demo's nodes among them)
    # would pay for them at start-up
    from idnode.demo.homes import prepare_directory
    from idnode.demo.runner import check_ports
    began = time.perf_counter()
    directory: Path = args.dir.resolve()
    with _stop_requests() as stop:
        try:
            _check_base_port(args.base_port)
            manifest = prepare_directory(directory, args.fresh)
            topology = _topology(args.base_port, manifest)
            check_ports(topology)
            homes = _homes(directory, topology, reuse=manifest is not None)
        except (RegistryError, OSError) as exc:
            print(f"idnode demo: {exc}", file=sys.stderr)
            return _EXIT_SETUP
        if stop.is_set():
            print("interrupted; no node was started", flush=True)
            return _EXIT_INTERRUPTED
        return _serve(directory, topology, homes, stop, began)


def _serve(directory: Path, topology: Topology, homes: Homes, stop: threading.Event,
           began: float) -> int:
    from idnode.demo.errors import Interrupted, NodeFailed
    from idnode.demo.report import (
        commands,
        data_flows,
        nodes_table,
        traced_resolution,
        where_to_look,
    )
    from idnode.demo.runner import Processes
    from idnode.demo.samples import FEATURED
    with Processes() as procs:
        try:
            starting = time.perf_counter()
            # the recursive node last: its first look at the root then finds it up
            order = sorted(topology.nodes, key=lambda n: n.role == "recursive")
            for node in order:
                procs.start(node, homes.paths[node.name])
            print(f"starting {len(order)} node processes …", flush=True)
            procs.wait_ready(_READY_TIMEOUT, stop)
        except NodeFailed as exc:
            print(f"idnode demo: {exc}", file=sys.stderr)
            _stopped(procs.stop())
            return _EXIT_FAILED
        except Interrupted as exc:
            print(f"{exc}; stopping them", flush=True)
            _stopped(procs.stop())
            return _EXIT_INTERRUPTED
        except (RegistryError, OSError) as exc:
            print(f"idnode demo: {exc}", file=sys.stderr)
            _stopped(procs.stop())
            return _EXIT_FAILED
        started = time.perf_counter()
        children = {c.node.name: c for c in procs.children}
        _section(f"Nodes 节点 (all on 127.0.0.1; each one's output in "
                 f"{directory}/<NODE>/logs/serve.log):")
        print(nodes_table(topology, children))
        _section(f"Resolving {FEATURED} through the recursive node 递归节点 "
                 "(root 根节点 → top-level 国家顶级节点 → secondary 二级节点 → "
                 "enterprise 企业节点):")
        ok, text = traced_resolution(topology)
        print(text)
        if not ok:
            print("  (the resolution failed; the nodes keep running so you can look "
                  "into it)")
        _section("Data flows 数据同步 (replication 主备, escrow 托管, reporting 上报):")
        print(data_flows(topology, directory))
        _section("Point a browser at 浏览器访问:")
        print(where_to_look(topology))
        _section("Try 试一试:")
        print(commands(topology, directory))
        print(f"\nready: {len(children)} nodes up in {started - began:.1f} s (node homes "
              f"{homes.seconds:.1f} s, processes {started - starting:.1f} s). "
              "Ctrl-C stops them 按 Ctrl-C 停止", flush=True)
        failed = procs.watch(stop)
        if failed is not None:
            print(f"idnode demo: {procs.failure(failed)}", file=sys.stderr)
            print("stopping the other nodes", file=sys.stderr)
            _stopped(procs.stop())
            return _EXIT_FAILED
        print("\nstopping every node 停止所有节点 …", flush=True)
        _stopped(procs.stop())
        return 0
