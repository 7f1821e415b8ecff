"""HTTP/1.1 server: sockets to :class:`Request`s, :class:`Response`s to bytes.

One :class:`_Connection` (an ``asyncio.Protocol``, so uvloop drives it without a task) per
client. Bytes go through :class:`~idnode.http.tls.TlsLayer` first when TLS is on, then into
an ``httptools`` parser whose callbacks assemble a :class:`Request` and queue it. Requests
are answered strictly in order, one at a time: ``app.fast()`` answers synchronously when it
can; otherwise one task awaits ``app.handle()`` and the queue waits for it. Responses
are serialised by :mod:`idnode.http.wire`.

Limits are checked while parsing, so nothing unbounded is buffered: the request line and
headers (``max_header_bytes``, ``max_headers``), the body (``Content-Length`` up front,
chunked bytes as they arrive), and pipelining (reading pauses once ``max_pipelined``
requests are queued; a large read is parsed in 4 KiB slices so the pause takes effect
within a slice). Reading also pauses while the transport's write buffer is above its
high-water mark. A request the server rejects is answered with a short JSON error and the
connection is closed after a lingering half-close, so a client still sending its body reads
the answer instead of a reset.

Timers: one ``call_at`` handle per connection that is moved only when a deadline comes
*earlier* than the one it is set for; otherwise it fires, sees the later deadline and
re-arms. The keep-alive hot path therefore only stores a float per request.

``TCP_NODELAY`` is not set here: both the stdlib loop and uvloop set it on every TCP
transport (``asyncio.selector_events`` / uvloop ``TCPTransport.new``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, cast
from urllib.parse import unquote_to_bytes

import httptools
from OpenSSL import SSL

from idnode.errors import ConfigError
from idnode.http.messages import HttpApp, Request, Response
from idnode.http.tls import TlsError, TlsLayer, TlsSettings, server_context
from idnode.http.wire import (
    CLOSE,
    CONNECTION_LINES,
    CONTINUE,
    INTERNAL_ERROR,
    KEEP,
    KEEP_ANNOUNCED,
    encode_response,
    error_response,
)

__all__ = ["HttpServer", "HttpSettings", "ListeningSocket"]

log = logging.getLogger("idnode.http")


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Limits of the HTTP server.

    :ivar max_header_bytes: request line plus headers.
    :ivar idle_timeout: a keep-alive connection with no request in progress is closed after
        this long (also the limit for a client that stops reading our responses).
    :ivar request_timeout: time to receive one whole request (and the TLS handshake).
    :ivar max_pipelined: parsed requests queued per connection before reading pauses.
    """

    max_header_bytes: int = 16384
    max_headers: int = 100
    max_body_bytes: int = 4 * 1024 * 1024
    idle_timeout: float = 60.0
    request_timeout: float = 30.0
    max_connections: int = 10000
    max_pipelined: int = 32

    def __post_init__(self) -> None:
        for name in ("max_header_bytes", "max_headers", "max_connections", "max_pipelined"):
            if getattr(self, name) < 1:
                raise ConfigError(key=name, reason="must be at least 1")
        if self.max_body_bytes < 0:
            raise ConfigError(key="max_body_bytes", reason="must not be negative")
        for name in ("idle_timeout", "request_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(key=name, reason="must be a positive number of seconds")


class ListeningSocket(Protocol):
    """A bound, listening ``socket.socket`` (see ``idnode.transport.sockets.bind_tcp``).

    Spelled as a protocol because only ``transport/`` imports :mod:`socket`.
    """

    def getsockname(self) -> Any: ...
    def fileno(self) -> int: ...


# -- request parsing -------------------------------------------------------------------------

_SLICE = 4096  # parse large reads in slices so pipelining and header limits bite early
_LINGER = 2.0  # seconds a rejected client gets to read our answer before we close
_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS",
                                     "PATCH", "CONNECT", "TRACE")}
_header_names: dict[bytes, str] = {}  # raw name -> lower-cased str, bounded below
_SPECIAL = frozenset({"content-length", "transfer-encoding", "expect", "connection"})


