"""Outstanding authentication challenges (RC 402 sent, OC 200 awaited).

Keyed by the channel and the request id, bounded in number and in bytes (the oldest are
dropped first) and in time (expired entries are purged as new ones arrive), so clients that
never answer cost a bounded amount of memory for a bounded time.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from idnode.protocol.digest import RequestDigest
from idnode.protocol.message import Message

__all__ = ["Challenges", "Pending"]


@dataclass(frozen=True, slots=True)
class Pending:
    request: Message
    nonce: bytes
    digest: RequestDigest
    deadline: float
    #: the request's decoded body, so the replay after authentication does not decode again
    body: object = None


class Challenges:
    def __init__(self, *, timeout: float, max_pending: int, max_bytes: int = 32 * 2**20,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._items: OrderedDict[tuple[object, ...], Pending] = OrderedDict()
        self._timeout = timeout
        self._max = max_pending
        self._max_bytes = max_bytes
        self._bytes = 0
        self._clock = clock

    @staticmethod
    def _size(pending: Pending) -> int:
        # The request is held twice (raw and decoded); count both, plus a fixed overhead.
        return 2 * len(pending.request.body) + 256

    def _drop(self, key: tuple[object, ...]) -> Pending | None:
        pending = self._items.pop(key, None)
        if pending is not None:
            self._bytes -= self._size(pending)
        return pending

    def add(self, channel: tuple[object, ...], request: Message, nonce: bytes,
            digest: RequestDigest, body: object = None) -> None:
        key = (*channel, request.request_id)
        self._drop(key)
        now = self._clock()
        # Entries are in deadline order: expired ones are at the front.
        while self._items:
            oldest = next(iter(self._items))
            if self._items[oldest].deadline >= now:
                break
            self._drop(oldest)
        pending = Pending(request, nonce, digest, now + self._timeout, body)
        self._items[key] = pending
        self._bytes += self._size(pending)
        while len(self._items) > self._max or self._bytes > self._max_bytes:
            self._drop(next(iter(self._items)))

    def take(self, channel: tuple[object, ...], request_id: int) -> Pending | bool | None:
        """The pending challenge, ``False`` if it existed but expired, ``None`` if unknown."""
        pending = self._drop((*channel, request_id))
        if pending is None:
            return None
        if pending.deadline < self._clock():
            return False
        return pending

    def __len__(self) -> int:
        return len(self._items)

    @property
    def held_bytes(self) -> int:
        return self._bytes
