"""Group commit: the one path by which a worker's writes reach storage.

Writes from all connections are queued; one task hands whatever is queued (up to
``batch_max`` operations) to the storage thread as a single ``Store.apply`` call, which runs
each operation in its own savepoint inside one transaction and commits once. A caller's future
resolves only after that commit, so an acknowledged write is durable, while under load the
cost of an fsync is shared by every write in the batch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Awaitable, Callable, Sequence

from idnode.errors import RegistryError, ServerBusy
from idnode.storage import Store
from idnode.storage.ops import WriteOp, WriteResult

__all__ = ["WriteQueue"]

log = logging.getLogger("idnode.server")


class WriteQueue:
    """Serialises a worker's writes into group commits on a dedicated storage thread.

    :param on_commit: called on the event loop with the operations that succeeded, after
        every commit that changed something and before any caller is answered.
    """

    def __init__(self, store: Store, *, batch_max: int = 256, max_queued: int = 100_000,
                 on_commit: Callable[[Sequence[WriteOp]], None] | None = None,
                 confirm: Callable[[int], Awaitable[None]] | None = None) -> None:
        self._store = store
        #: awaited with the store's position after a write's commit, before the write is
        #: answered (synchronous replication waits there for mirrors)
        self.confirm = confirm
        self._position = 0
        self._batch_max = batch_max
        self._max_queued = max_queued
        self._on_commit = on_commit
        #: (operations, future of their results): a lone write or a whole batch
        self._queue: list[tuple[Sequence[WriteOp], asyncio.Future[list[WriteResult]]]] = []
        self._queued = 0  # operations in the queue
        self._wakeup = asyncio.Event()
        self._executor = concurrent.futures.ThreadPoolExecutor(1, "idnode-writer")
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="write-queue")

    async def submit(self, op: WriteOp) -> WriteResult:
        """Queue ``op``; return its result after the commit, or raise its error."""
        [result] = await self._enqueue((op,))
        if isinstance(result, RegistryError):
            raise result
        if self.confirm is not None:
            await self.confirm(self._position)
        return result

    async def submit_many(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Queue ``ops`` together (one group commit, however many ``batch_max`` allows
        otherwise); return each one's result, an error included, after the commit."""
        if not ops:
            return []
        results = await self._enqueue(ops)
        if self.confirm is not None and any(not isinstance(r, RegistryError) for r in results):
            await self.confirm(self._position)
        return results

    async def _enqueue(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        if self._closing:
            raise ServerBusy(reason="server is shutting down")
        if self._queued + len(ops) > self._max_queued:
            raise ServerBusy(reason="write queue is full")
        future: asyncio.Future[list[WriteResult]] = asyncio.get_running_loop().create_future()
        self._queue.append((ops, future))
        self._queued += len(ops)
        self._wakeup.set()
        return await future

    def _take(self) -> list[tuple[Sequence[WriteOp], asyncio.Future[list[WriteResult]]]]:
        """The next group: queued entries up to ``batch_max`` operations (a batch submitted
        together is never split)."""
        taken = 0
        for n, (ops, _) in enumerate(self._queue):
            if n and taken + len(ops) > self._batch_max:
                break
            taken += len(ops)
        else:
            n = len(self._queue)
        group = self._queue[:n]
        del self._queue[:n]
        self._queued -= taken
        return group

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                group = self._take()
                ops = [op for entry, _ in group for op in entry]
                try:
                    results = await loop.run_in_executor(self._executor, self._apply, ops)
                except Exception as exc:  # the commit failed: nothing was acknowledged
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                done = [op for op, r in zip(ops, results, strict=True)
                        if not isinstance(r, RegistryError)]
                try:
                    if self._on_commit is not None and done:
                        self._on_commit(done)
                except Exception:  # the writes are committed: answer them regardless
                    log.exception("after-commit hook failed")
                finally:
                    start = 0
                    for entry, future in group:
                        if not future.done():
                            future.set_result(results[start:start + len(entry)])
                        start += len(entry)
            if self._closing and not self._queue:
                return

    def _apply(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        # New records are worked out before the write transaction (and so before the
        # database's write lock, which other workers wait for) is taken; a lone write is
        # never part of a run of creates, so there is nothing to work out for it.
        prepared = self._store.prepare_creates(ops) if len(ops) > 1 else None
        plan = None if prepared is None else self._store.plan_run(ops, prepared)
        results = self._store.apply(ops, prepared, plan)
        if self.confirm is not None:
            # At least this batch's last id (another process may have committed after it:
            # waiting for that too costs a little latency, never safety).
            self._position = self._store.position()
        return results

    async def close(self) -> None:
        """Finish everything queued, then stop the storage thread."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)
