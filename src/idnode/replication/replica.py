"""One worker's view of its node's place in the replication group."""

from __future__ import annotations

import logging
from pathlib import Path

from idnode.config_replication import ReplicationConfig
from idnode.protocol.replication import Epoch, ReplicaRole
from idnode.replication.board import MirrorBoard
from idnode.replication.state import ReplicaState, load_state, save_state
from idnode.storage import Store

__all__ = ["Replica"]

log = logging.getLogger("idnode.replication")


class Replica:
    """The role, epochs and mirror board of a node, re-read when another process changed
    them (the worker calls :meth:`reload` when the store's generation moves).

    A node without ``[replication]`` is a lone primary of epoch 1.
    """

    def __init__(self, config: ReplicationConfig, store: Store, board: MirrorBoard,
                 server_id: int, confirmed_flag: Path | None = None) -> None:
        self.config = config
        self.store = store
        self.board = board
        self.server_id = server_id
        self.state = self._initial()
        # A primary with peers takes writes only once it has asked them whether another
        # member was promoted while it was away (the first worker then creates this file).
        self.confirmed_flag = confirmed_flag
        self._confirmed = confirmed_flag is None or not config.peers

    @property
    def confirmed(self) -> bool:
        if not self._confirmed and self.confirmed_flag is not None:
            self._confirmed = self.confirmed_flag.exists()
        return self._confirmed

    def confirm_primary(self) -> None:
        """The peers were asked (or could not be reached): writes may be taken."""
        if self.confirmed_flag is not None:
            self.confirmed_flag.touch(mode=0o600)
        self._confirmed = True

    def _initial(self) -> ReplicaState:
        state = load_state(self.store, role=self.config.role, following=self.config.primary)
        if state.writable and not state.epochs:
            # The first primary of a history: epoch 1 covers everything it has written.
            state = ReplicaState(ReplicaRole.PRIMARY, (Epoch(1, 1),))
            save_state(self.store, state)
        elif self.store.get_meta("replication.state") is None:
            save_state(self.store, state)
        return state

    def reload(self) -> None:
        self.state = load_state(self.store, role=self.config.role,
                                following=self.config.primary)

    def set_state(self, state: ReplicaState) -> None:
        """Persist ``state`` (the caller bumps the generation so other workers reload)."""
        save_state(self.store, state)
        if state.role is not self.state.role:
            log.warning("this node is now %s (epoch %d)%s",
                        "the primary" if state.writable else "a mirror", state.epoch,
                        f", following {state.following}" if state.following else "")
        self.state = state

    @property
    def writable(self) -> bool:
        return self.state.writable

    @property
    def sync_mirrors(self) -> int:
        return self.config.sync_mirrors if self.state.writable else 0

    async def confirm(self, position: int) -> None:
        """The write queue's hook: in synchronous mode, wait for enough mirrors."""
        mirrors = self.sync_mirrors
        if mirrors:
            await self.board.wait(position, mirrors, self.config.sync_timeout)
