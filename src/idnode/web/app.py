"""The web face's router: one :class:`~idnode.http.messages.HttpApp` for a node.

Routes (the REST API of ``handle-protocol.md`` §14, the proxy face of §14.9, reverse lookup,
docs and the binary protocol tunnel):

=====================================  ==================================================
``GET/HEAD/PUT/DELETE /api/handles/H``  one handle (:mod:`.rest`)
``GET /api/handles?prefix=P``           list a prefix (authenticated)
``GET /api/prefixes``, ``/api/site``    homed prefixes (server admins), site information
``/api/sessions[/this]``                the Handle authentication scheme's sessions
``GET /api/``, ``/openapi.json``        the API browser and its OpenAPI document
``GET /hrls/handles[/P]?TYPE=pattern``  reverse lookup (:mod:`.search`)
``/api/reports[/status]``               upward reports received (:mod:`idnode.reports`)
``GET /metrics``                        replication figures, Prometheus text (:mod:`.metrics`)
``POST *`` with ``application/x-hdl-message``  a native message over HTTP
``GET /``, ``/resolve?handle=H``        home page and its form
``GET /01/<gtin>…`` (GS1 keys)          GS1 Digital Link (:mod:`.digitallink`)
``GET /H``                              proxy resolution: redirect or record page
``/api/prefix-applications[/…]``        enterprise prefix applications (:mod:`idnode.prefixes`)
``/identity/token``, ``/identityv2/…``, the secondary-node (SNMS) API, authoritative nodes
``/snms/api/v5/template``               only (:mod:`idnode.snms`)
``/api/v1/single-handle/authorization`` an identifier's data rights (数据权限,
                                        :mod:`idnode.rights`), authoritative nodes only
=====================================  ==================================================

This is the only place in the web face where an error becomes an HTTP response.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from idnode.errors import AuthenticationNeeded, InvalidCredential, ProtocolError, RegistryError
from idnode.http.messages import Request, Response
from idnode.node.accesslog import AccessLog
from idnode.node.context import Connection, RequestContext
from idnode.node.edge import Edge
from idnode.prefixes.api import PrefixApi
from idnode.protocol.constants import ResponseCode
from idnode.protocol.framing import TUNNEL_CONTENT_TYPE, decode_tunnel_body, encode_tunnel_body
from idnode.reports.receiver import ReportsApi
from idnode.rights import RIGHTS_PATH, RightsApi
from idnode.snms import SNMS_PATHS, SnmsApi
from idnode.web import digitallink, explorer, pages, proxy
from idnode.web.authn import Authenticator, parse_handle_params
from idnode.web.metrics import metrics_response
from idnode.web.openapi import openapi_document
from idnode.web.rest import RestApi, error_response
from idnode.web.search import ReverseLookup
from idnode.web.status import http_status, json_response, rc_response

__all__ = ["WebApp", "WebSettings"]

log = logging.getLogger("idnode.web")

_HANDLES = "/api/handles/"
_CORS = ("Access-Control-Allow-Origin", "*")
_ALLOW_HEADERS = "Authorization, Content-Type, Accept"


@dataclass(frozen=True, slots=True)
class WebSettings:
    node_name: str = "idnode"
    max_message_bytes: int = 256 * 1024
    #: where the first worker publishes replication status (``GET /metrics``)
    run_dir: Path | None = None
    escrows: tuple[str, ...] = ()


class WebApp:
    def __init__(self, rest: RestApi, authenticator: Authenticator, search: ReverseLookup | None,
                 edge: Edge, access_log: AccessLog, prefixes: Callable[[], Iterable[str]],
                 settings: WebSettings, reports: ReportsApi | None = None,
                 snms: SnmsApi | None = None,
                 prefix_api: PrefixApi | None = None,
                 rights: RightsApi | None = None) -> None:
        self.rest = rest
        self.authn = authenticator
        self.search = search
        self.edge = edge
        self.access_log = access_log
        self.prefixes = prefixes
        self.settings = settings
        self.reports = reports
        self.snms = snms
        self.prefix_api = prefix_api
        self.rights = rights
        self._openapi: bytes | None = None

    def close(self) -> None:
        """Release what the app holds beyond its requests (the reports inbox, the
        enterprise-prefix ledger, the unique-value claims file)."""
        if self.reports is not None:
            self.reports.close()
        if self.snms is not None:
            self.snms.close()
        if self.prefix_api is not None:
            self.prefix_api.close()

    # -- the hot path -------------------------------------------------------------------
    def fast(self, request: Request) -> Response | None:
        if (request.method == "GET" and not request.query
                and request.path.startswith(_HANDLES)
                and request.header("authorization") is None):
            started = time.perf_counter()
            text = request.path[len(_HANDLES):]
            response = self.rest.fast_get(request, text)
            if response is not None:
                response.headers.append(_CORS)
                self._log(request, response, started, text)
            return response
        return None

    # -- everything else ----------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        handle: str | None = None
        resolution = request.method in ("GET", "HEAD")
        try:
            response, handle = await self._route(request)
        except RegistryError as exc:
            response = self._error(request, exc, handle_of(request), resolution)
        except Exception:
            log.exception("internal error serving %s %s", request.method, request.path)
            response = rc_response(request, ResponseCode.ERROR, "internal server error")
        if request.path.startswith("/api/") or request.path.startswith("/hrls/"):
            response.headers.append(_CORS)
        self._log(request, response, started, handle or "-")
        return response

    def _error(self, request: Request, exc: RegistryError, handle: str | None,
               resolution: bool) -> Response:
        def challenge() -> tuple[str, str]:
            state = self.authn.challenge()
            return state.session_id, state.nonce_b64
        if not request.path.startswith(("/api/", "/hrls/")) and request.method in ("GET",
                                                                                   "HEAD"):
            return pages.error_page(http_status(exc.response_code, resolution=resolution),
                                    "Request refused", str(exc))
        return error_response(request, exc, handle, resolution=resolution,
                              challenge=challenge)

    async def _route(self, request: Request) -> tuple[Response, str | None]:
        method, path = request.method, request.path
        ctype = (request.header("content-type") or "").split(";")[0].strip().lower()
        if method == "POST" and ctype == TUNNEL_CONTENT_TYPE:
            return await self._tunnel(request), None
        if method == "OPTIONS":
            return self._preflight(), None
        get = method in ("GET", "HEAD")
        # -- the secondary-node (SNMS) API: it answers every outcome in its own envelope
        if self.snms is not None and path in SNMS_PATHS:
            return await self.snms.handle(request), None
        # -- end of the SNMS API
        if path in ("/api/handles", "/api/handles/"):
            return (await self.rest.list_handles(request) if get
                    else _not_allowed(request, "GET, HEAD")), None
        if path.startswith(_HANDLES):
            text = path[len(_HANDLES):]
            if get:
                return await self.rest.get(request, text), text
            if method == "PUT":
                return await self.rest.put(request, text), text
            if method == "DELETE":
                return await self.rest.delete(request, text), text
            return _not_allowed(request, "GET, HEAD, PUT, DELETE"), text
        if path == "/api/prefixes":
            return (await self.rest.prefixes(request) if get
                    else _not_allowed(request, "GET, HEAD")), None
        if path == "/api/site":
            return (await self.rest.site_info(request) if get
                    else _not_allowed(request, "GET, HEAD")), None
        if path in ("/api/sessions", "/api/sessions/this"):
            return await self._sessions(request, this=path.endswith("/this")), None
        if path in ("/api/reports", "/api/reports/", "/api/reports/status"):
            return await self._reports(request, get), None
        if path == "/metrics" and self.settings.run_dir is not None:
            return (metrics_response(self.settings.run_dir, list(self.settings.escrows))
                    if get else _not_allowed(request, "GET, HEAD")), None
        if path in ("/api", "/api/"):
            return (explorer.explorer_page() if get else _not_allowed(request, "GET")), None
        if path == "/api/explorer.js":
            return (explorer.explorer_script() if get else _not_allowed(request, "GET")), None
        if path == "/openapi.json":
            return (self._openapi_response(request) if get
                    else _not_allowed(request, "GET")), None
        if path.startswith("/hrls/") and self.search is None:
            return rc_response(request, ResponseCode.OPERATION_NOT_SUPPORTED,
                               "reverse lookup is served by authoritative nodes; a recursive "
                               "node (递归节点) holds no records"), None
        if path == "/hrls/ping":
            assert self.search is not None
            return self.search.ping(), None
        if path == "/hrls/handles" or path.startswith("/hrls/handles/"):
            assert self.search is not None
            prefix = path[len("/hrls/handles/"):] if len(path) > 14 else ""
            return (await self.search.search(request, prefix.strip("/") or None) if get
                    else _not_allowed(request, "GET")), None
        if self.rights is not None and path == RIGHTS_PATH:  # answers in its own envelope
            return await self.rights.handle(request), None
        if self.prefix_api is not None and path.startswith("/api/prefix-applications") and \
                (found := await self.prefix_api.route(request)) is not None:
            return found, None
        if path.startswith("/api/"):
            return rc_response(request, ResponseCode.OPERATION_NOT_SUPPORTED,
                               f"no API endpoint {path}"), None
        if not get:
            return _not_allowed(request, "GET, HEAD"), None
        if path == "/":
            return pages.home_page(self.settings.node_name, sorted(self.prefixes())), None
        if path == "/resolve":
            return pages.resolve_form_redirect(request), None
        if path == "/favicon.ico":
            return Response(404, b"", None), None
        if digitallink.is_digital_link_path(path):  # GS1 Digital Link: /01/<gtin>…
            return await digitallink.respond(request, self.rest.lookup_public), None
        text = path[1:]
        if proxy.wants_json(request):
            return await self.rest.get(request, text), text
        return await proxy.proxy_resolve(request, text, self.rest.lookup_public), text

    async def _reports(self, request: Request, get: bool) -> Response:
        if self.reports is None:
            return rc_response(request, ResponseCode.OPERATION_NOT_SUPPORTED,
                               "reports (数据上报) are received by authoritative nodes")
        if request.path.endswith("/status"):
            return await self.reports.status(request) if get else _not_allowed(request,
                                                                               "GET, HEAD")
        if request.method == "POST":
            return await self.reports.post(request)
        return await self.reports.list(request) if get else _not_allowed(request,
                                                                         "GET, HEAD, POST")

    def _preflight(self) -> Response:
        return Response(204, b"", None, [
            _CORS, ("Access-Control-Allow-Methods", "GET, HEAD, PUT, DELETE, POST, OPTIONS"),
            ("Access-Control-Allow-Headers", _ALLOW_HEADERS),
            ("Access-Control-Max-Age", "86400")])

    def _openapi_response(self, request: Request) -> Response:
        if self._openapi is None:
            self._openapi = json.dumps(openapi_document(), indent=1).encode()
        return Response(200, self._openapi, "application/json",
                        [("Access-Control-Allow-Origin", "*")])

    # -- sessions -----------------------------------------------------------------------
    async def _sessions(self, request: Request, *, this: bool) -> Response:
        method = request.method
        if not this:
            if method != "POST":
                return _not_allowed(request, "POST")
            identity = await self.authn.identify(request)
            if identity is not None:
                # A signed answer authenticated the session it names; other credentials
                # (Basic, a client certificate) open a new session as that identity.
                session_id = self._header_session(request)
                if session_id is None:
                    session_id = self.authn.challenge().session_id
                    self.authn.sessions.authenticate(session_id, identity)
                return self._session_state(request, session_id)
            state = self.authn.challenge()
            return json_response(request, 201, {"sessionId": state.session_id,
                                                "nonce": state.nonce_b64,
                                                "authenticated": False})
        session_id = self._header_session(request)
        if session_id is None:
            raise AuthenticationNeeded(reason="send Authorization: Handle sessionId=\"…\"")
        if method in ("GET", "HEAD"):
            return self._session_state(request, session_id)
        if method == "PUT":
            await self.authn.identify(request)
            return self._session_state(request, session_id)
        if method == "DELETE":
            self.authn.sessions.end(session_id)
            return json_response(request, 200, {"responseCode": 1})
        return _not_allowed(request, "GET, PUT, DELETE")

    @staticmethod
    def _header_session(request: Request) -> str | None:
        header = request.header("authorization") or ""
        scheme, _, rest = header.strip().partition(" ")
        if scheme.lower() != "handle":
            return None
        return parse_handle_params(rest).get("sessionId")

    def _session_state(self, request: Request, session_id: str | None) -> Response:
        if session_id is None:
            raise InvalidCredential(reason="no sessionId in the Authorization header")
        state = self.authn.sessions.get(session_id)
        out: dict[str, object] = {"sessionId": state.session_id, "nonce": state.nonce_b64,
                                  "authenticated": state.identity is not None}
        if state.identity is not None:
            out["id"] = str(state.identity)
        return json_response(request, 200, out)

    # -- the binary protocol over HTTP ----------------------------------------------------
    async def _tunnel(self, request: Request) -> Response:
        try:
            message = decode_tunnel_body(request.body, self.settings.max_message_bytes)
        except ProtocolError as exc:
            return Response(400, f"not a Handle protocol message: {exc}".encode(),
                            "text/plain; charset=utf-8")
        ctx = RequestContext(Connection(("http", request.connection_id), "http",
                                        request.peer))
        frames = [encode_tunnel_body(m) async for m in self.edge.respond(ctx, message)]
        return Response(200, b"".join(frames), TUNNEL_CONTENT_TYPE)

    def _log(self, request: Request, response: Response, started: float,
             handle: str) -> None:
        self.access_log.write_http(request.peer, request.scheme, request.method,
                                   response.status, time.perf_counter() - started, handle)


def handle_of(request: Request) -> str | None:
    if request.path.startswith(_HANDLES):
        return request.path[len(_HANDLES):]
    return None


def _not_allowed(request: Request, allow: str) -> Response:
    response = rc_response(request, ResponseCode.OPERATION_NOT_SUPPORTED,
                           f"method {request.method} is not allowed here (allowed: {allow})")
    response.status = 405
    response.headers.append(("Allow", allow))
    return response
