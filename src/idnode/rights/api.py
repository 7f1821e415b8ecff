"""``/api/v1/single-handle/authorization``: an identifier's data rights (数据权限) over HTTP.

The enterprise node's endpoint of ``idis.md`` §7.4:

* ``POST`` with JSON ``{"handle", "readerScope": 1 | 2, "handleUserReaders": [...],
  "handleUserWriters": [...], "delHandleUserReaders": [...], "delHandleUserWriters": [...]}``
  rewrites the record's IDIS.AUTH value (:mod:`idnode.identifiers.values.rights`) and the
  PUB_READ bits of its business values (index 2000 and up, except ``HS_*`` types: cleared
  for scope 2, set for scope 1). An entry is ``"index:handle"`` or
  ``{"id": "index:handle", "indexes": [...]}``. A list left out keeps the current one; the
  ``del…`` lists remove entries by ``id``. Public scope with nobody listed removes the
  IDIS.AUTH value.
* ``GET ?handle=H`` answers the current grant.

Both answer ``{status, message, data}`` (HTTP 200; :mod:`idnode.snms.envelope`) with ``data`` =
``{"handle", "readerScope", "handleUserReaders", "handleUserWriters"}``. Callers authenticate
as for the REST API's writes (HTTP Basic with an HS_SECKEY, ``Authorization: Handle``, or a
TLS client certificate) and must administer the identifier: any HS_ADMIN of the record (or a
server admin) for ``POST``, READ_VALUE for ``GET``. The rewrite is one overwrite of the record
run through the node's stage chain (:class:`~idnode.snms.chainwrites.ChainWriter`), so the
HS_ADMIN permissions it needs (ADD_VALUE / MODIFY_VALUE / REMOVE_VALUE), compare-and-set and
storage are those of every other write.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from idnode.auth.identity import Identity
from idnode.auth.permissions import Authorizer
from idnode.errors import ProtocolError, RegistryError
from idnode.http.messages import Request, Response
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import PERM_ADMIN_READ, PERM_PUBLIC_READ, HandleValue
from idnode.identifiers.values.admin import AdminPerm
from idnode.identifiers.values.rights import (
    FIRST_BUSINESS_INDEX,
    RIGHTS_INDEX,
    RIGHTS_TYPE,
    Grant,
    RightsData,
    is_protected_type,
    parse_grant,
    rights_of,
    scope_of,
)
from idnode.node.context import Connection
from idnode.node.records import Records
from idnode.snms.chainwrites import ChainWriter
from idnode.snms.envelope import (
    FAILED,
    FORBIDDEN,
    NOT_LOGGED_IN,
    OK,
    SnmsFailure,
    envelope,
    failure_of,
)

__all__ = ["RIGHTS_PATH", "RightsApi"]

RIGHTS_PATH = "/api/v1/single-handle/authorization"
_MAX_BODY = 1024 * 1024
_READERS, _WRITERS = "handleUserReaders", "handleUserWriters"
_DEL_READERS, _DEL_WRITERS = "delHandleUserReaders", "delHandleUserWriters"
_FIELDS = ("handle", "readerScope", _READERS, _WRITERS, _DEL_READERS, _DEL_WRITERS)

Identify = Callable[[Request], Awaitable[Identity | None]]


class RightsApi:
    def __init__(self, records: Records, authorizer: Authorizer, writer: ChainWriter,
                 identify: Identify, *, max_handle_bytes: int = 2048) -> None:
        self.records = records
        self.authorizer = authorizer
        self.writer = writer
        self.identify = identify
        self.max_handle_bytes = max_handle_bytes

    async def handle(self, request: Request) -> Response:
        """Every outcome as an envelope; nothing raises to the router."""
        try:
            if request.method in ("GET", "HEAD"):
                data = await self._get(request)
            elif request.method == "POST":
                data = await self._post(request)
            else:
                raise SnmsFailure(FAILED, f"method {request.method} is not allowed here; use "
                                          "GET ?handle= or POST")
        except SnmsFailure as exc:
            return envelope(exc.status, exc.message)
        except RegistryError as exc:
            failure = failure_of(exc)
            return envelope(failure.status, failure.message)
        return envelope(OK, "success", data)

    # -- the two operations ---------------------------------------------------------------
    async def _get(self, request: Request) -> dict[str, Any]:
        identity = await self._identity(request)
        text = request.param("handle")
        if not text:
            raise SnmsFailure(FAILED, "handle: missing (?handle=)")
        _, values = await self._record(text)
        if not await self.authorizer.admin_can_read(identity, values):
            raise SnmsFailure(FORBIDDEN, f"无权限 no permission: {identity} may not read the "
                                         f"data rights of {text}: only its administrators "
                                         "(HS_ADMIN with READ_VALUE) may")
        return _answer(text, rights_of(values))

    async def _post(self, request: Request) -> dict[str, Any]:
        identity = await self._identity(request)
        body = _body(request)
        text = body.get("handle")
        if not isinstance(text, str) or not text:
            raise SnmsFailure(FAILED, "handle: missing or not text")
        handle, values = await self._record(text)
        if not (await self.authorizer.is_server_admin(identity)
                or await self.authorizer.is_admin_of(identity, values, AdminPerm(0))):
            raise SnmsFailure(FORBIDDEN, f"无权限 no permission: {identity} may not grant data "
                                         f"rights on {text}: only its administrators "
                                         "(HS_ADMIN) may")
        current = rights_of(values) or RightsData()
        if "readerScope" not in body:
            raise SnmsFailure(FAILED, "readerScope: missing; 1 = public, 2 = scoped (only the "
                                      "listed readers besides administrators)")
        try:
            scope = scope_of(body["readerScope"])
            readers = _merged(current.readers, body, _READERS, _DEL_READERS)
            writers = _merged(current.writers, body, _WRITERS, _DEL_WRITERS)
            wanted = RightsData.from_json({"readerScope": scope,
                                           _READERS: [g.to_json() for g in readers],
                                           _WRITERS: [g.to_json() for g in writers]})
        except ProtocolError as exc:
            raise SnmsFailure(FAILED, str(exc.kwargs.get("reason", exc))) from None
        new_values = _rewritten(text, values, wanted)
        if _comparable(new_values) != _comparable(values):
            await self.writer.create(_conn(request), identity, handle.text, new_values,
                                     overwrite=True)
        return _answer(text, None if wanted.empty else wanted)

    # -- helpers --------------------------------------------------------------------------
    async def _identity(self, request: Request) -> Identity:
        identity = await self.identify(request)
        if identity is None:
            raise SnmsFailure(NOT_LOGGED_IN, "未登录 not logged in: authenticate as for the "
                                             "REST API (HTTP Basic with index:handle and the "
                                             "HS_SECKEY, Authorization: Handle, or a TLS "
                                             "client certificate)")
        return identity

    async def _record(self, text: str) -> tuple[Handle, Sequence[HandleValue]]:
        handle = Handle.parse(text, max_length=self.max_handle_bytes)
        if not self.records.responsible_for(handle):
            raise SnmsFailure(FAILED, f"非本企业标识 not an identifier of this node: {text}")
        record = await self.records.get(handle.key)
        if record is None:
            raise SnmsFailure(FAILED, f"不存在 does not exist: {text}")
        return handle, record.values


def _conn(request: Request) -> Connection:
    return Connection(("http", request.connection_id), "http", request.peer)


def _body(request: Request) -> dict[str, Any]:
    if len(request.body) > _MAX_BODY:
        raise SnmsFailure(FAILED, f"the body has {len(request.body)} bytes; at most "
                                  f"{_MAX_BODY}")
    try:
        obj = json.loads(request.body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SnmsFailure(FAILED, "the body is not JSON") from None
    if not isinstance(obj, dict):
        raise SnmsFailure(FAILED, "the body must be a JSON object {handle, readerScope, "
                                  "handleUserReaders, handleUserWriters}")
    unknown = sorted(set(obj) - set(_FIELDS))
    if unknown:
        raise SnmsFailure(FAILED, f"unknown field(s) {', '.join(unknown)}; expected "
                                  f"{', '.join(_FIELDS)}")
    return obj


def _merged(current: tuple[Grant, ...], body: dict[str, Any], name: str,
            del_name: str) -> list[Grant]:
    """The list ``name`` as given (or the current one), minus the ids in ``del_name``."""
    raw = body.get(name)
    if raw is None:
        grants = list(current)
    elif not isinstance(raw, list):
        raise ProtocolError(reason=f"{name} must be a list")
    else:
        grants = [parse_grant(item, f"{name}[{i}]") for i, item in enumerate(raw)]
    removed = body.get(del_name)
    if removed is None:
        return grants
    if not isinstance(removed, list):
        raise ProtocolError(reason=f"{del_name} must be a list")
    gone = {_key(parse_grant(item, f"{del_name}[{i}]")) for i, item in enumerate(removed)}
    return [g for g in grants if _key(g) not in gone]


def _key(grant: Grant) -> tuple[str, int]:
    return Handle.parse(grant.ref.handle).key, grant.ref.index


def _rewritten(text: str, values: Sequence[HandleValue],
               rights: RightsData) -> list[HandleValue]:
    """The record with ``rights`` as its IDIS.AUTH value and its business values' PUB_READ
    bits set for the scope."""
    out: list[HandleValue] = []
    for value in values:
        if value.index == RIGHTS_INDEX:
            if value.type.upper() != RIGHTS_TYPE:
                raise SnmsFailure(FAILED, f"index {RIGHTS_INDEX} of {text} holds a "
                                          f"{value.type} value; data rights (IDIS.AUTH) are "
                                          "kept at that index: move that value first")
            continue
        if value.index < FIRST_BUSINESS_INDEX or is_protected_type(value.type):
            out.append(value)  # never made public by a scope (an HS_SECKEY stays secret)
            continue
        perms = value.permissions
        perms = ((perms & ~PERM_PUBLIC_READ) | PERM_ADMIN_READ if rights.scoped
                 else perms | PERM_PUBLIC_READ)
        out.append(replace(value, permissions=perms))
    if not rights.empty:
        out.append(rights.to_value())
    return sorted(out, key=lambda v: v.index)


def _comparable(values: Sequence[HandleValue]) -> list[HandleValue]:
    return sorted((replace(v, timestamp=0) for v in values), key=lambda v: v.index)


def _answer(text: str, rights: RightsData | None) -> dict[str, Any]:
    return {"handle": text, **(rights or RightsData()).to_json()}
