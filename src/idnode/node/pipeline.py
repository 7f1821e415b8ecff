"""Stages and the chain that folds them (CoreDNS-style: a node role is a list of stages).

Every stage has one signature, ``async def handle(ctx, request, next) -> Response``, and either
answers or calls ``next``. The order is fixed by :data:`ORDER`, one table in code; a role that
lists stages in another order is refused when the node is built, not discovered at run time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from idnode.errors import ConfigError
from idnode.node.context import RequestContext
from idnode.protocol.message import Message

__all__ = ["ORDER", "Handler", "Response", "Stage", "Stream", "build_chain"]


@dataclass(frozen=True, slots=True)
class Stream:
    """A response of several messages (e.g. OC 105 listing), produced lazily."""

    messages: AsyncIterator[Message]


Response = Message | Stream
Handler = Callable[[RequestContext, Message], Awaitable[Response]]


class Stage(Protocol):
    name: str

    async def handle(self, ctx: RequestContext, request: Message, next_: Handler) -> Response:
        ...


#: The only legal order of stages. A role lists a subsequence of it.
ORDER: tuple[str, ...] = ("guard", "referral", "auth", "replication", "authoritative",
                          "recursive")


async def _end(ctx: RequestContext, request: Message) -> Response:
    # Reached only when no stage answered: the role has no stage for this request.
    from idnode.errors import OperationNotSupported
    raise OperationNotSupported(reason=f"no stage of this node answers opcode {request.opcode}")


def build_chain(stages: Sequence[Stage]) -> Handler:
    """Fold ``stages`` into one handler.

    :raises ConfigError: an unknown stage, a duplicate, or an order other than :data:`ORDER`.
    """
    names = [s.name for s in stages]
    for name in names:
        if name not in ORDER:
            raise ConfigError(key="stages", reason=f"unknown stage {name!r}")
    if len(set(names)) != len(names):
        raise ConfigError(key="stages", reason=f"duplicate stage in {names}")
    ranks = [ORDER.index(n) for n in names]
    if ranks != sorted(ranks):
        raise ConfigError(key="stages", reason=f"stages {names} must follow the order "
                          f"{list(ORDER)}")
    handler: Handler = _end
    for stage in reversed(stages):
        handler = _bind(stage, handler)
    return handler


def _bind(stage: Stage, next_: Handler) -> Handler:
    async def run(ctx: RequestContext, request: Message) -> Response:
        return await stage.handle(ctx, request, next_)
    return run
