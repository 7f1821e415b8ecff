"""HTTP handlers for enterprise prefix applications (企业前缀申请):

* ``POST /api/prefix-applications``: apply (any authenticated identity; the body is the
  form of :mod:`.application`); 201 with the application;
* ``GET /api/prefix-applications[?status=&prefix=&after=&limit=]``: list (operators);
* ``GET /api/prefix-applications/{id}``: one application with its audit trail (operators);
* ``POST /api/prefix-applications/{id}/{approve|reject|suspend|reinstate|revoke}``, body
  ``{"reason": "…"}`` (required to reject): a decision (operators).

Operators are the node's server admins. Real-name data (实名信息) is answered to them only;
secrets given for a hosted admin identity are never echoed. Errors are raised as
:class:`~idnode.errors.RegistryError` (their messages name the field), which the web app
turns into JSON answers like every other REST error (401 with challenges, 400, 403, 404,
409).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from idnode.auth.identity import Identity
from idnode.auth.permissions import Authorizer
from idnode.errors import AuthenticationNeeded, InvalidAdmin, InvalidValue
from idnode.http.messages import Request, Response
from idnode.identifiers.jsonvalue import format_time
from idnode.identifiers.values.site import SiteData
from idnode.prefixes.application import ACTIONS, STATUSES, Application
from idnode.prefixes.ledger import AuditEntry, Ledger
from idnode.prefixes.registry import Namespace, PrefixRegistry
from idnode.storage import Record, WriteOp, WriteResult, normalise_prefix
from idnode.web.status import json_response

__all__ = ["BASE", "PrefixApi", "application_json", "audit_json"]

BASE = "/api/prefix-applications"
_ONE = re.compile(r"/([0-9]{1,18})(?:/([a-z]+))?/?")
_MAX_BODY = 64 * 1024
_MAX_LIST = 1000


def application_json(app: Application) -> dict[str, Any]:
    return {"id": app.id, "prefix": app.prefix, "status": app.status,
            "applicant": app.applicant, "created": format_time(int(app.created)),
            "updated": format_time(int(app.updated)), "reason": app.reason,
            "form": app.form.to_json(with_secret=False)}


def audit_json(entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    return [{"seq": e.seq, "application": e.application, "at": format_time(int(e.at)),
             "actor": e.actor, "action": e.action, "detail": e.detail} for e in entries]


def _body(request: Request) -> Any:
    if len(request.body) > _MAX_BODY:
        raise InvalidValue(reason=f"body: {len(request.body)} bytes; at most {_MAX_BODY}")
    if not request.body.strip():
        return {}
    try:
        return json.loads(request.body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidValue(reason=f"body: not valid JSON: {exc}") from None


def _int_param(request: Request, name: str, default: int, high: int) -> int:
    text = request.param(name)
    if not text:
        return default
    if not text.isdigit() or not 0 <= int(text) <= high:
        raise InvalidValue(reason=f"{name}: expected an integer 0…{high}, not {text!r}")
    return int(text)


class PrefixApi:
    """The handlers, over a :class:`PrefixRegistry`; :meth:`route` dispatches."""

    def __init__(self, registry: PrefixRegistry,
                 identify: Callable[[Request], Awaitable[Identity | None]],
                 authorizer: Authorizer) -> None:
        self.registry = registry
        self.identify = identify
        self.authorizer = authorizer

    @classmethod
    def for_node(cls, storage_url: str, prefixes: Iterable[str],
                 read: Callable[[str], Awaitable[Record | None]],
                 submit: Callable[[WriteOp], Awaitable[WriteResult]],
                 identify: Callable[[Request], Awaitable[Identity | None]],
                 authorizer: Authorizer, timeout: float = 5.0) -> PrefixApi:
        """The handlers of a node: the ledger in its database, writes through ``submit``
        (the worker's group commit); enterprise prefixes are allocated under the node's
        configured ``prefixes``."""
        from idnode.prefixes.ledger import open_ledger
        from idnode.prefixes.local import fetch_sites
        ledger: Ledger = open_ledger(storage_url)

        async def sites(servers: Sequence[str]) -> list[SiteData]:
            return await fetch_sites(servers, timeout)
        parents = frozenset(normalise_prefix(p) for p in prefixes)
        return cls(PrefixRegistry(ledger, Namespace(read, submit, lambda: parents, sites)),
                   identify, authorizer)

    async def route(self, request: Request) -> Response | None:
        """The answer for a request under :data:`BASE`, or None for other paths."""
        path = request.path
        if path in (BASE, BASE + "/"):
            if request.method == "POST":
                return await self.apply(request)
            if request.method in ("GET", "HEAD"):
                return await self.list(request)
            return _not_allowed("GET, HEAD, POST")
        if not path.startswith(BASE + "/"):
            return None
        match = _ONE.fullmatch(path[len(BASE):])
        if match is None:
            raise InvalidValue(reason=f"path: {path} is not {BASE}/ID or {BASE}/ID/ACTION")
        ident, action = int(match.group(1)), match.group(2)
        if action is None:
            if request.method in ("GET", "HEAD"):
                return await self.detail(request, ident)
            return _not_allowed("GET, HEAD")
        if request.method != "POST":
            return _not_allowed("POST")
        return await self.decide(request, ident, action)

    async def apply(self, request: Request) -> Response:
        identity = await self._identity(request)
        app = await self.registry.apply(_body(request), str(identity))
        return json_response(request, 201, {"responseCode": 1,
                                            "application": application_json(app)})

    async def list(self, request: Request) -> Response:
        await self._operator(request)
        status = request.param("status") or None
        if status is not None and status not in STATUSES:
            raise InvalidValue(reason=f"status: {status!r} is not one of "
                                      f"{', '.join(STATUSES)}")
        prefix = request.param("prefix") or None
        after = _int_param(request, "after", 0, 2**62)
        limit = max(1, _int_param(request, "limit", 100, _MAX_LIST))
        apps = await self.registry.find(status, prefix.upper() if prefix else None,
                                        after, limit)
        out: dict[str, Any] = {"responseCode": 1,
                               "applications": [application_json(a) for a in apps]}
        if len(apps) == limit:
            out["next"] = apps[-1].id
        return json_response(request, 200, out)

    async def detail(self, request: Request, ident: int) -> Response:
        await self._operator(request)
        app = await self.registry.get(ident)
        audit = await self.registry.audit(ident)
        return json_response(request, 200, {"responseCode": 1,
                                            "application": application_json(app),
                                            "audit": audit_json(audit)})

    async def decide(self, request: Request, ident: int, action: str) -> Response:
        operator = await self._operator(request)
        if action not in ACTIONS:
            raise InvalidValue(reason=f"action: {action!r} is not one of "
                                      f"{', '.join(ACTIONS)}")
        body = _body(request)
        if not isinstance(body, dict) or set(body) - {"reason"}:
            raise InvalidValue(reason="body: expected {} or {\"reason\": \"…\"}")
        reason = body.get("reason", "")
        if not isinstance(reason, str) or len(reason) > 1000:
            raise InvalidValue(reason="reason: expected text of at most 1000 characters")
        app = await self.registry.act(ident, action, operator, reason.strip())
        return json_response(request, 200, {"responseCode": 1,
                                            "application": application_json(app)})

    async def _identity(self, request: Request) -> Identity:
        identity = await self.identify(request)
        if identity is None:
            raise AuthenticationNeeded(reason="prefix applications need credentials: a "
                                              "signed Handle session (HS_PUBKEY) or Basic "
                                              "(HS_SECKEY), over HTTPS")
        return identity

    async def _operator(self, request: Request) -> Identity:
        identity = await self._identity(request)
        if not await self.authorizer.is_server_admin(identity):
            raise InvalidAdmin(reason=f"{identity} is not an operator of this node: prefix "
                                      "applications and their real-name data (实名信息) are "
                                      "for its server admins")
        return identity

    def close(self) -> None:
        self.registry.ledger.close()


def _not_allowed(allow: str) -> Response:
    return Response(405, json.dumps({"responseCode": 5, "message": "method not allowed"})
                    .encode(), headers=[("Allow", allow)])
