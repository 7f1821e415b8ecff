"""A server of a multi-server site answers only for its share of the handles (§10.3)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from idnode.config import NodeConfig
from idnode.config_roles import SiteConfig, SiteServer
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import SiteData
from idnode.node.accesslog import AccessLog
from idnode.node.cache import Generation
from idnode.node.worker import Assembly, assemble
from idnode.protocol.bodies import ErrorBody, ResolutionRequest, ResolutionResponse
from idnode.protocol.constants import DEFAULT_RESOLUTION_FLAGS
from idnode.protocol.message import Message, decode_frame
from idnode.storage import open_store
from node.conftest import SERVER_KEY, run

PEER = ("127.0.0.1", 40000)
SERVERS = tuple(SiteServer(i, "127.0.0.1", tcp=4000 + i, udp=4000 + i) for i in (1, 2, 3))
HANDLES = [f"88.7/ITEM-{n}" for n in range(12)]


def server(tmp_path: Path, server_id: int, serial: int = 4) -> Assembly:
    """Server ``server_id`` of a three-server site, holding every handle (as after a bulk
    load), so that only the share check decides what it answers."""
    store = open_store("memory:")
    store.home_prefix("88.7")
    for text in HANDLES:
        store.create_handle(Handle.parse(text), [HandleValue(1, "URL", b"https://x/")])
    config = NodeConfig(home=tmp_path, prefixes=("88.7",), server_admins=(),
                        storage_url="memory:", server_id=server_id,
                        site=SiteConfig(serial=serial, servers=SERVERS, description="ent"))
    return assemble(config, store, Generation(None, 0), AccessLog("off"), SERVER_KEY,
                    ("127.0.0.1", 4000 + server_id), ("127.0.0.1", 4000 + server_id))


async def ask(parts: Assembly, handle: str, *, serial: int = 0xFFFF) -> Message:
    data = Message(1, opflags=DEFAULT_RESOLUTION_FLAGS, request_id=9, site_serial=serial,
                   body=ResolutionRequest(handle, (), ()).to_wire()).to_frame()
    result = parts.datagrams.datagram(data, PEER)
    assert inspect.isawaitable(result)
    return decode_frame((await result)[0])


def test_site_from_config_lists_every_server_with_hash_and_serial(tmp_path: Path) -> None:
    async def go() -> SiteData:
        return server(tmp_path, 2).site
    site = run(go())
    assert [s.server_id for s in site.servers] == [1, 2, 3]
    assert site.serial == 4 and site.hash_option == 2 and site.attribute("desc") == "ent"
    assert site.servers[1].public_key  # its own key is published; others have none


@pytest.mark.parametrize("server_id", [1, 2, 3])
def test_each_server_answers_its_share_and_refuses_the_rest(tmp_path: Path,
                                                            server_id: int) -> None:
    async def go() -> None:
        parts = server(tmp_path, server_id)
        site: SiteData = parts.site
        mine = [h for h in HANDLES if site.server_for(h).server_id == server_id]
        others = [h for h in HANDLES if h not in mine]
        assert mine and others  # twelve handles spread over three servers
        for handle in mine:
            reply = await ask(parts, handle)
            assert reply.response_code == 1
            assert ResolutionResponse.from_wire(reply.body).handle == handle
        for handle in others:
            reply = await ask(parts, handle)
            assert reply.response_code == 301
            owner = site.server_for(handle).server_id
            assert f"server {owner} of this site" in ErrorBody.from_wire(reply.body).message
    run(go())


def test_stale_site_serial_gets_rc_300(tmp_path: Path) -> None:
    async def go() -> None:
        parts = server(tmp_path, 1, serial=4)
        other = next(h for h in HANDLES if parts.site.server_for(h).server_id != 1)
        reply = await ask(parts, other, serial=3)
        assert reply.response_code == 300
        assert "serial 3" in ErrorBody.from_wire(reply.body).message
        # the same serial: simply not this server's handle
        assert (await ask(parts, other, serial=4)).response_code == 301
    run(go())


def test_fast_path_never_answers_for_another_servers_share(tmp_path: Path) -> None:
    async def go() -> None:
        parts = server(tmp_path, 1)
        other = next(h for h in HANDLES if parts.site.server_for(h).server_id != 1)
        mine = next(h for h in HANDLES if parts.site.server_for(h).server_id == 1)
        await parts.records.get(Handle.parse(other).key)  # cached, e.g. by an auth lookup
        await parts.records.get(Handle.parse(mine).key)

        def frame(handle: str) -> bytes:
            return Message(1, opflags=DEFAULT_RESOLUTION_FLAGS, request_id=9,
                           body=ResolutionRequest(handle, (), ()).to_wire()).to_frame()
        answer = parts.fast(frame(mine), PEER)
        assert answer is not None and decode_frame(answer[0]).response_code == 1
        assert parts.fast(frame(other), PEER) is None
    run(go())
