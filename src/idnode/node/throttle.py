"""Bounding guesses: failed authentications per client address.

Each address may fail ``max_failures`` times within ``window`` seconds; after that its answers
are refused (RC 3, "retry later") without being verified until the window has passed. Only
failures that prove the address is real are counted: an OC 200 answer is verified only for
the address its challenge was sent to, and OC 201 is accepted over TCP only. Memory is bounded
(the least recently failing addresses are forgotten first).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

from idnode.errors import ServerBusy

__all__ = ["FailureThrottle"]


class FailureThrottle:
    def __init__(self, max_failures: int, window: float = 60.0, max_addresses: int = 65_536,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_failures
        self._window = window
        self._max_addresses = max_addresses
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, address: str) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        horizon = self._clock() - self._window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times

    def check(self, address: str) -> None:
        """:raises ServerBusy: ``address`` failed too often recently."""
        times = self._recent(address)
        if times is not None and len(times) >= self._max:
            raise ServerBusy(reason=f"too many failed authentications from {address}; "
                                    f"retry in {self._window:g} seconds")

    def failed(self, address: str) -> None:
        times = self._recent(address)
        if times is None:
            times = self._failures[address] = deque(maxlen=self._max)
        times.append(self._clock())
        self._failures.move_to_end(address)
        while len(self._failures) > self._max_addresses:
            self._failures.popitem(last=False)
