"""The REST API in memory: every row of the status map, bodies, parameters, JSON forms."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from web.harness_web import ADMIN, ADMIN_BASIC, SECRET, Web, basic, build_web, path

Scenario = Callable[[Web], Awaitable[None]]


def run(tmp_path: Path, scenario: Scenario, **options: Any) -> None:
    async def main() -> None:
        web = build_web(tmp_path, **options)
        try:
            await scenario(web)
        finally:
            await web.parts.writes.close()
    asyncio.run(main())


def body(response: Any) -> Any:
    return json.loads(response.body)


VALUES = [{"index": 1, "type": "URL", "data": "https://example.org/new"},
          {"index": 100, "type": "HS_ADMIN",
           "data": {"format": "admin", "value": {"handle": ADMIN, "index": "200",
                                                 "permissions": "011111110011"}}}]


def test_get_echoes_the_handle_as_requested_with_timestamps(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        for target in (path("test/Doc"), path("TEST/Doc")):
            r = await web.call("GET", target)
            assert r.status == 200
            doc = body(r)
            assert doc["responseCode"] == 1
            assert doc["handle"] == target.removeprefix("/api/handles/")
            assert [v["index"] for v in doc["values"]] == [1, 2, 100]  # 3 is not public
            assert all("timestamp" in v for v in doc["values"])
            assert doc["values"][0]["data"] == {"format": "string",
                                                "value": "https://example.com/doc"}
        # the suffix is case-sensitive
        assert (await web.call("GET", path("TEST/DOC"))).status == 404
    run(tmp_path, scenario)


def test_fast_and_full_paths_answer_the_same_bytes(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        slow = await web.call("GET", path("TEST/Doc"), fast=False)
        fast = await web.call("GET", path("TEST/Doc"))  # now cached
        assert fast.body == slow.body and fast.status == slow.status == 200
        missing_slow = await web.call("GET", path("TEST/none"), fast=False)
        missing_fast = await web.call("GET", path("TEST/none"))
        assert missing_fast.body == missing_slow.body
        assert missing_fast.status == missing_slow.status == 404
        assert body(missing_fast) == {"responseCode": 100, "handle": "TEST/none"}
    run(tmp_path, scenario)


def test_get_status_rows(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        r = await web.call("GET", path("99.9/x"))
        assert (r.status, body(r)["responseCode"]) == (400, 301)
        assert "99.9" in body(r)["message"]
        r = await web.call("GET", path("TEST/Doc") + "?type=EMAIL")
        assert (r.status, body(r)["responseCode"]) == (200, 200)
        r = await web.call("GET", path("TEST/Doc") + "?index=2&type=URL")
        assert [v["index"] for v in body(r)["values"]] == [1, 2]
        r = await web.call("GET", path("TEST/Doc") + "?index=1&index=100&auth=true")
        assert [v["index"] for v in body(r)["values"]] == [1, 100]
        r = await web.call("GET", path("TEST/Doc") + "?index=x")
        assert (r.status, body(r)["responseCode"]) == (400, 202)
        r = await web.call("GET", path("TEST/") + "%00bad")
        assert r.status == 400
    run(tmp_path, scenario)


def test_non_public_values_need_an_authorized_reader(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        r = await web.call("GET", path("TEST/Doc") + "?publicOnly=false")
        assert r.status == 401 and body(r)["responseCode"] == 402
        r = await web.call("GET", path("TEST/Doc"), headers=[ADMIN_BASIC])
        assert [v["index"] for v in body(r)["values"]] == [1, 2, 3, 100]
        r = await web.call("GET", path("TEST/Doc") + "?publicOnly=true", headers=[ADMIN_BASIC])
        assert [v["index"] for v in body(r)["values"]] == [1, 2, 100]
        nobody = basic("301:TEST/NOBODY", "nobody")
        r = await web.call("GET", path("TEST/Doc"), headers=[nobody])
        assert [v["index"] for v in body(r)["values"]] == [1, 2, 100]
    run(tmp_path, scenario)


def test_put_creates_201_only_without_overwrite(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        payload = json.dumps({"values": VALUES})
        r = await web.call("PUT", path("TEST/new") + "?overwrite=false", payload,
                           headers=[ADMIN_BASIC])
        assert (r.status, body(r)) == (201, {"responseCode": 1, "handle": "TEST/new"})
        r = await web.call("PUT", path("TEST/new") + "?overwrite=false", payload,
                           headers=[ADMIN_BASIC])
        assert (r.status, body(r)["responseCode"]) == (409, 101)
        r = await web.call("PUT", path("TEST/new"), json.dumps(VALUES), headers=[ADMIN_BASIC])
        assert (r.status, body(r)["responseCode"]) == (200, 1)
        got = body(await web.call("GET", path("TEST/new")))
        assert got["values"][0]["data"]["value"] == "https://example.org/new"
        assert got["values"][1]["data"]["value"]["index"] == 200  # "200" was accepted
        # a single value as the body
        r = await web.call("PUT", path("TEST/single"), json.dumps(VALUES[1]),
                           headers=[ADMIN_BASIC])
        assert r.status == 200
    run(tmp_path, scenario)


def test_put_with_index_adds_or_replaces_values(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        new = [{"index": 5, "type": "EMAIL", "data": "a@example.org"}]
        r = await web.call("PUT", path("TEST/Doc") + "?index=5&overwrite=false",
                           json.dumps(new), headers=[ADMIN_BASIC])
        assert (r.status, body(r)["responseCode"]) == (201, 1)
        r = await web.call("PUT", path("TEST/Doc") + "?index=5&overwrite=false",
                           json.dumps(new), headers=[ADMIN_BASIC])
        assert (r.status, body(r)["responseCode"]) == (409, 201)
        changed = [{"index": 5, "type": "EMAIL", "data": "b@example.org"},
                   {"index": 1, "type": "URL", "data": "https://example.com/moved"}]
        r = await web.call("PUT", path("TEST/Doc") + "?index=5&index=1&overwrite=true",
                           json.dumps(changed), headers=[ADMIN_BASIC])
        assert (r.status, body(r)["responseCode"]) == (200, 1)
        got = {v["index"]: v["data"]["value"]
               for v in body(await web.call("GET", path("TEST/Doc")))["values"]}
        assert got[1] == "https://example.com/moved" and got[5] == "b@example.org"
        r = await web.call("PUT", path("TEST/Doc") + "?index=7", json.dumps(new),
                           headers=[ADMIN_BASIC])
        assert (r.status, body(r)["responseCode"]) == (400, 202)
        assert "[7]" in body(r)["message"] and "[5]" in body(r)["message"]
        r = await web.call("PUT", path("TEST/Doc") + "?index=various", json.dumps(new),
                           headers=[ADMIN_BASIC])
        assert r.status == 200
        r = await web.call("PUT", path("TEST/absent") + "?index=5", json.dumps(new),
                           headers=[ADMIN_BASIC])
        assert (r.status, body(r)["responseCode"]) == (404, 100)
    run(tmp_path, scenario)


def test_bad_bodies_get_clear_400s(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        target = path("TEST/bad")
        r = await web.call("PUT", target, "{not json", headers=[ADMIN_BASIC])
        assert (r.status, body(r)["responseCode"]) == (400, 4)
        assert "not valid JSON" in body(r)["message"]
        r = await web.call("PUT", target, json.dumps(VALUES),
                           headers=[ADMIN_BASIC, ("content-type", "text/plain")])
        assert r.status == 400 and "application/json" in body(r)["message"]
        r = await web.call("PUT", target, json.dumps(VALUES), headers=[ADMIN_BASIC],
                           json_body=False)
        assert r.status == 400 and "missing" in body(r)["message"]
        r = await web.call("PUT", target, json.dumps([{"index": 1, "type": "URL"}]),
                           headers=[ADMIN_BASIC])
        assert (r.status, body(r)["responseCode"]) == (400, 202)
        assert "data" in body(r)["message"]
        r = await web.call("PUT", target, json.dumps({"handle": "TEST/other", "values": VALUES}),
                           headers=[ADMIN_BASIC])
        assert r.status == 400 and "TEST/other" in body(r)["message"]
        r = await web.call("PUT", target + "?overwrite=maybe", json.dumps(VALUES),
                           headers=[ADMIN_BASIC])
        assert r.status == 400 and "overwrite" in body(r)["message"]
        # nothing was created by any of these
        assert (await web.call("GET", target)).status == 404
    run(tmp_path, scenario)


def test_mint_new_suffix(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        r = await web.call("PUT", "/api/handles/TEST/?mintNewSuffix=true", json.dumps(VALUES),
                           headers=[ADMIN_BASIC])
        assert r.status == 200
        minted = body(r)["handle"]
        assert minted.startswith("TEST/") and len(minted) == len("TEST/") + 36
        assert (await web.call("GET", path(minted))).status == 200
    run(tmp_path, scenario)


def test_delete_rows(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        r = await web.call("DELETE", path("TEST/Doc") + "?index=42", headers=[ADMIN_BASIC])
        assert (r.status, body(r)["responseCode"]) == (400, 200)
        r = await web.call("DELETE", path("TEST/Doc") + "?index=2", headers=[ADMIN_BASIC])
        assert (r.status, body(r)["responseCode"]) == (200, 1)
        r = await web.call("DELETE", path("TEST/Doc"), headers=[ADMIN_BASIC])
        assert (r.status, body(r)["responseCode"]) == (200, 1)
        r = await web.call("DELETE", path("TEST/Doc"), headers=[ADMIN_BASIC])
        assert (r.status, body(r)["responseCode"]) == (404, 100)
    run(tmp_path, scenario)


def test_authentication_rows(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        target = path("TEST/auth")
        payload = json.dumps(VALUES)
        r = await web.call("PUT", target, payload)
        assert (r.status, body(r)["responseCode"]) == (401, 402)
        challenges = [v for k, v in r.headers if k.lower() == "www-authenticate"]
        assert challenges[0] == 'Basic realm="handle"'
        assert challenges[1].startswith('Handle sessionId="') and 'nonce="' in challenges[1]
        r = await web.call("PUT", target, payload, headers=[basic(f"301:{ADMIN}", "wrong")])
        assert (r.status, body(r)["responseCode"]) == (401, 402)
        assert "wrong secret" in body(r)["message"]
        r = await web.call("PUT", target, payload, headers=[basic("301:TEST/GHOST", "x")])
        assert r.status == 401 and "not held" in body(r)["message"]
        r = await web.call("PUT", target, payload, headers=[basic(f"300:{ADMIN}", SECRET)])
        assert r.status == 401 and "HS_PUBKEY" in body(r)["message"]
        r = await web.call("PUT", target, payload, headers=[("authorization", "Basic !!!")])
        assert r.status == 401 and "base64" in body(r)["message"]
        r = await web.call("PUT", target, payload, headers=[("authorization", "Bearer x")])
        assert r.status == 401
        # authenticated but not authorized
        r = await web.call("PUT", target, payload, headers=[basic("301:TEST/NOBODY", "nobody")])
        assert (r.status, body(r)["responseCode"]) in {(403, 400), (403, 401)}
        r = await web.call("DELETE", path("TEST/Doc"), headers=[basic("301:TEST/NOBODY",
                                                                      "nobody")])
        assert r.status == 403
        assert (await web.call("GET", path("TEST/Doc"))).status == 200
    run(tmp_path, scenario)


def test_writes_over_plain_http_are_refused(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        r = await web.call("PUT", path("TEST/plain"), json.dumps(VALUES),
                           headers=[ADMIN_BASIC], scheme="http")
        assert (r.status, body(r)["responseCode"]) == (401, 402)
        assert "HTTPS" in body(r)["message"]
        assert (await web.call("GET", path("TEST/plain"))).status == 404
    run(tmp_path, scenario)


def test_plain_http_credentials_when_the_operator_allows_them(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        r = await web.call("PUT", path("TEST/plain"), json.dumps(VALUES),
                           headers=[ADMIN_BASIC], scheme="http")
        assert r.status == 200
    run(tmp_path, scenario, allow_plain_http=True)


def test_listing_and_prefixes(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        r = await web.call("GET", "/api/handles?prefix=TEST")
        assert (r.status, body(r)["responseCode"]) == (401, 402)
        r = await web.call("GET", "/api/handles?prefix=0.NA/TEST&pageSize=0",
                           headers=[ADMIN_BASIC])
        assert body(r) == {"responseCode": 1, "prefix": "TEST", "totalCount": 3,
                           "handles": []}
        r = await web.call("GET", "/api/handles?prefix=TEST&pageSize=2", headers=[ADMIN_BASIC])
        first = body(r)
        assert first["totalCount"] == 3 and len(first["handles"]) == 2
        r = await web.call("GET", "/api/handles?prefix=TEST&pageSize=2&page=1",
                           headers=[ADMIN_BASIC])
        second = body(r)["handles"]
        assert len(second) == 1 and second[0] not in first["handles"]
        r = await web.call("GET", "/api/handles/?prefix=TEST&pageSize=2", headers=[ADMIN_BASIC])
        assert body(r)["handles"] == first["handles"]  # the trailing slash lists too
        r = await web.call("GET", f"/api/handles?prefix=TEST&pageSize=2&after={first['next']}",
                           headers=[ADMIN_BASIC])
        assert body(r)["handles"] == second
        r = await web.call("GET", "/api/handles?prefix=TEST",
                           headers=[basic("301:TEST/NOBODY", "nobody")])
        assert r.status == 403
        r = await web.call("GET", "/api/prefixes", headers=[ADMIN_BASIC])
        assert r.status == 200 and "0.NA/TEST" in body(r)["prefixes"]
        r = await web.call("GET", "/api/site")
        assert r.status == 200 and body(r)["site"]["servers"]
    run(tmp_path, scenario)


def test_jsonp_pretty_cors_and_methods(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        r = await web.call("GET", path("TEST/Doc") + "?callback=show")
        assert r.content_type == "application/javascript"
        assert r.body.startswith(b"show(") and r.body.endswith(b");")
        r = await web.call("GET", path("TEST/Doc") + "?callback=alert(1)//")
        assert r.content_type == "application/json"  # an unsafe name is not echoed
        r = await web.call("GET", path("TEST/Doc") + "?pretty")
        assert b"\n  " in r.body
        assert ("Access-Control-Allow-Origin", "*") in r.headers
        r = await web.call("OPTIONS", path("TEST/Doc"))
        assert r.status == 204
        r = await web.call("PATCH", path("TEST/Doc"))
        assert r.status == 405 and ("Allow", "GET, HEAD, PUT, DELETE") in r.headers
        r = await web.call("GET", "/api/nothing")
        assert r.status == 501
    run(tmp_path, scenario)


@pytest.mark.parametrize("target", ["/openapi.json"])
def test_openapi_document_is_served(tmp_path: Path, target: str) -> None:
    async def scenario(web: Web) -> None:
        r = await web.call("GET", target)
        doc = body(r)
        assert doc["openapi"].startswith("3.")
        assert "/api/handles/{handle}" in doc["paths"]
    run(tmp_path, scenario)
