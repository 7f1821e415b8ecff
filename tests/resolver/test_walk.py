"""Resolution through a real hierarchy: root → top-level → secondary → enterprise."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from idnode.errors import HandleNotFound, RecursionTooDeep, ResolutionLoop
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import SiteData
from idnode.resolver import Resolver, ResolverSettings, Trace
from resolver.cluster import FAST, Cluster, Node, alias, site_value, text_value, url

T = TypeVar("T")
esc = re.escape


def run(make: Callable[[Cluster], Awaitable[T]], tmp_path: Path) -> T:
    async def main() -> T:
        async with Cluster(tmp_path) as cluster:
            return await asyncio.wait_for(make(cluster), 30)
    return asyncio.run(main())


async def hierarchy(cluster: Cluster) -> dict[str, Node]:
    """root (0.NA) → top-level (88) → secondary (88.118) → enterprise (88.118.8)."""
    root = await cluster.add_node("root", ["0.NA"])
    top = await cluster.add_node("top", ["88"])
    sec = await cluster.add_node("sec", ["88.118"])
    ent = await cluster.add_node("ent", ["88.118.8"], {
        "88.118.8/abc": [url("https://example.com/abc"), text_value(2, "EMAIL", "a@b.c")],
        "88.118.8/private": [url("https://example.com/p"),
                             HandleValue(2, "HS_SECKEY", b"s3cret", permissions=0x0C)],
    })
    root.put("0.NA/0.NA", [site_value(1, root.site(desc="root"))])
    root.put("0.NA/88", [site_value(1, top.site(desc="top")),
                         site_value(2, top.site(desc="top"), "HS_SITE.PREFIX")])
    top.put("0.NA/88.118", [site_value(1, sec.site(desc="sec")),
                            site_value(2, sec.site(desc="sec"), "HS_SITE.PREFIX")])
    sec.put("0.NA/88.118.8", [site_value(1, ent.site(desc="ent"))])
    return {"root": root, "top": top, "sec": sec, "ent": ent}


def test_four_levels_with_a_trace(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await hierarchy(cluster)
        resolver = Resolver([nodes["root"].site()], FAST)
        try:
            trace = Trace()
            answer = await resolver.resolve("88.118.8/abc", trace=trace)
            assert [v.type for v in answer.values] == ["URL", "EMAIL"]
            assert answer.values[0].data == b"https://example.com/abc"
            assert not answer.from_cache and answer.aliases == ()
            assert 0 < answer.ttl <= 86400
            steps = [(h.step, h.server, h.response_code) for h in trace.hops]
            assert steps == [
                ("prefix 88", nodes["root"].label, 1),
                ("prefix 88.118", nodes["top"].label, 1),
                ("prefix 88.118.8", nodes["sec"].label, 1),
                ("handle", nodes["ent"].label, 1),
            ]
            assert [h.site for h in trace.hops] == ["root", "top", "sec", "ent"]
            assert all(h.transport == "udp" for h in trace.hops)
            table = trace.format()
            assert "prefix 88.118.8" in table and table.splitlines()[-1].startswith("total ")
            assert trace.to_json()[3]["responseCode"] == 1

            # Again: one cache hop, nothing sent.
            sent = resolver.requests_sent
            again = Trace()
            cached = await resolver.resolve("88.118.8/abc", trace=again)
            assert cached.from_cache and cached.values == answer.values
            assert [(h.step, h.server) for h in again.hops] == [("handle", "cache")]
            assert resolver.requests_sent == sent

            # A sibling handle: the prefix records come from the cache, one question.
            other = Trace()
            with pytest.raises(HandleNotFound, match=esc("88.118.8/nope")):
                await resolver.resolve("88.118.8/nope", trace=other)
            assert [(h.step, h.server) for h in other.hops] == [
                ("prefix 88.118.8", "cache"), ("handle", nodes["ent"].label)]
            # Only public values come back.
            private = await resolver.resolve("88.118.8/private")
            assert [v.type for v in private.values] == ["URL"]
        finally:
            await resolver.close()
    run(go, tmp_path)


def test_unregistered_prefix_and_prefix_handles(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        nodes = await hierarchy(cluster)
        resolver = Resolver([nodes["root"].site()], FAST)
        try:
            with pytest.raises(HandleNotFound, match=esc("prefix 88.999 is not registered")):
                await resolver.resolve("88.999/x")
            with pytest.raises(HandleNotFound, match=esc("prefix 77 is not registered")):
                await resolver.resolve("77/x")
            # 0.NA/88.118.8 lives where 0.NA/88.118 delegates: the secondary node.
            trace = Trace()
            record = await resolver.resolve("0.na/88.118.8", trace=trace)
            assert [v.type for v in record.values] == ["HS_SITE"]
            assert trace.hops[-1].server == nodes["sec"].label
            # The root's own record, and priming from it.
            await resolver.prime()
            assert [s.attribute("desc") for s in resolver.roots] == ["root"]
        finally:
            await resolver.close()
    run(go, tmp_path)


def test_hash_rule_picks_the_server_of_a_three_server_site(tmp_path: Path) -> None:
    handles = [f"88.300/item-{i}" for i in range(12)]

    async def go(cluster: Cluster) -> None:
        root = await cluster.add_node("root", ["0.NA"])
        servers = await cluster.add_site(["s1", "s2", "s3"], ["88.300"],
                                         {h: [url(f"https://x/{h}")] for h in handles},
                                         desc="three")
        site = servers[0].site()
        root.put("0.NA/88.300", [site_value(1, site)])
        resolver = Resolver([root.site()], FAST)
        try:
            used = set()
            for handle in handles:
                trace = Trace()
                answer = await resolver.resolve(handle, trace=trace)
                assert answer.values[0].data == f"https://x/{handle}".encode()
                expected = servers[site.server_index(handle)]
                assert trace.hops[-1].server == expected.label
                used.add(expected.name)
            assert used == {"s1", "s2", "s3"}  # the 12 handles spread over all three
            # Each handle was asked exactly once, of the right server.
            for handle in handles:
                assert sum(n.requests(handle) for n in servers) == 1
        finally:
            await resolver.close()
    run(go, tmp_path)


def test_mirror_takes_over_when_the_primary_server_is_down(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        root = await cluster.add_node("root", ["0.NA"])
        records = {"88.400/x": [url("https://x")]}
        primary = await cluster.add_node("primary", ["88.400"], records)
        mirror = await cluster.add_node("mirror", ["88.400"], records)
        root.put("0.NA/88.400", [site_value(1, primary.site(desc="primary")),
                                 site_value(2, mirror.site(primary=False, desc="mirror"))])
        resolver = Resolver([root.site()], FAST)
        try:
            trace = Trace()
            await resolver.resolve("88.400/x", trace=trace, authoritative=True)
            assert trace.hops[-1].site == "primary"  # the primary first, mirror unused
            await primary.stop()
            trace = Trace()
            answer = await resolver.resolve("88.400/x", trace=trace, authoritative=True)
            assert answer.values[0].data == b"https://x"
            failed, served = trace.hops[-2], trace.hops[-1]
            assert (failed.site, failed.response_code) == ("primary", 0)
            assert "udp" in failed.note and "tcp" in failed.note
            assert (served.site, served.server) == ("mirror", mirror.label)
            snapshot = {s["address"]: s for s in resolver.health_snapshot()}
            assert snapshot[primary.label]["failures"] == 1
        finally:
            await resolver.close()
    run(go, tmp_path)


def test_aliases_chain_and_loop(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        root = await cluster.add_node("root", ["0.NA"])
        ent = await cluster.add_node("ent", ["88.500"], {
            "88.500/a": [alias("88.500/b")],
            "88.500/b": [alias("88.600/c", ttl=300)],
            "88.500/loop1": [alias("88.500/loop2")],
            "88.500/loop2": [alias("88.500/loop1")],
            "88.500/dangling": [alias("88.500/none")],
        })
        other = await cluster.add_node("other", ["88.600"], {"88.600/c": [url("https://c")]})
        root.put("0.NA/88.500", [site_value(1, ent.site())])
        root.put("0.NA/88.600", [site_value(1, other.site())])
        resolver = Resolver([root.site()], FAST)
        try:
            trace = Trace()
            answer = await resolver.resolve("88.500/a", trace=trace)
            assert answer.aliases == ("88.500/b", "88.600/c")
            assert answer.values[0].data == b"https://c"
            assert answer.ttl <= 300
            assert [(h.step, h.handle) for h in trace.hops
                    if h.step in ("handle", "alias")] == \
                [("handle", "88.500/a"), ("alias", "88.500/b"), ("alias", "88.600/c")]
            # Cached under every handle of the chain, with the rest of the chain.
            again = await resolver.resolve("88.500/b")
            assert again.from_cache and again.aliases == ("88.600/c",)
            first = await resolver.resolve("88.500/a")
            assert first.from_cache and first.aliases == ("88.500/b", "88.600/c")
            with pytest.raises(ResolutionLoop,
                               match=esc("alias loop: 88.500/loop1 → 88.500/loop2 → "
                                         "88.500/loop1")):
                await resolver.resolve("88.500/loop1")
            with pytest.raises(HandleNotFound, match=esc("88.500/none")):
                await resolver.resolve("88.500/dangling")
        finally:
            await resolver.close()
        short = Resolver([root.site()], ResolverSettings(udp_timeouts=(0.3,), max_aliases=1))
        try:
            with pytest.raises(RecursionTooDeep, match=esc("more than 1 aliases")):
                await short.resolve("88.500/a")
        finally:
            await short.close()
    run(go, tmp_path)


def test_recursion_count_limit(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        root = await cluster.add_node("root", ["0.NA"])
        resolver = Resolver([root.site()], FAST)
        try:
            with pytest.raises(RecursionTooDeep, match=esc("recursion count 9")):
                await resolver.resolve("88.1/x", recursion_count=8)
        finally:
            await resolver.close()
    run(go, tmp_path)


def test_unreachable_roots(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        dead = await cluster.add_node("dead", ["0.NA"])
        site: SiteData = dead.site()
        await dead.stop()
        resolver = Resolver([site], FAST)
        try:
            from idnode.errors import UpstreamUnavailable
            with pytest.raises(UpstreamUnavailable, match=f"{esc(dead.label)}: udp: .*tcp: "):
                await resolver.resolve("88.1/x")
        finally:
            await resolver.close()
    run(go, tmp_path)
