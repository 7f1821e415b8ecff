"""Server CPU per request on each path, in-process (no sockets), with a cProfile breakdown.

Complements ``bench_node.py``: that one measures the node over loopback (kernel, event loop
and load generator included); this one assembles a worker's request-handling parts exactly
as ``idnode serve`` does (:func:`idnode.node.worker.assemble`: the stage chain, the edge, the
hot-record cache, the group-commit queue, the access log, SQLite storage in a temporary node
home) and calls them directly, so the numbers are the Python cost of each path alone:

* ``fast``: the UDP fast path (:class:`~idnode.node.fastpath.FastResolver`) on a cached
  record, plus the access-log line;
* ``general``: a TCP-style resolution through the full path: frame decode, guard → auth →
  authoritative, edge, response encode;
* ``create``: an authenticated create as the client sees it, driven by idnode's own
  :class:`~idnode.client.flow.RequestFlow`: OC 100 → RC 402 → OC 200 (HS_SECKEY, PBKDF2 form,
  salt reused) → group commit → RC 1, with ``--concurrency`` creates in flight (the client's
  HMAC and message building are included; they are a few percent).

Usage::

    .venv/bin/python bench/profile_paths.py [--n 20000] [--top 25] [--access-log off]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchlib import bench_values, encode_resolution
from create_client import DerivedSecretAuth
from idnode.auth.identity import Identity
from idnode.auth.keys import load_private_key, load_secret
from idnode.client.flow import Done, Receive, RequestFlow, Send
from idnode.config import load_config
from idnode.identifiers.handle import Handle
from idnode.node.accesslog import AccessLog
from idnode.node.cache import Generation
from idnode.node.context import Connection, RequestContext
from idnode.node.worker import Assembly, assemble
from idnode.protocol.bodies import CreateHandleRequest
from idnode.protocol.constants import OpCode, OpFlag
from idnode.protocol.message import Message, decode_frame
from idnode.storage import CreateHandle, open_store

PREFIX = "88.100.1"
PEER = ("127.0.0.1", 40000)


def make_home(tmp: Path, handles: int, access_log: str) -> Path:
    home = tmp / "node"
    subprocess.run([sys.executable, "-m", "idnode", "init", str(home), "--prefix", PREFIX,
                    "--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--http", "off",
                    "--admin-secret", "bench-secret", "--key-bits", "2048"],
                   check=True, capture_output=True, timeout=120)
    if access_log == "off":
        path = home / "config.toml"
        path.write_text(path.read_text().replace('access_log = "logs/access.log"',
                                                 'access_log = "off"'))
    config = load_config(home)
    store = open_store(config.storage_url)
    try:
        store.apply([CreateHandle(Handle.parse(f"{PREFIX}/dev-{n:07d}"),
                                  tuple(v.with_timestamp() for v in bench_values(n)))
                     for n in range(handles)])
    finally:
        store.close()
    return home


async def measure(name: str, n: int, body: Callable[[int], Awaitable[None]], top: int,
                  profile: bool, sort: str = "tottime") -> float:
    """Run ``body(i)`` for i < n; print µs/op (CPU, all threads) and the profile."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(n):
        await body(i)
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    print(f"{name:<8} {n:>7} ops  {cpu / n * 1e6:8.1f} µs CPU/op  {wall / n * 1e6:8.1f} µs "
          f"wall/op  ({n / wall:,.0f} ops/s in one process)", flush=True)
    if profile:
        prof = cProfile.Profile()
        prof.enable()
        for i in range(min(n, 5000)):
            await body(n + i)
        prof.disable()
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats(sort).print_stats(top)
        text = out.getvalue()
        print(text[text.find("   ncalls"):], flush=True)
    return cpu / n * 1e6


