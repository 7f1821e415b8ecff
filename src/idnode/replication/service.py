"""What the first worker of a replicating node runs beside serving requests.

* As primary: publish the mirrors' positions, and ask the peers every ``probe_interval``
  who is primary; a peer that is primary in a newer epoch (or in the same epoch with a lower
  server id: two operators promoted at once) means this node was demoted while away, so it
  becomes that peer's mirror (no split brain: its writes from then on are refused, RC 7).
* As mirror: follow the primary; when it cannot be reached or says it is not primary,
  ask the peers and follow whichever is.
* Prune the transaction log past ``retention_days`` (keeping the newest entry).
* Keep each ``[[escrow]]`` copy in step with its source.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Sequence

from idnode.auth.identity import Identity
from idnode.auth.keys import PrivateKey
from idnode.client.auth import PublicKeyAuth
from idnode.config import NodeConfig
from idnode.config_replication import EscrowConfig, Peer
from idnode.errors import RegistryError
from idnode.node.records import Records
from idnode.protocol.replication import ReplicaRole, StatusResponse
from idnode.replication.client import ReplicaClient
from idnode.replication.follower import (
    Follower,
    SourceChanged,
    run_with_retries,
    store_state_access,
)
from idnode.replication.replica import Replica
from idnode.replication.stage import status_of
from idnode.replication.state import ReplicaState, demoted
from idnode.storage import Store, open_store

__all__ = ["ReplicationService", "survey"]

log = logging.getLogger("idnode.replication")

_PRUNE_EVERY = 60.0
_STATUS_EVERY = 1.0


async def survey(peers: Sequence[Peer], auth: PublicKeyAuth,
                 timeout: float) -> list[tuple[Peer, StatusResponse]]:
    """Every reachable peer's status (unreachable ones are left out)."""
    async def ask(peer: Peer) -> tuple[Peer, StatusResponse] | None:
        client = ReplicaClient(peer, auth, timeout=timeout)
        try:
            return peer, await client.status()
        except (RegistryError, OSError) as exc:
            log.debug("peer %s: %s", peer.address, exc)
            return None
        finally:
            await client.close()
    found = await asyncio.gather(*(ask(peer) for peer in peers))
    return [item for item in found if item is not None]


def _rank(status: StatusResponse) -> tuple[int, int]:
    return status.epoch, -status.server_id


