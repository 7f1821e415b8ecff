"""The SNMS answer: always HTTP 200 with ``{status, message, data}`` (``idis.md`` §6.2)."""

from __future__ import annotations

import json
from typing import Any

from idnode.errors import RegistryError
from idnode.http.messages import Response
from idnode.protocol.constants import ResponseCode

__all__ = [
    "FAILED",
    "FORBIDDEN",
    "INTERNAL",
    "NOT_LOGGED_IN",
    "OK",
    "SnmsFailure",
    "envelope",
    "failure_of",
]

OK, NOT_LOGGED_IN, FAILED, FORBIDDEN, INTERNAL = 1, -1, -2, -3, -4

_LOGIN = {ResponseCode.AUTHENTICATION_NEEDED, ResponseCode.AUTHENTICATION_FAILED,
          ResponseCode.INVALID_CREDENTIAL, ResponseCode.AUTHEN_TIMEOUT,
          ResponseCode.AUTHEN_ERROR, ResponseCode.SESSION_TIMEOUT, ResponseCode.SESSION_FAILED}
_PERMISSION = {ResponseCode.INVALID_ADMIN, ResponseCode.INSUFFICIENT_PERMISSIONS}


class SnmsFailure(Exception):
    """A refusal with its SNMS ``status`` (−1, −2, −3) and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def failure_of(exc: RegistryError) -> SnmsFailure:
    """Map a native response code onto the SNMS status set."""
    code = exc.response_code
    if code in _LOGIN:
        return SnmsFailure(NOT_LOGGED_IN, f"未登录 not logged in: {exc}")
    if code in _PERMISSION:
        return SnmsFailure(FORBIDDEN, f"无权限 no permission: {exc}")
    if code == ResponseCode.HANDLE_ALREADY_EXISTS:
        return SnmsFailure(FAILED, f"已存在 already exists: {exc}")
    if code == ResponseCode.HANDLE_NOT_FOUND:
        return SnmsFailure(FAILED, f"不存在 does not exist: {exc}")
    return SnmsFailure(FAILED, str(exc))


def envelope(status: int, message: str, data: Any = None) -> Response:
    # SNMS clients read ``status`` from the body, never the HTTP status (documented).
    body = json.dumps({"status": status, "message": message, "data": data},
                      ensure_ascii=False, separators=(",", ":")).encode()
    return Response(200, body, "application/json; charset=utf-8")
