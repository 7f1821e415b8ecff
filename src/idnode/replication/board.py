"""Where each mirror stands, shared by the worker processes of a primary.

A mirror's log request may land on any worker, while the write waiting for it to be
acknowledged (synchronous durability) runs on another. Each mirror identity named in
``replication.admins`` owns one slot of a small memory-mapped file in ``run/``: the highest
transaction id it has said it applied, and when it said so.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import struct
import time
from collections.abc import Sequence
from pathlib import Path

from idnode.errors import RegistryError

__all__ = ["MAX_MIRRORS", "MirrorBoard", "NotReplicated"]

MAX_MIRRORS = 64
_SLOT = struct.Struct("<Qd")  # position, unix time of the report
_SIZE = MAX_MIRRORS * _SLOT.size
_POLL = 0.001


class NotReplicated(RegistryError):
    """A synchronous write committed on the primary but too few mirrors confirmed it."""

    response_code = 2
    fmt = "{reason}"


class MirrorBoard:
    """The slots of ``identities`` (in that order) in the file at ``path`` (``None``: private
    memory, for one process)."""

    def __init__(self, path: Path | None, identities: Sequence[str]) -> None:
        if len(identities) > MAX_MIRRORS:
            raise ValueError(f"at most {MAX_MIRRORS} replication identities")
        self.identities = tuple(identities)
        self._slots = {identity.lower(): i for i, identity in enumerate(self.identities)}
        if path is None:
            self._map = mmap.mmap(-1, _SIZE)
        else:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_size < _SIZE:
                    os.ftruncate(fd, _SIZE)
                self._map = mmap.mmap(fd, _SIZE)
            finally:
                os.close(fd)

    def report(self, identity: str, position: int) -> None:
        """``identity`` has applied everything up to ``position`` (never moves back, except
        after a re-dump, which reports a lower position honestly)."""
        slot = self._slots.get(identity.lower())
        if slot is not None:
            _SLOT.pack_into(self._map, slot * _SLOT.size, position, time.time())

    def positions(self) -> list[tuple[str, int, float]]:
        """(identity, position, time of its last report) for every slot."""
        return [(identity, *_SLOT.unpack_from(self._map, i * _SLOT.size))
                for i, identity in enumerate(self.identities)]

    def confirmed(self, txn_id: int) -> int:
        """How many mirrors have applied ``txn_id``."""
        return sum(1 for i in range(len(self.identities))
                   if _SLOT.unpack_from(self._map, i * _SLOT.size)[0] >= txn_id)

    async def wait(self, txn_id: int, mirrors: int, timeout: float) -> None:
        """Return once ``mirrors`` mirrors have applied ``txn_id``.

        :raises NotReplicated: not within ``timeout`` seconds (the write stays committed on
            the primary; the client is told it is not yet safe).
        """
        deadline = time.monotonic() + timeout
        while self.confirmed(txn_id) < mirrors:
            if time.monotonic() >= deadline:
                have = self.confirmed(txn_id)
                raise NotReplicated(reason=f"committed on the primary as transaction "
                                           f"{txn_id}, but only {have} of the {mirrors} "
                                           f"mirrors required confirmed it within "
                                           f"{timeout:g} s; it is not yet safe against "
                                           "losing the primary")
            await asyncio.sleep(_POLL)

    def close(self) -> None:
        self._map.close()
