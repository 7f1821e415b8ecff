"""The typed request context handed through the stage chain (never an untyped dict)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from idnode.auth.identity import Identity

__all__ = ["Connection", "RequestContext", "RequestInfo"]


@dataclass(slots=True, eq=False)
class Connection:
    """State that outlives one request: a TCP connection, or one UDP peer address.

    :ivar key: identifies the channel for pending challenges (``("tcp", n)`` or
        ``("udp", host, port)``).
    """

    key: tuple[object, ...]
    transport: str
    peer: tuple[str, int]
    #: who logged in on this connection with IDIS OC 2000/2001, and when (monotonic)
    login: Identity | None = None
    login_at: float = 0.0


@dataclass(slots=True)
class RequestInfo:
    """Mutable notes a request leaves for the access log."""

    handle: str = "-"
    identity: str = "-"


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What a stage knows about a request besides the message itself."""

    connection: Connection
    received: float = field(default_factory=time.monotonic)
    identity: Identity | None = None
    request_packets: int = 1
    #: whether the auth stage may answer RC 402 with a challenge (the REST API
    #: authenticates by HTTP headers instead, so it gets the error itself)
    challenge: bool = True
    #: the decoded body (set by the guard stage); its class depends on the opcode
    body: object = None
    #: filled in by stages for the access log
    info: RequestInfo = field(default_factory=RequestInfo)

    @property
    def transport(self) -> str:
        return self.connection.transport

    @property
    def peer(self) -> tuple[str, int]:
        return self.connection.peer

    def authenticated_as(self, identity: Identity) -> RequestContext:
        self.info.identity = str(identity)
        return replace(self, identity=identity)

    def with_body(self, body: object) -> RequestContext:
        return replace(self, body=body)
