"""Handle response codes as HTTP statuses, and the JSON bodies of the REST API.

The map is the reference's (``handle-protocol.md`` §14.7) row for row; codes it does not list
follow their class (1xx handle, 2xx value, 4xx authentication …) so no code falls through to
a surprising status.
"""

from __future__ import annotations

import json
import re
from typing import Any

from idnode.http.messages import Request, Response

__all__ = ["CHALLENGE_HEADERS", "http_status", "json_response", "rc_response"]

_STATUS: dict[int, int] = {
    1: 200, 2: 500, 3: 503, 7: 503, 4: 400, 102: 400, 202: 400, 301: 400, 5: 501,
    100: 404, 101: 409, 201: 409, 302: 300, 303: 300, 402: 401,
    400: 403, 401: 403, 403: 403, 404: 403,
    # not in the reference's table: by class
    6: 500, 105: 400, 300: 400, 405: 401, 406: 401, 407: 401, 408: 401,
}

#: A JSONP callback must be a plain (dotted) JavaScript name: anything else could inject code.
_CALLBACK = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")
_JSON = "application/json"

#: Both challenges of a 401 (§14.7); the Handle one is filled in per request.
CHALLENGE_HEADERS = ('Basic realm="handle"',)


def http_status(rc: int, *, resolution: bool = False, created: bool = False) -> int:
    """The HTTP status for response code ``rc``.

    :param resolution: RC 200 (no values) is 200 on a resolution and 400 otherwise.
    :param created: a successful create/add with ``overwrite=false`` is 201.
    """
    if rc == 1:
        return 201 if created else 200
    if rc == 200:
        return 200 if resolution else 400
    status = _STATUS.get(rc)
    if status is not None:
        return status
    return 400 if 100 <= rc < 300 else 500


def json_response(request: Request, status: int, obj: dict[str, Any] | list[Any],
                  headers: list[tuple[str, str]] | None = None) -> Response:
    """``obj`` as JSON, pretty with ``?pretty``, wrapped in ``callback(...)`` with a valid
    ``?callback`` name (JSONP; an invalid name is ignored rather than echoed)."""
    params = request.params if request.query else None
    if params and "pretty" in params and params["pretty"][0].lower() not in ("false", "0"):
        body = json.dumps(obj, ensure_ascii=False, indent=2).encode()
    else:
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    out = Response(status, body, _JSON, headers if headers is not None else [])
    callback = params.get("callback", [""])[0] if params else ""
    if callback and _CALLBACK.fullmatch(callback) and len(callback) <= 128:
        out.body = callback.encode() + b"(" + body + b");"
        out.content_type = "application/javascript"
        out.status = 200  # JSONP clients cannot read a status; the code is in the body
    return out


def rc_response(request: Request, rc: int, message: str = "", *,
                handle: str | None = None, resolution: bool = False,
                extra: dict[str, Any] | None = None,
                headers: list[tuple[str, str]] | None = None) -> Response:
    """``{"responseCode": rc, "handle": …, "message": …}`` with the mapped status."""
    obj: dict[str, Any] = {"responseCode": rc}
    if handle is not None:
        obj["handle"] = handle
    if message:
        obj["message"] = message
    if extra:
        obj.update(extra)
    return json_response(request, http_status(rc, resolution=resolution), obj, headers)
