"""Reverse lookup: the B2HANDLE-HRLS servlet's API, which pyhandle's ``search_handle`` calls.

``GET /hrls/handles[/<prefix>]?URL=<pattern>&CHECKSUM=<pattern>&limit=&page=`` answers a
JSON array of the handles whose values match every criterion (``*`` is a wildcard), from the
storage's reverse index (:meth:`idnode.storage.Store.search`), never a scan. Only types the
node indexes (``[reverse_lookup] types``) and only public values can be found.
``retrieverecords=true`` answers ``[{"handle": h, "values": [...]}]`` instead of bare names.
``GET /hrls/ping`` answers ``OK``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from idnode.auth.identity import Identity
from idnode.errors import AuthenticationNeeded, InvalidValue
from idnode.http.messages import Request, Response
from idnode.identifiers.handle import handle_key
from idnode.identifiers.jsonvalue import values_to_json
from idnode.node.records import Records
from idnode.web.rest import parse_bool
from idnode.web.status import json_response

__all__ = ["ReverseLookup", "SearchSettings"]

_CONTROL = {"limit", "page", "retrieverecords", "pretty", "callback"}


@dataclass(frozen=True, slots=True)
class SearchSettings:
    #: whether searching needs credentials (pyhandle always sends them)
    require_auth: bool = True
    default_limit: int = 1000
    max_limit: int = 100_000
    #: ``page × limit`` beyond this is refused (an offset costs a scan of what it skips)
    max_offset: int = 1_000_000


class ReverseLookup:
    def __init__(self, records: Records,
                 identify: Callable[[Request], Awaitable[Identity | None]],
                 settings: SearchSettings) -> None:
        self.records = records
        self.identify = identify
        self.settings = settings

    async def search(self, request: Request, prefix: str | None) -> Response:
        identity = await self.identify(request)
        if identity is None and self.settings.require_auth:
            raise AuthenticationNeeded(reason="reverse lookup needs authentication")
        criteria = [(key, values[0]) for key, values in request.params.items()
                    if key.lower() not in _CONTROL and values]
        if not criteria:
            raise InvalidValue(reason="name at least one TYPE=pattern, e.g. "
                                      "?URL=https://example.org/*")
        limit = _number(request.param("limit"), self.settings.default_limit, "limit")
        if not 1 <= limit <= self.settings.max_limit:
            raise InvalidValue(reason=f"limit must be between 1 and {self.settings.max_limit}")
        page = _number(request.param("page"), 0, "page")
        offset = page * limit
        if offset > self.settings.max_offset:
            raise InvalidValue(reason=f"page × limit = {offset} exceeds "
                                      f"{self.settings.max_offset}")
        handles = await self.records.read(self.records.store.search, criteria, limit=limit,
                                          offset=offset, prefix=prefix or None)
        if not parse_bool(request.param("retrieverecords"), False, "retrieverecords"):
            return _array(request, handles)
        out: list[dict[str, Any]] = []
        for handle in handles:
            record = await self.records.get(handle_key(handle))
            if record is not None:
                public = [v for v in record.values if v.public_read]
                out.append({"handle": handle, "values": values_to_json(public)})
        return _array(request, out)

    @staticmethod
    def ping() -> Response:
        return Response(200, b"OK", "text/plain; charset=utf-8")


def _array(request: Request, items: list[Any]) -> Response:
    return json_response(request, 200, items)


def _number(text: str | None, default: int, name: str) -> int:
    if text is None or text == "":
        return default
    if not text.strip().isdigit():
        raise InvalidValue(reason=f"{name} must be a non-negative integer, not {text!r}")
    return int(text)
