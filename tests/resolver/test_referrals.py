"""Referrals: the server's ``referral`` stage (RC 302/303) and the resolver following them."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from idnode.errors import RecursionTooDeep, RemoteError, ResolutionLoop
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import Interface, ServerRecord, SiteData
from idnode.node.cache import Generation
from idnode.node.context import Connection, RequestContext
from idnode.node.pipeline import Response
from idnode.node.records import Records
from idnode.node.stages.referral import Referral, ReferralSettings
from idnode.protocol.bodies import ReferralBody, ResolutionRequest
from idnode.protocol.constants import OpCode, OpFlag, ResponseCode
from idnode.protocol.message import Message
from idnode.resolver import Resolver, ResolverSettings, Trace
from idnode.storage import open_store
from resolver.cluster import FAST, Cluster, site_value, text_value, url


def _site(port: int, desc: str) -> SiteData:
    return SiteData(attributes=((b"desc", desc.encode()),), servers=(
        ServerRecord.from_ip(1, "127.0.0.1", interfaces=(Interface(2, 0, port),)),))


SITE_A, SITE_B, SITE_C = _site(4001, "a"), _site(4002, "b"), _site(4003, "c")


def _records() -> Records:
    store = open_store("memory:")
    store.home_prefix("88")
    store.home_prefix("88.7.1")
    put = store.create_handle
    put(Handle.parse("0.NA/88.7"), [site_value(1, SITE_A), site_value(2, SITE_B,
                                                                       "HS_SITE.PREFIX"),
                                    text_value(3, "HS_SERV", "88.7/svc"),
                                    HandleValue(4, "HS_SITE", SITE_C.to_bytes(),
                                                permissions=0x0C),
                                    text_value(5, "DESC", "seven")])
    put(Handle.parse("0.NA/88.8"), [text_value(1, "DESC", "no service here")])
    put(Handle.parse("0.NA/88.9"), [site_value(1, SITE_C, "HS_NA_DELEGATE")])
    put(Handle.parse("88.7.1/x"), [url("https://x")])
    return Records(store, Generation(None, 0), 100)


async def _ask(records: Records, handle: str, *, opcode: int = OpCode.RESOLUTION,
               flags: int = OpFlag.PUBLIC_ONLY) -> Response | str:
    request = Message(opcode, opflags=flags, request_id=7,
                      body=ResolutionRequest(handle).to_wire())
    ctx = RequestContext(Connection(("t",), "udp", ("127.0.0.1", 1)),
                         body=ResolutionRequest(handle))

    async def next_(ctx: RequestContext, request: Message) -> Response:
        return request.reply(ResponseCode.SERVER_NOT_RESP)

    response = await Referral(ReferralSettings(), records).handle(ctx, request, next_)
    assert isinstance(response, Message)
    return response


def _referral(response: Response | str) -> tuple[int, str, list[str]]:
    assert isinstance(response, Message)
    if response.response_code not in (302, 303):
        return response.response_code, "", []
    body = ReferralBody.from_wire(response.body)
    return response.response_code, body.handle, [v.type for v in body.values]


@pytest.mark.parametrize(("handle", "expected"), [
    # 0.NA/88.7 is held here: a service referral with its public service values only.
    ("88.7/thing", (302, "0.NA/88.7", ["HS_SITE", "HS_SERV"])),
    # 88.7.2 has no record here, but its parent delegates derived prefixes: RC 303.
    ("88.7.2/thing", (303, "0.NA/88.7", ["HS_SITE.PREFIX"])),
    ("88.7.2.5/thing", (303, "0.NA/88.7", ["HS_SITE.PREFIX"])),
    # HS_NA_DELEGATE is HS_SITE.PREFIX's legacy name.
    ("88.9.1/thing", (303, "0.NA/88.9", ["HS_NA_DELEGATE"])),
    # A record without service values, or nothing at all: the request goes on (RC 301).
    ("88.8/thing", (301, "", [])),
    ("99/thing", (301, "", [])),
    ("0.NA/99.1", (301, "", [])),
    # Handles this node answers itself are not referred.
    ("88.7.1/x", (301, "", [])),
    ("0.NA/88.7", (301, "", [])),
    ("0.NA/88.7.2", (301, "", [])),  # prefix records under a homed parent live here
])
def test_referral_stage(handle: str, expected: tuple[int, str, list[str]]) -> None:
    assert _referral(asyncio.run(_ask(_records(), handle))) == expected


def test_referral_stage_leaves_other_requests_alone() -> None:
    records = _records()
    no_refer = asyncio.run(_ask(records, "88.7/thing",
                                flags=OpFlag.PUBLIC_ONLY | OpFlag.DO_NOT_REFER))
    assert _referral(no_refer)[0] == 301
    listing = asyncio.run(_ask(records, "88.7/thing", opcode=OpCode.DELETE_HANDLE))
    assert _referral(listing)[0] == 301


def _run(tmp_path: Path, go: object) -> None:
    async def main() -> None:
        async with Cluster(tmp_path) as cluster:
            await asyncio.wait_for(go(cluster), 30)  # type: ignore[operator]
    asyncio.run(main())


def test_resolver_follows_service_and_prefix_referrals(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        root = await cluster.add_node("root", ["0.NA"])
        top = await cluster.add_node("top", ["88"])
        sec = await cluster.add_node("sec", ["88.800"])
        ent = await cluster.add_node("ent", ["88.700"], {"88.700/x": [url("https://7")]})
        ent2 = await cluster.add_node("ent2", ["88.800.1"], {"88.800.1/y": [url("https://8")]})
        # The root sends both prefixes to the top-level node, which knows better.
        root.put("0.NA/88.700", [site_value(1, top.site(desc="top"))])
        root.put("0.NA/88.800.1", [site_value(1, top.site(desc="top"))])
        top.put("0.NA/88.700", [site_value(1, ent.site(desc="ent"))])
        top.put("0.NA/88.800", [site_value(1, sec.site(desc="sec"), "HS_SITE.PREFIX")])
        sec.put("0.NA/88.800.1", [site_value(1, ent2.site(desc="ent2"))])
        resolver = Resolver([root.site()], FAST)
        try:
            trace = Trace()
            answer = await resolver.resolve("88.700/x", trace=trace)
            assert answer.values[0].data == b"https://7"
            assert [(h.step, h.site, h.response_code) for h in trace.hops][-2:] == [
                ("handle", "top", 302), ("referral", "ent", 1)]
            trace = Trace()
            answer = await resolver.resolve("88.800.1/y", trace=trace)
            assert answer.values[0].data == b"https://8"
            assert [(h.step, h.site, h.response_code) for h in trace.hops][-3:] == [
                ("handle", "top", 303), ("referral", "sec", 302), ("referral", "ent2", 1)]
        finally:
            await resolver.close()
    _run(tmp_path, go)


def test_referral_loop_and_chain_limit(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        root = await cluster.add_node("root", ["0.NA"])
        a = await cluster.add_node("a", ["88"])
        b = await cluster.add_node("b", ["88"])
        root.put("0.NA/88.900", [site_value(1, a.site())])
        a.put("0.NA/88.900", [site_value(1, b.site())])
        b.put("0.NA/88.900", [site_value(1, a.site())])
        resolver = Resolver([root.site()], FAST)
        try:
            chain = f"{a.label} → {b.label} → {a.label}"
            with pytest.raises(ResolutionLoop,
                               match=re.escape(f"referral loop for 88.900/x: {chain}")):
                await resolver.resolve("88.900/x")
        finally:
            await resolver.close()
        # A chain of distinct referrals longer than the limit.
        c = await cluster.add_node("c", ["88"])
        b.put("0.NA/88.900", [site_value(1, c.site())])
        c.put("0.NA/88.900", [site_value(1, root.site())])
        short = Resolver([root.site()], ResolverSettings(udp_timeouts=(0.3,),
                                                         max_referrals=1))
        try:
            with pytest.raises(RecursionTooDeep, match="more than 1 referrals"):
                await short.resolve("88.900/x")
        finally:
            await short.close()
    _run(tmp_path, go)


def test_not_responsible_rewalks_once(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        root = await cluster.add_node("root", ["0.NA"])
        old = await cluster.add_node("old", ["88.960"], {"88.960/a": [url("https://a")]})
        new = await cluster.add_node("new", ["88.960"], {"88.960/b": [url("https://b")]})
        root.put("0.NA/88.960", [site_value(1, old.site(desc="old"))])
        resolver = Resolver([root.site()], FAST)
        try:
            await resolver.resolve("88.960/a")  # 0.NA/88.960 → old is cached now
            # The prefix moves: old no longer homes it, the root points to new.
            assert old.worker.store is not None
            old.worker.store.unhome_prefix("88.960")
            old.touch()
            root.put("0.NA/88.960", [site_value(1, new.site(desc="new"))])
            trace = Trace()
            answer = await resolver.resolve("88.960/b", trace=trace)
            assert answer.values[0].data == b"https://b"
            seen = [(h.step, h.site, h.response_code) for h in trace.hops]
            assert ("handle", "old", 301) in seen and seen[-1] == ("handle", "new", 1)
            # Still wrong after the re-walk: the server's answer is the error.
            root.put("0.NA/88.960", [site_value(1, old.site(desc="old"))])
            resolver.cache.clear()
            with pytest.raises(RemoteError) as info:
                await resolver.resolve("88.960/c")
            assert info.value.response_code == 301
        finally:
            await resolver.close()
    _run(tmp_path, go)


def test_hs_serv_indirection_and_loop(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        root = await cluster.add_node("root", ["0.NA", "88.975"],
                                      {"88.975/r": [url("https://root-served")]})
        ent = await cluster.add_node("ent", ["88.970", "88.980"],
                                     {"88.970/x": [url("https://x")]})
        root.put("0.NA/88.970", [text_value(1, "HS_SERV", "88.980/service")])
        root.put("0.NA/88.980", [site_value(1, ent.site(desc="ent"))])
        ent.put("88.980/service", [site_value(1, ent.site(desc="ent"))])
        root.put("0.NA/88.975", [text_value(1, "HS_SERV", "0.NA/0.NA")])
        root.put("0.NA/88.990", [text_value(1, "HS_SERV", "88.990/svc")])
        resolver = Resolver([root.site()], FAST)
        try:
            trace = Trace()
            answer = await resolver.resolve("88.970/x", trace=trace)
            assert answer.values[0].data == b"https://x"
            assert ("service", "88.980/service") in [(h.step, h.handle) for h in trace.hops]
            served = await resolver.resolve("88.975/r")
            assert served.values[0].data == b"https://root-served"
            loop = re.escape("HS_SERV loop: 88.990/svc → 88.990/svc")
            with pytest.raises(ResolutionLoop, match=loop):
                await resolver.resolve("88.990/y")
        finally:
            await resolver.close()
    _run(tmp_path, go)
