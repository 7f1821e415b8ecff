"""Progress on stderr: a redrawn bar on a terminal, a plain line every few seconds otherwise
(logs and CI keep one line per interval, not thousands of carriage returns)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]

_LINE_EVERY = 5.0
_BAR_EVERY = 0.2
_WIDTH = 24


class Progress:
    def __init__(self, total_bytes: int, start_bytes: int, *, out: TextIO | None = None,
                 quiet: bool = False) -> None:
        self.out = out or sys.stderr
        self.tty = self.out.isatty()
        self.quiet = quiet
        self.total, self.start_bytes = total_bytes, start_bytes
        self.started = time.monotonic()
        self._last = 0.0

    def update(self, rows: int, offset: int, *, force: bool = False) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if not force and now - self._last < (_BAR_EVERY if self.tty else _LINE_EVERY):
            return
        self._last = now
        elapsed = max(now - self.started, 1e-6)
        done = offset - self.start_bytes
        left = self.total - offset
        eta = left * elapsed / done if done > 0 else 0.0
        share = offset / self.total if self.total else 1.0
        text = (f"{rows} rows, {rows / elapsed:,.0f} rows/s, {share:.0%}, "
                f"ETA {_clock(eta)}")
        if self.tty:
            filled = int(share * _WIDTH)
            self.out.write(f"\r[{'#' * filled}{'.' * (_WIDTH - filled)}] {text}  ")
        else:
            self.out.write(f"import: {text}\n")
        self.out.flush()

    def finish(self) -> None:
        if self.tty and not self.quiet:
            self.out.write("\n")
            self.out.flush()


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
