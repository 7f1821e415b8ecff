"""A pure-Python UDP load generator with the same interface and output as ``udpload.c``.

Used where no C compiler is available (``bench_node.py --generator python``) and to show
why the C generator exists: against the C echo responder this one tops out at roughly
120,000-160,000 requests/s on one core of the reference machine (≈ 6.5 µs per request in
Python), the C one at 210,000-320,000 (≈ 3 µs, mostly in the kernel). The generator shares
the machine with the server, so every microsecond it spends is taken from the server.

    python bench/pyload.py udp-load HOST PORT REQFILE [--lanes W] [--sockets S]
        [--warmup SEC] [--duration SEC] [--max-requests N] [--timeout-ms MS]
        [--expect-rc RC] [--hard-limit SEC] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import socket
import struct
import sys
import time
from pathlib import Path

from benchlib import Histogram, check_loopback, read_request_file

_U32 = struct.Struct(">I")
_LANE_BITS = 12


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("mode", choices=["udp-load"])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("reqfile", type=Path)
    p.add_argument("--lanes", type=int, default=64)
    p.add_argument("--sockets", type=int, default=16)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--max-requests", type=int, default=0)
    p.add_argument("--timeout-ms", type=int, default=1000)
    p.add_argument("--expect-rc", type=int, default=1)
    p.add_argument("--hard-limit", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    check_loopback(args.host)
    lanes = max(1, min(args.lanes, 1 << _LANE_BITS))
    nsock = max(1, min(args.sockets, lanes))
    rng = random.Random(args.seed)
    frames = [bytearray(f) for f in read_request_file(args.reqfile)]
    socks = []
    poller = select.epoll()
    for _ in range(nsock):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect((args.host, args.port))
        sock.setblocking(False)
        socks.append(sock)
        poller.register(sock.fileno(), select.EPOLLIN)
    by_fd = {s.fileno(): s for s in socks}
    burst = max(4, 2 * lanes // nsock)
    lane_id = [0] * lanes
    sent_at = [0] * lanes
    busy = [False] * lanes
    counter = 1
    perf = time.perf_counter_ns
    pack_into = _U32.pack_into
    unpack_from = _U32.unpack_from
    hist = Histogram()
    counts = {"ok": 0, "bad_rc": 0, "timeouts": 0, "stale": 0, "sent": 0, "warmup_ok": 0}
    bad_codes: dict[str, int] = {}
    measuring = False

    def send(lane: int) -> None:
        nonlocal counter
        frame = frames[rng.randrange(len(frames))]
        rid = ((counter << _LANE_BITS) | lane) & 0x7FFF_FFFF
        counter += 1
        pack_into(frame, 8, rid)
        lane_id[lane] = rid
        busy[lane] = True
        sent_at[lane] = perf()
        if measuring:
            counts["sent"] += 1
        try:
            socks[lane % nsock].send(frame)
        except (BlockingIOError, ConnectionRefusedError):
            pass  # dropped: the lane times out

    for lane in range(lanes):
        send(lane)
    start = time.monotonic()
    warm_end = start + args.warmup
    hard_end = start + (args.hard_limit or args.warmup + args.duration + 30)
    meas_start = meas_end = 0.0
    cpu0 = os.times()
    last_scan = start
    timeout_ns = args.timeout_ms * 1_000_000
    if args.warmup <= 0:
        measuring, meas_start, meas_end = True, start, start + args.duration
        print("measure-start", flush=True)
    while True:
        for fd, _ev in poller.poll(0.005):
            sock = by_fd[fd]
            # Bounded per socket: an echo answers so fast that draining one socket until it
            # is empty would starve the lanes of the others.
            for _ in range(burst):
                try:
                    data = sock.recv(2048)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                now = perf()
                if len(data) < 28:
                    counts["stale"] += measuring
                    continue
                (rid,) = unpack_from(data, 8)
                lane = rid & ((1 << _LANE_BITS) - 1)
                if lane >= lanes or not busy[lane] or lane_id[lane] != rid:
                    counts["stale"] += measuring
                    continue
                busy[lane] = False
                if measuring:
                    (rc,) = unpack_from(data, 24)
                    if args.expect_rc >= 0 and rc != args.expect_rc:
                        counts["bad_rc"] += 1
                        bad_codes[str(rc)] = bad_codes.get(str(rc), 0) + 1
                    else:
                        counts["ok"] += 1
                    hist.add((now - sent_at[lane]) / 1000)
                else:
                    counts["warmup_ok"] += 1
                send(lane)
        t = time.monotonic()
        if t - last_scan > 0.005:
            last_scan = t
            now = perf()
            for lane in range(lanes):
                if busy[lane] and now - sent_at[lane] > timeout_ns:
                    counts["timeouts"] += measuring
                    busy[lane] = False
                    send(lane)
        if not measuring and t >= warm_end:
            measuring, meas_start, meas_end = True, t, t + args.duration
            cpu0 = os.times()
            print("measure-start", flush=True)
        if measuring and (t >= meas_end or (args.max_requests
                                            and counts["ok"] + counts["bad_rc"]
                                            >= args.max_requests)):
            break
        if t >= hard_end:
            break
    end = time.monotonic()
    cpu1 = os.times()
    print("measure-end", flush=True)
    result = {"mode": "udp-load", "generator": "python",
              "seconds": end - (meas_start if measuring else end), **counts,
              "lanes": lanes, "sockets": nsock, **hist.summary(),
              "cpu_user": cpu1.user - cpu0.user, "cpu_sys": cpu1.system - cpu0.system,
              "bad_codes": bad_codes, "hist": hist.pairs()}
    print(json.dumps(result), flush=True)
    for sock in socks:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
