"""Claims on unique (唯一) values shared by the worker processes of one node home.

:class:`~idnode.snms.unique.UniqueValues` claims a value from its check until the
registration has committed; within a process a dict does that. Across the processes of
``idnode serve --workers N`` a claim is also a POSIX record lock on one byte of a file in the
home's ``run/`` directory, at an offset taken from the value's hash (62 bits: ranges past the
end of the file need no space, and two values sharing an offset is a one-in-4·10^18 chance).
Locks are taken without waiting (``LOCK_NB``): a value locked by another process is being
registered there at this moment, and the registration here is refused as it would be for one
in this process. The kernel drops a process's locks when it exits, so a killed worker leaves
no stale claim.

POSIX locks belong to the process, not to a descriptor or a thread, and one unlock releases
a range however often it was locked; the offsets this process holds are counted so that only
the last release unlocks. Nodes on different machines sharing one PostgreSQL database do not
share these locks (see ``docs/secondary-node.md``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

__all__ = ["SharedClaims"]

_OFFSET_BITS = 62


class SharedClaims:
    """Non-blocking claims on keys, exclusive across the processes that open ``path``.

    :param path: the lock file; created with mode 0600 when missing. Its directory must
        exist.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._held: dict[int, int] = {}

    @staticmethod
    def offset(key: str) -> int:
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "big") >> (64 - _OFFSET_BITS)

    def claim(self, key: str) -> bool:
        """Claim ``key``; False when another process holds it."""
        offset = self.offset(key)
        count = self._held.get(offset, 0)
        if count == 0:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
            except (BlockingIOError, PermissionError):
                return False
        self._held[offset] = count + 1
        return True

    def release(self, key: str) -> None:
        """Give back one claim on ``key`` made by :meth:`claim`."""
        offset = self.offset(key)
        count = self._held.get(offset, 0)
        if count <= 1:
            self._held.pop(offset, None)
            fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, offset)
        else:
            self._held[offset] = count - 1

    def close(self) -> None:
        os.close(self._fd)  # drops every lock this process holds on the file
        self._held.clear()
