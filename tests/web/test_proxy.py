"""The proxy face: ``GET /{handle}`` redirects and pages, built in memory.

``lookup`` is a fake over a dict here; the real lookup is tested with the node.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from urllib.parse import unquote

import pytest

from idnode.errors import HandleNotFound, InvalidHandle, NotResponsible, ServerBusy
from idnode.http.messages import Request, Response
from idnode.identifiers.value import TTL_ABSOLUTE, HandleValue, Reference
from idnode.identifiers.values import AdminData, VListData
from idnode.web.proxy import Lookup, proxy_resolve, wants_json

HERE = "88.1"
LOC = (b'<locations chooseby="locatt,country,weighted">'
       b'<location href="http://a.example/" weight="3" id="0" />'
       b'<location href="http://b.example/" weight="1" id="1" />'
       b'<location href="http://json.example/" weight="0" view="json" />'
       b"</locations>")


def url(index: int, text: str, ttl: int = 86400) -> HandleValue:
    return HandleValue(index, "URL", text.encode(), ttl=ttl, timestamp=1_700_000_000)


RECORDS: dict[str, tuple[HandleValue, ...]] = {
    "88.1/doc": (
        url(2, "https://second.example/"),
        url(1, "https://example.com/doc", ttl=3600),
        HandleValue(3, "EMAIL", b"owner@example.com"),
        HandleValue(4, "DESC", b"Note: not a URL"),
        HandleValue(5, "URL.mirror", b"ftp://mirror.example/doc"),
        HandleValue(100, "HS_ADMIN", AdminData(0x0FF2, "0.NA/88.1", 300).to_bytes()),
    ),
    "88.1/loc": (url(1, "https://legacy.example/"), HandleValue(2, "10320/LOC", LOC)),
    "88.1/badloc": (url(1, "https://legacy.example/"),
                    HandleValue(2, "10320/LOC", b"<!DOCTYPE x><locations/>")),
    "88.1/desc": (HandleValue(1, "DESC", b"just a description"),
                  HandleValue(2, "HS_VLIST", VListData((Reference("88.1/admin", 300),))
                              .to_bytes()),
                  HandleValue(3, "BLOB", bytes(range(256)) * 4),
                  HandleValue(4, "HS_ALIAS", b"88.1/doc")),
    "88.1/evil": (url(1, "javascript:alert(1)"),
                  HandleValue(2, "DESC", b"<script>alert('x')</script>"),
                  HandleValue(3, "URL.2", b"https://ok.example/\"><script>x</script>")),
    "88.1/crlf": (url(1, "https://example.com/\r\nSet-Cookie: a=b"),),
    "88.1/<script>": (HandleValue(1, "DESC", b"hostile handle"),),
    "88.1/zh": (url(1, "https://例子.example/路径 x"),),
    "88.1/abs": (HandleValue(1, "URL", b"https://abs.example/", ttl_type=TTL_ABSOLUTE,
                             ttl=4_000_000_000),),
    "88.1/mailto": (HandleValue(1, "URL", b"mailto:someone@example.com"),),
}


def fake_lookup(records: dict[str, tuple[HandleValue, ...]]) -> Lookup:
    async def lookup(handle: str) -> tuple[HandleValue, ...]:
        prefix = handle.partition("/")[0]
        if prefix == "busy":
            raise ServerBusy(reason="queue full")
        if prefix.upper() != HERE:
            raise NotResponsible(handle=handle, prefix=prefix)
        if handle not in records:
            raise HandleNotFound(handle=handle)
        return records[handle]
    return lookup


def request(target: str, headers: list[tuple[str, str]] | None = None) -> Request:
    raw_path, _, query = target.partition("?")
    return Request("GET", target, unquote(raw_path), raw_path, query, headers or [])


def resolve(target: str, *, seed: int = 1) -> Response:
    req = request(target)
    handle = req.path[1:]
    return asyncio.run(proxy_resolve(req, handle, fake_lookup(RECORDS),
                                     rng=random.Random(seed)))


def header(response: Response, name: str) -> str | None:
    for key, value in response.headers:
        if key.lower() == name.lower():
            return value
    return None


def text(response: Response) -> str:
    return response.body.decode("utf-8")


def assert_page_headers(response: Response) -> None:
    assert response.content_type == "text/html; charset=utf-8"
    assert header(response, "X-Content-Type-Options") == "nosniff"
    csp = header(response, "Content-Security-Policy")
    assert csp is not None and "default-src 'none'" in csp and "script-src" not in csp


# -- redirects -------------------------------------------------------------------------------

def test_redirects_to_lowest_index_url() -> None:
    response = resolve("/88.1/doc")
    assert response.status == 302
    assert header(response, "Location") == "https://example.com/doc"
    assert header(response, "Cache-Control") == "max-age=3600"
    assert_page_headers(response)
    assert 'href="https://example.com/doc"' in text(response)


def test_ttl_is_capped_and_absolute_ttl_counts_down() -> None:
    capped = asyncio.run(proxy_resolve(request("/88.1/x"), "88.1/x",
                                       fake_lookup({"88.1/x": (url(1, "http://a/", 10**6),)})))
    assert header(capped, "Cache-Control") == "max-age=86400"
    absolute = resolve("/88.1/abs")
    assert header(absolute, "Cache-Control") == "max-age=86400"


def test_index_parameter() -> None:
    response = resolve("/88.1/doc?index=2")
    assert header(response, "Location") == "https://second.example/"
    # The first URL-like value among the requested indexes; DESC at 4 is not one.
    response = resolve("/88.1/doc?index=4&index=5")
    assert header(response, "Location") == "ftp://mirror.example/doc"
    response = resolve("/88.1/doc?index=4,2")
    assert header(response, "Location") == "https://second.example/"


def test_type_parameter() -> None:
    response = resolve("/88.1/doc?type=URL.mirror")
    assert header(response, "Location") == "ftp://mirror.example/doc"
    response = resolve("/88.1/doc?type=EMAIL")
    assert header(response, "Location") == "mailto:owner@example.com"


def test_type_without_redirectable_value_shows_those_values() -> None:
    response = resolve("/88.1/doc?type=DESC")
    assert response.status == 200
    body = text(response)
    assert "Note: not a URL" in body and "example.com/doc" not in body


def test_urlappend() -> None:
    response = resolve("/88.1/doc?urlappend=%2Fpage%3Fq%3D1")
    assert header(response, "Location") == "https://example.com/doc/page?q=1"


def test_non_ascii_is_percent_encoded_in_location() -> None:
    location = header(resolve("/88.1/zh"), "Location")
    assert location is not None and location.isascii()
    assert unquote(location) == "https://例子.example/路径 x"


def test_mailto_allowed() -> None:
    assert header(resolve("/88.1/mailto"), "Location") == "mailto:someone@example.com"


# -- 10320/LOC ---------------------------------------------------------------------------------

def test_loc_weighted_choice() -> None:
    req = request("/88.1/loc")
    rng = random.Random(42)
    lookup = fake_lookup(RECORDS)
    counts: Counter[str | None] = Counter()
    for _ in range(2000):
        response = asyncio.run(proxy_resolve(req, "88.1/loc", lookup, rng=rng))
        counts[header(response, "Location")] += 1
    assert set(counts) == {"http://a.example/", "http://b.example/"}  # never weight 0
    assert 0.70 < counts["http://a.example/"] / 2000 < 0.80


def test_loc_locatt_match() -> None:
    response = resolve("/88.1/loc?locatt=view:json")
    assert header(response, "Location") == "http://json.example/"


def test_loc_locatt_fallback() -> None:
    seen = {header(resolve("/88.1/loc?locatt=view:pdf", seed=s), "Location") for s in range(60)}
    assert seen == {"http://a.example/", "http://b.example/"}


def test_loc_urlappend() -> None:
    response = resolve("/88.1/loc?locatt=view:json&urlappend=x.json")
    assert header(response, "Location") == "http://json.example/x.json"


def test_broken_loc_falls_back_to_url() -> None:
    assert header(resolve("/88.1/badloc"), "Location") == "https://legacy.example/"


# -- pages -------------------------------------------------------------------------------------

def test_noredirect_page() -> None:
    response = resolve("/88.1/doc?noredirect")
    assert response.status == 200
    assert_page_headers(response)
    assert header(response, "Cache-Control") == "no-cache"
    body = text(response)
    assert '<a href="https://example.com/doc" rel="nofollow noopener">' in body
    assert "owner@example.com" in body
    assert "300:0.NA/88.1" in body and "111111110010" in body  # admin handle:index, perms
    assert "2023-11-14T22:13:20Z" in body  # timestamp
    assert "3600 s" in body
    assert 'href="/api/handles/88.1/doc"' in body
    # Values in index order.
    assert body.index("example.com/doc") < body.index("second.example")


def test_page_when_nothing_to_redirect_to() -> None:
    response = resolve("/88.1/desc")
    assert response.status == 200
    body = text(response)
    assert "just a description" in body
    assert "00 01 02 03" in body and "1024 bytes in all" in body  # binary as truncated hex
    assert '88.1/admin?noredirect">300:88.1/admin' in body  # vlist member
    assert 'href="/88.1/doc?noredirect"' in body  # alias is linked, not followed


def test_hostile_data_is_escaped() -> None:
    body = text(resolve("/88.1/evil?noredirect"))
    assert "<script>" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body
    assert 'href="javascript' not in body  # a javascript: URL is shown, never linked
    assert "javascript:alert(1)" in body
    assert '"><script>' not in body


def test_hostile_handle_is_escaped() -> None:
    body = text(resolve("/88.1/%3Cscript%3E?noredirect"))
    assert "<script>" not in body and "88.1/&lt;script&gt;" in body
    body = text(resolve("/88.1/%3Cscript%3Enope"))
    assert "<script>" not in body and "88.1/&lt;script&gt;nope" in body


def test_unknown_handle() -> None:
    response = resolve("/88.1/missing")
    assert response.status == 404
    assert_page_headers(response)
    body = text(response)
    assert "Handle not found (标识不存在)" in body
    assert 'value="88.1/missing"' in body and 'action="/resolve"' in body
    assert 'href="/api/"' in body


def test_prefix_not_served() -> None:
    response = resolve("/99.9/doc")
    assert response.status == 404
    body = text(response)
    assert "not served by this node" in body and "99.9" in body


@pytest.mark.parametrize("target", ["/nohandle", "/88.1/"])
def test_invalid_handle(target: str) -> None:
    response = resolve(target)
    assert response.status == 400
    assert "Invalid identifier" in text(response)


def test_invalid_handle_from_lookup() -> None:
    async def lookup(handle: str) -> tuple[HandleValue, ...]:
        raise InvalidHandle(handle=handle, reason="bad <char>")

    response = asyncio.run(proxy_resolve(request("/88.1/x"), "88.1/x", lookup))
    assert response.status == 400 and "bad &lt;char&gt;" in text(response)


def test_other_errors_are_pages() -> None:
    response = resolve("/busy/x")
    assert response.status == 503 and "queue full" in text(response)


def test_bad_index_parameter() -> None:
    response = resolve("/88.1/doc?index=one")
    assert response.status == 400 and "index" in text(response)


def test_no_matching_value_lists_types() -> None:
    response = resolve("/88.1/doc?type=HS_PUBKEY&index=77")
    assert response.status == 404
    body = text(response)
    assert "URL, EMAIL, DESC, URL.mirror, HS_ADMIN" in body


def test_javascript_url_refused() -> None:
    response = resolve("/88.1/evil")
    assert response.status == 400
    assert header(response, "Location") is None
    assert "Redirect refused" in text(response) and "javascript" in text(response)


def test_crlf_refused() -> None:
    response = resolve("/88.1/crlf")
    assert response.status == 400
    assert header(response, "Location") is None
    response = resolve("/88.1/doc?urlappend=%0D%0ASet-Cookie:%20a=b")
    assert response.status == 400 and header(response, "Location") is None
    assert "control characters" in text(response)


def test_ignored_parameters_do_not_change_the_answer() -> None:
    response = resolve("/88.1/doc?auth=true&ignore_aliases=true&redirectionHeaders=x&cert=1")
    assert header(response, "Location") == "https://example.com/doc"


def test_no_stack_trace_or_unescaped_input_anywhere() -> None:
    for target in ("/88.1/missing%3Cb%3E", "/9%3Ci%3E/x", "/88.1/doc?index=%3Cb%3E",
                   "/88.1/doc?type=%3Cb%3E"):
        body = text(resolve(target))
        assert "Traceback" not in body
        assert not re.search(r"<(b|i)>", body)


# -- content negotiation ---------------------------------------------------------------------

@pytest.mark.parametrize(("accept", "expected"), [
    (None, False),
    ("*/*", False),
    ("application/json", True),
    ("application/json, */*;q=0.1", True),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
    ("text/html;q=0.5, application/json", True),
    ("application/json;q=0.5, text/html", False),
    ("application/json;q=0", False),
    ("application/json;q=bogus", False),
])
def test_wants_json(accept: str | None, expected: bool) -> None:
    headers = [("accept", accept)] if accept is not None else []
    assert wants_json(request("/88.1/doc", headers)) is expected
