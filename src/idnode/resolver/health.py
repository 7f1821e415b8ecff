"""How each upstream server is doing: smoothed RTT, failures, a circuit breaker, a bound on
requests in flight.

The point is containment: a dead or slow enterprise node must not tie up the resolver (and
the recursive node running it) or slow down resolutions that do not involve it.

* **Circuit breaker.** ``failure_threshold`` consecutive failures open the circuit: the
  server is not asked for ``open_seconds`` (doubled on each re-open, up to
  ``max_open_seconds``), and questions for it fail at once. Then one probe is let through
  (half-open); its success closes the circuit, its failure opens it again.
* **In-flight bound.** At most ``max_inflight`` requests to one server at a time; beyond
  that the server counts as unavailable for the request (fail fast, no queue).
* **Smoothed RTT** (EWMA, as TCP's SRTT) orders the sites of a service.

Pure bookkeeping: no I/O, the clock is passed in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["CircuitState", "HealthBook", "ServerHealth"]

#: Weight of a new RTT sample in the smoothed RTT (RFC 6298's alpha).
_ALPHA = 0.125


class CircuitState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(slots=True)
class ServerHealth:
    """The state of one upstream server (keyed by its ``host:port`` label)."""

    srtt: float | None = None  # seconds
    failures: int = 0
    state: CircuitState = CircuitState.CLOSED
    open_until: float = 0.0
    opens: int = 0  # consecutive openings, for the back-off
    inflight: int = 0
    probing: bool = False
    last_error: str = ""


class HealthBook:
    """Health of every upstream server seen.

    :param failure_threshold: consecutive failures that open a circuit.
    :param open_seconds: how long a circuit first stays open.
    :param max_open_seconds: the cap of the doubling back-off.
    :param max_inflight: requests in flight to one server at most.
    :param max_servers: servers tracked at most; healthy idle ones are forgotten first.
    """

    def __init__(self, *, failure_threshold: int, open_seconds: float,
                 max_open_seconds: float, max_inflight: int, max_servers: int = 10_000) -> None:
        self.failure_threshold = max(1, failure_threshold)
        self.open_seconds = open_seconds
        self.max_open_seconds = max(open_seconds, max_open_seconds)
        self.max_inflight = max(1, max_inflight)
        self.max_servers = max_servers
        self._servers: dict[str, ServerHealth] = {}

    def get(self, label: str) -> ServerHealth:
        health = self._servers.get(label)
        if health is None:
            if len(self._servers) >= self.max_servers:
                self._forget_one()
            health = self._servers[label] = ServerHealth()
        return health

    def _forget_one(self) -> None:
        for label, health in self._servers.items():
            if health.inflight == 0 and health.state is CircuitState.CLOSED:
                del self._servers[label]
                return
        del self._servers[next(iter(self._servers))]

    def usable(self, label: str, now: float) -> bool:
        """Whether ``label`` would be asked now (for ordering; nothing changes)."""
        health = self._servers.get(label)
        if health is None:
            return True
        if health.state is CircuitState.OPEN:
            return now >= health.open_until
        if health.state is CircuitState.HALF_OPEN:
            return not health.probing
        return health.inflight < self.max_inflight

    def srtt(self, label: str) -> float | None:
        health = self._servers.get(label)
        return None if health is None else health.srtt

    def admit(self, label: str, now: float) -> str | None:
        """Reserve a request slot for ``label``; return ``None``, or why not.

        Every admitted request must end with :meth:`success` or :meth:`failure`.
        """
        health = self.get(label)
        if health.state is CircuitState.OPEN:
            if now < health.open_until:
                return f"circuit open for {health.open_until - now:.1f} s more"
            health.state = CircuitState.HALF_OPEN
            health.probing = False
        if health.state is CircuitState.HALF_OPEN:
            if health.probing:
                return "circuit half-open, a probe is in flight"
            health.probing = True
        elif health.inflight >= self.max_inflight:
            return f"{health.inflight} requests in flight (the limit)"
        health.inflight += 1
        return None

    def success(self, label: str, rtt: float) -> None:
        health = self.get(label)
        health.inflight = max(0, health.inflight - 1)
        health.srtt = rtt if health.srtt is None else \
            (1 - _ALPHA) * health.srtt + _ALPHA * rtt
        health.failures = 0
        health.opens = 0
        health.probing = False
        health.state = CircuitState.CLOSED
        health.last_error = ""

    def failure(self, label: str, now: float, error: str = "") -> None:
        health = self.get(label)
        health.inflight = max(0, health.inflight - 1)
        health.failures += 1
        health.last_error = error
        if health.state is CircuitState.HALF_OPEN or health.failures >= self.failure_threshold:
            wait = min(self.open_seconds * 2 ** min(health.opens, 30), self.max_open_seconds)
            health.state = CircuitState.OPEN
            health.open_until = now + wait
            health.opens += 1
            health.probing = False

    def release(self, label: str) -> None:
        """End an admitted request that neither succeeded nor failed (cancelled)."""
        health = self.get(label)
        health.inflight = max(0, health.inflight - 1)
        health.probing = False

    def snapshot(self, now: float) -> list[dict[str, object]]:
        """One dict per server: address, srtt_ms, failures, state, inflight, last_error."""
        out: list[dict[str, object]] = []
        for label, health in sorted(self._servers.items()):
            state = health.state
            if state is CircuitState.OPEN and now >= health.open_until:
                state = CircuitState.HALF_OPEN  # the next request will probe
            out.append({
                "address": label,
                "srtt_ms": None if health.srtt is None else round(health.srtt * 1000, 3),
                "failures": health.failures,
                "state": state.value,
                "inflight": health.inflight,
                "last_error": health.last_error,
            })
        return out
