"""The UDP fast path answers exactly as the full stage chain does, or declines."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import pytest

from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.node.worker import Assembly
from idnode.protocol.bodies import ResolutionRequest
from idnode.protocol.constants import DEFAULT_RESOLUTION_FLAGS, OpFlag
from idnode.protocol.message import Message, decode_frame
from idnode.storage import Store
from node.conftest import run

PEER = ("127.0.0.1", 40000)


def request(handle: str, *, flags: int = DEFAULT_RESOLUTION_FLAGS, major: int = 2,
            minor: int = 3, suggested: tuple[int, int] = (2, 11), types: tuple[str, ...] = (),
            request_id: int = 5) -> bytes:
    return Message(1, opflags=flags, request_id=request_id, major=major, minor=minor,
                   suggested_major=suggested[0], suggested_minor=suggested[1],
                   expiration=0x5F000000,
                   body=ResolutionRequest(handle, (), types).to_wire()).to_frame()


async def full_path(parts: Assembly, data: bytes) -> list[bytes]:
    parts.datagrams.fast = None
    result = parts.datagrams.datagram(data, PEER)
    assert inspect.isawaitable(result)
    return await result


CASES = [
    ("found", "88.100.1/A", {}),
    ("found, other case of prefix", "88.ab/X", {}),
    ("0.NA handle in lower case", "0.na/88.ab", {}),
    ("not found", "88.100.1/MISSING", {}),
    ("2.10 without suggestion", "88.100.1/A", {"minor": 10, "suggested": (0, 0)}),
    ("2.11", "88.100.1/A", {"minor": 11, "suggested": (2, 11)}),
]


@pytest.mark.parametrize(("name", "handle", "kw"), CASES, ids=[c[0] for c in CASES])
def test_fast_path_is_byte_identical_to_the_full_path(
        node: tuple[Store, Callable[[], Assembly]], name: str, handle: str,
        kw: dict[str, object]) -> None:
    _, build = node

    async def go() -> None:
        parts = build()
        data = request(handle, **kw)  # type: ignore[arg-type]
        assert parts.fast(data, PEER) is None  # cold cache: declines
        slow = await full_path(parts, data)  # fills the cache
        fast = parts.fast(data, PEER)
        assert fast is not None, "a cached record must be answered by the fast path"
        assert fast == slow
        await parts.writes.close()
    run(go())


@pytest.mark.parametrize("case", ["certify", "digest", "not public-only", "types"])
def test_fast_path_declines_what_it_does_not_handle(
        node: tuple[Store, Callable[[], Assembly]], case: str) -> None:
    _, build = node
    data = {
        "certify": request("88.100.1/A", flags=DEFAULT_RESOLUTION_FLAGS | OpFlag.CERTIFY),
        "digest": request("88.100.1/A",
                          flags=DEFAULT_RESOLUTION_FLAGS | OpFlag.RETURN_REQUEST_DIGEST),
        "not public-only": request("88.100.1/A",
                                   flags=DEFAULT_RESOLUTION_FLAGS & ~OpFlag.PUBLIC_ONLY),
        "types": request("88.100.1/A", types=("URL",)),
    }[case]

    async def go() -> None:
        parts = build()
        await full_path(parts, request("88.100.1/A"))  # record now cached
        assert parts.fast(data, PEER) is None
        await parts.writes.close()
    run(go())


def test_public_only_answer_never_contains_restricted_values(
        node: tuple[Store, Callable[[], Assembly]]) -> None:
    _, build = node

    async def go() -> None:
        parts = build()
        await full_path(parts, request("88.100.1/A"))
        answer = decode_frame(parts.fast(request("88.100.1/A"), PEER)[0])  # type: ignore[index]
        assert b"hidden" not in answer.body
        private = decode_frame((await full_path(parts, request("88.100.1/PRIVATE")))[0])
        assert private.response_code == 200  # no public value: values not found
        assert parts.fast(request("88.100.1/PRIVATE"), PEER) is None
        await parts.writes.close()
    run(go())


def test_a_write_invalidates_the_cache(node: tuple[Store, Callable[[], Assembly]]) -> None:
    _, build = node

    async def go() -> None:
        parts = build()
        await full_path(parts, request("88.100.1/NEW"))  # caches "not found"
        assert decode_frame(parts.fast(request("88.100.1/NEW"), PEER)[0]).response_code == 100  # type: ignore[index]
        from idnode.storage.ops import CreateHandle
        await parts.writes.submit(CreateHandle(Handle.parse("88.100.1/NEW"),
                                               (HandleValue(1, "URL", b"https://x"),)))
        assert parts.fast(request("88.100.1/NEW"), PEER) is None  # cache dropped
        answer = decode_frame((await full_path(parts, request("88.100.1/NEW")))[0])
        assert answer.response_code == 1
        await parts.writes.close()
    run(go())


def test_fast_path_refuses_cached_records_of_prefixes_not_homed_here(
        node: tuple[Store, Callable[[], Assembly]]) -> None:
    store, build = node
    store.create_handle(Handle.parse("99.9/ELSEWHERE"), [HandleValue(1, "URL", b"x")])

    async def go() -> None:
        parts = build()
        # an authentication lookup (identity 300:99.9/ELSEWHERE) caches the record ...
        assert await parts.records.get(Handle.parse("99.9/ELSEWHERE").key) is not None
        # ... but the fast path leaves the answer to the chain, which says 301
        assert parts.fast(request("99.9/ELSEWHERE"), PEER) is None
        answer = decode_frame((await full_path(parts, request("99.9/ELSEWHERE")))[0])
        assert answer.response_code == 301
        await parts.writes.close()
    run(go())


def test_a_multi_message_answer_over_udp_is_one_truncation_notice(tmp_path: Path) -> None:
    import dataclasses

    from idnode.auth.identity import Identity
    from idnode.config import Limits, NodeConfig
    from idnode.node.accesslog import AccessLog
    from idnode.node.cache import Generation
    from idnode.node.context import Connection, RequestContext
    from idnode.node.worker import assemble
    from idnode.protocol.bodies import HandleRequest
    from idnode.protocol.constants import EnvelopeFlag
    from idnode.protocol.message import decode_envelope
    from idnode.storage import open_store
    from node.conftest import SERVER_KEY

    store = open_store("memory:")
    store.home_prefix("88.100.1")
    for i in range(40):
        store.create_handle(Handle.parse(f"88.100.1/H{i:02d}"), [HandleValue(1, "URL", b"x")])
    config = NodeConfig(home=tmp_path, prefixes=("88.100.1",),
                        server_admins=("300:88.100.1/ADMIN",), storage_url="memory:",
                        limits=dataclasses.replace(Limits(), list_page_size=4))
    listing = Message(105, request_id=3, body=HandleRequest("0.NA/88.100.1").to_wire())

    async def go() -> list[bytes]:
        parts = assemble(config, store, Generation(None, 0), AccessLog("off"), SERVER_KEY,
                         None, None)
        ctx = RequestContext(Connection(("udp", "127.0.0.1", 1), "udp", PEER),
                             identity=Identity("88.100.1/ADMIN", 300))
        out = await parts.datagrams._answer(ctx, listing)
        await parts.writes.close()
        return out
    datagrams = run(go())
    assert len(datagrams) == 1  # ten pages would have been ten datagrams
    assert decode_envelope(datagrams[0]).flags & EnvelopeFlag.TRUNCATED
    assert decode_frame(datagrams[0]).response_code == 2
