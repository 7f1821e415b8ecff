"""The web face of a recursive node (递归节点): REST reads and proxy redirects resolved through
the hierarchy instead of from local storage.

``GET /api/handles/{h}`` answers like an authoritative node's REST API (public values, the
``index`` and ``type`` filters), from the resolver's cache when it can; ``?trace=true`` adds
the resolution trace: every hop, its server, response code and time. A recursive node holds
no records, so writes, listings and homed prefixes are refused (RC 5).
"""

from __future__ import annotations

import json
from typing import Any

from idnode.errors import OperationNotSupported, RegistryError, ValuesNotFound
from idnode.http.messages import Request, Response
from idnode.identifiers.handle import Handle
from idnode.identifiers.jsonvalue import values_to_json
from idnode.identifiers.value import HandleValue
from idnode.node.stages.authoritative import select_values
from idnode.resolver import CacheEntry, Resolver, Trace
from idnode.web.rest import RestApi, int_params, key_or_none, parse_bool
from idnode.web.status import http_status, json_response

__all__ = ["RecursiveApi"]

_NO_RECORDS = ("a recursive node (递归节点) holds no records; send {what} to the primary "
               "site of the handle's prefix")
_MAX_RENDERED = 100_000


class RecursiveApi(RestApi):
    """:class:`RestApi` with reads from the resolver and no writes."""

    def __init__(self, resolver: Resolver, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resolver = resolver
        # Rendered ``values`` arrays, checked by identity against the resolver's cache entry.
        self._answers: dict[str, tuple[CacheEntry, bytes]] = {}

    def fast_get(self, request: Request, text: str) -> Response | None:
        key = key_or_none(text, self.limits.max_handle_bytes)
        if key is None:
            return None
        entry = self.resolver.cache.get(key)
        if entry is None:
            return None
        quoted = json.dumps(text, ensure_ascii=False).encode()
        if entry.values is None:
            return Response(404, b'{"responseCode":100,"handle":' + quoted + b"}")
        rendered = self._answers.get(key)
        if rendered is None or rendered[0] is not entry:
            public = [v for v in entry.values if v.public_read]
            if not public:
                return None
            body = json.dumps(values_to_json(public), ensure_ascii=False,
                              separators=(",", ":")).encode()
            rendered = (entry, body)
            if len(self._answers) >= _MAX_RENDERED:
                self._answers.clear()
            self._answers[key] = rendered
        return Response(200, b'{"responseCode":1,"handle":' + quoted + b',"values":'
                        + rendered[1] + b"}")

    async def get(self, request: Request, text: str) -> Response:
        indexes = int_params(request.params.get("index", []), "index")
        types = [t for t in request.params.get("type", []) if t]
        trace = Trace() if parse_bool(request.param("trace"), False, "trace") else None
        authoritative = parse_bool(request.param("auth"), False, "auth")
        try:
            values = await self._resolve(text, indexes, types, authoritative, trace)
        except RegistryError as exc:
            if trace is None:
                raise
            rc = exc.response_code
            return json_response(request, http_status(rc, resolution=True),
                                 {"responseCode": rc, "handle": text, "message": str(exc),
                                  "trace": trace.to_json()})
        out: dict[str, object] = {"responseCode": 1, "handle": text,
                                  "values": values_to_json(values)}
        if trace is not None:
            out["trace"] = trace.to_json()
        return json_response(request, 200, out)

    async def _resolve(self, text: str, indexes: list[int], types: list[str],
                       authoritative: bool, trace: Trace | None) -> list[HandleValue]:
        Handle.parse(text, max_length=self.limits.max_handle_bytes)
        resolved = await self.resolver.resolve(text, authoritative=authoritative, trace=trace)
        values = [v for v in select_values(resolved.values, indexes, types) if v.public_read]
        if not values:
            raise ValuesNotFound(handle=text, reason="no public value matches the request")
        return values

    async def lookup_public(self, text: str) -> tuple[HandleValue, ...]:
        return tuple(await self._resolve(text, [], [], False, None))

    async def put(self, request: Request, text: str) -> Response:
        raise OperationNotSupported(reason=_NO_RECORDS.format(what="writes"))

    async def delete(self, request: Request, text: str) -> Response:
        raise OperationNotSupported(reason=_NO_RECORDS.format(what="writes"))

    async def list_handles(self, request: Request) -> Response:
        raise OperationNotSupported(reason=_NO_RECORDS.format(what="listings"))

    async def prefixes(self, request: Request) -> Response:
        raise OperationNotSupported(reason="a recursive node (递归节点) homes no prefixes")
