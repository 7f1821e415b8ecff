"""An in-memory node (no sockets) for testing stages, the edge and the UDP services."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from idnode.auth.keys import generate_private_key
from idnode.config import NodeConfig
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.node.accesslog import AccessLog
from idnode.node.cache import Generation
from idnode.node.worker import Assembly, assemble
from idnode.storage import Store, open_store

T = TypeVar("T")

SERVER_KEY = generate_private_key("RSA", 1024)


def memory_node(tmp_path: Path) -> tuple[Store, Callable[[], Assembly]]:
    store = open_store("memory:")
    store.home_prefix("88.100.1")
    store.create_handle(Handle.parse("88.100.1/A"), [
        HandleValue(1, "URL", b"https://example.com/a", timestamp=1_700_000_000),
        HandleValue(2, "EMAIL", b"a@example.com", timestamp=1_700_000_000),
        HandleValue(3, "HS_SECKEY", b"hidden", permissions=0x0C, timestamp=1_700_000_000),
    ])
    store.home_prefix("88.AB")
    store.create_handle(Handle.parse("88.AB/X"), [HandleValue(1, "URL", b"https://x")])
    store.create_handle(Handle.parse("0.NA/88.AB"), [HandleValue(1, "DESC", b"prefix")])
    store.create_handle(Handle.parse("88.100.1/PRIVATE"), [
        HandleValue(1, "URL", b"https://example.com/p", permissions=0x0C),
    ])
    config = NodeConfig(home=tmp_path, prefixes=("88.100.1",),
                        server_admins=("300:88.100.1/ADMIN",), storage_url="memory:")

    def build() -> Assembly:
        return assemble(config, store, Generation(None, 0), AccessLog("off"), SERVER_KEY,
                        ("127.0.0.1", 2641), ("127.0.0.1", 2641))
    return store, build


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def node(tmp_path: Path) -> tuple[Store, Callable[[], Assembly]]:
    return memory_node(tmp_path)
