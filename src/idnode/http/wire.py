"""HTTP/1.1 response serialisation, without I/O.

Status lines (with ``Server``) are precomputed for every :class:`http.HTTPStatus`, the
``Date`` line is reformatted at most once a second and ``Content-Type`` lines are cached, so
a small response is one ``join`` of ready-made bytes. Header names and values the
application supplies are checked, so a stray CR/LF cannot split a response.
"""

from __future__ import annotations

import http
import json
import re
import time
from email.utils import formatdate

from idnode.http.messages import Response

__all__ = [
    "CLOSE", "CONNECTION_LINES", "CONTINUE", "INTERNAL_ERROR", "KEEP", "KEEP_ANNOUNCED",
    "encode_response", "error_body", "error_response",
]

KEEP, KEEP_ANNOUNCED, CLOSE = 0, 1, 2  # per-request connection modes
#: the Connection line each mode sends (HTTP/1.0 keep-alive must be announced)
CONNECTION_LINES = (b"", b"Connection: keep-alive\r\n", b"Connection: close\r\n")
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

_JOIN_LIMIT = 65536  # larger bodies are written separately instead of copied into the head
_STATUS_LINES: dict[int, bytes] = {
    int(s): f"HTTP/1.1 {int(s)} {s.phrase}\r\nServer: idnode\r\n".encode("ascii")
    for s in http.HTTPStatus
}
_NO_BODY_STATUS = frozenset({204, 304})
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_content_type_lines: dict[str, bytes] = {}


class _DateLine:
    """The ``Date`` header, reformatted at most once a second."""

    __slots__ = ("_line", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._line = b""

    def get(self) -> bytes:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._line = f"Date: {formatdate(second, usegmt=True)}\r\n".encode("ascii")
        return self._line


_DATE = _DateLine()


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is not None:
        return line
    if not 200 <= status <= 599:
        raise ValueError(f"invalid final status {status}")
    return f"HTTP/1.1 {status} \r\nServer: idnode\r\n".encode("ascii")


def _content_type_line(content_type: str) -> bytes:
    line = _content_type_lines.get(content_type)
    if line is None:
        line = _header_line("Content-Type", content_type)
        if len(_content_type_lines) < 64:  # applications use a handful of types
            _content_type_lines[content_type] = line
    return line


def _header_line(name: str, value: str) -> bytes:
    # Refuse anything that could split the response (CR/LF) or is not a header name.
    if not _TOKEN.match(name) or "\r" in value or "\n" in value or "\0" in value:
        raise ValueError(f"invalid response header {name!r}: {value!r}")
    return f"{name}: {value}\r\n".encode("latin-1")


def encode_response(response: Response, head_only: bool, connection: bytes
                    ) -> tuple[bytes, bytes]:
    """``(head, separate body)``; the body is in the head unless it is large.

    Adds ``Server``, ``Date``, ``Content-Type`` (unless None) and ``Content-Length`` (not
    for 204/304, which have no body), then the application's headers in order, then
    ``connection`` (one of :data:`CONNECTION_LINES`). ``head_only`` (HEAD) keeps the
    length of the body but not the body.

    :raises ValueError: a status that is not a final one, or a header that is unsafe.
    :raises UnicodeEncodeError: a header value outside Latin-1.
    """
    status = response.status
    parts = [_status_line(status), _DATE.get()]
    if response.content_type is not None:
        parts.append(_content_type_line(response.content_type))
    body = response.body
    if status in _NO_BODY_STATUS:
        body = b""
    else:
        parts.append(b"Content-Length: %d\r\n" % len(body))
    for name, value in response.headers:
        parts.append(_header_line(name, value))
    if connection:
        parts.append(connection)
    parts.append(b"\r\n")
    if head_only or not body:
        return b"".join(parts), b""
    if len(body) <= _JOIN_LIMIT:
        parts.append(body)
        return b"".join(parts), b""
    return b"".join(parts), body


def error_body(response_code: int, message: str) -> bytes:
    """The JSON body of an error the server answers itself (Handle REST API style)."""
    return json.dumps({"responseCode": response_code, "message": message},
                      separators=(",", ":")).encode()


def error_response(status: int, message: str, response_code: int = 4) -> bytes:
    """A complete error response that closes the connection."""
    head, _ = encode_response(Response(status, error_body(response_code, message)), False,
                              CONNECTION_LINES[CLOSE])
    return head


#: what a failing application's request gets
INTERNAL_ERROR = Response(500, error_body(2, "internal server error"))
