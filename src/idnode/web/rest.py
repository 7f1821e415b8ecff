"""The Handle.Net REST API (``handle-protocol.md`` §14): ``/api/handles``, ``/api/prefixes``,
``/api/site``.

Reads are answered here from the worker's cached records with the same value selection and
read authorization as the native protocol's resolution; writes are turned into the native
operation (create, add, remove, delete) and run through the node's stage chain, so storage,
authorization, compare-and-set and response codes are exactly those of the binary protocol.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from idnode.auth.identity import Identity
from idnode.auth.permissions import Authorizer
from idnode.errors import (
    AuthenticationError,
    AuthenticationFailed,
    AuthenticationNeeded,
    HandleNotFound,
    InvalidCredential,
    InvalidHandle,
    InvalidValue,
    NotResponsible,
    ProtocolError,
    RegistryError,
)
from idnode.http.messages import Request, Response
from idnode.identifiers.handle import PREFIX_NA, Handle, strip_prefix_handle
from idnode.identifiers.jsonvalue import site_to_json, values_from_json, values_to_json
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import SiteData
from idnode.node.context import Connection, RequestContext
from idnode.node.pipeline import Handler, Stream
from idnode.node.records import Cached, Records
from idnode.node.stages.authoritative import readable_values
from idnode.protocol.bodies import (
    AddValueRequest,
    Body,
    CreateHandleRequest,
    CreateHandleResponse,
    ErrorBody,
    HandleRequest,
    ListHandlesResponse,
    RemoveValueRequest,
)
from idnode.protocol.constants import OpCode, OpFlag, ResponseCode
from idnode.protocol.message import Message
from idnode.web.status import json_response, rc_response

__all__ = ["RestApi", "RestLimits", "int_params", "key_or_none", "parse_bool"]

_JSON_TYPES = ("application/json", "text/json")
_INT32_MAX = 0x7FFF_FFFF


@dataclass(frozen=True, slots=True)
class RestLimits:
    max_handle_bytes: int = 2048
    max_values: int = 2048
    #: most handles one listing page returns (``pageSize`` above it is cut to it)
    list_page_size: int = 1000
    #: ``page × pageSize`` beyond this needs the ``after`` cursor instead (offsets cost
    #: a scan of the skipped handles)
    max_list_offset: int = 100_000


def parse_bool(value: str | None, default: bool, name: str) -> bool:
    """A boolean query parameter; a bare ``?name`` means true.

    :raises InvalidValue: neither true nor false.
    """
    if value is None:
        return default
    text = value.strip().lower()
    if text in ("", "true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise InvalidValue(reason=f"parameter {name} must be true or false, not {value!r}")


def int_params(values: Sequence[str], name: str) -> list[int]:
    out = []
    for text in values:
        for raw in text.split(","):
            part = raw.strip()
            if not part:
                continue
            if not part.isdigit() or int(part) > _INT32_MAX:
                raise InvalidValue(reason=f"parameter {name}={part!r} is not an index "
                                          f"between 0 and {_INT32_MAX}")
            out.append(int(part))
    return out


class RestApi:
    """Handlers for the REST paths; the router gives each the handle text from the path."""

    def __init__(self, records: Records, authorizer: Authorizer, chain: Handler,
                 identify: Callable[[Request], Awaitable[Identity | None]],
                 site: Callable[[], SiteData], limits: RestLimits) -> None:
        self.records = records
        self.authorizer = authorizer
        self.chain = chain
        self.identify = identify
        self.site = site
        self.limits = limits
        self._request_ids = itertools.count(1)
        # Rendered public ``values`` arrays of cached records, checked by identity against
        # the records cache so a changed record is never served stale.
        self._rendered: dict[str, tuple[Cached, bytes]] = {}

    # -- reads --------------------------------------------------------------------------
    def fast_get(self, request: Request, text: str) -> Response | None:
        """``GET /api/handles/{h}`` without parameters or credentials, from the cache."""
        key = key_or_none(text, self.limits.max_handle_bytes)
        if key is None:
            return None
        entry = self.records.cached(key)
        if entry is None or not self.records.responsible_for_key(key):
            return None
        quoted = json.dumps(text, ensure_ascii=False).encode()
        if entry.record is None:
            return Response(404, b'{"responseCode":100,"handle":' + quoted + b"}")
        rendered = self._rendered.get(key)
        if rendered is None or rendered[0] is not entry:
            public = [v for v in entry.record.values if v.public_read]
            if not public:
                return None  # RC 200: the slow path explains it
            body = json.dumps(values_to_json(public), ensure_ascii=False,
                              separators=(",", ":")).encode()
            rendered = (entry, body)
            if len(self._rendered) >= 100_000:
                self._rendered.clear()  # bounded; the next reads re-render
            self._rendered[key] = rendered
        return Response(200, b'{"responseCode":1,"handle":' + quoted + b',"values":'
                        + rendered[1] + b"}")

    async def get(self, request: Request, text: str) -> Response:
        params = request.params
        identity = await self.identify(request)
        indexes = int_params(params.get("index", []), "index")
        types = [t for t in params.get("type", []) if t]
        public_only = parse_bool(request.param("publicOnly"), identity is None, "publicOnly")
        handle = self._handle(text)
        values = await self.visible_values(handle, text, indexes, types, public_only, identity)
        return json_response(request, 200, {"responseCode": 1, "handle": text,
                                            "values": values_to_json(values)})

    async def visible_values(self, handle: Handle, text: str, indexes: Sequence[int],
                             types: Sequence[str], public_only: bool,
                             identity: Identity | None) -> list[HandleValue]:
        """The native resolution's selection and read authorization (OC 1)."""
        record = await self.records.get(handle.key)
        if record is None:
            raise HandleNotFound(handle=text)
        return await readable_values(record.values, indexes, types, public_only=public_only,
                                     identity=identity, authorizer=self.authorizer,
                                     handle=handle.text, requested=text)

    async def lookup_public(self, text: str) -> tuple[HandleValue, ...]:
        """Public values of ``text`` (the proxy face's lookup)."""
        handle = self._handle(text)
        return tuple(await self.visible_values(handle, text, (), (), True, None))

    def _handle(self, text: str, *, allow_empty_suffix: bool = False) -> Handle:
        handle = Handle.parse(text, max_length=self.limits.max_handle_bytes,
                              allow_empty_suffix=allow_empty_suffix)
        if not self.records.responsible_for(handle):
            raise NotResponsible(handle=text, prefix=handle.prefix)
        return handle

    # -- writes -------------------------------------------------------------------------
    async def put(self, request: Request, text: str) -> Response:
        identity = await self.identify(request)
        params = request.params
        overwrite = parse_bool(request.param("overwrite"), True, "overwrite")
        mint = parse_bool(request.param("mintNewSuffix"), False, "mintNewSuffix")
        values = self._body_values(request, text)
        flags = int(OpFlag.OVERWRITE) if overwrite else 0
        index_params = params.get("index", [])
        body: Body
        if index_params:
            if mint:
                raise InvalidValue(reason="mintNewSuffix creates a handle; it cannot be "
                                          "combined with index")
            if [p.lower() for p in index_params] != ["various"]:
                wanted = set(int_params(index_params, "index"))
                given = {v.index for v in values}
                if wanted != given:
                    raise InvalidValue(reason=f"the index parameters {sorted(wanted)} must "
                                              f"equal the indexes in the body {sorted(given)}")
            opcode, body = OpCode.ADD_VALUE, AddValueRequest(text, values)
        else:
            if mint:
                flags |= int(OpFlag.MINT_NEW_SUFFIX)
            opcode, body = OpCode.CREATE_HANDLE, CreateHandleRequest(text, values)
        reply = await self._run(request, identity, opcode, body, flags)
        handle = text
        if mint and reply.body:
            handle = CreateHandleResponse.from_wire(reply.body).handle
        status = 201 if not overwrite else 200
        return json_response(request, status, {"responseCode": 1, "handle": handle})

    async def delete(self, request: Request, text: str) -> Response:
        identity = await self.identify(request)
        index_params = request.params.get("index", [])
        body: Body
        if index_params:
            indexes = int_params(index_params, "index")
            if not indexes:
                raise InvalidValue(reason="index= names no index to remove")
            opcode, body = OpCode.REMOVE_VALUE, RemoveValueRequest(text, tuple(indexes))
        else:
            opcode, body = OpCode.DELETE_HANDLE, HandleRequest(text)
        await self._run(request, identity, opcode, body, 0)
        return json_response(request, 200, {"responseCode": 1, "handle": text})

    def _body_values(self, request: Request, text: str) -> tuple[HandleValue, ...]:
        ctype = (request.header("content-type") or "").split(";")[0].strip().lower()
        if ctype not in _JSON_TYPES and not ctype.endswith("+json"):
            raise ProtocolError(reason=f"the body must be JSON (Content-Type: "
                                       f"application/json), not {ctype or 'missing'!r}")
        try:
            obj = json.loads(request.body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ProtocolError(reason=f"the body is not valid JSON: {exc}") from None
        if isinstance(obj, dict) and "handle" in obj:
            named = obj["handle"]
            if not isinstance(named, str) or key_or_none(named, 1 << 16) != \
                    key_or_none(text, 1 << 16):
                raise InvalidValue(reason=f"the body names handle {named!r}, but the URL "
                                          f"names {text!r}")
        return values_from_json(obj)

    async def _run(self, request: Request, identity: Identity | None, opcode: int,
                   body: Body, flags: int) -> Message:
        """Run one native operation through the stage chain; errors raise as RegistryError."""
        message = Message(opcode=opcode, opflags=flags, body=body.to_wire(),
                          request_id=next(self._request_ids) & 0x7FFF_FFFF)
        ctx = RequestContext(Connection(("http", request.connection_id), "http", request.peer),
                             identity=identity, challenge=False)
        reply = await self.chain(ctx, message)
        if isinstance(reply, Stream):  # not produced for these opcodes
            raise ProtocolError(reason="unexpected multi-part answer")
        if reply.response_code != ResponseCode.SUCCESS:
            text = ErrorBody.from_wire(reply.body).message if reply.body else ""
            raise RegistryError(text or "request failed", response_code=reply.response_code)
        return reply

    # -- listing ------------------------------------------------------------------------
    async def list_handles(self, request: Request) -> Response:
        identity = await self.identify(request)
        prefix_param = request.param("prefix")
        if not prefix_param:
            raise InvalidValue(reason="GET /api/handles needs ?prefix=")
        prefix = strip_prefix_handle(prefix_param).strip()
        if not prefix or "/" in prefix:
            raise InvalidHandle(handle=prefix_param, reason="expected a prefix or "
                                                            "0.NA/<prefix>")
        prefix_handle = self._handle(f"{PREFIX_NA}/{prefix}")
        if identity is None:
            raise AuthenticationNeeded(reason="listing handles needs authentication")
        record = await self.records.get(prefix_handle.key)
        await self.authorizer.authorize(identity, "list", prefix_handle.text,
                                        record.values if record else None)
        size_text = request.param("pageSize")
        page_text = request.param("page")
        after = request.param("after") or ""
        limit = self.limits.list_page_size
        size = limit if size_text in (None, "") else _nonneg(size_text, "pageSize")
        size = min(size, limit)
        page = 0 if page_text in (None, "") else _nonneg(page_text, "page")
        store = self.records.store
        total = await self.records.read(store.count_handles, prefix)
        out: dict[str, Any] = {"responseCode": 1, "prefix": prefix, "totalCount": total}
        if size == 0:
            out["handles"] = []
            return json_response(request, 200, out)
        offset = page * size
        if offset > self.limits.max_list_offset:
            raise InvalidValue(reason=f"page × pageSize = {offset} exceeds "
                                      f"{self.limits.max_list_offset}; page further with "
                                      "?after=<last handle of the previous page>")
        while offset > 0:  # skip whole pages by keyset, never loading their records
            skipped = await self.records.list_handles(prefix, after=after,
                                                      limit=min(offset, limit))
            if not skipped:
                break
            after = skipped[-1]
            offset -= len(skipped)
        handles = await self.records.list_handles(prefix, after=after, limit=size)
        out["page"] = page
        out["pageSize"] = size
        out["handles"] = handles
        if len(handles) == size:
            out["next"] = handles[-1]
        return json_response(request, 200, out)

    async def prefixes(self, request: Request) -> Response:
        identity = await self.identify(request)
        if identity is None:
            raise AuthenticationNeeded(reason="listing homed prefixes needs authentication")
        reply = await self._run(request, identity, OpCode.LIST_HOMED_PREFIXES,
                                HandleRequest(f"{PREFIX_NA}/{PREFIX_NA}"), 0)
        homed = ListHandlesResponse.from_wire(reply.body).handles
        return json_response(request, 200, {"responseCode": 1, "prefixes": list(homed)})

    async def site_info(self, request: Request) -> Response:
        return json_response(request, 200, {"responseCode": 1,
                                            "site": site_to_json(self.site())})


def _nonneg(text: str, name: str) -> int:
    if not text.strip().isdigit():
        raise InvalidValue(reason=f"parameter {name} must be a non-negative integer, "
                                  f"not {text!r}")
    return int(text)


def key_or_none(text: str, max_bytes: int) -> str | None:
    try:
        return Handle.parse(text, max_length=max_bytes).key
    except InvalidHandle:
        return None


def error_response(request: Request, exc: RegistryError, handle: str | None, *,
                   resolution: bool, challenge: Callable[[], tuple[str, str]]) -> Response:
    """``exc`` as the REST API reports it; RC 402 carries both challenges."""
    rc = exc.response_code
    headers: list[tuple[str, str]] = []
    if rc in (ResponseCode.AUTHENTICATION_NEEDED, ResponseCode.AUTHENTICATION_FAILED,
              ResponseCode.INVALID_CREDENTIAL, ResponseCode.AUTHEN_ERROR) \
            and _is_authentication(exc):
        rc = int(ResponseCode.AUTHENTICATION_NEEDED)
        session_id, nonce = challenge()
        headers = [("WWW-Authenticate", 'Basic realm="handle"'),
                   ("WWW-Authenticate", f'Handle sessionId="{session_id}", nonce="{nonce}"')]
    message = "" if rc == ResponseCode.HANDLE_NOT_FOUND else str(exc)
    return rc_response(request, rc, message, handle=handle, resolution=resolution,
                       headers=headers)


def _is_authentication(exc: RegistryError) -> bool:
    return isinstance(exc, AuthenticationNeeded | AuthenticationFailed | InvalidCredential
                      | AuthenticationError)
