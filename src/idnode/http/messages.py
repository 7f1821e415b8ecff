"""HTTP request and response values exchanged between the server and the application.

The server (``idnode.http.server``) parses bytes into a :class:`Request` and serialises the
:class:`Response` an :class:`HttpApp` returns; the application never sees a socket, so it is
tested in memory (``tests/http``), like Starlette's test client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import parse_qs

__all__ = ["HttpApp", "Request", "Response"]


@dataclass(slots=True)
class Request:
    """One parsed HTTP/1.x request.

    :ivar target: the request target exactly as sent (``/api/handles/a%2Fb?index=1``).
    :ivar path: the path part of ``target``, percent-decoded as UTF-8 (invalid sequences
        are replaced, so a handler never sees an exception from decoding).
    :ivar raw_path: the path part of ``target`` before percent-decoding.
    :ivar query: the query string without ``?`` (undecoded).
    :ivar headers: ``(name, value)`` pairs in arrival order, names lower-cased, values
        decoded as Latin-1 (RFC 9110 field values are octets).
    :ivar scheme: ``"http"`` or ``"https"``.
    :ivar client_cert: the DER bytes of the certificate the TLS client presented, if any.
    :ivar connection_id: distinguishes connections (for per-connection state).
    """

    method: str
    target: str
    path: str
    raw_path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    peer: tuple[str, int] = ("127.0.0.1", 0)
    scheme: str = "http"
    client_cert: bytes | None = None
    connection_id: int = 0
    _params: dict[str, list[str]] | None = field(default=None, repr=False)

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lower-case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    @property
    def params(self) -> dict[str, list[str]]:
        """Query parameters (repeatable), percent-decoded; blank values kept."""
        if self._params is None:
            self._params = parse_qs(self.query, keep_blank_values=True) if self.query else {}
        return self._params

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None


@dataclass(slots=True)
class Response:
    """What the application answers. The server adds ``Content-Length``, ``Date``,
    ``Server`` and ``Connection``; for ``HEAD`` it sends the headers only."""

    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


class HttpApp(Protocol):
    """The application side of the HTTP server."""

    def fast(self, request: Request) -> Response | None:
        """Answer without awaiting (the hot read path), or return None to use :meth:`handle`."""
        ...

    async def handle(self, request: Request) -> Response:
        """Answer any request. Must not raise: errors become responses here."""
        ...
