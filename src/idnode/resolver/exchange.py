"""One question to one server: UDP, then TCP, then the HTTP tunnel.

:class:`Exchanger` owns everything per-server that the resolver shares between concurrent
resolutions:

* **transports** in order of the server's query interfaces: UDP with short timeouts; TCP on
  a pooled keep-alive connection (reused, reopened when the server dropped it), at once when
  UDP says the answer is too large; the HTTP tunnel when the server has an HTTP interface. A
  transport that failed while a later one worked is tried last for a while, so a server
  whose UDP is filtered does not cost a UDP timeout per question;
* **health** (:class:`~idnode.resolver.health.HealthBook`): a server whose circuit is open,
  or with too many requests in flight, is not asked (:class:`ServerSkipped`, at once);
* **single flight**: identical questions to the same server in flight at the same time
  share one request and its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from idnode.errors import ProtocolError
from idnode.protocol.constants import OpFlag
from idnode.protocol.message import Message
from idnode.resolver.health import HealthBook
from idnode.resolver.sites import Endpoint
from idnode.resolver.tunnel import post_message
from idnode.transport.client import (
    TcpConnection,
    TransportError,
    TransportTimeout,
    TruncatedAnswer,
    udp_exchange,
)

__all__ = ["Answer", "Exchanger", "ServerSkipped"]

#: Idle keep-alive connections kept per server.
_POOL_IDLE = 4
#: Seconds a transport that failed (while a later one worked) stays at the back.
_DEMOTE_SECONDS = 60.0
_KEEP_ALIVE = int(OpFlag.KEEP_ALIVE)


class ServerSkipped(TransportError):
    """The server was not asked: its circuit is open or it has too many requests in flight."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A server's answer and how it came.

    :ivar message: the response.
    :ivar endpoint: the transport and address that answered.
    :ivar elapsed: seconds from the first attempt to the answer.
    :ivar notes: what failed before (``"udp: answer too large for UDP"``, …).
    :ivar shared: another caller's identical question brought this answer.
    """

    message: Message
    endpoint: Endpoint
    elapsed: float
    notes: tuple[str, ...] = ()
    shared: bool = False


class Exchanger:
    """Sends questions to servers for one resolver; safe for concurrent use on one loop.

    :param health: the resolver's health book.
    :param udp_timeouts: the UDP retry schedule.
    :param tcp_timeout: seconds for a TCP connect, a TCP answer, or a whole HTTP exchange.
    """

    def __init__(self, health: HealthBook, *, udp_timeouts: Sequence[float],
                 tcp_timeout: float) -> None:
        self.health = health
        self.udp_timeouts = tuple(udp_timeouts)
        self.tcp_timeout = tcp_timeout
        self._idle: dict[tuple[str, int], list[TcpConnection]] = {}
        self._flights: dict[tuple[object, ...], asyncio.Task[Answer]] = {}
        self._demoted: dict[tuple[str, str], float] = {}
        self._ids = itertools.count(secrets.randbelow(1 << 30) + 1)
        #: requests actually sent (after single flight), for statistics and tests
        self.sent = 0

    async def ask(self, label: str, endpoints: Sequence[Endpoint], request: Message,
                  path_handle: str) -> Answer:
        """Ask the server ``label`` (reachable at ``endpoints``) ``request``.

        The request id is set here (a new one per transport attempt).

        :param path_handle: the handle named in the HTTP tunnel's URL.
        :raises ServerSkipped: the server's circuit is open or it is saturated.
        :raises TransportError: no transport brought an answer (the message says why, per
            transport).
        """
        key = (label, request.opcode, request.opflags, request.site_serial,
               request.recursion_count, request.body)
        flight = self._flights.get(key)
        if flight is not None:
            answer = await asyncio.shield(flight)
            return Answer(answer.message, answer.endpoint, answer.elapsed, answer.notes, True)
        flight = asyncio.ensure_future(self._fly(label, tuple(endpoints), request,
                                                 path_handle))
        self._flights[key] = flight
        flight.add_done_callback(lambda done: self._landed(key, done))
        return await asyncio.shield(flight)

    def _landed(self, key: tuple[object, ...], flight: asyncio.Task[Answer]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.cancelled():
            flight.exception()  # retrieved here, so an unawaited failure is not logged

    def _order(self, label: str, endpoints: tuple[Endpoint, ...], now: float
               ) -> list[Endpoint]:
        if not self.udp_timeouts:  # configured without UDP
            endpoints = tuple(e for e in endpoints if e.transport != "udp")
        demoted = [e for e in endpoints
                   if self._demoted.get((label, e.transport), 0.0) > now]
        return [e for e in endpoints if e not in demoted] + demoted

    async def _fly(self, label: str, endpoints: tuple[Endpoint, ...], request: Message,
                   path_handle: str) -> Answer:
        started = time.monotonic()
        refusal = self.health.admit(label, started)
        if refusal is not None:
            raise ServerSkipped(reason=f"{label} not asked: {refusal}")
        settled = False
        notes: list[str] = []
        failed: list[Endpoint] = []
        try:
            for endpoint in self._order(label, endpoints, started):
                sent = time.monotonic()
                try:
                    response = await self._send(endpoint, request, path_handle)
                except TruncatedAnswer:
                    notes.append(f"{endpoint.transport}: answer too large")
                    continue  # the next transport (TCP) carries it; the server is fine
                except (TransportError, ProtocolError) as exc:
                    notes.append(f"{endpoint.transport}: {exc}")
                    failed.append(endpoint)
                    continue
                now = time.monotonic()
                self.health.success(label, now - sent)
                settled = True
                for bad in failed:
                    self._demoted[(label, bad.transport)] = now + _DEMOTE_SECONDS
                if len(self._demoted) > 10_000:
                    self._demoted = {k: t for k, t in self._demoted.items() if t > now}
                return Answer(response, endpoint, now - started, tuple(notes))
            why = "; ".join(notes) if notes else "it has no query interface"
            self.health.failure(label, time.monotonic(), why)
            settled = True
            raise TransportError(reason=f"{label}: {why}")
        finally:
            if not settled:
                self.health.release(label)

    def _with_id(self, request: Message) -> Message:
        return request.with_(request_id=next(self._ids) & 0x7FFF_FFFF)

    async def _send(self, endpoint: Endpoint, request: Message, path_handle: str) -> Message:
        self.sent += 1
        if endpoint.transport == "udp":
            return await udp_exchange(endpoint.address, self._with_id(request),
                                      timeouts=self.udp_timeouts)
        if endpoint.transport == "tcp":
            return await self._over_tcp(endpoint.address, request)
        return await post_message(endpoint.address, self._with_id(request), path_handle,
                                  timeout=self.tcp_timeout)

    async def _over_tcp(self, address: tuple[str, int], request: Message) -> Message:
        request = request.with_(opflags=request.opflags | _KEEP_ALIVE)
        for _ in range(2):
            connection, reused = await self._connection(address)
            try:
                async with connection.lock:
                    response = await connection.request(self._with_id(request),
                                                        timeout=self.tcp_timeout)
            except TransportError as exc:
                await connection.close()
                # A pooled connection the server closed meanwhile: once more on a new one.
                if reused and not isinstance(exc, TransportTimeout):
                    continue
                raise
            except BaseException:
                await connection.close()
                raise
            await self._park(address, connection)
            return response
        raise TransportError(reason=f"TCP to {address[0]}:{address[1]} failed twice")

    async def _connection(self, address: tuple[str, int]) -> tuple[TcpConnection, bool]:
        idle = self._idle.get(address)
        while idle:
            connection = idle.pop()
            if connection.usable:
                return connection, True
            await connection.close()
        return await TcpConnection.open(address, timeout=self.tcp_timeout), False

    async def _park(self, address: tuple[str, int], connection: TcpConnection) -> None:
        idle = self._idle.setdefault(address, [])
        if connection.usable and len(idle) < _POOL_IDLE:
            idle.append(connection)
        else:
            await connection.close()

    async def close(self) -> None:
        """Close every pooled connection and cancel the questions in flight."""
        for flight in list(self._flights.values()):
            flight.cancel()
        for flight in list(self._flights.values()):
            with contextlib.suppress(BaseException):
                await flight
        pools, self._idle = self._idle, {}
        for idle in pools.values():
            for connection in idle:
                await connection.close()
