"""Stage ``replication``: the read-only gate of a mirror, and the primary's side of
OC 1000 (status), OC 1001 (transaction log) and OC 1002 (dump, digests, fetch).

The replication opcodes are answered only on the TLS replication listener and only to an
identity listed in ``replication.admins`` (authenticated by the ``auth`` stage before this
one). Every member answers them, mirrors included: a mirror's status is how peers find the
primary, and a mirror can feed an escrow copy or be verified.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from idnode.errors import (
    AuthenticationNeeded,
    InsufficientPermissions,
    OperationNotSupported,
    ReadOnly,
    ServerBusy,
)
from idnode.identifiers.value import HandleValue
from idnode.node.batch import BATCH_CREATE
from idnode.node.context import RequestContext
from idnode.node.pipeline import Handler, Response
from idnode.node.records import Records
from idnode.protocol.constants import OpCode, OpFlag, ResponseCode
from idnode.protocol.message import Message
from idnode.protocol.replication import (
    DumpMode,
    DumpRequest,
    DumpResponse,
    FetchedRecord,
    LogEntry,
    LogRequest,
    LogResponse,
    LogStatus,
    StatusResponse,
)
from idnode.replication.replica import Replica
from idnode.replication.state import epoch_of
from idnode.storage import Store, Txn

__all__ = ["REPLICATION_TRANSPORT", "Replication", "status_of"]

#: ``Connection.transport`` of the replication listener.
REPLICATION_TRANSPORT = "tls"
_WRITES = frozenset({OpCode.CREATE_HANDLE, OpCode.DELETE_HANDLE, OpCode.ADD_VALUE,
                     OpCode.REMOVE_VALUE, OpCode.MODIFY_VALUE, OpCode.HOME_PREFIX,
                     OpCode.UNHOME_PREFIX, BATCH_CREATE})
_AUTHORITATIVE = int(OpFlag.AUTHORITATIVE)
#: Bounds on one answer, whatever the asker wants.
_MAX_ENTRIES = 10_000
_MAX_BYTES = 8 << 20
_MAX_WAIT_MS = 30_000
_MAX_PAGE = 10_000
_MAX_FETCH = 10_000
_POLL = 0.002

T = TypeVar("T")


def status_of(store: Store, replica: Replica) -> StatusResponse:
    """This member's OC 1000 answer (reads the store: call off the loop for slow ones)."""
    position = store.position()
    newest = store.txns_after(position - 1, 1) if position else []
    state = replica.state
    return StatusResponse(state.role, replica.server_id, position, store.oldest_txn_id(),
                          int(newest[0].timestamp * 1e6) if newest else 0, state.epochs,
                          state.following)


def _size(values: Sequence[HandleValue]) -> int:
    # An upper estimate of the encoded size, without encoding twice.
    return 64 + sum(len(v.data) + len(v.type) + 64 + 8 * len(v.references) for v in values)


def entry_of(txn: Txn) -> LogEntry:
    return LogEntry(txn.txn_id, int(txn.timestamp * 1e6), txn.op, txn.key, txn.handle,
                    txn.values)


