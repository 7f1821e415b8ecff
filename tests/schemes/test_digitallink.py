"""GS1 Digital Link on a real web face over loopback: 307 to the link of the requested type,
RFC 9264 linksets, 400 for malformed paths, 404 for unknown keys; the proxy still works."""

from __future__ import annotations

import asyncio
import http.client
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from resolver.cluster import Cluster
from schemes.hierarchy import DEFAULT_URL, PIP_EN, PIP_ZH, Hierarchy, build
from web.harness_web import build_web

Answer = tuple[int, dict[str, str], bytes]
LINKSET = "application/linkset+json"


def run(tmp_path: Path, go: Callable[[Hierarchy], Awaitable[None]]) -> None:
    async def main_() -> None:
        async with Cluster(tmp_path) as cluster:
            await asyncio.wait_for(go(await build(cluster)), 30)
    asyncio.run(main_())


def _get(address: tuple[str, int], target: str, headers: dict[str, str]) -> Answer:
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                response.read())
    finally:
        connection.close()


async def get(h: Hierarchy, target: str, **headers: str) -> Answer:
    names = {k.replace("_", "-"): v for k, v in headers.items()}
    return await asyncio.to_thread(_get, h.recursive_http, target, names)


def test_redirects_by_link_type(tmp_path: Path) -> None:
    async def go(h: Hierarchy) -> None:
        path = "/01/09521234543213/21/12345"
        status, headers, _ = await get(h, path)
        assert (status, headers["location"]) == (307, DEFAULT_URL)
        assert "rel=\"linkset\"" in headers["link"]
        status, headers, _ = await get(h, path + "?linkType=gs1:pip")
        assert (status, headers["location"]) == (307, PIP_EN)
        assert headers["cache-control"] == "max-age=600"
        # hreflang chooses among links of one type; full URIs and bare names work too.
        status, headers, _ = await get(h, path + "?linkType=https://gs1.org/voc/pip",
                                       Accept_Language="zh-CN,zh;q=0.9,en;q=0.5")
        assert (status, headers["location"]) == (307, PIP_ZH)
        status, headers, _ = await get(h, path + "?linkType=certificationInfo")
        assert headers["location"] == "https://example.com/cert"
        # A type the record lacks falls back to the default link.
        status, headers, _ = await get(h, path + "?linkType=gs1:recipeInfo")
        assert (status, headers["location"]) == (307, DEFAULT_URL)
        # GTIN-13 padded to 14 digits; no serial → the GTIN's own record.
        status, headers, _ = await get(h, "/01/9521234543213")
        assert (status, headers["location"]) == (307, "https://example.com/p/09521234543213")
        # Percent-encoded qualifiers are decoded before mapping (serial "12345" as %31…).
        status, headers, _ = await get(h, "/01/09521234543213/21/%312345")
        assert (status, headers["location"]) == (307, DEFAULT_URL)
    run(tmp_path, go)


def test_linkset(tmp_path: Path) -> None:
    async def go(h: Hierarchy) -> None:
        for target, headers in [("/01/09521234543213/21/12345?linkType=all", {}),
                                ("/01/09521234543213/21/12345", {"Accept": LINKSET})]:
            status, answer, body = await get(h, target, **headers)
            assert status == 200 and answer["content-type"] == LINKSET
            linkset = json.loads(body)["linkset"]
            assert len(linkset) == 1
            entry = linkset[0]
            host, port = h.recursive_http
            assert entry["anchor"] == f"http://{host}:{port}/01/09521234543213/21/12345"
            assert entry["https://gs1.org/voc/defaultLink"] == [{"href": DEFAULT_URL}]
            assert entry["https://gs1.org/voc/pip"] == [
                {"href": PIP_EN, "title": "Product page", "hreflang": ["en"]},
                {"href": PIP_ZH, "hreflang": ["zh"]}]
            assert entry["https://gs1.org/voc/certificationInfo"] == [
                {"href": "https://example.com/cert", "type": "application/pdf"}]
            assert entry["describedby"][0]["href"].endswith(
                "/api/handles/88.118.8/09521234543213.12345")
    run(tmp_path, go)


def test_errors(tmp_path: Path) -> None:
    async def go(h: Hierarchy) -> None:
        status, _, body = await get(h, "/01/09521234543210")
        assert status == 400 and "GTIN check digit should be 3, not 0" in body.decode()
        status, _, body = await get(h, "/01/09521234543213/21/1/10/AB")
        assert status == 400 and "as qualifier" in body.decode()
        status, _, body = await get(h, "/00/123")
        assert status == 400
        # Unknown company prefix: 404 naming the mapping records looked up.
        status, _, body = await get(h, "/01/06901234567892")
        text = body.decode()
        assert status == 404 and "no mapping record" in text and "88/MAP.GS1.6901234" in text
        status, headers, body = await get(h, "/01/06901234567892", Accept=LINKSET)
        assert status == 404 and json.loads(body)["status"] == 404
        # Mapped, but the handle does not exist.
        status, _, body = await get(h, "/01/09521234543213/21/NOPE")
        assert status == 404 and "88.118.8/09521234543213.NOPE" in body.decode()
        # A record whose link is not a web address is not followed.
        status, _, body = await get(h, "/01/09521234543213/21/EVIL")
        assert status == 400 and "not followed" in body.decode()
        # The handle proxy is untouched: handles whose prefix is not a GS1 key AI.
        status, headers, _ = await get(h, "/88.118.8/09521234543213")
        assert (status, headers["location"]) == (302, "https://example.com/p/09521234543213")
    run(tmp_path, go)


def test_authoritative_node_sees_only_its_records(tmp_path: Path) -> None:
    async def go() -> None:
        web = build_web(tmp_path)
        # No mapping record here (the node homes TEST and 88.1, not 88): an unknown key.
        answer = await web.call("GET", "/01/09521234543213", fast=False)
        assert answer.status == 404 and b"no mapping record" in answer.body
        answer = await web.call("GET", "/01/1", fast=False)
        assert answer.status == 400
        web.store.create_handle(Handle.parse("88.1/x"),
                                [HandleValue(1, "URL", b"https://example.com/x")])
        answer = await web.call("GET", "/88.1/x", fast=False)
        assert answer.status == 302
    asyncio.run(go())
