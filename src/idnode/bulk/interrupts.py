"""Ctrl-C that an import cannot lose.

Python turns SIGINT into a KeyboardInterrupt raised wherever the main thread happens to be,
and one raised inside a finaliser or a weakref callback is printed and dropped: the import
would then carry on to the end, as if the user had never asked it to stop. So while an
:class:`Interrupts` is entered, its handler also remembers the signal, and
:meth:`Interrupts.check` (called after each committed batch, once its checkpoint is saved)
raises it again if it was lost on the way.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

__all__ = ["Interrupts"]


class Interrupts:
    def __init__(self) -> None:
        self.seen = False
        self._before: Any = None
        self._set = False

    def __enter__(self) -> Interrupts:
        # Only the main thread may set a handler; elsewhere check() never raises.
        if threading.current_thread() is threading.main_thread():
            self._before = signal.signal(signal.SIGINT, self._handle)
            self._set = True
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._set:
            signal.signal(signal.SIGINT, self._before)
            self._set = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise KeyboardInterrupt if SIGINT has arrived while entered."""
        if self.seen:
            raise KeyboardInterrupt
