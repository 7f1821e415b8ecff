"""The access log: one line per request, buffered so logging never dominates a request.

Line format (close to CNRI's, so existing log tooling keeps working)::

    127.0.0.1:40312 UDP:HDL(2.11) "2026-11-24 13:23:54.019Z" RESOLUTION 1 0.052ms [adm=-] 88.1/a

client, transport and protocol version, time (UTC), opcode, response code, duration,
authenticated identity, handle.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

from idnode.protocol.constants import OpCode

__all__ = ["AccessLog"]

_FLUSH_BYTES = 64 * 1024
_FLUSH_SECONDS = 0.5


def _sanitise(text: str) -> str:
    # Handles are client-controlled: keep one request on one line.
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


class AccessLog:
    def __init__(self, target: str, home: Path | None = None) -> None:
        self._own = False
        self._out: TextIO | None
        if target == "off":
            self._out = None
        elif target == "-":
            self._out = sys.stdout
        else:
            path = Path(target)
            if not path.is_absolute() and home is not None:
                path = home / path
            path.parent.mkdir(parents=True, exist_ok=True)
            self._out = path.open("a", encoding="utf-8")
            self._own = True
        self._buf: list[str] = []
        self._size = 0
        self._last_flush = time.monotonic()

    def write(self, peer: tuple[str, int], transport: str, version: tuple[int, int],
              opcode: int, rc: int, seconds: float, identity: str, handle: str) -> None:
        if self._out is None:
            return
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
        line = (f"{peer[0]}:{peer[1]} {transport.upper()}:HDL({version[0]}.{version[1]}) "
                f'"{stamp}.{int(now * 1000) % 1000:03d}Z" {OpCode.to_text(opcode)} {rc} '
                f"{seconds * 1000:.3f}ms [adm={identity}] {_sanitise(handle)}\n")
        self._buf.append(line)
        self._size += len(line)
        if self._size >= _FLUSH_BYTES or now - self._last_flush >= _FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self._out is None or not self._buf:
            return
        self._out.write("".join(self._buf))
        self._out.flush()
        self._buf.clear()
        self._size = 0
        self._last_flush = time.monotonic()

    def close(self) -> None:
        self.flush()
        if self._own and self._out is not None:
            self._out.close()
