"""Keeping a store a copy of another member's history: the mirror's (and escrow's) loop.

1. Ask the source where it stands (OC 1000).
2. If the two histories part somewhere (a demoted primary's unreplicated writes), keep the
   shared part: move the local entries after the common point to a *divergent* file for the
   operator, fetch the current records of the keys they touched, and go on from there.
3. A new store, one the source's log no longer reaches (retention), or one whose dump was
   interrupted loads a dump: pages of records by key (OC 1002), each page making its key
   range exactly the source's, taken *after* noting the source's position ``T``; then the
   log from ``T`` replays everything that changed while the pages were read. Log entries
   carry whole records, so replaying them over a fuzzy dump converges (a redo log).
4. Follow the log (OC 1001, long poll): apply each page in one transaction with the
   source's transaction ids, which also tells the source how far this copy is (its
   acknowledgement for synchronous writes).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from idnode.errors import ProtocolError, RegistryError
from idnode.identifiers.jsonvalue import values_to_json
from idnode.protocol.replication import (
    DumpMode,
    DumpRequest,
    LogEntry,
    LogRequest,
    LogStatus,
    ReplicaRole,
    StatusResponse,
)
from idnode.replication.client import ReplicaClient
from idnode.replication.state import (
    ReplicaState,
    common_point,
    epoch_of,
    load_state,
    save_state,
    trimmed,
)
from idnode.storage import Record, Store, Txn
from idnode.storage.ops import OP_HOME, OP_UNHOME

__all__ = ["Follower", "FollowerStatus", "SourceChanged"]

log = logging.getLogger("idnode.replication")

_FETCH = 1000
_STATUS_EVERY = 0.5


class SourceChanged(RegistryError):
    """The source is not (or no longer) the one to follow; find the primary again."""

    fmt = "{reason}"


@dataclass(slots=True)
class FollowerStatus:
    """What ``idnode replication status`` and ``/metrics`` show about one copy."""

    name: str
    source: str = ""
    state: str = "starting"
    position: int = 0
    source_position: int = 0
    lag_txns: int = 0
    lag_seconds: float = 0.0
    epoch: int = 0
    last_contact: float = 0.0
    last_error: str = ""
    applied: int = 0
    dumped: int = 0
    dumps: int = 0
    divergences: int = 0
    updated: float = field(default_factory=time.time)


Applied = Callable[[Sequence[str], bool], None]


class Follower:
    """Follows one source into ``store``.

    :param client: the connection to the current source (the caller may switch it).
    :param keep_going: checked between pages; False ends :meth:`follow` (a promotion).
    :param on_applied: called on the loop with the keys changed and whether homed prefixes
        changed (a mirror drops them from its caches).
    :param get_state, set_state: the copy's replication state (a mirror's :class:`Replica`,
        or the escrow store's own meta).
    :param divergent_dir: where local entries unknown to the source are kept.
    """

    def __init__(self, name: str, store: Store, *, get_state: Callable[[], ReplicaState],
                 set_state: Callable[[ReplicaState], None], on_applied: Applied,
                 keep_going: Callable[[], bool], divergent_dir: Path,
                 status_path: Path | None = None, batch_entries: int = 1000,
                 poll_wait: float = 1.0, dump_page: int = 1000) -> None:
        self.name = name
        self.store = store
        self.get_state = get_state
        self.set_state = set_state
        self.on_applied = on_applied
        self.keep_going = keep_going
        self.divergent_dir = divergent_dir
        self.status_path = status_path
        self.batch_entries = batch_entries
        self.poll_wait = poll_wait
        self.dump_page = dump_page
        self.status = FollowerStatus(name)
        self._written = 0.0

    # -- the loop -------------------------------------------------------------------------
    async def follow(self, client: ReplicaClient, *, require_primary: bool = True) -> None:
        """Catch up with the source behind ``client`` and follow it until ``keep_going``
        turns False.

        :raises SourceChanged: the source is a mirror or holds an older history.
        :raises RegistryError: the connection failed, or the source refused.
        """
        source = client.peer.address
        self.status.source = source
        status = await client.status()
        self._contact(status.position)
        state = self.get_state()
        if require_primary and status.role is not ReplicaRole.PRIMARY:
            raise SourceChanged(reason=f"{source} is a mirror"
                                + (f" following {status.following}" if status.following
                                   else ""))
        if status.epoch < state.epoch:
            raise SourceChanged(reason=f"{source} holds epoch {status.epoch}, older than "
                                       f"this copy's {state.epoch}")
        if state.dump is not None or await self._needs_dump(status, state):
            await self._load_dump(client, status)
        else:
            await self._converge(client, status, state)
        await self._tail(client)

    async def _needs_dump(self, status: StatusResponse, state: ReplicaState) -> bool:
        position = await asyncio.to_thread(self.store.position)
        if not state.epochs or (position == 0 and status.position > 0):
            return True  # a new copy starts from a dump, not from replaying all history
        common = common_point(state.epochs, position, status.epochs, status.position)
        return status.position > common and (status.oldest == 0 or status.oldest > common + 1)

    async def _converge(self, client: ReplicaClient, status: StatusResponse,
                        state: ReplicaState) -> None:
        """Drop and repair local entries the source does not share."""
        position = await asyncio.to_thread(self.store.position)
        common = common_point(state.epochs, position, status.epochs, status.position)
        if common < position:
            await self._diverge(client, common)
        self.set_state(replace(self.get_state(), epochs=trimmed(status.epochs, common)))

    async def _set_aside(self, common: int) -> tuple[list[Txn], Path | None]:
        """Move the local entries after ``common`` to a divergent file, then drop them from
        the log (in that order: a full disk stops here, with nothing lost)."""
        tail: list[Txn] = []
        while page := await asyncio.to_thread(self.store.txns_after,
                                              tail[-1].txn_id if tail else common, 10_000):
            tail.extend(page)
        path = self._save_divergent(tail, common) if tail else None
        await asyncio.to_thread(self.store.truncate_txns_after, common)
        return tail, path

    async def _diverge(self, client: ReplicaClient, common: int) -> None:
        self.status.state = "repairing"
        self.status.divergences += 1
        tail, path = await self._set_aside(common)
        keys = sorted({t.key for t in tail if t.op not in (OP_HOME, OP_UNHOME)})
        for start in range(0, len(keys), _FETCH):
            chunk = keys[start:start + _FETCH]
            answer = await client.fetch(chunk)
            repaired: dict[str, Record | None] = {
                r.key: None if r.handle is None else Record(r.handle, r.key, r.values)
                for r in answer.records}
            await asyncio.to_thread(self.store.install, repaired)
        homed_changed = any(t.op in (OP_HOME, OP_UNHOME) for t in tail)
        if homed_changed:
            page = await client.dump(DumpRequest(DumpMode.RECORDS, "", 0))
            await asyncio.to_thread(self.store.install_page, [], after="", through="",
                                    homed=list(page.homed))
        self.on_applied(keys, homed_changed)
        log.warning("%s: %d local transactions after %d were not in the source's history; "
                    "they are kept in %s and their %d handles were re-read from %s",
                    self.name, len(tail), common, path, len(keys), client.peer.address)

    def _save_divergent(self, tail: Sequence[Txn], common: int) -> Path:
        self.divergent_dir.mkdir(parents=True, exist_ok=True)
        path = self.divergent_dir / f"divergent-after-{common}-{time.time_ns()}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for txn in tail:
                out.write(json.dumps({"id": txn.txn_id, "time": txn.timestamp, "op": txn.op,
                                      "handle": txn.handle,
                                      "values": values_to_json(txn.values)},
                                     ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())
        return path

    async def _load_dump(self, client: ReplicaClient, status: StatusResponse) -> None:
        state = self.get_state()
        if state.dump is not None and (status.oldest == 0 or status.oldest > state.dump[0] + 1) \
                and status.position > state.dump[0]:
            state = replace(state, dump=None)  # the log no longer reaches the old dump
        if state.dump is None:
            position = await asyncio.to_thread(self.store.position)
            common = common_point(state.epochs, position, status.epochs, status.position)
            if not state.epochs:
                # Never part of this history (e.g. what `idnode init` wrote): the dump
                # replaces it, and the ids restart from the source's.
                await asyncio.to_thread(self.store.truncate_txns_after, 0)
            elif common < position:  # keep what only this copy had before overwriting it
                tail, path = await self._set_aside(common)
                if tail:
                    self.status.divergences += 1
                    log.warning("%s: %d local transactions kept in %s before loading a dump",
                                self.name, len(tail), path)
            state = replace(state, dump=(status.position, ""))
            self.set_state(state)
            self.status.dumps += 1
            log.info("%s: loading a dump from %s taken at transaction %d", self.name,
                     client.peer.address, status.position)
        assert state.dump is not None
        floor, after = state.dump
        self.status.state = "dumping"
        while True:
            page = await client.dump(DumpRequest(DumpMode.RECORDS, after, self.dump_page))
            records = [Record(r.handle or "", r.key, r.values) for r in page.records]
            last = not page.next_after
            await asyncio.to_thread(
                self.store.install_page, records, after=after,
                through=None if last else page.next_after, homed=list(page.homed),
                floor=floor if last else None)
            self.status.dumped += len(records)
            self._contact(status.position)
            self.write_status()
            if last:
                break
            after = page.next_after
            self.set_state(replace(self.get_state(), dump=(floor, after)))
            if not self.keep_going():
                return
        self.set_state(replace(self.get_state(), dump=None,
                               epochs=trimmed(status.epochs, floor)))
        self.on_applied([], True)
        log.info("%s: dump loaded (%d handles); following the log from %d", self.name,
                 self.status.dumped, floor)

    async def _tail(self, client: ReplicaClient) -> None:
        self.status.state = "following"
        while self.keep_going():
            state = self.get_state()
            position = await asyncio.to_thread(self.store.position)
            request = LogRequest(position, epoch_of(state.epochs, position),
                                 self.batch_entries, wait_ms=int(self.poll_wait * 1000))
            answer = await client.log(request)
            self._contact(answer.position)
            if answer.status is LogStatus.GAP:
                log.warning("%s: the source's log starts at %d, after this copy's %d "
                            "(retention); loading a new dump", self.name, answer.mark,
                            position)
                await self._load_dump(client, await client.status())
                self.status.state = "following"
                continue
            if answer.status is LogStatus.DIVERGED:
                status = await client.status()
                await self._converge(client, status, self.get_state())
                continue
            if answer.epochs != state.epochs:
                self.set_state(replace(state, epochs=answer.epochs))
            if answer.entries:
                await self._apply(answer.entries)
                position = answer.entries[-1].txn_id
            self._lag(position, answer.position, answer.entries)

    async def _apply(self, entries: Sequence[LogEntry]) -> None:
        txns = [Txn(e.txn_id, e.time_us / 1e6, e.op, e.key, e.handle, e.values)
                for e in entries]
        await asyncio.to_thread(self.store.replicate, txns)
        homed = any(t.op in (OP_HOME, OP_UNHOME) for t in txns)
        self.on_applied([t.key for t in txns], homed)
        self.status.applied += len(txns)

    # -- status -----------------------------------------------------------------------------
    def _contact(self, source_position: int) -> None:
        self.status.last_contact = time.time()
        self.status.source_position = source_position
        self.status.last_error = ""

    def _lag(self, position: int, source_position: int,
             entries: Sequence[LogEntry]) -> None:
        status = self.status
        status.position = position
        status.lag_txns = max(0, source_position - position)
        # Behind: the newest entry applied bounds how long ago the next one was written.
        if status.lag_txns == 0:
            status.lag_seconds = 0.0
        elif entries:
            status.lag_seconds = max(0.0, time.time() - entries[-1].time_us / 1e6)
        status.epoch = self.get_state().epoch
        self.write_status()

    def failed(self, exc: BaseException) -> None:
        self.status.state = "disconnected"
        self.status.last_error = str(exc)
        self.write_status(force=True)

    def write_status(self, *, force: bool = False) -> None:
        """Publish the status file (atomic, at most every half second unless forced)."""
        now = time.time()
        if self.status_path is None or (not force and now - self._written < _STATUS_EVERY):
            return
        self._written = now
        self.status.updated = now
        tmp = self.status_path.with_name(self.status_path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(asdict(self.status)), encoding="utf-8")
            os.replace(tmp, self.status_path)
        except OSError as exc:  # a full disk must not stop replication
            log.warning("cannot write %s: %s", self.status_path, exc)


def store_state_access(store: Store) -> tuple[Callable[[], ReplicaState],
                                              Callable[[ReplicaState], None]]:
    """get/set for a copy whose state lives only in its own store (an escrow copy)."""
    def get() -> ReplicaState:
        return load_state(store, role="mirror")

    def put(state: ReplicaState) -> None:
        save_state(store, state)
    return get, put


async def run_with_retries(follower: Follower, connect: Callable[[], Awaitable[ReplicaClient]],
                           *, on_source_trouble: Callable[[BaseException], Awaitable[None]],
                           require_primary: bool = True) -> None:
    """Follow until ``keep_going`` is False, reconnecting with capped backoff."""
    delay = 0.1
    while follower.keep_going():
        client: ReplicaClient | None = None
        try:
            client = await connect()
            await follower.follow(client, require_primary=require_primary)
            delay = 0.1
        except asyncio.CancelledError:
            raise
        except (RegistryError, ProtocolError, OSError) as exc:
            follower.failed(exc)
            log.warning("%s: replication from %s: %s", follower.name,
                        client.peer.address if client else "its source", exc)
            await on_source_trouble(exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        finally:
            if client is not None:
                await client.close()
