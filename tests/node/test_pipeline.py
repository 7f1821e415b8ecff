"""Stage order is one table in code; a chain in another order is refused."""

from __future__ import annotations

import pytest

from idnode.errors import ConfigError, OperationNotSupported
from idnode.node.context import Connection, RequestContext
from idnode.node.pipeline import ORDER, Handler, Response, build_chain
from idnode.protocol.message import Message
from node.conftest import run


class Recorder:
    def __init__(self, name: str, log: list[str], answer: bool = False) -> None:
        self.name = name
        self.log = log
        self.answer = answer

    async def handle(self, ctx: RequestContext, request: Message, next_: Handler) -> Response:
        self.log.append(self.name)
        if self.answer:
            return request.reply(1)
        return await next_(ctx, request)


CTX = RequestContext(Connection(("test",), "udp", ("127.0.0.1", 1)))


def test_stages_run_in_table_order() -> None:
    log: list[str] = []
    chain = build_chain([Recorder("guard", log), Recorder("auth", log),
                         Recorder("authoritative", log, answer=True)])
    reply = run(chain(CTX, Message(1)))
    assert log == ["guard", "auth", "authoritative"]
    assert isinstance(reply, Message) and reply.response_code == 1


@pytest.mark.parametrize(("names", "words"), [
    (["auth", "guard"], "must follow the order"),
    (["guard", "guard"], "duplicate"),
    (["guard", "cache-me"], "unknown stage"),
])
def test_bad_chains_are_refused(names: list[str], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        build_chain([Recorder(n, []) for n in names])


def test_a_request_no_stage_answers_is_not_supported() -> None:
    chain = build_chain([Recorder("guard", [])])
    with pytest.raises(OperationNotSupported):
        run(chain(CTX, Message(1)))


def test_order_table_starts_with_the_guard() -> None:
    # Answering stages come last: a referral or authentication decides before them.
    assert ORDER[0] == "guard"
    assert ORDER.index("referral") < ORDER.index("auth") < ORDER.index("authoritative")
    assert ORDER[-1] == "recursive"
