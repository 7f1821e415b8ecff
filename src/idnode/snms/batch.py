"""``batchCreate``: up to 2,000 registrations checked in turn and written as one batch.

Each item is parsed, checked against its template (unique values included) and its prefix's
create right decided (once per prefix: it depends on ``0.NA/<prefix>`` alone); the items that
pass go through the stage chain together as one in-process batch request
(:meth:`ChainWriter.create_many`, :mod:`idnode.node.batch`), where the authoritative stage
checks and authorizes each as a native create and commits them as one group. An item that
exists already with the same content is an idempotent retry and succeeds (``idis.md`` §6.3).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from idnode.auth.identity import Identity
from idnode.errors import RegistryError
from idnode.identifiers.value import HandleValue
from idnode.node.context import Connection
from idnode.node.records import Records
from idnode.protocol.constants import ResponseCode
from idnode.snms.chainwrites import ChainWriter
from idnode.snms.envelope import FAILED, INTERNAL, OK, SnmsFailure, failure_of
from idnode.snms.registration import Registration, parse_registration, same_content

__all__ = ["SAME", "BatchCreator", "Decisions", "Item", "handle_of", "item_result"]

log = logging.getLogger(__name__)

#: items checked before they are handed on to be written (see BatchCreator.create): a whole
#: batch, measured best, since each chunk is a commit of its own and threads do not overlap
#: the checking with the writing (docs/benchmarks.md)
CHUNK = 2000
SAME = "already registered with the same content (已注册，内容相同)"

Item = dict[str, Any]
#: the record's values for a registration: template check, then the node's own values
Check = Callable[[Identity, Registration], Awaitable[list[HandleValue]]]


def item_result(handle: str, exc: BaseException | None, ok_message: str = "success") -> Item:
    if exc is None:
        return {"handle": handle, "msg": ok_message, "code": OK}
    failure = as_failure(exc)
    return {"handle": handle, "msg": failure.message, "code": failure.status}


def as_failure(exc: BaseException) -> SnmsFailure:
    if isinstance(exc, SnmsFailure):
        return exc
    if isinstance(exc, RegistryError):
        return failure_of(exc)
    log.error("internal error in an SNMS request", exc_info=exc)
    return SnmsFailure(INTERNAL, "内部错误 internal error")


def handle_of(obj: object) -> str:
    handle = obj.get("handle") if isinstance(obj, dict) else None
    return handle if isinstance(handle, str) else ""


class Decisions(dict[str, Awaitable[None]]):
    """One shared authorization decision per prefix, made when first needed."""

    def __init__(self, decide: Callable[[str], Awaitable[None]]) -> None:
        super().__init__()
        self._decide = decide

    def __missing__(self, prefix: str) -> Awaitable[None]:
        future = asyncio.ensure_future(self._decide(prefix))
        self[prefix] = future
        return future


class BatchCreator:
    def __init__(self, records: Records, writer: ChainWriter, check: Check, *,
                 max_handle_bytes: int) -> None:
        self.records = records
        self.writer = writer
        self.check = check
        self.max_handle_bytes = max_handle_bytes

    async def create(self, conn: Connection, identity: Identity, items: Sequence[object],
                     decide: Callable[[str], Awaitable[None]]) -> list[Item]:
        """One result per item, in order (``{handle, msg, code}``).

        Items are checked a chunk (:data:`CHUNK`) at a time; each chunk is handed to the
        chain (and so to the storage thread) as soon as it is checked and committed as one
        group; the write queue commits chunks in the order given.
        """
        results: list[Item | None] = [None] * len(items)
        decisions = Decisions(decide)
        writes: list[tuple[list[tuple[int, Registration, tuple[HandleValue, ...]]],
                           asyncio.Future[list[RegistryError | None]]]] = []
        try:
            for start in range(0, len(items), CHUNK):
                ready: list[tuple[int, Registration, tuple[HandleValue, ...]]] = []
                for n in range(start, min(start + CHUNK, len(items))):
                    obj = items[n]
                    try:
                        reg = parse_registration(obj, max_handle_bytes=self.max_handle_bytes)
                        values = tuple(await self.check(identity, reg))
                        await decisions[reg.handle.prefix]
                    except Exception as exc:
                        results[n] = item_result(handle_of(obj), exc)
                        continue
                    ready.append((n, reg, values))
                if ready:
                    writes.append((ready, asyncio.ensure_future(self.writer.create_many(
                        conn, identity, [(reg.handle.text, values)
                                         for _, reg, values in ready]))))
                    await asyncio.sleep(0)  # let the chunk reach the write queue now
            for ready, write in writes:
                await self._settle(ready, write, results)
        finally:
            for _, write in writes:
                write.cancel()  # only those not done: after an error, or a cancelled call
        return [r for r in results if r is not None]

    async def _settle(self, ready: list[tuple[int, Registration, tuple[HandleValue, ...]]],
                      write: asyncio.Future[list[RegistryError | None]],
                      results: list[Item | None]) -> None:
        try:
            outcomes = await write
        except RegistryError as exc:  # the node refused the whole batch (a mirror, say)
            outcomes = [exc] * len(ready)
        for (n, reg, values), outcome in zip(ready, outcomes, strict=True):
            text = reg.handle.text
            if outcome is None:
                results[n] = item_result(text, None)
            elif outcome.response_code == ResponseCode.HANDLE_ALREADY_EXISTS:
                results[n] = await self._existing(reg, values)
            else:
                results[n] = item_result(text, outcome)

    async def _existing(self, reg: Registration, values: Sequence[HandleValue]) -> Item:
        """An idempotent retry (same content) succeeds; other content is a conflict."""
        self.records.forget(reg.handle.key)
        record = await self.records.get(reg.handle.key)
        if record is not None and same_content(record.values, values):
            return item_result(reg.handle.text, None, SAME)
        return item_result(reg.handle.text, SnmsFailure(
            FAILED, f"已存在 already exists: {reg.handle.text} is registered with other "
                    "content"))
