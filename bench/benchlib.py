"""Helpers shared by the benchmark scripts (``bench_node.py``, ``pyload.py``,
``create_client.py``): latency histograms, request files, loopback checks, CPU counters.

Not a test module; nothing here is collected by pytest (``testpaths = ["tests"]``).
"""

from __future__ import annotations

import ipaddress
import os
import struct
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from idnode.identifiers.value import HandleValue
from idnode.protocol.bodies import ResolutionRequest
from idnode.protocol.constants import DEFAULT_RESOLUTION_FLAGS, OpCode
from idnode.protocol.message import Message

__all__ = [
    "CLK_TCK",
    "Histogram",
    "bench_values",
    "check_loopback",
    "cpu_snapshot",
    "encode_resolution",
    "proc_cpu_seconds",
    "process_tree",
    "read_request_file",
    "write_request_file",
]

CLK_TCK = os.sysconf("SC_CLK_TCK")
_LEN = struct.Struct(">H")


def check_loopback(host: str) -> str:
    """Refuse anything but a loopback address: the benchmark never leaves the machine."""
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"refusing to send to non-loopback address {host}")
    return host


# -- latency histograms (1 µs buckets, as udpload.c) ------------------------------------------

@dataclass
class Histogram:
    """Latency counts in whole microseconds."""

    counts: dict[int, int] = field(default_factory=dict)

    def add(self, microseconds: float) -> None:
        key = int(microseconds)
        self.counts[key] = self.counts.get(key, 0) + 1

    def add_pairs(self, pairs: Iterable[Sequence[int]]) -> None:
        for bucket, count in pairs:
            self.counts[int(bucket)] = self.counts.get(int(bucket), 0) + int(count)

    def merge(self, other: Histogram) -> None:
        self.add_pairs(other.counts.items())

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def percentile(self, q: float) -> float:
        """The bucket midpoint (µs) below which a fraction ``q`` of samples fall."""
        total = self.total
        if total == 0:
            return 0.0
        want = min(int(q * total), total - 1)
        seen = 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            if seen > want:
                return bucket + 0.5
        return float(max(self.counts))

    def summary(self) -> dict[str, float]:
        return {"p50_us": self.percentile(0.50), "p90_us": self.percentile(0.90),
                "p99_us": self.percentile(0.99), "p999_us": self.percentile(0.999),
                "max_us": float(max(self.counts)) if self.counts else 0.0}

    def pairs(self) -> list[list[int]]:
        return [[k, v] for k, v in sorted(self.counts.items())]


# -- bench records and requests ------------------------------------------------------------

def bench_values(n: int) -> list[HandleValue]:
    """The values of bench record ``n``: URL, EMAIL and DESC (≈ 200-byte answer body)."""
    return [
        HandleValue(1, "URL", f"https://factory.example.com/devices/line-{n % 97:02d}/"
                              f"unit-{n:08d}?view=spec".encode()),
        HandleValue(2, "EMAIL", f"maintenance-{n % 13}@factory.example.com".encode()),
        HandleValue(3, "DESC", f"Bench record {n}: torque sensor, batch "
                               f"{n // 100:05d}".encode()),
    ]


def encode_resolution(handle: str, request_id: int = 1) -> bytes:
    """A public-only OC 1 request frame as CNRI clients send it (flags ``0x19000000``)."""
    message = Message(opcode=OpCode.RESOLUTION, opflags=int(DEFAULT_RESOLUTION_FLAGS),
                      body=ResolutionRequest(handle).to_wire(), request_id=request_id,
                      expiration=int(time.time()) + 12 * 3600)
    return message.to_frame()


def write_request_file(path: Path, handles: Iterable[str]) -> int:
    """Pre-encode resolution requests: uint16 length + frame, one per handle."""
    count = 0
    with path.open("wb") as out:
        for handle in handles:
            frame = encode_resolution(handle)
            out.write(_LEN.pack(len(frame)) + frame)
            count += 1
    return count


def read_request_file(path: Path) -> list[bytes]:
    data = path.read_bytes()
    frames: list[bytes] = []
    pos = 0
    while pos < len(data):
        (size,) = _LEN.unpack_from(data, pos)
        frames.append(data[pos + 2:pos + 2 + size])
        pos += 2 + size
    return frames


# -- CPU accounting ------------------------------------------------------------------------

def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads), 0 if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rpartition(")")[2].split()
    # fields[0] is the state (field 3 of stat); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def process_tree(pid: int) -> list[int]:
    """``pid`` and its direct children (the worker processes of a supervisor)."""
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            pids.extend(int(c) for c in children)
    except OSError:
        pass
    return pids


def cpu_snapshot(pids: Sequence[int]) -> Mapping[int, float]:
    return {pid: proc_cpu_seconds(pid) for pid in pids}
