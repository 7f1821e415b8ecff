"""The puller's side of the replication channel: one pinned TLS connection, every request
authenticated by challenge–response as the puller's identity."""

from __future__ import annotations

import asyncio
import itertools
import ssl
import time
from collections.abc import Sequence

from idnode.client.auth import Authenticator
from idnode.client.flow import Action, Done, RequestFlow, Send, response_body
from idnode.client.results import remote_error
from idnode.config_replication import Peer
from idnode.protocol.constants import OpCode, OpFlag, ResponseCode
from idnode.protocol.message import Message
from idnode.protocol.replication import (
    DumpMode,
    DumpRequest,
    DumpResponse,
    LogRequest,
    LogResponse,
    StatusRequest,
    StatusResponse,
)
from idnode.replication.tls import check_pin, client_context, pinned_der
from idnode.transport.client import TcpConnection, TransportError, TransportTimeout

__all__ = ["MAX_REPLICATION_MESSAGE", "ReplicaClient"]

#: The largest replication message either side accepts (log pages are capped below it).
MAX_REPLICATION_MESSAGE = 16 << 20
_EXPIRATION = 300
_ids = itertools.count(int(time.time()) & 0xFFFF)


class ReplicaClient:
    """Talks to one peer's replication listener.

    :param auth: the puller's identity and key; every request is challenged and answered.
    :param timeout: for connecting and for each answer (a long poll adds its wait).
    """

    def __init__(self, peer: Peer, auth: Authenticator, *, timeout: float = 5.0) -> None:
        self.peer = peer
        self.auth = auth
        self.timeout = timeout
        self._pinned = pinned_der(peer.certificate)
        self._context: ssl.SSLContext = client_context()
        self._connection: TcpConnection | None = None
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def status(self) -> StatusResponse:
        body = await self._call(OpCode.GET_NEXT_TXN_ID, StatusRequest().to_wire())
        return StatusResponse.from_wire(body)

    async def log(self, request: LogRequest, *, max_values: int = 1 << 20) -> LogResponse:
        body = await self._call(OpCode.RETRIEVE_TXN_LOG, request.to_wire(),
                                wait=request.wait_ms / 1000)
        return LogResponse.from_wire(body, max_values=max_values)

    async def dump(self, request: DumpRequest, *, max_values: int = 1 << 20) -> DumpResponse:
        body = await self._call(OpCode.DUMP_HANDLES, request.to_wire())
        return DumpResponse.from_wire(body, max_values=max_values)

    async def digests(self) -> DumpResponse:
        return await self.dump(DumpRequest(DumpMode.DIGESTS))

    async def fetch(self, keys: Sequence[str]) -> DumpResponse:
        return await self.dump(DumpRequest(DumpMode.FETCH, keys=tuple(keys)))

    # -- plumbing ---------------------------------------------------------------------------
    async def _connect(self) -> TcpConnection:
        if self._connection is not None and self._connection.usable:
            return self._connection
        await self.close()
        host, port = self.peer.host, self.peer.port
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(host, port, ssl=self._context)
        except TimeoutError:
            raise TransportTimeout(reason=f"cannot connect to replication peer "
                                          f"{self.peer.address}: timed out") from None
        except (OSError, ssl.SSLError) as exc:
            raise TransportError(reason=f"cannot connect to replication peer "
                                        f"{self.peer.address}: {exc}") from None
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        try:
            check_pin(der, self._pinned, f"replication peer {self.peer.address}")
        except Exception:
            writer.close()
            raise
        self._connection = TcpConnection(reader, writer, (host, port),
                                         max_message=MAX_REPLICATION_MESSAGE)
        return self._connection

    async def _call(self, opcode: int, body: bytes, *, wait: float = 0.0) -> bytes:
        """One request on the (re)opened connection, challenge answered; the success body.

        :raises RemoteError: the peer answered with an error code.
        :raises TransportError: the connection failed (it is reopened next time).
        """
        async with self._lock:
            connection = await self._connect()
            request = Message(opcode=opcode, opflags=int(OpFlag.KEEP_ALIVE), body=body,
                              request_id=next(_ids) & 0x7FFF_FFFF,
                              expiration=int(time.time()) + _EXPIRATION)
            timeout = self.timeout + wait
            flow = RequestFlow(request, self.auth)
            action: Action = flow.start()
            try:
                while not isinstance(action, Done):
                    if isinstance(action, Send):
                        await connection.send(action.message)
                    response = await connection.receive(request.request_id, timeout=timeout)
                    action = flow.on_response(response)
            except BaseException:
                await self.close()  # the stream's position is unknown now
                raise
            final = action.responses[-1]
            if final.response_code != ResponseCode.SUCCESS:
                raise remote_error(final)
            return response_body(final)
