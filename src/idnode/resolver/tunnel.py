"""The native protocol over HTTP (``handle-protocol.md`` §9): the resolver's last resort,
for servers that only publish an HTTP interface (or are behind a firewall).

``POST /<url-encoded handle>`` with ``Content-Type: application/x-hdl-message``; both bodies
are envelope + message. One request per connection (``Connection: close``): the tunnel is a
fallback, not the hot path. :class:`ResponseReader` parses the answer without I/O; only
:func:`post_message` touches the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import quote

from idnode.errors import ProtocolError
from idnode.protocol.constants import MAX_MESSAGE_SIZE
from idnode.protocol.framing import TUNNEL_CONTENT_TYPE, decode_tunnel_body, encode_tunnel_body
from idnode.protocol.message import Message
from idnode.transport.client import TransportError, TransportTimeout

__all__ = ["ResponseReader", "post_message"]

_MAX_HEAD = 16 * 1024
_READ_SIZE = 65_536


class ResponseReader:
    """An HTTP/1.1 response, fed bytes as they arrive (no I/O).

    Call :meth:`feed` with each chunk read and :meth:`feed_eof` at the end of the stream;
    :attr:`done` turns true once the whole body is in :attr:`body`. Bodies framed by
    ``Content-Length``, by chunked transfer coding, or by the end of the connection are
    understood.

    :param max_body: the largest body accepted.
    :raises ProtocolError: from :meth:`feed` / :meth:`feed_eof` on a malformed or oversized
        response.
    """

    __slots__ = ("_buffer", "_chunked", "_eof", "_length", "body", "done", "headers",
                 "max_body", "status")

    def __init__(self, max_body: int = MAX_MESSAGE_SIZE + 20) -> None:
        self.max_body = max_body
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.done = False
        self._buffer = bytearray()
        self._length: int | None = None
        self._chunked = False
        self._eof = False

    def feed(self, data: bytes) -> None:
        if self.done:
            return
        self._buffer += data
        self._advance()

    def feed_eof(self) -> None:
        self._eof = True
        self._advance()
        if not self.done:
            raise ProtocolError(reason="HTTP tunnel: the connection closed before the "
                                       "response was complete")

    def _advance(self) -> None:
        if not self.status:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > _MAX_HEAD:
                    raise ProtocolError(reason="HTTP tunnel: response head too large")
                return
            self._head(bytes(self._buffer[:end]))
            del self._buffer[:end + 4]
        if self._chunked:
            self._dechunk()
        elif self._length is not None:
            if len(self._buffer) >= self._length:
                self._finish(bytes(self._buffer[:self._length]))
        elif self._eof:
            self._finish(bytes(self._buffer))
        if len(self._buffer) > self.max_body and not self.done:
            raise ProtocolError(reason=f"HTTP tunnel: response body over {self.max_body} "
                                       "bytes")

    def _head(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")  # latin-1 decodes any byte
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit() \
                or len(parts[1]) != 3:
            raise ProtocolError(reason=f"HTTP tunnel: bad status line {lines[0][:80]!r}")
        status = int(parts[1])
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise ProtocolError(reason=f"HTTP tunnel: bad header line {line[:80]!r}")
            self.headers[name.strip().lower()] = value.strip()
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            self._chunked = True
        elif "content-length" in self.headers:
            text = self.headers["content-length"]
            if not text.isdigit():
                raise ProtocolError(reason=f"HTTP tunnel: bad Content-Length {text[:20]!r}")
            self._length = int(text)
            if self._length > self.max_body:
                raise ProtocolError(reason=f"HTTP tunnel: response body of {self._length} "
                                           f"bytes is over {self.max_body}")
        self.status = status

    def _dechunk(self) -> None:
        body = bytearray()
        pos = 0
        while True:
            end = self._buffer.find(b"\r\n", pos)
            if end < 0:
                return
            size_text = bytes(self._buffer[pos:end]).split(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ProtocolError(reason=f"HTTP tunnel: bad chunk size "
                                           f"{size_text[:20]!r}") from None
            if size < 0 or len(body) + size > self.max_body:
                raise ProtocolError(reason="HTTP tunnel: chunked body too large")
            start = end + 2
            if size == 0:
                # The last chunk; trailers (if any) end with an empty line.
                if self._buffer.find(b"\r\n", start) < 0 and not self._eof:
                    return
                self._finish(bytes(body))
                return
            if len(self._buffer) < start + size + 2:
                return
            body += self._buffer[start:start + size]
            pos = start + size + 2

    def _finish(self, body: bytes) -> None:
        self.body = body
        self.done = True
        self._buffer.clear()


async def post_message(address: tuple[str, int], message: Message, path_handle: str, *,
                       timeout: float, max_message: int = MAX_MESSAGE_SIZE) -> Message:
    """POST ``message`` to ``http://address/<handle>`` and return the decoded answer.

    :raises TransportTimeout: no complete answer within ``timeout`` seconds.
    :raises TransportError: the connection failed, or the server did not answer 200 with a
        Handle message.
    """
    host, port = address
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    body = encode_tunnel_body(message)
    head = (f"POST /{quote(path_handle, safe='')} HTTP/1.1\r\nHost: {shown}\r\n"
            f"Content-Type: {TUNNEL_CONTENT_TYPE}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode("ascii")
    reader = ResponseReader(max_message + 20)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            stream, writer = await asyncio.open_connection(host, port)
            writer.write(head + body)
            await writer.drain()
            while not reader.done:
                data = await stream.read(_READ_SIZE)
                if not data:
                    reader.feed_eof()
                    break
                reader.feed(data)
    except TimeoutError:
        raise TransportTimeout(reason=f"no answer from {shown} over HTTP within "
                                      f"{timeout:g} s") from None
    except OSError as exc:
        text = (exc.strerror or str(exc)).lower()
        raise TransportError(reason=f"HTTP to {shown} failed: {text}") from None
    except ProtocolError as exc:
        raise TransportError(reason=f"HTTP to {shown}: {exc}") from None
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    if reader.status != 200:
        raise TransportError(reason=f"HTTP to {shown} answered status {reader.status}")
    ctype = reader.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != TUNNEL_CONTENT_TYPE:
        raise TransportError(reason=f"HTTP to {shown} answered {ctype or 'no content type'}, "
                                    "not a Handle message")
    try:
        return decode_tunnel_body(reader.body, max_message)
    except ProtocolError as exc:
        raise TransportError(reason=f"HTTP to {shown}: {exc}") from None
