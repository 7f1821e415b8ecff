"""A batch of creates sent through the stage chain in one request (in-process only).

The SNMS batch API registers up to 2,000 identifiers per call. Sending each as its own
native create would cost a message, its encoding and decoding and a pass through every
stage per identifier; instead the whole batch passes the chain once as one request with
the internal opcode :data:`BATCH_CREATE` and a :class:`BatchCreate` body already decoded.
Every stage still sees it: the guard admits it only with such a body (which no transport
can produce: bodies from the wire are bytes), the replication stage refuses it on a mirror
as any write, and the authoritative stage checks, authorizes and stamps each item exactly as
a native create and commits them as one group (:meth:`WriteQueue.submit_many`). Each
item's outcome is written into :attr:`BatchCreate.results`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from idnode.errors import RegistryError
from idnode.identifiers.value import HandleValue

__all__ = ["BATCH_CREATE", "BatchCreate"]

#: Outside the opcode space the protocols use (handle-protocol.md §4; IDIS 2000/2001).
BATCH_CREATE = 0x7FFF_0001


@dataclass(slots=True)
class BatchCreate:
    """``items``: (handle text, values) to create, none overwriting; ``results``: filled
    by the authoritative stage, one per item: ``None`` (created) or the error."""

    items: tuple[tuple[str, tuple[HandleValue, ...]], ...]
    results: list[RegistryError | None] = field(default_factory=list)
