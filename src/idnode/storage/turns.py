"""Whose turn it is to write an SQLite file, across processes.

SQLite lets one writer in at a time; a writer that finds the file locked sleeps in its busy
handler (1, 2, 5, 10 … 100 ms) and tries again, so with several worker processes writing,
most of the time a waiting writer is asleep after the lock is free. Taking an ``flock`` on a
file beside the database first makes writers queue in the kernel instead: the next one
runs as soon as the previous one commits. SQLite's own lock still guards the file against
writers that do not take turns (the ``sqlite3`` shell, say).
"""

from __future__ import annotations

import fcntl
import os
import time

from idnode.errors import StorageError

__all__ = ["WriterTurns"]

#: how often a waiting writer looks again (the holder's transaction takes milliseconds)
_POLL = 0.0005


class WriterTurns:
    """An exclusive ``flock`` on ``<database>-writer.lock`` (created mode 0600)."""

    def __init__(self, database: str) -> None:
        self.path = database + "-writer.lock"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def take(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the turn.

        :raises StorageError: another process kept it all that time.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StorageError(reason=f"another process has been writing "
                                              f"{self.path[:-len('-writer.lock')]} for more "
                                              f"than {timeout:g} s") from None
                time.sleep(_POLL)

    def give_back(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)
