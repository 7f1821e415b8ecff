"""Claims on unique (唯一) values, shared by the processes that register into one node home.

A value being registered is claimed from its check until the registration has committed:
by :class:`~idnode.snms.unique.UniqueValues` for the SNMS API (within a process a dict does
that) and by ``idnode import`` (:mod:`idnode.bulk.registry`) for a batch. Across the
processes of ``idnode serve --workers N`` and any import into the same home, a claim is a
POSIX record lock on one byte of ``run/unique-claims`` (:data:`CLAIMS_FILE`), at an offset
taken from the value's hash (62 bits: ranges past the end of the file need no space, and
two values sharing an offset is a one-in-4·10^18 chance). Locks are taken without waiting
(``LOCK_NB``): a value locked by another process is being registered there at this moment,
and the registration here is refused as it would be for one in this process. The kernel
drops a process's locks when it exits, so a killed worker leaves no stale claim.

POSIX locks belong to the process, not to a descriptor or a thread, and one unlock releases
a range however often it was locked; the offsets this process holds are counted so that only
the last release unlocks. Nodes on different machines sharing one PostgreSQL database do not
share these locks (see ``docs/secondary-node.md``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path

__all__ = ["CLAIMS_FILE", "ELSEWHERE", "SharedClaims", "claim_key"]

#: the claims file, relative to a node home
CLAIMS_FILE = Path("run") / "unique-claims"
#: what a refusal names as the holder of a value claimed by another process
ELSEWHERE = "an identifier being registered by another process at the same time"


def claim_key(template_key: str, prefix: str, type_: str, value: str) -> str:
    """The key of a unique value: its template (handle key of TEMPLATE_ID), the registering
    prefix and the item's type (both ASCII upper case), and the value."""
    return json.dumps([template_key, prefix, type_, value])  # unambiguous whatever they hold

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
