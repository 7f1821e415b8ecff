"""Caching by TTL, health and containment, transports, stale site info, the sync facade."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from idnode.errors import HandleNotFound, UpstreamUnavailable
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import Interface, ServerRecord, SiteData
from idnode.resolver import Resolver, ResolverSettings, SyncResolver, Trace
from resolver.cluster import FAST, Cluster, Node, site_value, url


def run(tmp_path: Path, go: Callable[[Cluster], Awaitable[None]], limit: float = 30) -> None:
    async def main() -> None:
        async with Cluster(tmp_path) as cluster:
            await asyncio.wait_for(go(cluster), limit)
    asyncio.run(main())


async def two_levels(cluster: Cluster, records: dict[str, list[HandleValue]],
                     **node: bool) -> tuple[Node, Node]:
    root = await cluster.add_node("root", ["0.NA"])
    ent = await cluster.add_node("ent", ["88.1"], records, **node)
    root.put("0.NA/88.1", [site_value(1, ent.site(desc="ent"))])
    return root, ent


def test_records_are_cached_for_their_ttl(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        root, ent = await two_levels(cluster, {"88.1/t": [url("https://old", ttl=1)],
                                               "88.1/zero": [url("https://z", ttl=0)]})
        resolver = Resolver([root.site()], ResolverSettings(udp_timeouts=(0.3,),
                                                            negative_ttl=1))
        try:
            first = await resolver.resolve("88.1/t")
            assert first.ttl <= 1 and not first.from_cache
            ent.put("88.1/t", [url("https://new", ttl=1)])
            cached = await resolver.resolve("88.1/t")
            assert cached.from_cache and cached.values[0].data == b"https://old"
            await asyncio.sleep(1.1)
            fresh = await resolver.resolve("88.1/t")
            assert not fresh.from_cache and fresh.values[0].data == b"https://new"
            # The authoritative flag bypasses the cache for the record.
            ent.put("88.1/t", [url("https://newest", ttl=1)])
            assert (await resolver.resolve("88.1/t", authoritative=True)).values[0].data \
                == b"https://newest"
            # TTL 0: never cached.
            await resolver.resolve("88.1/zero")
            assert not (await resolver.resolve("88.1/zero")).from_cache
            # RC 100 is cached for negative_ttl.
            with pytest.raises(HandleNotFound):
                await resolver.resolve("88.1/later")
            ent.put("88.1/later", [url("https://later")])
            trace = Trace()
            with pytest.raises(HandleNotFound):
                await resolver.resolve("88.1/later", trace=trace)
            assert [(h.server, h.response_code) for h in trace.hops] == [("cache", 100)]
            await asyncio.sleep(1.1)
            assert (await resolver.resolve("88.1/later")).values[0].data == b"https://later"
            assert ent.requests("88.1/later") == 2
        finally:
            await resolver.close()
    run(tmp_path, go)


def test_concurrent_misses_share_one_upstream_request(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        root, ent = await two_levels(cluster, {"88.1/hot": [url("https://hot")]})
        resolver = Resolver([root.site()], FAST)
        try:
            answers = await asyncio.gather(*(resolver.resolve("88.1/hot") for _ in range(20)))
            assert {a.values[0].data for a in answers} == {b"https://hot"}
            assert ent.requests("88.1/hot") == 1
            assert root.requests("0.NA/88.1") == 1 and root.requests("0.NA/88") == 1
            assert resolver.requests_sent == 3
        finally:
            await resolver.close()
    run(tmp_path, go)


def _black_hole() -> tuple[socket.socket, SiteData]:
    """A server that never answers: a bound UDP socket nobody reads, and a TCP port
    nobody listens on."""
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(("127.0.0.1", 0))
    tcp_port = closed.getsockname()[1]
    closed.close()
    server = ServerRecord.from_ip(1, "127.0.0.1", interfaces=(
        Interface(2, 0, hole.getsockname()[1]), Interface(2, 1, tcp_port)))
    return hole, SiteData(attributes=((b"desc", b"dead"),), servers=(server,))


def test_circuit_breaker_fails_fast_and_contains_a_dead_server(tmp_path: Path) -> None:
    settings = ResolverSettings(udp_timeouts=(0.15, 0.15), tcp_timeout=0.5,
                                failure_threshold=2, open_seconds=0.6)
    schedule = sum(settings.udp_timeouts)

    async def go(cluster: Cluster) -> None:
        root, _ent = await two_levels(cluster, {"88.1/ok": [url("https://ok")]})
        hole, dead = _black_hole()
        root.put("0.NA/88.2", [site_value(1, dead)])
        resolver = Resolver([root.site()], settings)
        label = str(dead.servers[0].ip) + f":{dead.servers[0].interfaces[0].port}"
        try:
            for i in range(settings.failure_threshold):
                started = time.monotonic()
                with pytest.raises(UpstreamUnavailable, match="no answer"):
                    await resolver.resolve(f"88.2/x{i}")
                assert time.monotonic() - started >= schedule * 0.9  # the full schedule
            state = {s["address"]: s for s in resolver.health_snapshot()}[label]
            assert state["state"] == "open" and state["failures"] == 2
            # Open: refused at once, well inside the UDP schedule.
            started = time.monotonic()
            with pytest.raises(UpstreamUnavailable, match="circuit open"):
                await resolver.resolve("88.2/y")
            assert time.monotonic() - started < schedule / 3
            # Other resolutions are not affected.
            assert (await resolver.resolve("88.1/ok")).values[0].data == b"https://ok"
            # After open_seconds one probe goes through; it fails, the circuit re-opens
            # for twice as long.
            await asyncio.sleep(settings.open_seconds + 0.05)
            with pytest.raises(UpstreamUnavailable, match="no answer"):
                await resolver.resolve("88.2/z")
            await asyncio.sleep(settings.open_seconds + 0.05)
            with pytest.raises(UpstreamUnavailable, match="circuit open"):
                await resolver.resolve("88.2/w")
        finally:
            await resolver.close()
            hole.close()
    run(tmp_path, go)


def test_in_flight_bound_fails_fast(tmp_path: Path) -> None:
    settings = ResolverSettings(udp_timeouts=(0.4,), tcp_timeout=0.5,
                                upstream_max_inflight=1, failure_threshold=10)

    async def go(cluster: Cluster) -> None:
        root = await cluster.add_node("root", ["0.NA"])
        hole, dead = _black_hole()
        root.put("0.NA/88.2", [site_value(1, dead)])
        resolver = Resolver([root.site()], settings)
        try:
            await resolver.resolve("0.NA/88.2")  # the prefix record is cached now
            slow = asyncio.ensure_future(resolver.resolve("88.2/a"))
            await asyncio.sleep(0.1)
            started = time.monotonic()
            with pytest.raises(UpstreamUnavailable, match="in flight"):
                await resolver.resolve("88.2/b")
            assert time.monotonic() - started < 0.1
            with pytest.raises(UpstreamUnavailable):
                await slow
        finally:
            await resolver.close()
            hole.close()
    run(tmp_path, go)


def test_large_answers_go_over_tcp(tmp_path: Path) -> None:
    big = [HandleValue(i, "URL", f"https://example.com/{i}/{'x' * 200}".encode())
           for i in range(1, 6)]

    async def go(cluster: Cluster) -> None:
        root, ent = await two_levels(cluster, {"88.1/big": big, "88.1/big2": big})
        resolver = Resolver([root.site()], FAST)
        try:
            for handle in ("88.1/big", "88.1/big2"):
                trace = Trace()
                answer = await resolver.resolve(handle, trace=trace)
                assert len(answer.values) == 5
                last = trace.hops[-1]
                assert (last.transport, last.server) == ("tcp", f"127.0.0.1:{ent.tcp[1]}"
                                                         if ent.tcp else "")
                assert "udp: answer too large" in last.note
        finally:
            await resolver.close()
    run(tmp_path, go)


def test_many_concurrent_resolutions_over_pooled_tcp(tmp_path: Path) -> None:
    big = [HandleValue(i, "URL", f"https://example.com/{i}/{'y' * 200}".encode())
           for i in range(1, 4)]
    handles = [f"88.1/n{i}" for i in range(40)]

    async def go(cluster: Cluster) -> None:
        root, ent = await two_levels(cluster, {h: big for h in handles})
        resolver = Resolver([root.site()], dataclasses.replace(FAST,
                                                               upstream_max_inflight=64))
        try:
            answers = await asyncio.gather(*(resolver.resolve(h) for h in handles * 3))
            assert all(len(a.values) == 3 for a in answers)
            # UDP (too large) then TCP per question; duplicates mostly shared a flight.
            asked = sum(ent.requests(h) for h in handles)
            assert 2 * len(handles) <= asked < 2 * len(answers)
        finally:
            await resolver.close()
    run(tmp_path, go)


def test_http_tunnel_when_the_server_has_only_http(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        root, _ent = await two_levels(cluster, {"88.1/web": [url("https://web")]},
                                     udp=False, tcp=False, http=True)
        resolver = Resolver([root.site()], FAST)
        try:
            trace = Trace()
            answer = await resolver.resolve("88.1/web", trace=trace)
            assert answer.values[0].data == b"https://web"
            assert trace.hops[-1].transport == "http"
            with pytest.raises(HandleNotFound):
                await resolver.resolve("88.1/none")
        finally:
            await resolver.close()
    run(tmp_path, go)


def test_out_of_date_site_info_is_refreshed(tmp_path: Path) -> None:
    handles = [f"88.3/h{i}" for i in range(16)]

    async def go(cluster: Cluster) -> None:
        root = await cluster.add_node("root", ["0.NA"])
        s1, s2 = await cluster.add_site(["s1", "s2"], ["88.3"],
                                        {h: [url(f"https://{h}")] for h in handles},
                                        serial=2, desc="pair")
        site = s1.site()
        # The registry still lists the site as it was: serial 1, server 1 only.
        old = SiteData(serial=1, attributes=((b"desc", b"pair"),),
                       servers=(s1.server(transports=("udp", "tcp")),))
        root.put("0.NA/88.3", [site_value(1, old)])
        on_s2 = [h for h in handles if site.server_index(h) == 1]
        resolver = Resolver([root.site()], FAST)
        try:
            trace = Trace()
            answer = await resolver.resolve(on_s2[0], trace=trace)
            assert answer.values[0].data == f"https://{on_s2[0]}".encode()
            steps = [(h.step, h.server, h.response_code) for h in trace.hops]
            assert steps[-3:] == [("handle", s1.label, 300), ("site info", s1.label, 1),
                                  ("handle", s2.label, 1)]
            # The cached prefix record now holds the fresh site: no 300 any more.
            trace = Trace()
            await resolver.resolve(on_s2[1], trace=trace)
            assert [(h.server, h.response_code) for h in trace.hops][-1] == (s2.label, 1)
            assert 300 not in [h.response_code for h in trace.hops]
        finally:
            await resolver.close()
    run(tmp_path, go)


def test_sync_resolver(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        root, _ent = await two_levels(cluster, {"88.1/s": [url("https://sync")]})
        sync = SyncResolver([root.site()], FAST)
        try:
            answer = await asyncio.to_thread(sync.resolve, "88.1/s")
            assert answer.values[0].data == b"https://sync"
            site = await asyncio.to_thread(sync.site_info, root.udp or ("", 0))
            assert site.servers
            await asyncio.to_thread(sync.prime)  # no 0.NA/0.NA: the roots stay
            assert len(sync.resolver.roots) == 1
            assert any(s["address"] == root.label
                       for s in await asyncio.to_thread(sync.health_snapshot))
            assert len(sync.cache) >= 2
        finally:
            await asyncio.to_thread(sync.close)
        with pytest.raises(RuntimeError, match="closed"):
            sync.resolve("88.1/s")
    run(tmp_path, go)
