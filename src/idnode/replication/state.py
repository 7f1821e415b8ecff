"""A replica's durable state: its role, its epoch history and whom it follows.

The state lives in the store's ``meta`` table, beside the data it describes, so a promotion
or a demotion commits like any write and every worker process of the node sees it.

*Epochs* name histories. The first primary writes epoch 1 from transaction 1; each
promotion starts epoch ``max + 1`` at the promoted store's next transaction id. Two stores
hold the same transaction ``n`` only if their epoch tables agree up to ``n``
(:func:`common_point`), which is how a demoted primary finds the writes only it has.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from idnode.errors import StorageError
from idnode.protocol.replication import Epoch, ReplicaRole
from idnode.storage import Store

__all__ = ["ReplicaState", "common_point", "demoted", "epoch_of", "load_state", "promoted",
           "save_state", "trimmed"]

_KEY = "replication.state"


@dataclass(frozen=True, slots=True)
class ReplicaState:
    role: ReplicaRole
    epochs: tuple[Epoch, ...]
    #: the peer a mirror replicates from ("" for a primary)
    following: str = ""
    #: a dump in progress: (position it was taken at, last key installed)
    dump: tuple[int, str] | None = None

    @property
    def epoch(self) -> int:
        return self.epochs[-1].number if self.epochs else 0

    @property
    def writable(self) -> bool:
        return self.role is ReplicaRole.PRIMARY


def epoch_of(epochs: Sequence[Epoch], txn_id: int) -> int:
    """The epoch transaction ``txn_id`` belongs to (0 for id 0 or before any epoch)."""
    number = 0
    for epoch in epochs:
        if epoch.first_id > txn_id:
            break
        number = epoch.number
    return number if txn_id > 0 else 0


def common_point(mine: Sequence[Epoch], my_position: int, theirs: Sequence[Epoch],
                 their_position: int) -> int:
    """The last transaction id both histories hold alike: the first place the epoch tables
    disagree, capped by both positions."""
    agree = min(my_position, their_position)
    for a, b in zip(mine, theirs, strict=False):
        if a != b:
            return max(0, min(agree, a.first_id - 1, b.first_id - 1))
    if len(mine) != len(theirs):
        longer = mine if len(mine) > len(theirs) else theirs
        return max(0, min(agree, longer[min(len(mine), len(theirs))].first_id - 1))
    return agree


def trimmed(epochs: Sequence[Epoch], position: int) -> tuple[Epoch, ...]:
    """``epochs`` without the ones that begin after ``position + 1`` (epochs a copied table
    announced but this store holds nothing of)."""
    return tuple(e for e in epochs if e.first_id <= position + 1)


def promoted(state: ReplicaState, position: int) -> ReplicaState:
    """The state after promoting a store at ``position``: a new epoch, primary, following no
    one."""
    kept = trimmed(state.epochs, position)
    number = max((e.number for e in state.epochs), default=0) + 1
    return ReplicaState(ReplicaRole.PRIMARY, (*kept, Epoch(number, position + 1)))


def demoted(state: ReplicaState, primary: str) -> ReplicaState:
    return replace(state, role=ReplicaRole.MIRROR, following=primary)


def load_state(store: Store, *, role: str = "primary", following: str = "") -> ReplicaState:
    """The stored state, or one seeded from the configuration (``role``, ``following``)."""
    raw = store.get_meta(_KEY)
    if raw is None:
        if role == "primary":
            return ReplicaState(ReplicaRole.PRIMARY, ())
        return ReplicaState(ReplicaRole.MIRROR, (), following)
    try:
        data = json.loads(raw)
        dump = data.get("dump")
        return ReplicaState(
            ReplicaRole.PRIMARY if data["role"] == "primary" else ReplicaRole.MIRROR,
            tuple(Epoch(int(n), int(f)) for n, f in data["epochs"]),
            str(data.get("following", "")),
            None if dump is None else (int(dump[0]), str(dump[1])))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise StorageError(reason=f"{store.url}: unreadable replication state {raw!r}: "
                                  f"{exc}") from None


def save_state(store: Store, state: ReplicaState) -> None:
    """Write ``state`` as one meta row (one transaction: never half a state)."""
    store.set_meta(_KEY, json.dumps({
        "role": "primary" if state.writable else "mirror",
        "epochs": [[e.number, e.first_id] for e in state.epochs],
        "following": state.following,
        "dump": None if state.dump is None else list(state.dump),
    }))
