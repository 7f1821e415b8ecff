"""Outstanding authentication challenges (RC 402 sent, OC 200 awaited).

Keyed by the channel and the request id, bounded in number (oldest dropped first) and in
time, so a client that never answers costs a fixed amount of memory for a fixed time.
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
    def __init__(self, *, timeout: float, max_pending: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._items: OrderedDict[tuple[object, ...], Pending] = OrderedDict()
        self._timeout = timeout
        self._max = max_pending
        self._clock = clock

    def add(self, channel: tuple[object, ...], request: Message, nonce: bytes,
            digest: RequestDigest, body: object = None) -> None:
        key = (*channel, request.request_id)
        self._items.pop(key, None)
        self._items[key] = Pending(request, nonce, digest, self._clock() + self._timeout,
                                   body)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    def take(self, channel: tuple[object, ...], request_id: int) -> Pending | bool | None:
        """The pending challenge, ``False`` if it existed but expired, ``None`` if unknown."""
        pending = self._items.pop((*channel, request_id), None)
        if pending is None:
            return None
        if pending.deadline < self._clock():
            return False
        return pending

    def __len__(self) -> int:
        return len(self._items)
