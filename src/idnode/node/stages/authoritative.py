"""Stage ``authoritative``: answers from this node's own storage.

Resolution (OC 1), site info (OC 2), the administrative operations (OC 100–105) and prefix
homing (OC 300–302). Every write is authorized first (HS_ADMIN / HS_VLIST, or a server admin,
or a writer named by the record's data rights) and then goes through the worker's
group-commit queue.

Data rights (数据权限, :mod:`idnode.identifiers.values.rights`): resolution returns non-public
business values to the readers and writers the record's IDIS.AUTH value grants them to
(:func:`readable_values`, shared with the REST and SNMS APIs), and every write stores values
as that value says: the IDIS.AUTH value itself never publicly readable, and under reader
scope 2 business values (index 2000 and up) without PUB_READ, whoever writes them, so a
writer of another enterprise cannot publish what the owner scoped.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from idnode.auth.identity import Identity
from idnode.auth.permissions import Authorizer
from idnode.errors import (
    AuthenticationNeeded,
    HandleNotFound,
    InsufficientPermissions,
    InvalidHandle,
    InvalidValue,
    NotResponsible,
    OutOfDateSiteInfo,
    RegistryError,
    ValuesNotFound,
    WriteConflict,
)
from idnode.identifiers.handle import PREFIX_NA, Handle, strip_prefix_handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values import decode_data
from idnode.identifiers.values.rights import RIGHTS_INDEX, rights_of, with_scope
from idnode.identifiers.values.site import SiteData
from idnode.node.batch import BATCH_CREATE, BatchCreate
from idnode.node.context import RequestContext
from idnode.node.pipeline import Handler, Response, Stream
from idnode.node.records import Records
from idnode.node.writes import WriteQueue
from idnode.protocol.bodies import (
    AddValueRequest,
    CreateHandleRequest,
    CreateHandleResponse,
    HandleRequest,
    ListHandlesResponse,
    ModifyValueRequest,
    RemoveValueRequest,
    ResolutionRequest,
    ResolutionResponse,
    SiteInfoResponse,
)
from idnode.protocol.constants import OpCode, OpFlag, ResponseCode
from idnode.protocol.message import Message
from idnode.storage import Record
from idnode.storage.ops import (
    AddValues,
    CreateHandle,
    DeleteHandle,
    HomePrefix,
    ModifyValues,
    RemoveValues,
    UnhomePrefix,
    WriteOp,
)

__all__ = ["Authoritative", "AuthoritativeSettings", "readable_values", "select_values"]

_INT32_MAX = 0x7FFF_FFFF
_UNKNOWN_SERIAL = 0xFFFF
_WRITE_ATTEMPTS = 3
# Plain ints: an IntFlag operation costs ~0.7 µs, several times per request.
_AUTHORITATIVE = int(OpFlag.AUTHORITATIVE)
_PUBLIC_ONLY = int(OpFlag.PUBLIC_ONLY)
_OVERWRITE = int(OpFlag.OVERWRITE)
_MINT = int(OpFlag.MINT_NEW_SUFFIX)


@dataclass(frozen=True, slots=True)
class AuthoritativeSettings:
    max_values: int = 2048
    max_handle_bytes: int = 2048
    list_page_size: int = 1000


def select_values(values: Sequence[HandleValue], indexes: Sequence[int],
                  types: Sequence[str]) -> list[HandleValue]:
    """The resolution filter: no indexes and no types means all values; otherwise a value
    is selected when its index is listed or its type matches a listed type."""
    if not indexes and not types:
        return list(values)
    wanted = set(indexes)
    return [v for v in values
            if v.index in wanted or any(v.matches_type(t) for t in types)]


async def readable_values(values: Sequence[HandleValue], indexes: Sequence[int],
                          types: Sequence[str], *, public_only: bool,
                          identity: Identity | None, authorizer: Authorizer, handle: str,
                          requested: str) -> list[HandleValue]:
    """What a resolution returns: the selected values a reader may see.

    Public-only requests get public values; otherwise non-public values need an identity
    (:class:`AuthenticationNeeded` without one) that may read the record: an administrator
    with READ_VALUE (or a server admin) reads every admin-readable value, a reader or writer
    named by the record's data rights (IDIS.AUTH, :mod:`idnode.identifiers.values.rights`)
    the business values it is granted, anyone else the public values only.

    :raises ValuesNotFound: nothing is left (RC 200), naming ``requested``.
    :raises InsufficientPermissions: nothing is left because the values that matched are
        not readable by ``identity`` (RC 401).
    """
    selected = select_values(values, indexes, types)
    if public_only:
        selected = [v for v in selected if v.public_read]
    elif any(not v.public_read for v in selected):
        if identity is None:
            raise AuthenticationNeeded(reason="the record has values that are not public")
        matched = selected
        if await authorizer.can_read(identity, handle, values):
            selected = [v for v in selected if v.public_read or v.admin_read]
        else:
            grant = await authorizer.data_grant(identity, values)
            selected = [v for v in selected if v.public_read or (
                grant is not None and v.admin_read and grant.covers(v.index))]
            if not selected:
                withheld = ", ".join(str(v.index) for v in matched[:20])
                raise InsufficientPermissions(
                    reason=f"{identity} may not read values {withheld} of {requested}: not "
                           "an administrator with READ_VALUE, and not granted them by the "
                           "identifier's data rights (数据权限)")
    if not selected:
        raise ValuesNotFound(handle=requested, reason="no value matches the request")
    return selected


class Authoritative:
    name = "authoritative"

    def __init__(self, settings: AuthoritativeSettings, records: Records, writes: WriteQueue,
                 authorizer: Authorizer, site: SiteData) -> None:
        self.settings = settings
        self.records = records
        self.writes = writes
        self.authorizer = authorizer
        self.site_data = site
        self._site_bytes = site.to_bytes()
        self._ops: dict[int, Callable[[RequestContext, Message], Awaitable[Response]]] = {
            OpCode.RESOLUTION: self._resolve,
            OpCode.GET_SITE_INFO: self._site_info,
            OpCode.CREATE_HANDLE: self._create,
            OpCode.DELETE_HANDLE: self._delete,
            OpCode.ADD_VALUE: self._add,
            OpCode.REMOVE_VALUE: self._remove,
            OpCode.MODIFY_VALUE: self._modify,
            OpCode.LIST_HANDLES: self._list,
            OpCode.HOME_PREFIX: self._home,
            OpCode.UNHOME_PREFIX: self._unhome,
            OpCode.LIST_HOMED_PREFIXES: self._list_homed,
            BATCH_CREATE: self._create_many,
        }

    async def handle(self, ctx: RequestContext, request: Message, next_: Handler) -> Response:
        op = self._ops.get(request.opcode)
        if op is None:
            return await next_(ctx, request)
        return await op(ctx, request)

    # -- helpers ------------------------------------------------------------------------
    def _handle(self, text: str, *, allow_empty_suffix: bool = False,
                serial: int = _UNKNOWN_SERIAL) -> Handle:
        handle = Handle.parse(text, max_length=self.settings.max_handle_bytes,
                              allow_empty_suffix=allow_empty_suffix)
        if not self.records.responsible_for(handle):
            owner = self.records.share_owner(handle.key)
            if owner is None or not self.records.homed_for(handle):
                raise NotResponsible(handle=text, prefix=handle.prefix)
            site = self.site_data
            where = (f"it belongs to server {site.servers[owner].server_id} of this site "
                     f"(hash rule, site serial {site.serial})")
            if serial not in (_UNKNOWN_SERIAL, site.serial):
                raise OutOfDateSiteInfo(reason=f"your site info has serial {serial}; {where}")
            raise NotResponsible(f"server not responsible for {text}: {where}")
        return handle

    @staticmethod
    def _ok(request: Message, body: bytes = b"") -> Message:
        return request.reply(ResponseCode.SUCCESS, body,
                             opflags=request.opflags | _AUTHORITATIVE)

    def _check_values(self, values: Sequence[HandleValue],
                      done: dict[int, HandleValue] | None = None) -> tuple[HandleValue, ...]:
        """Validate client values and stamp them with the server's time.

        :param done: for a batch, value objects already checked (by ``id``) and their
            stamped forms: a value shared by many items is checked and stamped once.
        """
        if len(values) > self.settings.max_values:
            raise InvalidValue(reason=f"{len(values)} values exceed the limit of "
                                      f"{self.settings.max_values} per handle")
        now = int(time.time())
        seen: set[int] = set()
        out = []
        for value in values:
            if not 1 <= value.index <= _INT32_MAX:
                raise InvalidValue(reason=f"index {value.index} is not between 1 and "
                                          f"{_INT32_MAX}")
            if value.index in seen:
                raise InvalidValue(reason=f"index {value.index} appears twice")
            seen.add(value.index)
            if done is not None and (stamped := done.get(id(value))) is not None:
                out.append(stamped)
                continue
            if not value.type:
                raise InvalidValue(reason=f"value {value.index} has an empty type")
            decode_data(value.type, value.data)
            stamped = value.with_timestamp(now)
            if done is not None:
                done[id(value)] = stamped
            out.append(stamped)
        return tuple(out)

    def _need_identity(self, ctx: RequestContext, what: str) -> None:
        if ctx.identity is None:
            raise AuthenticationNeeded(reason=what)

    async def _commit(self, op: WriteOp) -> object:
        return await self.writes.submit(op)

    # -- resolution -----------------------------------------------------------------------
    async def _resolve(self, ctx: RequestContext, request: Message) -> Response:
        body = ctx.body
        assert isinstance(body, ResolutionRequest)
        handle = self._handle(body.handle, serial=request.site_serial)
        record = await self.records.get(handle.key)
        if record is None:
            raise HandleNotFound(handle=body.handle)
        values = await readable_values(record.values, body.indexes, body.types,
                                       public_only=bool(request.opflags & _PUBLIC_ONLY),
                                       identity=ctx.identity, authorizer=self.authorizer,
                                       handle=handle.text, requested=body.handle)
        return self._ok(request, ResolutionResponse(body.handle, tuple(values)).to_wire())

    async def _site_info(self, ctx: RequestContext, request: Message) -> Response:
        return self._ok(request, SiteInfoResponse(self._site_bytes).to_wire())

    # -- handle administration --------------------------------------------------------------
    async def _create(self, ctx: RequestContext, request: Message) -> Response:
        body = ctx.body
        assert isinstance(body, CreateHandleRequest)
        mint = bool(request.opflags & _MINT)
        handle = self._handle(body.handle, allow_empty_suffix=mint, serial=request.site_serial)
        if mint:
            base = body.handle if body.handle.endswith("/") else body.handle + "/"
            handle = self._handle(base + str(uuid.uuid4()))
        # Authentication comes first (as in CNRI): the unauthenticated first pass of every
        # write costs only this, and values are validated once, on the authenticated pass.
        self._need_identity(ctx, "creating a handle")
        assert ctx.identity is not None
        values = self._check_values(body.values)
        values = with_scope(values, rights_of(values))
        overwrite = bool(request.opflags & _OVERWRITE)
        identity = ctx.identity

        async def attempt(record: Record | None) -> WriteOp:
            if not overwrite or record is None:
                # Authorized as a new handle: a record created meanwhile is never replaced
                # (the store refuses with RC 101 instead).
                await self.authorizer.authorize(identity, "create", handle.text, None,
                                                new_values=values)
                return CreateHandle(handle, values, False)
            await self.authorizer.authorize(identity, "create", handle.text, record.values,
                                            new_values=values)
            return CreateHandle(handle, values, True, expect=record.values)

        await self._guarded(handle, attempt, read=overwrite)
        if mint:
            return self._ok(request, CreateHandleResponse(handle.text).to_wire())
        return self._ok(request)

    async def _create_many(self, ctx: RequestContext, request: Message) -> Response:
        """A batch of creates (:mod:`idnode.node.batch`): each item checked, stamped and
        authorized as :meth:`_create` does a new handle, then all committed as one group."""
        body = ctx.body
        assert isinstance(body, BatchCreate)
        self._need_identity(ctx, "creating handles")
        assert ctx.identity is not None
        identity = ctx.identity
        results: list[RegistryError | None] = [None] * len(body.items)
        ops: list[WriteOp] = []
        slots: list[int] = []
        # A new handle's create right is decided by its prefix's record alone (ADD_HANDLE
        # in 0.NA/<prefix>), so one decision serves the batch's items of a prefix.
        decided: dict[str, RegistryError | None] = {}
        # keyed by id(): the items' value objects stay referenced by body until the end
        done: dict[int, HandleValue] = {}
        for n, (text, given) in enumerate(body.items):
            try:
                handle = self._handle(text)
                values = self._check_values(given, done)
                values = with_scope(values, rights_of(values))
                prefix = handle.key.partition("/")[0]
                if prefix == PREFIX_NA or prefix not in decided:
                    try:
                        await self.authorizer.authorize(identity, "create", handle.text, None,
                                                        new_values=values)
                        decided[prefix] = None
                    except RegistryError as exc:
                        decided[prefix] = exc
                refused = decided[prefix]
                if refused is not None:
                    raise refused
            except RegistryError as exc:
                results[n] = exc
                continue
            ops.append(CreateHandle(handle, values, False))
            slots.append(n)
        for n, result in zip(slots, await self.writes.submit_many(ops), strict=True):
            if isinstance(result, RegistryError):
                results[n] = result
        body.results = results
        return self._ok(request)

    async def _delete(self, ctx: RequestContext, request: Message) -> Response:
        return await self._change(ctx, request, "delete", "deleting a handle")

    async def _add(self, ctx: RequestContext, request: Message) -> Response:
        return await self._change(ctx, request, "add", "adding values")

    async def _modify(self, ctx: RequestContext, request: Message) -> Response:
        return await self._change(ctx, request, "modify", "modifying values")

    async def _remove(self, ctx: RequestContext, request: Message) -> Response:
        return await self._change(ctx, request, "remove", "removing values")

    async def _change(self, ctx: RequestContext, request: Message, operation: str,
                      what: str) -> Response:
        """Delete, add, modify or remove on an existing handle: validate, authenticate,
        authorize against the record's own HS_ADMIN values, then commit."""
        body = ctx.body
        assert isinstance(body, HandleRequest | AddValueRequest | ModifyValueRequest
                          | RemoveValueRequest)
        handle = self._handle(body.handle, serial=request.site_serial)
        self._need_identity(ctx, what)
        assert ctx.identity is not None
        values: tuple[HandleValue, ...] = ()
        if isinstance(body, AddValueRequest | ModifyValueRequest):
            values = self._check_values(body.values)
        removed = tuple(body.indexes) if isinstance(body, RemoveValueRequest) else ()
        identity = ctx.identity
        overwrite = bool(request.opflags & _OVERWRITE)

        async def attempt(record: Record | None) -> WriteOp:
            if record is None:
                raise HandleNotFound(handle=handle.text)
            stored = values
            if values:  # kept as the record's data rights (possibly the new ones) say
                source = (values if any(v.index == RIGHTS_INDEX for v in values)
                          else record.values)
                stored = with_scope(values, rights_of(source))
            await self.authorizer.authorize(identity, operation, handle.text, record.values,
                                            new_values=stored, removed_indexes=removed)
            expect = record.values
            if operation == "delete":
                return DeleteHandle(handle, expect=expect)
            if operation == "add":
                return AddValues(handle, stored, overwrite, expect=expect)
            if operation == "modify":
                return ModifyValues(handle, stored, expect=expect)
            return RemoveValues(handle, removed, expect=expect)

        await self._guarded(handle, attempt)
        return self._ok(request)

    async def _guarded(self, handle: Handle,
                       attempt: Callable[[Record | None], Awaitable[WriteOp]], *,
                       read: bool = True) -> object:
        """Authorize against the record as read and commit only if it is still that record.

        A write that raced another change to the same record is re-read, re-authorized and
        retried; after three conflicts the client is told to retry (RC 3).
        """
        for _ in range(_WRITE_ATTEMPTS):
            record = await self.records.get(handle.key) if read else None
            op = await attempt(record)
            try:
                return await self._commit(op)
            except WriteConflict:
                self.records.forget(handle.key)
        raise WriteConflict(handle=handle.text)

    # -- listing and homing ---------------------------------------------------------------
    def _prefix_of(self, text: str) -> str:
        prefix = strip_prefix_handle(text).strip()
        if not prefix or "/" in prefix:
            raise InvalidHandle(handle=text, reason="expected a prefix or 0.NA/<prefix>")
        return prefix

    async def _list(self, ctx: RequestContext, request: Message) -> Response:
        body = ctx.body
        assert isinstance(body, HandleRequest)
        prefix = self._prefix_of(body.handle)
        prefix_handle = self._handle(f"{PREFIX_NA}/{prefix}")
        self._need_identity(ctx, "listing handles")
        assert ctx.identity is not None
        record = await self.records.get(prefix_handle.key)
        await self.authorizer.authorize(ctx.identity, "list", prefix_handle.text,
                                        record.values if record else None)
        return Stream(self._pages(request, prefix))

    async def _pages(self, request: Message, prefix: str) -> AsyncIterator[Message]:
        records = self.records
        size = self.settings.list_page_size
        page = await records.list_handles(prefix, limit=size)
        while True:
            nxt: list[str] = []
            if len(page) == size:
                nxt = await records.list_handles(prefix, after=page[-1], limit=size)
            more = bool(nxt)
            flags = request.opflags | OpFlag.AUTHORITATIVE
            flags = flags | OpFlag.CONTINUOUS if more else flags & ~OpFlag.CONTINUOUS
            yield request.reply(ResponseCode.SUCCESS,
                                ListHandlesResponse(tuple(page)).to_wire(), opflags=flags)
            if not more:
                return
            page = nxt

    async def _server_admin(self, ctx: RequestContext, what: str) -> None:
        self._need_identity(ctx, what)
        assert ctx.identity is not None
        if not await self.authorizer.is_server_admin(ctx.identity):
            raise InsufficientPermissions(reason=f"{ctx.identity} is not a server "
                                                 f"administrator ({what})")

    async def _home(self, ctx: RequestContext, request: Message) -> Response:
        body = ctx.body
        assert isinstance(body, HandleRequest)
        prefix = self._prefix_of(body.handle)
        await self._server_admin(ctx, f"homing {prefix}")
        await self._commit(HomePrefix(prefix))
        return self._ok(request)

    async def _unhome(self, ctx: RequestContext, request: Message) -> Response:
        body = ctx.body
        assert isinstance(body, HandleRequest)
        prefix = self._prefix_of(body.handle)
        await self._server_admin(ctx, f"unhoming {prefix}")
        await self._commit(UnhomePrefix(prefix))
        return self._ok(request)

    async def _list_homed(self, ctx: RequestContext, request: Message) -> Response:
        await self._server_admin(ctx, "listing homed prefixes")
        prefixes = tuple(f"{PREFIX_NA}/{p}" for p in sorted(self.records.homed))
        return self._ok(request, ListHandlesResponse(prefixes).to_wire())