class ReplicationService:
    def __init__(self, config: NodeConfig, replica: Replica, records: Records,
                 server_key: PrivateKey) -> None:
        self.config = config
        self.rc = config.replication
        self.replica = replica
        self.records = records
        self.run_dir = config.home / "run"
        self.auth = (PublicKeyAuth(Identity.parse(self.rc.identity), server_key)
                     if self.rc.identity else None)
        self._tasks: list[asyncio.Task[None]] = []
        self._escrow_stores: list[Store] = []
        self.follower: Follower | None = None

    async def start(self) -> None:
        if self.rc.enabled:
            self._tasks.append(asyncio.create_task(self._roles(), name="replication"))
            self._tasks.append(asyncio.create_task(self._publish(), name="replication-status"))
        self._tasks.append(asyncio.create_task(self._prune(), name="txn-log-retention"))
        for escrow in self.config.escrow:
            self._tasks.append(asyncio.create_task(self._escrow(escrow),
                                                   name=f"escrow-{escrow.name}"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for store in self._escrow_stores:
            store.close()

    # -- roles ------------------------------------------------------------------------------
    def _writable(self) -> bool:
        self.records.check_generation()  # picks up `idnode promote` from another process
        return self.replica.writable

    async def _roles(self) -> None:
        while True:
            if self._writable():
                await self._watch_as_primary()
            else:
                await self._follow_as_mirror()

    async def _watch_as_primary(self) -> None:
        while self._writable():
            if self.rc.peers and self.auth is not None:
                newer = await self._newer_primary()
                if newer is None:
                    self.replica.confirm_primary()
                if newer is not None and self._writable():
                    peer, status = newer
                    log.warning("peer %s is primary in epoch %d (this node: epoch %d); this "
                                "node was demoted and now follows it", peer.address,
                                status.epoch, self.replica.state.epoch)
                    self.replica.set_state(demoted(self.replica.state, peer.address))
                    self.records.replicated([], homed_changed=False)
                    self.replica.confirm_primary()  # a mirror now: RC 7 from here on
                    return
            deadline = time.monotonic() + self.rc.probe_interval
            while time.monotonic() < deadline and self._writable():
                await asyncio.sleep(min(0.5, self.rc.probe_interval))

    async def _newer_primary(self) -> tuple[Peer, StatusResponse] | None:
        assert self.auth is not None
        mine = (self.replica.state.epoch, -self.config.server_id)
        found = await survey(self.rc.peers, self.auth, self.rc.connect_timeout)
        primaries = [(p, s) for p, s in found if s.role is ReplicaRole.PRIMARY
                     and _rank(s) > mine]
        return max(primaries, key=lambda item: _rank(item[1]), default=None)

    async def _follow_as_mirror(self) -> None:
        if self.auth is None or not self.replica.state.following:
            # Read-only, following no one (storage replicated underneath): only a promotion
            # changes anything.
            while not self._writable():
                await asyncio.sleep(0.5)
            return
        auth = self.auth
        follower = Follower(
            "mirror", self.records.store, get_state=lambda: self.replica.state,
            set_state=self._set_state, on_applied=self._applied,
            keep_going=lambda: not self._writable(),
            divergent_dir=self.config.home / "replication",
            status_path=self.run_dir / "replication.json",
            batch_entries=self.rc.batch_entries, poll_wait=self.rc.poll_wait,
            dump_page=self.rc.dump_page)
        self.follower = follower
        failures = 0

        async def connect() -> ReplicaClient:
            return ReplicaClient(self.rc.peer(self.replica.state.following), auth,
                                 timeout=self.rc.connect_timeout)

        async def trouble(exc: BaseException) -> None:
            nonlocal failures
            failures += 1
            if isinstance(exc, SourceChanged) or failures >= 2:
                await self._find_primary()
                failures = 0

        await run_with_retries(follower, connect, on_source_trouble=trouble)

    async def _find_primary(self) -> None:
        assert self.auth is not None
        found = await survey(self.rc.peers, self.auth, self.rc.connect_timeout)
        state = self.replica.state
        primaries = [(p, s) for p, s in found
                     if s.role is ReplicaRole.PRIMARY and s.epoch >= state.epoch]
        if not primaries:
            return
        peer, status = max(primaries, key=lambda item: _rank(item[1]))
        if peer.address != state.following:
            log.warning("following %s, primary in epoch %d, instead of %s", peer.address,
                        status.epoch, state.following or "nothing")
            self._set_state(demoted(state, peer.address))

    def _set_state(self, state: ReplicaState) -> None:
        self.replica.set_state(state)
        self.records.replicated([], homed_changed=False)

    def _applied(self, keys: Sequence[str], homed_changed: bool) -> None:
        self.records.replicated(keys, homed_changed=homed_changed)

    # -- status and retention -------------------------------------------------------------
    async def _publish(self) -> None:
        """As primary, write run/replication.json with each mirror's position and lag."""
        path = self.run_dir / "replication.json"
        while True:
            if self._writable():
                store = self.records.store
                status = await asyncio.to_thread(status_of, store, self.replica)
                now = time.time()
                mirrors = [{"identity": identity, "position": position,
                            "lag_txns": max(0, status.position - position),
                            "seen_seconds_ago": round(now - seen, 3) if seen else None}
                           for identity, position, seen in self.replica.board.positions()
                           if identity.lower() != self.rc.identity.lower()]
                _write_json(path, {"name": "primary", "state": "primary",
                                   "position": status.position, "epoch": status.epoch,
                                   "oldest": status.oldest, "mirrors": mirrors,
                                   "sync_mirrors": self.rc.sync_mirrors, "updated": now})
            await asyncio.sleep(_STATUS_EVERY)

    async def _prune(self) -> None:
        retention = self.rc.retention_days * 86_400
        stores = [self.records.store]
        while True:
            for store in [*stores, *self._escrow_stores]:
                try:
                    removed = await asyncio.to_thread(store.prune_txns,
                                                      before=time.time() - retention, keep=1)
                except RegistryError as exc:
                    log.warning("pruning the transaction log of %s: %s", store.url, exc)
                    continue
                if removed:
                    log.info("pruned %d transaction-log entries older than %g days from %s",
                             removed, self.rc.retention_days, store.url)
            await asyncio.sleep(min(_PRUNE_EVERY, max(1.0, retention / 10)))

    # -- escrow -----------------------------------------------------------------------------
    async def _escrow(self, escrow: EscrowConfig) -> None:
        if self.auth is None:
            log.error("escrow %s needs replication.identity", escrow.name)
            return
        auth = self.auth
        store = await asyncio.to_thread(_open_escrow, self.config, escrow)
        self._escrow_stores.append(store)
        get, put = store_state_access(store)
        follower = Follower(
            f"escrow {escrow.name}", store, get_state=get, set_state=put,
            on_applied=lambda keys, homed: None, keep_going=lambda: True,
            divergent_dir=self.config.home / "escrow" / f"{escrow.name}.divergent",
            status_path=self.run_dir / f"escrow-{escrow.name}.json",
            batch_entries=self.rc.batch_entries, poll_wait=self.rc.poll_wait,
            dump_page=self.rc.dump_page)

        async def connect() -> ReplicaClient:
            return ReplicaClient(escrow.source, auth, timeout=self.rc.connect_timeout)

        async def trouble(exc: BaseException) -> None:
            return None

        await run_with_retries(follower, connect, on_source_trouble=trouble,
                               require_primary=False)


def _open_escrow(config: NodeConfig, escrow: EscrowConfig) -> Store:
    if escrow.storage_url.startswith("sqlite:///"):
        path = escrow.storage_url[len("sqlite://"):]
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    return open_store(escrow.storage_url, max_values=config.limits.max_values_per_handle,
                      sync=config.storage_sync, index_types=config.reverse_index_types)


def _write_json(path: os.PathLike[str] | str, data: object) -> None:
    tmp = f"{os.fspath(path)}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot write %s: %s", path, exc)
