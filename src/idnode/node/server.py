"""Running a node: one process, or a supervisor with worker processes sharing the ports.

With ``workers = 1`` everything runs in the calling process. With more, the supervisor forks
that many workers; each binds the listening ports itself with ``SO_REUSEPORT`` (the kernel
spreads datagrams and connections across them), opens its own storage connections and cache,
and shares the cache-generation file. SIGINT/SIGTERM make every worker stop accepting, finish
what is in flight, commit queued writes and close storage; the supervisor waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable

from idnode.config import Address, NodeConfig
from idnode.node.worker import Listeners, Worker, bind_listeners
from idnode.transport.sockets import REUSEPORT, free_port

__all__ = ["run_server"]

log = logging.getLogger("idnode.server")

#: the cyclic garbage collector's thresholds while serving (Python's defaults: 700, 10, 10)
GC_THRESHOLDS = (10_000, 50, 100)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:  # uvloop is optional on platforms without it
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def _bind(config: NodeConfig, reuse: bool) -> Listeners:
    return bind_listeners(config, reuse_port=reuse)


def _tune_collector() -> None:
    """Collect less often: a request makes many short-lived containers (an SNMS batch of
    2,000 items, tens of thousands), which with Python's default thresholds set off
    collections that traverse the caches again and again (measured, ``bench/bench_snms.py``
    on one machine: 19,300–19,600 identifiers/s with the defaults, 23,600–23,700 with these;
    UDP resolution no slower; both slower with ``gc.freeze()`` as well; docs/benchmarks.md).
    Reference counting still frees all else at once; these only delay freeing reference
    cycles, which requests do not make."""
    gc.set_threshold(*GC_THRESHOLDS)


async def _serve(config: NodeConfig, slot: int, listeners: Listeners,
                 announce: bool) -> None:
    worker = Worker(config, slot, listeners)
    await worker.start()
    _tune_collector()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if announce:
        if worker.udp is not None:
            print(f"listening udp {_fmt(worker.udp.address)}", flush=True)
        if worker.tcp is not None:
            print(f"listening tcp {_fmt(worker.tcp.address)}", flush=True)
        if worker.http is not None:
            print(f"listening http {_fmt(worker.http.address)}", flush=True)
        if worker.https is not None:
            print(f"listening https {_fmt(worker.https.address)}", flush=True)
        if worker.replication_listener is not None:
            print(f"listening replication tls {_fmt(worker.replication_listener.address)}",
                  flush=True)
        if worker.dns_udp is not None:
            print(f"listening dns udp {_fmt(worker.dns_udp.address)}", flush=True)
        if worker.dns_tcp is not None:
            print(f"listening dns tcp {_fmt(worker.dns_tcp.address)}", flush=True)
        kind = worker.store.kind if worker.store else "?"
        print(f"ready: prefixes {', '.join(config.prefixes)}; storage {kind}; "
              f"{config.workers} worker(s)", flush=True)
    await stop.wait()
    if announce:
        print("stopping: finishing requests in flight", flush=True)
    await worker.stop()


def _fmt(addr: tuple[str, int]) -> str:
    return f"[{addr[0]}]:{addr[1]}" if ":" in addr[0] else f"{addr[0]}:{addr[1]}"


def _run_worker(config: NodeConfig, slot: int, listeners: Listeners, announce: bool) -> None:
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_serve(config, slot, listeners, announce))


def _fixed_ports(config: NodeConfig) -> NodeConfig:
    """Replace port 0 by a concrete free port, so every worker binds the same one."""
    from dataclasses import replace

    def fixed(addr: Address | None) -> Address | None:
        if addr is None or addr.port != 0:
            return addr
        return Address(addr.host, free_port(addr.host))
    udp = config.udp
    if udp is not None and udp.port == 0:
        udp = Address(udp.host, free_port(udp.host, udp=True))
    dns = config.dns
    if dns.listen is not None and dns.listen[1] == 0:  # one port for UDP and TCP
        dns = replace(dns, listen=(dns.listen[0], free_port(dns.listen[0], udp=True)))
    return replace(config, udp=udp, tcp=fixed(config.tcp), http=fixed(config.http),
                   https=fixed(config.https), dns=dns)


def _prepare(config: NodeConfig) -> None:
    """What must exist (or must not) before workers start."""
    # Written by the first worker once its peers confirmed it is still the primary.
    (config.home / "run" / "primary-checked").unlink(missing_ok=True)
    listen, certificate = config.replication.listen, config.replication.certificate
    if listen is not None and certificate is not None:
        from idnode.auth.keys import load_private_key
        from idnode.replication.tls import ensure_certificate
        ensure_certificate(certificate, load_private_key(config.server_key), listen[0])


def run_server(config: NodeConfig) -> int:
    """Serve until SIGINT/SIGTERM; return the process exit code."""
    _prepare(config)
    if config.workers == 1 or not REUSEPORT:
        if config.workers > 1:
            log.warning("SO_REUSEPORT is not available: running one worker")
        _run_worker(config, 0, _bind(config, reuse=False), announce=True)
        return 0
    config = _fixed_ports(config)
    children: list[int] = []
    for slot in range(config.workers):
        listeners = _bind(config, reuse=True)
        pid = os.fork()
        if pid == 0:  # worker
            code = 0
            try:
                _run_worker(config, slot, listeners, announce=(slot == 0))
            except BaseException:  # report and exit the child; it must never return
                log.exception("worker %d failed", slot)
                code = 1
            finally:
                sys.stdout.flush()
                os._exit(code)
        for sock in listeners.sockets():
            sock.close()
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    status = 0
    for pid in children:
        _, code = os.waitpid(pid, 0)
        status = status or os.waitstatus_to_exitcode(code)
    return 1 if status else 0
