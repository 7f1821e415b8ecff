"""A recursive node's UDP fast path answers from the resolver cache exactly as its chain does."""

from __future__ import annotations

import inspect
import time
from pathlib import Path

import pytest

from idnode.config import NodeConfig
from idnode.config_roles import RecursiveConfig
from idnode.identifiers.value import HandleValue
from idnode.node.accesslog import AccessLog
from idnode.node.cache import Generation
from idnode.node.worker import Assembly, assemble
from idnode.protocol.bodies import ResolutionRequest
from idnode.protocol.constants import DEFAULT_RESOLUTION_FLAGS, OpFlag
from idnode.protocol.message import Message, decode_frame
from idnode.resolver import CacheEntry
from idnode.storage import open_store
from node.conftest import SERVER_KEY, run

PEER = ("127.0.0.1", 40000)
VALUES = (HandleValue(1, "URL", b"https://example.com/w", timestamp=1_700_000_000),
          HandleValue(2000, "productName", b"wrench", timestamp=1_700_000_000))


def recursive_node(tmp_path: Path) -> Assembly:
    # The root is never asked: every answer below comes from the pre-filled cache.
    config = NodeConfig(home=tmp_path, prefixes=(), server_admins=(), role="recursive",
                        storage_url="memory:",
                        recursive=RecursiveConfig(roots=("127.0.0.1:9",)))
    parts = assemble(config, open_store("memory:"), Generation(None, 0), AccessLog("off"),
                     SERVER_KEY, ("127.0.0.1", 3641), ("127.0.0.1", 3641))
    assert parts.resolver is not None
    later = time.monotonic() + 600
    cache = parts.resolver.cache
    cache.put("88.118.8/W", CacheEntry("88.118.8/W", VALUES, later))
    cache.put("88.118.8/GONE", CacheEntry("88.118.8/GONE", None, later, "not found"))
    return parts


def request(handle: str, flags: int = DEFAULT_RESOLUTION_FLAGS, rcount: int = 0) -> bytes:
    return Message(1, opflags=flags, request_id=7, expiration=0x5F000000,
                   recursion_count=rcount,
                   body=ResolutionRequest(handle, (), ()).to_wire()).to_frame()


async def chain(parts: Assembly, data: bytes) -> list[bytes]:
    fast, parts.datagrams.fast = parts.datagrams.fast, None
    try:
        result = parts.datagrams.datagram(data, PEER)
        assert inspect.isawaitable(result)
        return list(await result)
    finally:
        parts.datagrams.fast = fast


@pytest.mark.parametrize("handle", ["88.118.8/W",
                                    "88.118.8/GONE"])
def test_fast_answers_equal_the_chain(tmp_path: Path, handle: str) -> None:
    async def go() -> None:
        parts = recursive_node(tmp_path)
        data = request(handle)
        fast = parts.fast(data, PEER)
        assert fast is not None
        assert fast == await chain(parts, data)
        answer = decode_frame(fast[0])
        assert not answer.opflags & OpFlag.AUTHORITATIVE  # a cache is not authoritative
        await parts.writes.close()
    run(go())


@pytest.mark.parametrize("case", ["authoritative", "forwarded", "uncached"])
def test_fast_path_leaves_to_the_chain(tmp_path: Path, case: str) -> None:
    async def go() -> None:
        parts = recursive_node(tmp_path)
        data = {"authoritative": request("88.118.8/W",
                                         DEFAULT_RESOLUTION_FLAGS | OpFlag.AUTHORITATIVE),
                "forwarded": request("88.118.8/W", rcount=1),
                "uncached": request("88.118.8/OTHER")}[case]
        assert parts.fast(data, PEER) is None
        await parts.writes.close()
    run(go())


def test_recursion_count_limit(tmp_path: Path) -> None:
    async def go() -> None:
        parts = recursive_node(tmp_path)
        answer = decode_frame((await chain(parts, request("88.118.8/W", rcount=8)))[0])
        assert answer.response_code == 6
        await parts.writes.close()
    run(go())
