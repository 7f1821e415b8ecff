"""The access log: one line per request, buffered so logging never dominates a request.

Line format (close to CNRI's, so existing log tooling keeps working)::

    127.0.0.1:40312 UDP:HDL(2.11) "2026-11-24 13:23:54.019Z" RESOLUTION 1 0.052ms [adm=-] 88.1/a

client, transport and protocol version, time (UTC), opcode, response code, duration,
authenticated identity, handle.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from idnode.protocol.constants import OpCode

__all__ = ["AccessLog"]

_FLUSH_BYTES = 64 * 1024
_FLUSH_SECONDS = 0.5
_OPNAMES_MAX = 1024
#: Opcode mnemonics already looked up (``OpCode.to_text`` builds an enum member per call).
_OPNAMES: dict[int, str] = {}


def _op_text(opcode: int) -> str:
    name = _OPNAMES.get(opcode)
    if name is None:
        name = OpCode.to_text(opcode)
        if len(_OPNAMES) < _OPNAMES_MAX:  # opcodes are client-controlled: stay bounded
            _OPNAMES[opcode] = name
    return name


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
            # Client addresses and identities are personal data: owner-only, like the keys.
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._out = os.fdopen(fd, "a", encoding="utf-8")
            self._own = True
        self._buf: list[str] = []
        self._size = 0
        self._last_flush = time.monotonic()
        self._timer: asyncio.TimerHandle | None = None
        self._second = -1  # the whole second self._stamp was formatted for
        self._stamp = ""

    def _time(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:  # one strftime per second, not per line
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._stamp}.{int(now * 1000) % 1000:03d}Z"

    def write(self, peer: tuple[str, int], transport: str, version: tuple[int, int],
              opcode: int, rc: int, seconds: float, identity: str, handle: str) -> None:
        if self._out is None:
            return
        line = (f"{peer[0]}:{peer[1]} {transport.upper()}:HDL({version[0]}.{version[1]}) "
                f'"{self._time()}" {_op_text(opcode)} {rc} '
                f"{seconds * 1000:.3f}ms [adm={identity}] {_sanitise(handle)}\n")
        self._append(line)

    def write_http(self, peer: tuple[str, int], scheme: str, method: str, status: int,
                   seconds: float, handle: str) -> None:
        """One line per REST/proxy request: ``… HTTPS "time" GET 200 0.1ms handle``."""
        if self._out is None:
            return
        line = (f'{peer[0]}:{peer[1]} {scheme.upper()} "{self._time()}" {_sanitise(method)} '
                f"{status} {seconds * 1000:.3f}ms {_sanitise(handle)}\n")
        self._append(line)

    def _append(self, line: str) -> None:
        self._buf.append(line)
        self._size += len(line)
        if (self._size >= _FLUSH_BYTES
                or time.monotonic() - self._last_flush >= _FLUSH_SECONDS):
            self.flush()
        elif self._timer is None:
            self._schedule()

    def _schedule(self) -> None:
        # Lines reach the file within _FLUSH_SECONDS even if no further request comes.
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not on an event loop: the next write or close() flushes
        self._timer = loop.call_later(_FLUSH_SECONDS, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
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
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.flush()
        if self._own and self._out is not None:
            self._out.close()