class Replication:
    name = "replication"

    def __init__(self, replica: Replica, records: Records) -> None:
        self.replica = replica
        self.records = records
        self.store = records.store
        self._ops: dict[int, Callable[[RequestContext, Message], Awaitable[Response]]] = {
            OpCode.GET_NEXT_TXN_ID: self._status,
            OpCode.RETRIEVE_TXN_LOG: self._log,
            OpCode.DUMP_HANDLES: self._dump,
        }

    async def handle(self, ctx: RequestContext, request: Message, next_: Handler) -> Response:
        opcode = request.opcode
        if opcode in _WRITES and not self.replica.writable:
            self.records.check_generation()  # a promotion may have just happened
            if not self.replica.writable:
                state = self.replica.state
                raise ReadOnly(reason=f"this server is a read-only mirror (epoch "
                                      f"{state.epoch}) replicating from "
                                      f"{state.following or 'its primary'}; send writes to "
                                      "the primary")
        if opcode in _WRITES and not self.replica.confirmed:
            raise ServerBusy(reason="starting: asking the replication peers whether another "
                                    "member became primary meanwhile; retry in a moment")
        op = self._ops.get(opcode)
        if op is None:
            return await next_(ctx, request)
        self._check_caller(ctx)
        return await op(ctx, request)

    def _check_caller(self, ctx: RequestContext) -> None:
        if ctx.transport != REPLICATION_TRANSPORT:
            raise OperationNotSupported(reason="replication is served only on the TLS "
                                               "replication listener")
        if ctx.identity is None:
            raise AuthenticationNeeded(reason="replication needs an identity")
        allowed = {a.lower() for a in self.replica.config.admins}
        if str(ctx.identity).lower() not in allowed:
            raise InsufficientPermissions(reason=f"{ctx.identity} is not in this node's "
                                                 "replication.admins")

    @staticmethod
    def _ok(request: Message, body: bytes) -> Message:
        return request.reply(ResponseCode.SUCCESS, body,
                             opflags=request.opflags | _AUTHORITATIVE)

    async def _read(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        return await self.records.read(fn, *args, **kwargs)

    # -- OC 1000 ----------------------------------------------------------------------------
    async def _status(self, ctx: RequestContext, request: Message) -> Response:
        self.records.check_generation()
        status = await self._read(status_of, self.store, self.replica)
        return self._ok(request, status.to_wire())

    # -- OC 1001 ----------------------------------------------------------------------------
    async def _log(self, ctx: RequestContext, request: Message) -> Response:
        body = ctx.body
        assert isinstance(body, LogRequest)
        assert ctx.identity is not None
        self.records.check_generation()
        epochs = self.replica.state.epochs
        position = await self._read(self.store.position)
        after = body.after_id
        if after and (after > position or epoch_of(epochs, after) != body.after_epoch):
            return self._ok(request, LogResponse(
                LogStatus.DIVERGED, position, self._common(body, position), epochs).to_wire())
        # The asker has applied ``after``: for synchronous writes that is its acknowledgement.
        self.replica.board.report(str(ctx.identity), after)
        deadline = time.monotonic() + min(body.wait_ms, _MAX_WAIT_MS) / 1000
        while position <= after and time.monotonic() < deadline:
            await asyncio.sleep(_POLL)
            position = await self._read(self.store.position)
        limit = max(1, min(body.max_entries, _MAX_ENTRIES))
        txns = await self._read(self.store.txns_after, after, limit) if position > after \
            else []
        if txns and txns[0].txn_id != after + 1:
            oldest = await self._read(self.store.oldest_txn_id)
            if oldest > after + 1:  # pruned past the asker: it must load a dump
                return self._ok(request, LogResponse(LogStatus.GAP, position, oldest,
                                                     epochs).to_wire())
        entries: list[LogEntry] = []
        size = 0
        budget = max(1, min(body.max_bytes, _MAX_BYTES))
        for txn in txns:
            entry = entry_of(txn)
            size += _size(txn.values)
            if entries and size > budget:
                break
            entries.append(entry)
        self.records.check_generation()
        return self._ok(request, LogResponse(LogStatus.ENTRIES, position, 0,
                                             self.replica.state.epochs,
                                             tuple(entries)).to_wire())

    def _common(self, body: LogRequest, position: int) -> int:
        """A conservative shared point for an asker whose last entry is not ours."""
        epochs = self.replica.state.epochs
        common = min(body.after_id, position)
        later = [e.first_id for e in epochs if e.number > body.after_epoch]
        if later:
            common = min(common, min(later) - 1)
        if not any(e.number == body.after_epoch for e in epochs):
            earlier = [e.first_id for e in epochs if e.number < body.after_epoch]
            common = min(common, (max(earlier) - 1) if earlier else 0)
        return max(0, common)

    # -- OC 1002 ----------------------------------------------------------------------------
    async def _dump(self, ctx: RequestContext, request: Message) -> Response:
        body = ctx.body
        assert isinstance(body, DumpRequest)
        store = self.store
        if body.mode is DumpMode.RECORDS:
            limit = max(1, min(body.limit, _MAX_PAGE))
            records = await self._read(store.dump, after=body.after, limit=limit) \
                if body.limit else []
            homed = await self._read(store.homed_prefixes)
            more = len(records) == limit
            page: list[FetchedRecord] = []
            size = 0
            for record in records:
                size += _size(record.values)
                if page and size > _MAX_BYTES:
                    more = True
                    break
                page.append(FetchedRecord(record.key, record.handle, record.values))
            answer = DumpResponse(DumpMode.RECORDS, tuple(page), tuple(homed),
                                  page[-1].key if more else "")
        elif body.mode is DumpMode.FETCH:
            if len(body.keys) > _MAX_FETCH:
                raise OperationNotSupported(reason=f"at most {_MAX_FETCH} keys per fetch")
            found = await self._read(store.get_records, list(body.keys))
            answer = DumpResponse(DumpMode.FETCH, tuple(
                FetchedRecord(k, found[k].handle, found[k].values) if k in found
                else FetchedRecord(k, None) for k in body.keys))
        elif body.mode is DumpMode.DIGESTS:
            answer = DumpResponse(DumpMode.DIGESTS,
                                  digests=tuple(await self._read(store.bucket_digests)))
        else:
            answer = DumpResponse(DumpMode.HASHES,
                                  hashes=tuple(await self._read(store.bucket_hashes,
                                                                body.bucket)))
        return self._ok(request, answer.to_wire())
