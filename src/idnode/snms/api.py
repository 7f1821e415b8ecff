"""Routes of the SNMS API (``idis.md`` §6.1): tokens, templates, registration.

Every answer is HTTP 200 with the ``{status, message, data}`` envelope; nothing here raises to
the web app's router. Writes run through the stage chain (:class:`.chainwrites.ChainWriter`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from idnode.auth.identity import Identity
from idnode.auth.permissions import Authorizer
from idnode.errors import (
    AuthenticationFailed,
    HandleNotFound,
    InvalidHandle,
    RegistryError,
    TemplateError,
    TemplateViolation,
)
from idnode.http.messages import Request, Response
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.identifiers.values.rights import RIGHTS_INDEX
from idnode.node.context import Connection
from idnode.node.credentials import credential_value
from idnode.node.pipeline import Handler
from idnode.node.records import Records
from idnode.node.stages.authoritative import readable_values
from idnode.node.throttle import FailureThrottle
from idnode.protocol.constants import ResponseCode
from idnode.snms.batch import SAME, BatchCreator, Item, as_failure, handle_of, item_result
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
from idnode.snms.grants import (
    check_use,
    copy_allowed,
    edit_grants,
    same_prefix,
    template_names,
)
from idnode.snms.registration import (
    TEMPLATE_ID_INDEX,
    Registration,
    parse_registration,
    record_to_snms,
    record_values,
    same_content,
)
from idnode.snms.templatestore import (
    GRANTS_INDEX,
    TemplateStore,
    grants_of,
    grants_value,
    template_handle,
    template_value,
)
from idnode.snms.tokens import (
    TokenIssuer,
    hashed_password,
    hashed_password_dates,
    parse_username,
    secret_fingerprint,
)
from idnode.snms.unique import UniqueValues, check_indexed
from idnode.templates import (
    Template,
    TemplateState,
    avalidate,
    edit,
    publish,
    template_from_json,
    template_to_json,
    withdraw,
)
from idnode.templates.claims import SharedClaims

__all__ = ["MAX_BATCH", "SNMS_PATHS", "SnmsApi"]

log = logging.getLogger("idnode.snms")

#: items in one batch call (``idis.md`` §6.6)
MAX_BATCH = 2000
_TOKEN, _TOKEN_V1 = "/identity/token", "/identity/token/v1"
_TEMPLATE = "/snms/api/v5/template"
_DATA = "/identityv2/data"
_DETAIL, _BATCH_CREATE = "/identityv2/data/detail", "/identityv2/data/batchCreate"
_BATCH_UPDATE, _BATCH_DELETE = "/identityv2/data/batchUpdate", "/identityv2/data/batchDelete"
# Copy (复制; named after the enterprise node's /api/v1/open/meta/baseon-create, idis.md §7.3)
# and grants (授权; its /grant/info) of templates: idnode's own, the SNMS documents none.
_COPY = ("/snms/api/v5/template/baseon-create", "/snms/api/v5/template/copy")
_GRANT, _GRANT_INFO = "/snms/api/v5/template/grant", "/snms/api/v5/template/grant/info"
# Older paths (idis.md §6.5 and the id-guide v3 pages): the same handlers.
_TEMPLATE_V3 = "/snms/api/v3/template"        # GET, POST, DELETE (v3 has no PUT)
_TEMPLATE_ALIASES = ("/snms/api/template/v1",  # older SNMS builds
                     "/snms/template")         # third-party SNMS mocks
_DETAIL_ALIASES = ("/api/identityv2/query/data",)  # older SNMS builds: GET ?handle=


def _json(request: Request) -> Any:
    try:
        return json.loads(request.body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SnmsFailure(FAILED, "the body is not JSON") from None


class SnmsApi:
    def __init__(self, records: Records, authorizer: Authorizer, chain: Handler,
                 tokens: TokenIssuer, throttle: FailureThrottle, *,
                 allow_plain_http: bool = False, max_handle_bytes: int = 2048,
                 claims: SharedClaims | None = None) -> None:
        self.records = records
        self.authorizer = authorizer
        self.writer = ChainWriter(chain)
        self.batches = BatchCreator(records, self.writer, self._checked,
                                    max_handle_bytes=max_handle_bytes)
        self.tokens = tokens
        self.throttle = throttle
        self.allow_plain_http = allow_plain_http
        self.max_handle_bytes = max_handle_bytes
        self.templates = TemplateStore(records)
        self.unique = UniqueValues(records, claims)
        self._routes = _routes(self)

    def close(self) -> None:
        if self.unique.shared is not None:
            self.unique.shared.close()

    async def handle(self, request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        route = self._routes.get((method, request.path))
        try:
            if route is None:
                allowed = sorted(m for m, p in self._routes if p == request.path)
                raise SnmsFailure(FAILED, f"method {request.method} is not allowed on "
                                          f"{request.path} (allowed: {', '.join(allowed)})")
            return await route(request)
        except Exception as exc:  # every failure is an envelope, never an HTTP error
            failure = as_failure(exc)
            return envelope(failure.status, failure.message)

    # -- authentication -------------------------------------------------------------------
    def _check_transport(self, request: Request) -> None:
        if request.scheme != "https" and not self.allow_plain_http:
            raise SnmsFailure(NOT_LOGGED_IN, "credentials are accepted over HTTPS only; this "
                                             "request came over plain HTTP")

    async def _identity(self, request: Request) -> Identity:
        header = request.header("authorization")
        if header is None:
            raise SnmsFailure(NOT_LOGGED_IN, "未登录 not logged in: send Authorization: "
                                             "Bearer <token> from POST /identity/token")
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise SnmsFailure(NOT_LOGGED_IN, "未登录 not logged in: the Authorization scheme "
                                             "must be Bearer")
        self._check_transport(request)
        try:
            identity, fingerprint = self.tokens.open(token)
            secret = await credential_value(self.records, identity, "HS_SECKEY")
        except RegistryError as exc:
            raise SnmsFailure(NOT_LOGGED_IN, f"未登录 not logged in: {exc}") from None
        if not hmac.compare_digest(fingerprint, secret_fingerprint(secret.data)):
            raise SnmsFailure(NOT_LOGGED_IN, "未登录 not logged in: the identity's secret "
                                             "changed since the token was issued")
        return identity

    async def _login(self, request: Request,
                     matches: Callable[[bytes, str], bool]) -> Response:
        self._check_transport(request)
        body = _json(request)
        if not isinstance(body, dict) or not isinstance(body.get("username"), str) or \
                not isinstance(body.get("password"), str):
            raise SnmsFailure(FAILED, "the body must be {\"username\": …, \"password\": …}")
        address = request.peer[0]
        self.throttle.check(address)
        try:
            identity = parse_username(body["username"])
            secret = await credential_value(self.records, identity, "HS_SECKEY")
            if not matches(secret.data, body["password"]):
                raise AuthenticationFailed(reason=f"wrong password for {identity}")
        except RegistryError as exc:
            self.throttle.failed(address)
            raise SnmsFailure(NOT_LOGGED_IN, f"登录失败 login failed: {exc}") from None
        token = self.tokens.issue(identity, secret_fingerprint(secret.data))
        return envelope(OK, "success", {"token": token, "identity": str(identity),
                                        "expiresIn": self.tokens.lifetime})

    async def _login_plain(self, request: Request) -> Response:
        return await self._login(request, lambda secret, given: hmac.compare_digest(
            secret, given.encode("utf-8")))

    async def _login_hashed(self, request: Request) -> Response:
        dates = hashed_password_dates(time.time())

        def matches(secret: bytes, given: str) -> bool:
            wanted = given.strip().lower().encode()
            return any(hmac.compare_digest(hashed_password(secret, d).encode(), wanted)
                       for d in dates)
        return await self._login(request, matches)

    # -- templates ------------------------------------------------------------------------
    async def _template_named(self, prefix: object, version: object) -> Template:
        if not isinstance(prefix, str) or not prefix or not isinstance(version, str) \
                or not version:
            raise SnmsFailure(FAILED, "prefix and version are needed")
        template = await self.templates.get(prefix, version)
        if template is None:
            raise SnmsFailure(FAILED, f"模板不存在 no template version {version!r} of prefix "
                                      f"{prefix}")
        return template

    async def _template_get(self, request: Request) -> Response:
        await self._identity(request)
        template = await self._template_named(request.param("prefix"),
                                              request.param("version"))
        return envelope(OK, "success", template_to_json(template))

    @staticmethod
    def _template_body(request: Request) -> tuple[Template, bool]:
        """The parsed body and whether it named a status (``status``, or ``state``)."""
        body = _json(request)
        if isinstance(body, dict) and "state" in body:
            body = dict(body)
            state = body.pop("state")
            body.setdefault("status", state)
        named = isinstance(body, dict) and "status" in body
        return template_from_json(body), named

    async def _template_add(self, request: Request) -> Response:
        identity = await self._identity(request)
        template, _ = self._template_body(request)
        if template.state is TemplateState.PUBLISHED:
            template = publish(replace(template, state=TemplateState.DRAFT))
        elif template.state is not TemplateState.DRAFT:
            raise TemplateError(reason="status: a new template is a draft (草稿) or published "
                                       "(已发布)")
        if template.state is TemplateState.PUBLISHED:
            check_indexed(template, self.records.store.index_types)
        admin = AdminData(ALL_PERMISSIONS, identity.handle, identity.index).to_bytes()
        await self.writer.create(_conn(request), identity,
                                 template_handle(template.prefix, template.version),
                                 [template_value(template), HandleValue(100, "HS_ADMIN", admin)])
        return envelope(OK, "success", template_to_json(template))

    async def _template_edit(self, request: Request) -> Response:
        identity = await self._identity(request)
        given, named = self._template_body(request)
        stored = await self._template_named(given.prefix, given.version)
        content = replace(given, state=stored.state)
        result = stored
        if content != stored:
            edit(stored, content.items)  # refuses unless the stored version is a draft
            result = content
        target = given.state if named else stored.state
        if target is not stored.state:
            if target is TemplateState.PUBLISHED:
                result = publish(result)
            elif target is TemplateState.WITHDRAWN:
                result = withdraw(result)
            else:
                raise TemplateError(reason=f"{stored.label()} is {stored.state.value} "
                                           f"({stored.state.chinese}); it cannot become a "
                                           "draft (草稿) again — make a new version")
        if result.state is TemplateState.PUBLISHED and stored.state is not result.state:
            check_indexed(result, self.records.store.index_types)
        if result != stored:
            await self.writer.modify(_conn(request), identity,
                                     template_handle(result.prefix, result.version),
                                     [template_value(result)])
        return envelope(OK, "success", template_to_json(result))

    async def _template_delete(self, request: Request) -> Response:
        identity = await self._identity(request)
        prefix, version = request.param("prefix"), request.param("version")
        if prefix is None and request.body:
            body = _json(request)
            if isinstance(body, dict):
                prefix, version = body.get("prefix"), body.get("version")
        template = await self._template_named(prefix, version)
        if template.state is TemplateState.PUBLISHED:
            raise SnmsFailure(FAILED, f"{template.label()} is published (已发布); withdraw "
                                      "(撤回) it before deleting")
        await self.writer.delete(_conn(request), identity,
                                 template_handle(template.prefix, template.version))
        return envelope(OK, "success")

    # -- copies (复制) and grants (授权) of templates -----------------------------------------
    async def _template_copy(self, request: Request) -> Response:
        """``{from: {prefix, version}, prefix, version[, code, name, description]}``: a new
        draft of ``prefix`` with the items of a published template that is the identity's
        own or granted to it (or to ``prefix``)."""
        identity = await self._identity(request)
        body = _json(request)
        source = body.get("from") if isinstance(body, dict) else None
        if not isinstance(source, dict):
            raise SnmsFailure(FAILED, "the body must be {\"from\": {\"prefix\": …, "
                                      "\"version\": …}, \"prefix\": …, \"version\": …}")
        original = await self._template_named(source.get("prefix"), source.get("version"))
        prefix, version = body.get("prefix"), body.get("version")
        if not isinstance(prefix, str) or not prefix or not isinstance(version, str) \
                or not version:
            raise SnmsFailure(FAILED, "prefix and version of the copy are needed")
        values = await self.templates.values(original.prefix, original.version)
        owner = await self.authorizer.admin_can_read(identity, values)
        copy_allowed(original, grants_of(values), identity, prefix, owner)
        for key in ("code", "name", "description"):
            if key in body and not isinstance(body[key], str):
                raise SnmsFailure(FAILED, f"{key}: must be text")
        copy = replace(original, prefix=prefix, version=version, state=TemplateState.DRAFT,
                       code=body.get("code", original.code),
                       name=body.get("name", original.name),
                       description=body.get("description", original.description))
        admin = AdminData(ALL_PERMISSIONS, identity.handle, identity.index).to_bytes()
        await self.writer.create(_conn(request), identity, template_handle(prefix, version),
                                 [template_value(copy), HandleValue(100, "HS_ADMIN", admin)])
        return envelope(OK, "success", template_to_json(copy))

    async def _owned(self, identity: Identity, prefix: object, version: object
                     ) -> tuple[Template, tuple[HandleValue, ...]]:
        template = await self._template_named(prefix, version)
        values = await self.templates.values(template.prefix, template.version)
        if not await self.authorizer.admin_can_read(identity, values):
            raise SnmsFailure(FORBIDDEN, f"无权限 no permission: only the owner of "
                                         f"{template.label()} reads and edits its grants")
        return template, values

    async def _grant_get(self, request: Request) -> Response:
        """``?prefix=&version=`` → ``{prefix, version, grants}`` (the owner only)."""
        identity = await self._identity(request)
        template, values = await self._owned(identity, request.param("prefix"),
                                             request.param("version"))
        return envelope(OK, "success", {"prefix": template.prefix,
                                        "version": template.version,
                                        "grants": grants_of(values)})

    async def _grant_set(self, request: Request) -> Response:
        """``{prefix, version, grants}`` replaces the list; ``add`` / ``remove`` edit it."""
        identity = await self._identity(request)
        body = _json(request)
        if not isinstance(body, dict) or not {"grants", "add", "remove"} & set(body):
            raise SnmsFailure(FAILED, "the body must be {\"prefix\", \"version\", "
                                      "\"grants\": [...]} or name \"add\" / \"remove\" lists")
        template, values = await self._owned(identity, body.get("prefix"),
                                             body.get("version"))
        if template.state is TemplateState.DRAFT:
            raise SnmsFailure(FAILED, f"{template.label()} is a draft (草稿); publish (发布) "
                                      "it before granting (授权) it")
        grants = edit_grants(grants_of(values), body)
        kept = [v for v in values if v.index != GRANTS_INDEX]
        await self.writer.create(_conn(request), identity,
                                 template_handle(template.prefix, template.version),
                                 [*kept, grants_value(grants)], overwrite=True)
        return envelope(OK, "success", {"prefix": template.prefix,
                                        "version": template.version, "grants": grants})

    # -- registration ---------------------------------------------------------------------
    async def _checked(self, identity: Identity, reg: Registration) -> list[HandleValue]:
        """The record's values: the template check, then the node's own values."""
        template, cited = await self._template_of_registration(identity, reg)
        template_id = template.handle or template_handle(template.prefix, template.version)
        try:
            checked = await avalidate(template, reg.data, exists=self._exists,
                                      template_of=self._template_id_of,
                                      taken=self.unique.taker(template_id, reg.handle))
        except TemplateViolation as exc:
            raise SnmsFailure(FAILED, str(exc)) from None
        return record_values(template, identity, checked, cited=cited)

    async def _template_of_registration(self, identity: Identity, reg: Registration
                                        ) -> tuple[Template, str | None]:
        """The template ``templateVersion`` names (own prefix first, then a granted one of
        another prefix) and, for the latter, the text to keep at index 1001."""
        for prefix, version in template_names(reg.version, reg.handle.prefix):
            template = await self.templates.get(prefix, version)
            if template is None:
                continue
            if same_prefix(prefix, reg.handle.prefix):
                return template, None
            check_use(template, await self.templates.grants(prefix, version), identity,
                      reg.handle.prefix)
            return template, f"{template.prefix}/{template.version}"
        raise SnmsFailure(FAILED, f"templateVersion: 模板不存在 no template version "
                                  f"{reg.version!r} of prefix {reg.handle.prefix}")

    async def _exists(self, text: str) -> bool:
        try:
            return await self.records.get(Handle.parse(text).key) is not None
        except InvalidHandle:
            return False

    async def _template_id_of(self, text: str) -> str | None:
        """The TEMPLATE_ID (index 1000) of the record ``text``, or None."""
        try:
            record = await self.records.get(Handle.parse(text).key)
        except InvalidHandle:
            return None
        if record is None:
            return None
        for value in record.values:
            if value.index == TEMPLATE_ID_INDEX:
                return value.data.decode("utf-8", "replace")
        return None

    async def _register_one(self, conn: Connection, identity: Identity, obj: object) -> str:
        reg = parse_registration(obj, max_handle_bytes=self.max_handle_bytes)
        values = await self._checked(identity, reg)
        try:
            await self.writer.create(conn, identity, reg.handle.text, values)
        except RegistryError as exc:
            if exc.response_code != ResponseCode.HANDLE_ALREADY_EXISTS:
                raise
            # An idempotent retry (idis.md §6.3): same content is success.
            self.records.forget(reg.handle.key)
            record = await self.records.get(reg.handle.key)
            if record is not None and same_content(record.values, values):
                return SAME
            raise SnmsFailure(FAILED, f"已存在 already exists: {reg.handle.text} is "
                                      "registered with other content") from None
        return "success"

    async def _update_one(self, conn: Connection, identity: Identity, obj: object) -> None:
        reg = parse_registration(obj, max_handle_bytes=self.max_handle_bytes)
        values = await self._checked(identity, reg)
        record = await self.records.get(reg.handle.key)
        if record is None:
            raise SnmsFailure(FAILED, f"不存在 does not exist: {reg.handle.text}")
        # The record keeps its administrators and its data rights (数据权限, whose scope the
        # node re-applies to the new values); everything else is replaced.
        kept = [v for v in record.values if v.matches_type("HS_ADMIN") or v.index == RIGHTS_INDEX]
        values = kept + [v for v in values
                         if not v.matches_type("HS_ADMIN") and v.index != RIGHTS_INDEX]
        await self.writer.create(conn, identity, reg.handle.text, values, overwrite=True)

    async def _delete_one(self, conn: Connection, identity: Identity, text: object) -> None:
        if not isinstance(text, str) or not text:
            raise SnmsFailure(FAILED, "handle: missing or not text")
        try:
            await self.writer.delete(conn, identity, text)
        except HandleNotFound:
            raise SnmsFailure(FAILED, f"不存在 does not exist: {text}") from None
        except RegistryError as exc:
            if exc.response_code == ResponseCode.HANDLE_NOT_FOUND:
                raise SnmsFailure(FAILED, f"不存在 does not exist: {text}") from None
            raise

    async def _register(self, request: Request) -> Response:
        identity = await self._identity(request)
        message = await self._register_one(_conn(request), identity, _json(request))
        return envelope(OK, message, None)

    async def _update(self, request: Request) -> Response:
        identity = await self._identity(request)
        await self._update_one(_conn(request), identity, _json(request))
        return envelope(OK, "success")

    async def _delete(self, request: Request) -> Response:
        identity = await self._identity(request)
        body = _json(request)
        await self._delete_one(_conn(request), identity,
                               body.get("handle") if isinstance(body, dict) else None)
        return envelope(OK, "success")

    async def _detail(self, request: Request) -> Response:
        identity = await self._identity(request)
        text = request.param("handle")
        if not text:
            raise SnmsFailure(FAILED, "handle: missing (?handle=)")
        handle = Handle.parse(text, max_length=self.max_handle_bytes)
        record = await self.records.get(handle.key)
        if record is None:
            raise SnmsFailure(FAILED, f"不存在 does not exist: {text}")
        values = await readable_values(record.values, (), (), public_only=False,
                                       identity=identity, authorizer=self.authorizer,
                                       handle=handle.text, requested=text)
        return envelope(OK, "success", record_to_snms(text, values))

    # -- batches --------------------------------------------------------------------------
    @staticmethod
    def _batch(request: Request) -> list[Any]:
        body = _json(request)
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            body = body["data"]
        if not isinstance(body, list):
            raise SnmsFailure(FAILED, "the body must be a JSON array of items")
        if len(body) > MAX_BATCH:
            raise SnmsFailure(FAILED, f"{len(body)} items: at most {MAX_BATCH} per call "
                                      "(100–1500 recommended)")
        return body

    @staticmethod
    def _answer(results: list[Item]) -> Response:
        failed = sum(1 for r in results if r["code"] != OK)
        if not failed:
            return envelope(OK, "success", results)
        return envelope(FAILED, f"{failed} of {len(results)} items failed", results)

    async def _batch_create(self, request: Request) -> Response:
        identity = await self._identity(request)
        items = self._batch(request)
        return self._answer(await self.batches.create(_conn(request), identity, items,
                                                      self._may_create(identity)))

    async def _batch_update(self, request: Request) -> Response:
        identity = await self._identity(request)
        items = self._batch(request)
        conn = _conn(request)

        async def one(obj: object) -> Item:
            try:
                await self._update_one(conn, identity, obj)
                return item_result(handle_of(obj), None)
            except Exception as exc:
                return item_result(handle_of(obj), exc)
        return self._answer(list(await asyncio.gather(*(one(obj) for obj in items))))

    async def _batch_delete(self, request: Request) -> Response:
        identity = await self._identity(request)
        items = self._batch(request)
        conn = _conn(request)

        async def one(obj: object) -> Item:
            text = obj.get("handle") if isinstance(obj, dict) else obj
            try:
                await self._delete_one(conn, identity, text)
                return item_result(str(text), None)
            except Exception as exc:
                return item_result(str(text), exc)
        return self._answer(list(await asyncio.gather(*(one(obj) for obj in items))))

    def _may_create(self, identity: Identity) -> Callable[[str], Awaitable[None]]:
        async def decide(prefix: str) -> None:
            try:
                await self.authorizer.authorize(identity, "create", f"{prefix}/SNMS", None)
            except RegistryError as exc:
                failure = failure_of(exc)
                if failure.status == FORBIDDEN:
                    raise failure from None
                raise
        return decide


Route = Callable[[Request], Awaitable[Response]]


def _routes(api: SnmsApi) -> dict[tuple[str, str], Route]:
    templates: dict[str, Route] = {"GET": api._template_get, "POST": api._template_add,
                                   "PUT": api._template_edit, "DELETE": api._template_delete}
    routes: dict[tuple[str, str], Route] = {
        ("POST", _TOKEN): api._login_plain, ("POST", _TOKEN_V1): api._login_hashed,
        ("POST", _DATA): api._register, ("PUT", _DATA): api._update,
        ("DELETE", _DATA): api._delete, ("GET", _DETAIL): api._detail,
        ("POST", _BATCH_CREATE): api._batch_create,
        ("PUT", _BATCH_UPDATE): api._batch_update,
        ("DELETE", _BATCH_DELETE): api._batch_delete,
        ("GET", _GRANT): api._grant_get, ("GET", _GRANT_INFO): api._grant_get,
        ("POST", _GRANT): api._grant_set,
    }
    for path in (_TEMPLATE, *_TEMPLATE_ALIASES):
        routes.update(((method, path), route) for method, route in templates.items())
    routes.update(((method, _TEMPLATE_V3), templates[method])
                  for method in ("GET", "POST", "DELETE"))
    routes.update((("POST", path), api._template_copy) for path in _COPY)
    routes.update((("GET", path), api._detail) for path in _DETAIL_ALIASES)
    return routes


#: every path the SNMS API answers (the web app routes these to it)
SNMS_PATHS = frozenset({_TOKEN, _TOKEN_V1, _TEMPLATE, _TEMPLATE_V3, *_TEMPLATE_ALIASES, _DATA,
                        _DETAIL, *_DETAIL_ALIASES, _BATCH_CREATE, _BATCH_UPDATE,
                        _BATCH_DELETE, *_COPY, _GRANT, _GRANT_INFO})


def _conn(request: Request) -> Connection:
    return Connection(("http", request.connection_id), "http", request.peer)
