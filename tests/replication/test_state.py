"""Epoch arithmetic: where two histories part, and what promotion writes."""

from __future__ import annotations

import pytest

from idnode.protocol.replication import Epoch, ReplicaRole
from idnode.replication.state import (
    ReplicaState,
    common_point,
    demoted,
    epoch_of,
    load_state,
    promoted,
    save_state,
    trimmed,
)
from idnode.storage import open_store

E1 = (Epoch(1, 1),)
E12 = (Epoch(1, 1), Epoch(2, 41))


def test_epoch_of_an_id() -> None:
    assert epoch_of(E12, 0) == 0
    assert epoch_of(E12, 40) == 1
    assert epoch_of(E12, 41) == 2
    assert epoch_of((), 5) == 0


@pytest.mark.parametrize(("mine", "my_pos", "theirs", "their_pos", "common"), [
    (E1, 30, E1, 50, 30),            # a mirror behind: nothing to undo
    (E1, 50, E1, 30, 30),            # ahead in the same epoch: the source lost a tail
    (E1, 50, E12, 60, 40),           # the old primary after a promotion at 41
    (E12, 60, E1, 50, 40),
    ((Epoch(1, 1), Epoch(2, 41)), 45, (Epoch(1, 1), Epoch(3, 31)), 70, 30),
    ((), 10, E1, 10, 0),             # never part of this history
    (E12, 60, E12, 60, 60),
])
def test_common_point(mine: tuple[Epoch, ...], my_pos: int, theirs: tuple[Epoch, ...],
                      their_pos: int, common: int) -> None:
    assert common_point(mine, my_pos, theirs, their_pos) == common


def test_promotion_starts_a_new_epoch_after_what_the_copy_holds() -> None:
    mirror = ReplicaState(ReplicaRole.MIRROR, (Epoch(1, 1), Epoch(2, 41)), "a:1")
    # The copy holds only up to 30: epoch 2 (from 41) is someone else's future.
    new = promoted(mirror, 30)
    assert new.writable and new.following == ""
    assert new.epochs == (Epoch(1, 1), Epoch(3, 31))
    assert trimmed(mirror.epochs, 30) == (Epoch(1, 1),)
    assert demoted(new, "b:2") == ReplicaState(ReplicaRole.MIRROR, new.epochs, "b:2")


def test_state_survives_reopening(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    with open_store(url) as store:
        assert load_state(store, role="mirror", following="x:1") == \
            ReplicaState(ReplicaRole.MIRROR, (), "x:1")
        state = ReplicaState(ReplicaRole.MIRROR, E12, "x:1", (40, "88.1/K"))
        save_state(store, state)
    with open_store(url) as store:
        assert load_state(store) == state
