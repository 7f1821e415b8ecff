"""The asyncio Handle client: resolution and administration against one server.

Every operation builds a request, runs it through a :class:`~idnode.client.flow.RequestFlow`
(challenge-response, continued answers) over a transport, and turns a non-success answer into
:class:`~idnode.errors.RemoteError`. Queries go over UDP unless ``transport="tcp"``, and fall
back to TCP when UDP times out or the answer is too large; administrative operations always
use one keep-alive TCP connection, opened on first use and reopened if the server dropped it.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Literal

from idnode.client.auth import Authenticator
from idnode.client.flow import Action, Done, RequestFlow, Send, response_body
from idnode.client.results import ResolutionResult, remote_error
from idnode.errors import ProtocolError
from idnode.identifiers.handle import prefix_handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import SiteData
from idnode.protocol.bodies import (
    AddValueRequest,
    CreateHandleRequest,
    CreateHandleResponse,
    HandleRequest,
    ListHandlesResponse,
    ModifyValueRequest,
    RemoveValueRequest,
    ResolutionRequest,
    ResolutionResponse,
)
from idnode.protocol.constants import (
    DEFAULT_RESOLUTION_FLAGS,
    MAX_MESSAGE_SIZE,
    OpCode,
    OpFlag,
    ResponseCode,
)
from idnode.protocol.message import Message
from idnode.transport.client import (
    DEFAULT_UDP_TIMEOUTS,
    TcpConnection,
    TransportError,
    udp_exchange,
)

__all__ = ["DEFAULT_PORT", "HandleClient"]

DEFAULT_PORT = 2641
#: CNRI clients let a request expire 12 hours after it was made.
_EXPIRATION = 12 * 3600

Address = tuple[str, int]
Transport = Literal["udp", "tcp"]


class HandleClient:
    """An asyncio client for one Handle server.

    :param server: the server's ``(host, port)``.
    :param transport: ``"udp"`` (queries over UDP, TCP fallback) or ``"tcp"`` (everything
        over TCP). Administrative operations always use TCP.
    :param auth: answers challenges; may be replaced between operations (``client.auth =``).
    :param timeout: seconds to wait for a TCP connection or a TCP answer.
    :param udp_timeouts: the UDP retry schedule.
    """

    def __init__(self, server: Address, *, transport: Transport = "udp",
                 auth: Authenticator | None = None, timeout: float = 10.0,
                 udp_timeouts: Sequence[float] = DEFAULT_UDP_TIMEOUTS,
                 max_message: int = MAX_MESSAGE_SIZE) -> None:
        if transport not in ("udp", "tcp"):
            raise ValueError(f"transport must be 'udp' or 'tcp', not {transport!r}")
        self.server = server
        self.transport = transport
        self.auth = auth
        self.timeout = timeout
        self.udp_timeouts = tuple(udp_timeouts)
        self.max_message = max_message
        self._connection: TcpConnection | None = None
        self._connecting = asyncio.Lock()  # concurrent first uses open one connection
        # Random start so ids from several clients of one host rarely collide.
        self._ids = itertools.count(secrets.randbelow(1 << 30) + 1)

    # -- lifecycle --------------------------------------------------------------------------
    async def close(self) -> None:
        """Close the TCP connection, if one is open."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()

    async def __aenter__(self) -> HandleClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    # -- queries ----------------------------------------------------------------------------
    async def resolve(self, handle: str, *, types: Iterable[str] = (),
                      indexes: Iterable[int] = (), authoritative: bool = False,
                      public_only: bool = True) -> ResolutionResult:
        """Resolve ``handle`` (all values, or those matching ``types`` / ``indexes``).

        :param public_only: ask only for publicly readable values; ``False`` asks for all,
            which the server answers after authenticating the client.
        :raises RemoteError: any answer but success (e.g. 100 handle not found).
        """
        flags = DEFAULT_RESOLUTION_FLAGS
        if not public_only:
            flags &= ~OpFlag.PUBLIC_ONLY
        if authoritative:
            flags |= OpFlag.AUTHORITATIVE
        body = ResolutionRequest(handle, tuple(indexes), tuple(types)).to_wire()
        answer = await self._query(OpCode.RESOLUTION, body, flags)
        decoded = ResolutionResponse.from_wire(answer)
        return ResolutionResult(decoded.handle, decoded.values)

    async def get_site_info(self) -> SiteData:
        """The server's HS_SITE record (OC 2)."""
        answer = await self._query(OpCode.GET_SITE_INFO, HandleRequest("/").to_wire(), 0)
        return SiteData.from_bytes(answer)

    # -- administration ---------------------------------------------------------------------
    async def create_handle(self, handle: str, values: Iterable[HandleValue], *,
                            overwrite: bool = False, mint: bool = False) -> str:
        """Create ``handle`` with ``values``; return the created handle.

        :param overwrite: replace an existing record instead of failing with RC 101.
        :param mint: let the server append a new suffix to ``handle`` (``prefix/``).
        """
        flags = (OpFlag.OVERWRITE if overwrite else 0) | (OpFlag.MINT_NEW_SUFFIX if mint else 0)
        body = CreateHandleRequest(handle, tuple(values)).to_wire()
        answer = await self._admin(OpCode.CREATE_HANDLE, body, flags)
        if mint and answer:
            return CreateHandleResponse.from_wire(answer).handle
        return handle

    async def delete_handle(self, handle: str) -> None:
        await self._admin(OpCode.DELETE_HANDLE, HandleRequest(handle).to_wire())

    async def add_values(self, handle: str, values: Iterable[HandleValue],
                         overwrite: bool = False) -> None:
        """Add ``values``; with ``overwrite`` existing indexes are replaced (no RC 201)."""
        body = AddValueRequest(handle, tuple(values)).to_wire()
        await self._admin(OpCode.ADD_VALUE, body, OpFlag.OVERWRITE if overwrite else 0)

    async def modify_values(self, handle: str, values: Iterable[HandleValue]) -> None:
        """Replace the values with the same indexes as ``values``."""
        await self._admin(OpCode.MODIFY_VALUE,
                          ModifyValueRequest(handle, tuple(values)).to_wire())

    async def remove_values(self, handle: str, indexes: Iterable[int]) -> None:
        await self._admin(OpCode.REMOVE_VALUE,
                          RemoveValueRequest(handle, tuple(indexes)).to_wire())

    async def list_handles(self, prefix: str) -> list[str]:
        """All handles under ``prefix`` (bare or ``0.NA/``), collected from every part."""
        return await self._listing(OpCode.LIST_HANDLES,
                                   HandleRequest(prefix_handle(prefix)).to_wire())

    async def list_homed_prefixes(self) -> list[str]:
        """The prefixes homed on the server (OC 302)."""
        # The request body is empty (§3); servers also accept CNRI's extra handle field.
        return await self._listing(OpCode.LIST_HOMED_PREFIXES, b"")

    async def home_prefix(self, prefix: str) -> None:
        """Make the server responsible for ``prefix`` (bare or ``0.NA/``)."""
        await self._admin(OpCode.HOME_PREFIX, HandleRequest(prefix_handle(prefix)).to_wire())

    async def unhome_prefix(self, prefix: str) -> None:
        await self._admin(OpCode.UNHOME_PREFIX,
                          HandleRequest(prefix_handle(prefix)).to_wire())

    # -- plumbing ---------------------------------------------------------------------------
    def _request(self, opcode: int, body: bytes, opflags: int) -> Message:
        return Message(opcode=opcode, opflags=opflags, body=body,
                       request_id=next(self._ids) & 0x7FFF_FFFF,
                       expiration=int(time.time()) + _EXPIRATION)

    async def _query(self, opcode: int, body: bytes, opflags: int) -> bytes:
        """A read: UDP first (unless TCP was chosen), then TCP.

        TCP takes over when UDP times out or fails (a server without UDP answers ICMP port
        unreachable), when the answer is too large, or when the server wants
        authentication: a challenge is answered on TCP, where the answer reaches the server
        over the connection that was challenged.
        """
        if self.transport == "udp":
            request = self._request(opcode, body, opflags)
            try:
                responses = await self._run(request, self._udp_send, None, None)
            except TransportError:  # timeout, truncation, unreachable
                pass  # ask again over TCP (with a new request id)
            else:
                if (responses[-1].response_code != ResponseCode.AUTHENTICATION_NEEDED
                        or self.auth is None):
                    return self._success(responses)[0]
        responses = await self._over_tcp(self._request(opcode, body, opflags))
        return self._success(responses)[0]

    async def _admin(self, opcode: int, body: bytes, opflags: int = 0) -> bytes:
        responses = await self._over_tcp(self._request(opcode, body, opflags))
        return self._success(responses)[0]

    async def _listing(self, opcode: int, body: bytes) -> list[str]:
        responses = await self._over_tcp(self._request(opcode, body, 0))
        handles: list[str] = []
        for part in self._success(responses):
            handles.extend(ListHandlesResponse.from_wire(part).handles)
        return handles

    @staticmethod
    def _success(responses: tuple[Message, ...]) -> list[bytes]:
        """The bodies (digest prefix removed) of an all-success answer, else raise."""
        for response in responses:
            if response.response_code != ResponseCode.SUCCESS:
                raise remote_error(response)
        return [response_body(response) for response in responses]

    async def _udp_send(self, message: Message) -> Message:
        return await udp_exchange(self.server, message, timeouts=self.udp_timeouts,
                                  max_message=self.max_message)

    @staticmethod
    async def _run(request: Message, send: Callable[[Message], Awaitable[Message]],
                   receive: Callable[[int], Awaitable[Message]] | None,
                   auth: Authenticator | None) -> tuple[Message, ...]:
        """Drive a :class:`RequestFlow` for ``request`` with the given I/O."""
        flow = RequestFlow(request, auth)
        action: Action = flow.start()
        while not isinstance(action, Done):
            if isinstance(action, Send):
                response = await send(action.message)
            elif receive is not None:
                response = await receive(request.request_id)
            else:
                raise ProtocolError(reason="a continued answer arrived over UDP")
            action = flow.on_response(response)
        return action.responses

    async def _tcp_connection(self) -> TcpConnection:
        async with self._connecting:
            if self._connection is not None and not self._connection.usable:
                await self.close()  # idle timeout on the server side, or an earlier failure
            if self._connection is None:
                self._connection = await TcpConnection.open(
                    self.server, timeout=self.timeout, max_message=self.max_message)
            return self._connection

    async def _over_tcp(self, request: Message) -> tuple[Message, ...]:
        request = request.with_(opflags=request.opflags | OpFlag.KEEP_ALIVE)
        connection = await self._tcp_connection()

        async def receive(request_id: int) -> Message:
            return await connection.receive(request_id, timeout=self.timeout)

        async def send(message: Message) -> Message:
            await connection.send(message)
            return await receive(message.request_id)

        async with connection.lock:
            return await self._run(request, send, receive, self.auth)
