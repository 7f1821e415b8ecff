"""The hierarchy end to end through a recursive node (递归节点), over loopback sockets.

Clients ask the recursive node over UDP (and HTTP for traces); it walks root → top-level →
secondary → enterprise nodes, which are real workers (``tests/resolver/cluster.py``).
Time bounds below are behavioural (a dead node must cost others nothing, which shows as
orders of magnitude against the retry schedule), not benchmarks.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from idnode.client import HandleClient
from idnode.errors import RemoteError
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import Interface, InterfaceProtocol, ServerRecord, SiteData
from resolver.cluster import Cluster, Node, alias, site_value, url

T = TypeVar("T")
#: The recursive node's retry schedule in these tests: UDP 0.2 + 0.3 s, then TCP 1 s.
SCHEDULE = {"udp_timeouts": (0.2, 0.3), "tcp_timeout": 1.0}
RETRY_SUM = 0.2 + 0.3 + 1.0


def run(make: Callable[[Cluster], Awaitable[T]], tmp_path: Path) -> T:
    async def main() -> T:
        async with Cluster(tmp_path) as cluster:
            return await asyncio.wait_for(make(cluster), 60)
    return asyncio.run(main())


async def hierarchy(cluster: Cluster, ent_records: dict[str, list[HandleValue]],
                    prefix_ttl: int = 86400) -> dict[str, Node]:
    root = await cluster.add_node("root", ["0.NA"])
    top = await cluster.add_node("top", ["88"])
    sec = await cluster.add_node("sec", ["88.118"])
    ent = await cluster.add_node("ent", ["88.118.8"], ent_records)
    root.put("0.NA/0.NA", [site_value(1, root.site(desc="root"))])
    root.put("0.NA/88", [site_value(1, top.site(desc="top-level")),
                         site_value(2, top.site(desc="top-level"), "HS_SITE.PREFIX")])
    top.put("0.NA/88.118", [site_value(1, sec.site(desc="secondary")),
                            site_value(2, sec.site(desc="secondary"), "HS_SITE.PREFIX")])
    sec.put("0.NA/88.118.8", [site_value(1, ent.site(desc="enterprise"), ttl=prefix_ttl)])
    return {"root": root, "top": top, "sec": sec, "ent": ent}


async def recursive(cluster: Cluster, root: Node, **settings: Any) -> tuple[Node, HandleClient]:
    node = await cluster.add_recursive("rec", [root.site()], **{**SCHEDULE, **settings})
    assert node.udp is not None
    return node, HandleClient(node.udp, udp_timeouts=(1.0,), timeout=5.0)


async def urls(client: HandleClient, handle: str) -> list[bytes]:
    answer = await client.resolve(handle)
    return [v.data for v in answer.values if v.type == "URL"]


async def http_json(node: Node, path: str) -> Any:
    assert node.http is not None
    address = f"http://127.0.0.1:{node.http[1]}{path}"

    def fetch() -> Any:
        try:
            with urllib.request.urlopen(address, timeout=10) as reply:
                return json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read())
    return await asyncio.to_thread(fetch)


def test_four_levels_through_the_recursive_node(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await hierarchy(cluster, {
            "88.118.8/JXDY2106023": [url("https://example.com/wrench"),
                                     HandleValue(2000, "productName", b"impact wrench")],
            "88.118.8/B7": [url("https://example.com/b7")]})
        rec, client = await recursive(cluster, nodes["root"])
        async with client:
            answer = await client.resolve("88.118.8/JXDY2106023")
            assert [(v.index, v.data) for v in answer.values] == [
                (1, b"https://example.com/wrench"), (2000, b"impact wrench")]
            # the client's filter is applied by the recursive node on the cached record
            only = await client.resolve("88.118.8/JXDY2106023", types=["productName"])
            assert [v.index for v in only.values] == [2000]
            with pytest.raises(RemoteError) as err:
                await client.resolve("88.118.8/JXDY2106023", types=["EMAIL"])
            assert err.value.response_code == 200
        # administration is not a recursive node's business
        assert rec.tcp is not None
        async with HandleClient(rec.tcp, transport="tcp") as admin:
            with pytest.raises(RemoteError) as err:
                await admin.delete_handle("88.118.8/B7")
            assert err.value.response_code == 5 and "recursive node" in str(err.value)
        # the trace over HTTP: every level, its server and response code
        data = await http_json(rec, "/api/handles/88.118.8/B7?trace=true")
        assert data["responseCode"] == 1 and data["values"][0]["data"]["value"] == \
            "https://example.com/b7"
        hops = [(h["step"], h["server"], h["responseCode"]) for h in data["trace"]]
        assert hops == [("prefix 88.118.8", "cache", 1),
                        ("handle", nodes["ent"].label, 1)]
        data = await http_json(rec, "/api/handles/88.118.8/B7")
        assert "trace" not in data and data["values"][0]["index"] == 1
        # the web face refuses writes
        missing = await http_json(rec, "/api/handles/88.118.8/none?trace=true")
        assert missing["responseCode"] == 100
        assert missing["trace"][-1]["responseCode"] == 100
    run(go, tmp_path)


def test_cold_resolution_trace_lists_every_level(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await hierarchy(cluster, {"88.118.8/x": [url("https://x")]})
        rec, client = await recursive(cluster, nodes["root"])
        await client.close()
        data = await http_json(rec, "/api/handles/88.118.8/x?trace=true")
        steps = [(h["step"], h["server"], h["site"]) for h in data["trace"]]
        assert steps == [
            ("prefix 88", nodes["root"].label, "root"),
            ("prefix 88.118", nodes["top"].label, "top-level"),
            ("prefix 88.118.8", nodes["sec"].label, "secondary"),
            ("handle", nodes["ent"].label, "enterprise")]
        assert all(h["ms"] >= 0 for h in data["trace"])
    run(go, tmp_path)


def test_moved_prefix_is_found_after_its_ttl(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await hierarchy(cluster, {"88.118.8/p": [url("https://old", ttl=1)]},
                                prefix_ttl=1)
        new = await cluster.add_node("new", ["88.118.8"],
                                     {"88.118.8/p": [url("https://new", ttl=1)]})
        _, client = await recursive(cluster, nodes["root"])
        async with client:
            assert await urls(client, "88.118.8/p") == [b"https://old"]
            # The secondary node moves the enterprise prefix to another node.
            nodes["sec"].put("0.NA/88.118.8", [site_value(1, new.site(desc="new"), ttl=1)])
            assert await urls(client, "88.118.8/p") == [b"https://old"]  # cached
            await asyncio.sleep(1.3)
            assert await urls(client, "88.118.8/p") == [b"https://new"]
            assert new.requests("88.118.8/p") == 1
    run(go, tmp_path)


def test_server_of_a_multi_server_site_down_fails_over_to_the_mirror(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await hierarchy(cluster, {})
        records = {f"88.118.8/item-{n}": [url(f"https://example.com/{n}")] for n in range(9)}
        servers = await cluster.add_site(["s1", "s2", "s3"], ["88.118.8"], records,
                                         desc="enterprise")
        mirror = await cluster.add_node("mirror", ["88.118.8"], records)
        nodes["sec"].put("0.NA/88.118.8", [
            site_value(1, servers[0].site()),
            site_value(2, mirror.site(primary=False, desc="mirror"))])
        _, client = await recursive(cluster, nodes["root"])
        async with client:
            site = servers[0].site()
            for n in range(9):  # all up: resolutions may use either site
                assert await urls(client, f"88.118.8/item-{n}") == \
                    [f"https://example.com/{n}".encode()]
            down = servers[1]
            await down.stop()
            theirs = [h for h in records if site.server_for(h).server_id == down.server_id]
            others = [h for h in records if h not in theirs]
            assert theirs and others
            # authoritative: past the recursive node's cache, to the sites every time
            for _ in range(3):
                for handle in theirs:
                    before = mirror.requests(handle)
                    answer = await client.resolve(handle, authoritative=True)
                    assert answer.values[0].data == records[handle][0].data
                    assert mirror.requests(handle) == before + 1  # the mirror answered
                for handle in others:  # the rest of the site still answers for its share
                    answer = await client.resolve(handle, authoritative=True)
                    assert answer.values[0].data == records[handle][0].data
    run(go, tmp_path)


def blackhole() -> tuple[SiteData, list[socket.socket]]:
    """A server that takes requests and never answers: a UDP socket nobody reads and a TCP
    listener whose connections the kernel accepts and nobody serves."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(64)
    server = ServerRecord.from_ip(1, "127.0.0.1", interfaces=(
        Interface(2, InterfaceProtocol.UDP, udp.getsockname()[1]),
        Interface(3, InterfaceProtocol.TCP, tcp.getsockname()[1])))
    return SiteData(attributes=((b"desc", b"hung"),), servers=(server,)), [udp, tcp]