async def run(args: argparse.Namespace, home: Path) -> None:
    config = load_config(home)
    store = open_store(config.storage_url, max_values=config.limits.max_values_per_handle,
                       sync=config.storage_sync)
    access_log = AccessLog(config.access_log, home)
    parts: Assembly = assemble(config, store, Generation(None, 0), access_log,
                               load_private_key(config.server_key), ("127.0.0.1", 2641),
                               ("127.0.0.1", 2641))
    handles = [f"{PREFIX}/dev-{n:07d}" for n in range(args.handles)]
    frames = [encode_resolution(h, request_id=7) for h in handles]
    # Fill the record cache the way the first request of each handle does.
    for frame in frames:
        result = parts.datagrams.datagram(frame, PEER)
        if result is not None and not isinstance(result, list):
            await result

    async def fast(i: int) -> None:
        answer = parts.fast(frames[i % len(frames)], PEER)
        assert answer is not None

    conn = Connection(("tcp", 1), "tcp", PEER)

    async def general(i: int) -> None:
        message = decode_frame(frames[i % len(frames)])
        async for response in parts.edge.respond(RequestContext(conn), message):
            assert response.response_code == 1
            response.to_frame()

    secret = bytes(load_secret(home / "keys" / "admin.secret"))
    identity = Identity(f"{PREFIX}/ADMIN", 301)
    expiration = int(time.time()) + 12 * 3600

    async def one_create(worker: int, seq: int) -> None:
        auth = auths[worker]
        request = Message(opcode=OpCode.CREATE_HANDLE, opflags=int(OpFlag.KEEP_ALIVE),
                          body=CreateHandleRequest(f"{PREFIX}/new-{worker}-{seq}",
                                                   tuple(bench_values(seq))).to_wire(),
                          request_id=seq + 1, expiration=expiration)
        flow = RequestFlow(request, auth)
        action: Send | Done = flow.start()
        chan = Connection(("tcp", 1000 + worker), "tcp", PEER)
        while isinstance(action, Send):
            frame = action.message.to_frame()
            replies = [r.to_frame() async for r in
                       parts.edge.respond(RequestContext(chan), decode_frame(frame))]
            nxt = flow.on_response(decode_frame(replies[-1]))
            assert not isinstance(nxt, Receive)
            action = nxt
        assert action.last.response_code == 1, action.last

    auths = [DerivedSecretAuth(identity, secret) for _ in range(args.concurrency)]
    counters = [0] * args.concurrency

    async def create_batch(_i: int) -> None:
        # ``concurrency`` creates in flight, as concurrent connections would have.
        async def worker(w: int) -> None:
            counters[w] += 1
            await one_create(w, counters[w])
        await asyncio.gather(*(worker(w) for w in range(args.concurrency)))

    print(f"node home {home}; access log {config.access_log}; storage sync "
          f"{config.storage_sync}\n", flush=True)
    await measure("fast", args.n, fast, args.top, not args.no_profile)
    await measure("general", args.n // 4, general, args.top, not args.no_profile)
    batches = max(1, args.n // 8 // args.concurrency)
    per_batch = await measure("create", batches, create_batch, args.top, False)
    print(f"create   {per_batch / args.concurrency:8.1f} µs CPU per create "
          f"({args.concurrency} in flight; writer thread and client HMAC included)\n",
          flush=True)
    if not args.no_profile:
        await measure("create", max(1, batches // 4), create_batch, args.top, True,
                      sort=args.sort)
    await parts.writes.close()
    store.close()
    access_log.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=20_000, help="fast-path operations")
    p.add_argument("--handles", type=int, default=2_000)
    p.add_argument("--concurrency", type=int, default=16, help="creates in flight")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--access-log", choices=("file", "off"), default="file")
    p.add_argument("--no-profile", action="store_true")
    p.add_argument("--sort", default="cumulative", help="profile order of the create path")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="idnode-prof-") as tmp:
        home = make_home(Path(tmp), args.handles, args.access_log)
        try:
            import uvloop
            runner_loop: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
        except ImportError:
            runner_loop = asyncio.new_event_loop
        with asyncio.Runner(loop_factory=runner_loop) as runner:
            runner.run(run(args, home))
    return 0


if __name__ == "__main__":
    sys.exit(main())