class _Reject(Exception):
    """Raised inside a parser callback to refuse the request with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _parser_error(exc: httptools.HttpParserError) -> tuple[int, str]:
    reason = str(exc) or "malformed request"
    if "Transfer-Encoding" in reason and "invalid" in reason.lower():
        return 501, "unsupported Transfer-Encoding"
    return 400, f"malformed request: {reason}"


def _split_target(url: bytes, target: str) -> tuple[str, str]:
    """(raw path, query) of a request target that is not a plain origin-form path."""
    if target.startswith("/"):  # origin-form with a fragment (clients should not send one)
        return target.partition("#")[0].partition("?")[::2]
    if "://" in target:  # absolute-form, as sent to proxies; servers must accept it
        try:
            parsed = httptools.parse_url(url)
        except httptools.HttpParserInvalidURLError:
            raise _Reject(400, "malformed request target") from None
        return ((parsed.path or b"/").decode("latin-1"),
                (parsed.query or b"").decode("latin-1"))
    return target, ""  # "*" (OPTIONS) or authority-form (CONNECT)


# -- one connection --------------------------------------------------------------------------

# timer purposes
_NONE, _IDLE, _REQUEST, _HANDSHAKE, _WRITE, _LINGERING = range(6)
_TIMER_SLACK = 0.005

_Item = tuple[Request | None, int, bytes]  # (request, mode, error bytes when request is None)


class _Connection(asyncio.Protocol):
    __slots__ = (
        "_app", "_body", "_body_size", "_busy", "_cert", "_chunked", "_closed",
        "_content_length", "_continue", "_deadline", "_eof", "_expect", "_head_guard",
        "_head_seen", "_head_size", "_headers", "_held", "_id", "_in_head", "_in_message",
        "_keep_alive_header", "_loop", "_max_body", "_max_head", "_max_headers",
        "_max_pipelined", "_mode", "_parser", "_peer", "_queue", "_raw_left",
        "_reading_paused", "_scheme", "_server", "_settings", "_stop", "_timer",
        "_timer_at", "_timer_kind", "_tls", "_transport", "_upgrade_body", "_url",
        "_write_paused",
    )

    _transport: asyncio.Transport

    def __init__(self, server: HttpServer) -> None:
        settings = server.settings
        self._server = server
        self._app = server.app
        self._settings = settings
        self._loop = server.loop
        self._max_head = settings.max_header_bytes
        self._head_guard = settings.max_header_bytes + _SLICE
        self._max_headers = settings.max_headers
        self._max_body = settings.max_body_bytes
        self._max_pipelined = settings.max_pipelined
        self._parser = httptools.HttpRequestParser(self)
        self._tls: TlsLayer | None = None
        self._peer = ("", 0)
        self._scheme = "https" if server.tls is not None else "http"
        self._cert: bytes | None = None
        self._id = 0
        # the request being received
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._body_size = 0
        self._head_size = 0
        self._head_seen = 0
        self._in_head = False
        self._in_message = False
        self._content_length = -1
        self._chunked = False
        self._expect: str | None = None
        self._keep_alive_header = False
        self._mode = KEEP
        self._upgrade_body = 0
        self._raw_left = 0  # body bytes of an Upgrade request, which llhttp leaves to us
        self._continue = False  # a "100 Continue" is owed once earlier answers are out
        # flow
        self._queue: deque[_Item] = deque()
        self._busy = False
        self._held = b""  # received but not parsed while the queue is full
        self._stop = False  # read no further requests
        self._eof = False
        self._closed = False  # nothing more is written
        self._reading_paused = False
        self._write_paused = False
        # the one timer
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._deadline = 0.0
        self._timer_kind = _NONE

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass the asyncio ABCs.
        self._transport = cast(asyncio.Transport, transport)
        server = self._server
        if server.closing or len(server.live) >= self._settings.max_connections:
            self._closed = self._stop = True
            self._transport.abort()
            return
        server.live.add(self)
        self._id = next(server.ids)
        peer = transport.get_extra_info("peername")
        if peer:
            self._peer = (str(peer[0]), int(peer[1]))
        if server.tls_context is not None:
            self._tls = TlsLayer(server.tls_context)
            self._arm(_HANDSHAKE, self._settings.request_timeout)
        else:
            self._arm(_IDLE, self._settings.idle_timeout)

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return  # lingering after an error answer: discard
        tls = self._tls
        if tls is not None:
            handshaking = not tls.handshake_done
            try:
                data = tls.receive(data)
            except TlsError as exc:
                log.debug("TLS failure from %s: %s", self._peer[0], exc)
                self._abort()
                return
            out = tls.outgoing()
            if out:
                self._transport.write(out)
            if handshaking and tls.handshake_done:
                self._cert = tls.peer_certificate_der()
                self._arm(_IDLE, self._settings.idle_timeout)
            if tls.peer_closed:
                if data:
                    self._receive(data)
                self.eof_received()
                return
            if not data:
                return
        self._receive(data)

    def eof_received(self) -> bool:
        if self._closed:
            self._transport.close()
            return False
        self._eof = True
        self._pump()
        return True  # keep the write side open until the queued requests are answered

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = self._stop = True
        self._timer_kind = _NONE
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._server.forget(self)

    def pause_writing(self) -> None:
        self._write_paused = True
        if self._closed:
            return  # the closing timer bounds the wait
        self._update_reading()
        self._arm(_WRITE, self._settings.idle_timeout)

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._in_message:
            self._arm(_REQUEST, self._settings.request_timeout)
        else:
            self._timer_kind = _NONE
        self._pump()

    # -- httptools callbacks -----------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_message = self._in_head = True
        self._url = b""
        self._headers = []
        self._body = []
        self._body_size = self._head_size = self._head_seen = 0
        self._content_length = -1
        self._chunked = self._keep_alive_header = False
        self._expect = None
        self._arm(_REQUEST, self._settings.request_timeout)

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_size += len(url)
        if self._head_size > self._max_head:
            raise _Reject(414, "request target too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        headers = self._headers
        if len(headers) >= self._max_headers:
            raise _Reject(431, "too many header fields")
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self._max_head:
            raise _Reject(431, "request header fields too large")
        key = _header_names.get(name)
        if key is None:
            key = name.decode("latin-1").lower()
            if len(_header_names) < 512:
                _header_names[name] = key
        text = value.decode("latin-1")
        if text[-1:] in (" ", "\t"):
            text = text.rstrip(" \t")  # llhttp strips leading whitespace only
        headers.append((key, text))
        if key in _SPECIAL:
            self._special_header(key, text)

    def _special_header(self, key: str, text: str) -> None:
        if key == "content-length":
            try:
                self._content_length = int(text)
            except ValueError:
                pass  # llhttp rejects it
        elif key == "transfer-encoding":
            self._chunked = "chunked" in text.lower()
        elif key == "expect":
            self._expect = text
        elif "keep-alive" in text.lower():  # connection
            self._keep_alive_header = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        parser = self._parser
        if not parser.should_keep_alive():
            mode = CLOSE
        else:
            # An HTTP/1.0 client only keeps the connection if we say so.
            mode = KEEP_ANNOUNCED if self._keep_alive_header else KEEP
        if self._content_length > self._max_body:
            raise _Reject(413, f"request body larger than {self._max_body} bytes")
        if parser.should_upgrade():
            # Upgrade (h2c, websocket) is ignored: the request is answered as HTTP/1.1.
            # httptools then stops at the end of the headers, so a body is read by hand.
            if parser.get_method() == b"CONNECT":
                mode = CLOSE  # what follows would be tunnel bytes
            elif self._chunked:
                raise _Reject(501, "chunked body on an Upgrade request is not supported")
            elif self._content_length > 0:
                self._upgrade_body = self._content_length
        self._mode = mode
        if self._expect is not None:
            self._on_expect(self._expect)

    def _on_expect(self, expect: str) -> None:
        if self._parser.get_http_version() == "1.0":
            return  # RFC 9110 §10.1.1: ignore Expect from HTTP/1.0 clients
        if expect.strip().lower() != "100-continue":
            raise _Reject(417, "only Expect: 100-continue is supported")
        if self._content_length <= 0 and not self._chunked:
            return
        if not self._queue and not self._busy:
            self._write(CONTINUE)
        else:
            self._continue = True  # after the answers to the requests before this one

    def on_body(self, body: bytes) -> None:
        size = self._body_size + len(body)
        if size > self._max_body:
            raise _Reject(413, f"request body larger than {self._max_body} bytes")
        self._body_size = size
        self._body.append(body)
        self._continue = False

    def on_message_complete(self) -> None:
        if self._upgrade_body:
            self._raw_left, self._upgrade_body = self._upgrade_body, 0
            return
        self._complete()

    def _complete(self) -> None:
        self._in_message = self._continue = False
        if self._timer_kind == _REQUEST:
            self._timer_kind = _NONE
        url = self._url
        target = url.decode("latin-1")
        if target.startswith("/") and "#" not in target:
            raw_path, _, query = target.partition("?")
        else:
            raw_path, query = _split_target(url, target)
        path = raw_path if "%" not in raw_path else \
            unquote_to_bytes(raw_path).decode("utf-8", "replace")
        method = self._parser.get_method()
        body = self._body
        request = Request(
            _METHODS.get(method) or method.decode("latin-1"), target, path, raw_path, query,
            self._headers, body[0] if len(body) == 1 else b"".join(body), self._peer,
            self._scheme, self._cert, self._id)
        self._queue.append((request, self._mode, b""))
        if self._mode == CLOSE:
            self._stop = True

    # -- parsing -------------------------------------------------------------------------

    def _receive(self, data: bytes) -> None:
        if self._stop:
            return
        if self._held or len(self._queue) >= self._max_pipelined:
            self._held += data
        else:
            self._parse(data)
        self._pump()

    def _parse(self, data: bytes) -> None:
        size = len(data)
        if size <= _SLICE:
            self._feed(data)
            if self._in_head:
                self._guard_head(size)
            return
        view = memoryview(data)
        for start in range(0, size, _SLICE):
            if self._stop:
                return
            if len(self._queue) >= self._max_pipelined:
                self._held = bytes(view[start:])
                return
            chunk = view[start:start + _SLICE]
            self._feed(chunk)
            if self._in_head:
                self._guard_head(len(chunk))

    def _guard_head(self, size: int) -> None:
        # httptools keeps an unfinished header to itself; bound what it can accumulate.
        # The count may include up to one slice of the previous request, hence the slack.
        self._head_seen += size
        if self._head_seen > self._head_guard:
            self._fail(431, "request header fields too large")

    def _feed(self, data: bytes | memoryview) -> None:
        while data and not self._stop:
            if self._raw_left:
                take = min(self._raw_left, len(data))
                self._body.append(bytes(data[:take]))
                self._raw_left -= take
                data = data[take:]
                if not self._raw_left:
                    try:
                        self._complete()
                    except _Reject as exc:  # outside a parser callback here
                        self._fail(exc.status, exc.message)
                continue
            try:
                self._parser.feed_data(data)
                return
            except httptools.HttpParserUpgrade as exc:
                data = data[int(exc.args[0]):]  # we do not upgrade: carry on as HTTP/1.1
            except httptools.HttpParserError as exc:
                self._parse_error(exc)
                return

    def _parse_error(self, exc: httptools.HttpParserError) -> None:
        if self._stop:
            return  # data after "Connection: close" is ignored
        cause = exc.__context__
        if isinstance(cause, _Reject):
            self._fail(cause.status, cause.message)
        elif isinstance(exc, httptools.HttpParserCallbackError) and cause is not None:
            log.error("HTTP request parsing failed", exc_info=cause)
            self._fail(500, "internal server error", 2)
        else:
            self._fail(*_parser_error(exc))

    def _fail(self, status: int, message: str, response_code: int = 4) -> None:
        """Answer ``status`` after the requests already queued, then close."""
        log.debug("HTTP %d to %s: %s", status, self._peer[0], message)
        self._stop = True
        self._in_message = self._in_head = self._continue = False
        self._held = b""
        if self._timer_kind == _REQUEST:
            self._timer_kind = _NONE
        self._queue.append((None, CLOSE, error_response(status, message, response_code)))

    # -- answering -----------------------------------------------------------------------

    def _pump(self) -> None:
        """Answer what is queued, parse held input while there is room, then settle."""
        while True:
            self._run()
            if (self._held and not self._stop and not self._write_paused
                    and len(self._queue) < self._max_pipelined):
                data, self._held = self._held, b""
                self._parse(data)
                continue
            break
        if self._closed:
            return
        if self._eof and not self._held and not self._stop:
            self._stop = True  # the client has sent all it will send
            self._in_message = False
        if not self._queue and not self._busy:
            if self._stop:
                self._close()
                return
            if self._continue:
                self._continue = False
                self._write(CONTINUE)
            if not self._in_message and not self._write_paused:
                self._arm(_IDLE, self._settings.idle_timeout)
        self._update_reading()

    def _run(self) -> None:
        queue = self._queue
        while queue and not self._busy and not self._write_paused and not self._closed:
            request, mode, error = queue.popleft()
            if request is None:
                self._write(error)
                self._close(linger=True)
                return
            try:
                response = self._app.fast(request)
            except Exception:
                log.exception("HTTP application failed on %s %s", request.method,
                              request.target)
                response = INTERNAL_ERROR
            if response is None:
                self._busy = True
                self._server.track(self._handle(request, mode))
                return
            self._respond(request, response, mode)

    async def _handle(self, request: Request, mode: int) -> None:
        try:
            response = await self._app.handle(request)
        except Exception:
            log.exception("HTTP application failed on %s %s", request.method, request.target)
            response = INTERNAL_ERROR
        self._busy = False
        if self._closed:
            return
        self._respond(request, response, mode)
        self._pump()

    def _respond(self, request: Request, response: Response, mode: int) -> None:
        closing = mode == CLOSE or (self._stop and not self._queue)
        connection = CONNECTION_LINES[CLOSE if closing else mode]
        head_only = request.method == "HEAD"
        try:
            head, body = encode_response(response, head_only, connection)
        except Exception:  # an application bug must not take the connection down
            log.exception("HTTP application returned an invalid response to %s %s",
                          request.method, request.target)
            head, body = encode_response(INTERNAL_ERROR, head_only, connection)
        self._write(head)
        if body:
            self._write(body)
        if closing:
            self._close()

    def _write(self, data: bytes) -> None:
        tls = self._tls
        if tls is None:
            self._transport.write(data)
            return
        try:
            tls.send(data)
        except TlsError as exc:
            log.debug("TLS failure to %s: %s", self._peer[0], exc)
            self._abort()
            return
        self._transport.write(tls.outgoing())

    def _update_reading(self) -> None:
        pause = (self._write_paused or bool(self._held)
                 or len(self._queue) >= self._max_pipelined)
        if pause != self._reading_paused and not self._transport.is_closing():
            self._reading_paused = pause
            if pause:
                self._transport.pause_reading()
            else:
                self._transport.resume_reading()

    # -- closing -------------------------------------------------------------------------

    def _close(self, *, linger: bool = False) -> None:
        if self._closed:
            return
        self._closed = self._stop = True
        transport = self._transport
        if self._tls is not None:
            self._tls.shutdown()
            out = self._tls.outgoing()
            if out:
                transport.write(out)
        if linger and transport.can_write_eof():
            # Half-close and keep reading (and discarding) for a moment: closing with
            # unread input makes the kernel send a reset that can destroy our answer.
            transport.write_eof()
            if self._reading_paused:
                self._reading_paused = False
                transport.resume_reading()
            self._arm(_LINGERING, _LINGER)
        else:
            transport.close()
            # close() waits for the write buffer to drain; a client that never reads
            # would keep the connection forever.
            self._arm(_LINGERING, self._settings.idle_timeout)

    def _abort(self) -> None:
        self._closed = self._stop = True
        self._timer_kind = _NONE
        self._transport.abort()

    def shutdown(self) -> None:
        """Server shutdown: read nothing more, answer what is queued or running, close."""
        if self._closed:  # lingering after an error answer: stop waiting
            self._timer_kind = _NONE
            self._transport.close()
            return
        self._stop = True
        self._held = b""
        self._in_message = False
        if not self._queue and not self._busy:
            self._close()

    def abort(self) -> None:
        """Server shutdown after the grace period: drop the connection."""
        self._abort()

    # -- the timer -------------------------------------------------------------------------

    def _arm(self, kind: int, timeout: float) -> None:
        self._timer_kind = kind
        deadline = self._loop.time() + timeout
        self._deadline = deadline
        timer = self._timer
        if timer is None or self._timer_at > deadline:
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(deadline, self._on_timer)
            self._timer_at = deadline

    def _on_timer(self) -> None:
        self._timer = None
        kind = self._timer_kind
        if kind == _NONE or (self._closed and kind != _LINGERING):
            return
        if self._loop.time() + _TIMER_SLACK < self._deadline:  # moved later meanwhile
            self._timer = self._loop.call_at(self._deadline, self._on_timer)
            self._timer_at = self._deadline
            return
        self._timer_kind = _NONE
        if kind == _IDLE:
            self._close()
        elif kind == _REQUEST:
            if self._reading_paused:  # our backlog, not the client's slowness
                self._arm(_REQUEST, self._settings.request_timeout)
            elif self._in_message:
                self._fail(408, "request not received in time")
                self._pump()
        elif kind == _LINGERING:
            if self._transport.get_write_buffer_size():
                self._transport.abort()
            else:
                self._transport.close()
        else:  # _HANDSHAKE, _WRITE
            log.debug("dropping %s: %s timed out", self._peer[0],
                      "TLS handshake" if kind == _HANDSHAKE else "writing")
            self._abort()


# -- the server ------------------------------------------------------------------------------

class HttpServer:
    """HTTP/1.1 (and 1.0) server on an already bound, listening socket.

    :param sock: see :func:`idnode.transport.sockets.bind_tcp`.
    :param tls: serve HTTPS; the certificate and key are loaded here, once.
    :raises ConfigError: unusable TLS files.
    """

    def __init__(self, sock: ListeningSocket, app: HttpApp,
                 settings: HttpSettings | None = None, tls: TlsSettings | None = None) -> None:
        self.sock = sock
        self.app = app
        self.settings = settings if settings is not None else HttpSettings()
        self.tls = tls
        self.tls_context: SSL.Context | None = server_context(tls) if tls is not None else None
        self.live: set[_Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.ids = itertools.count(1)
        self.closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._drained: asyncio.Future[None] | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "HttpServer.start() has not been awaited"
        return self._loop

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    @property
    def connections(self) -> int:
        """Open client connections."""
        return len(self.live)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(
            lambda: _Connection(self), sock=cast(Any, self.sock))

    def track(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run an ``app.handle()`` call; :meth:`close` waits for it."""
        task = self.loop.create_task(coro)
        self.tasks.add(task)  # also keeps the task referenced while it runs
        task.add_done_callback(self.tasks.discard)

    def forget(self, conn: _Connection) -> None:
        self.live.discard(conn)
        if not self.live and self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    async def close(self, grace: float = 5.0) -> None:
        """Stop accepting; answer the requests already received (for at most ``grace``
        seconds), close idle keep-alive connections, then drop whatever is left."""
        self.closing = True
        if self._server is not None:
            self._server.close()
        if self._loop is None:
            return
        deadline = self._loop.time() + grace
        if self.live:
            self._drained = self._loop.create_future()
            for conn in list(self.live):
                conn.shutdown()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._drained), grace)
        if self.tasks:  # handlers whose client went away still finish their work
            await asyncio.wait(list(self.tasks),
                               timeout=max(0.0, deadline - self._loop.time()))
        if self.live or self.tasks:
            log.warning("HTTP shutdown: dropping %d connection(s) and %d request(s) still "
                        "busy after %.1f s", len(self.live), len(self.tasks), grace)
            for task in list(self.tasks):
                task.cancel()
            for conn in list(self.live):
                conn.abort()
            await asyncio.sleep(0)  # let the transports report connection_lost