def test_hung_enterprise_node_costs_other_resolutions_nothing(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await hierarchy(cluster, {f"88.118.8/ok-{n}": [url("https://ok")]
                                          for n in range(40)})
        hung, sockets = blackhole()
        nodes["sec"].put("0.NA/88.118.9", [site_value(1, hung)])
        rec, client = await recursive(cluster, nodes["root"], failure_threshold=3,
                                      open_seconds=30.0)
        assert rec.udp is not None
        # The doomed questions' client waits longer than the node's whole retry schedule.
        patient = HandleClient(rec.udp, udp_timeouts=(10.0,), timeout=10.0)
        try:
            await urls(client, "88.118.8/ok-0")  # warm the upper levels
            doomed = [asyncio.ensure_future(patient.resolve(f"88.118.9/d-{n}"))
                      for n in range(4) for _ in range(5)]
            await asyncio.sleep(0.05)  # they are all waiting on the hung node now
            elapsed = []
            for n in range(1, 40):  # meanwhile, the live enterprise node's identifiers
                started = time.monotonic()
                assert await urls(client, f"88.118.8/ok-{n}") == [b"https://ok"]
                elapsed.append(time.monotonic() - started)
            # All of them were answered while every question to the hung node still waited.
            assert not any(f.done() for f in doomed)
            results = await asyncio.gather(*doomed, return_exceptions=True)
            assert all(isinstance(r, RemoteError) and r.response_code == 2 for r in results)
            assert "no server answered" in str(results[0])
            # Each live one took a fraction of what a question to the hung node costs.
            assert max(elapsed) < RETRY_SUM / 3, elapsed
            # The circuit is open now: the hung node's identifiers fail at once.
            started = time.monotonic()
            with pytest.raises(RemoteError) as err:
                await patient.resolve("88.118.9/d-9")
            assert err.value.response_code == 2
            assert time.monotonic() - started < RETRY_SUM / 3
        finally:
            await client.close()
            await patient.close()
            for sock in sockets:
                sock.close()
    run(go, tmp_path)


def test_referral_loop_and_alias_loop_end_with_clear_errors(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await hierarchy(cluster, {
            "88.118.8/a": [alias("88.118.8/b")], "88.118.8/b": [alias("88.118.8/a")]})
        # Two top-level servers, each claiming 88.900 is served by the other.
        a = await cluster.add_node("loop-a", ["88"])
        b = await cluster.add_node("loop-b", ["88"])
        a.put("0.NA/88.900", [site_value(1, b.site(desc="b"))])
        b.put("0.NA/88.900", [site_value(1, a.site(desc="a"))])
        nodes["top"].put("0.NA/88.900", [site_value(1, a.site(desc="a"))])
        _, client = await recursive(cluster, nodes["root"])
        async with client:
            with pytest.raises(RemoteError) as err:
                await client.resolve("88.900/x")
            assert err.value.response_code == 6
            assert "referral loop" in str(err.value)
            assert a.label in str(err.value) and b.label in str(err.value)
            with pytest.raises(RemoteError) as err:
                await client.resolve("88.118.8/a")
            assert err.value.response_code == 6
            assert "alias loop" in str(err.value) and "88.118.8/b" in str(err.value)
    run(go, tmp_path)


def test_cache_respects_ttl_and_negative_caching(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await hierarchy(cluster, {
            "88.118.8/short": [url("https://v1", ttl=1)],
            "88.118.8/long": [url("https://long", ttl=10 * 86400)]})
        ent = nodes["ent"]
        rec, client = await recursive(cluster, nodes["root"], negative_ttl=1)
        async with client:
            assert await urls(client, "88.118.8/short") == [b"https://v1"]
            ent.put("88.118.8/short", [url("https://v2", ttl=1)])
            assert await urls(client, "88.118.8/short") == [b"https://v1"]
            assert ent.requests("88.118.8/short") == 1  # answered from the cache
            with pytest.raises(RemoteError) as err:
                await client.resolve("88.118.8/late")
            assert err.value.response_code == 100
            ent.put("88.118.8/late", [url("https://late")])
            with pytest.raises(RemoteError):  # "not found" is cached too
                await client.resolve("88.118.8/late")
            assert ent.requests("88.118.8/late") == 1
            await asyncio.sleep(1.3)
            assert await urls(client, "88.118.8/short") == [b"https://v2"]
            assert await urls(client, "88.118.8/late") == [b"https://late"]
            # TTLs are capped at two days
            await urls(client, "88.118.8/long")
            assert rec.worker.resolver is not None
            entry = rec.worker.resolver.cache.get("88.118.8/long")
            assert entry is not None
            assert entry.expires - time.monotonic() <= 172_800
    run(go, tmp_path)
