"""The API explorer served at ``GET /api/`` (and ``/api``) with its script at
``/api/explorer.js``.

Both files ship in the package (``idnode/web/static``) and are read once with
:mod:`importlib.resources`. The page loads nothing from elsewhere: the script is
same-origin, so the CSP can forbid inline script and every other origin.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from idnode.http.messages import Response

__all__ = ["CSP_EXPLORER", "explorer_page", "explorer_script"]

#: Same-origin script and fetches (``/openapi.json``, the "try it" calls); nothing else.
CSP_EXPLORER = ("default-src 'none'; script-src 'self'; connect-src 'self'; "
                "style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
                "base-uri 'none'; frame-ancestors 'none'")


@cache
def _asset(name: str) -> bytes:
    return files("idnode.web").joinpath("static", name).read_bytes()


def _response(name: str, content_type: str) -> Response:
    # A fresh Response each time: the router or server may append headers to it.
    return Response(200, _asset(name), content_type, [
        ("Cache-Control", "no-cache"),
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Security-Policy", CSP_EXPLORER),
    ])


def explorer_page() -> Response:
    """``GET /api/``: the explorer HTML."""
    return _response("explorer.html", "text/html; charset=utf-8")


def explorer_script() -> Response:
    """``GET /api/explorer.js``."""
    return _response("explorer.js", "text/javascript; charset=utf-8")
