"""Home page, error pages, the ``/resolve`` form redirect and the offline API explorer."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from idnode.http.messages import Request, Response
from idnode.web.explorer import explorer_page, explorer_script
from idnode.web.pages import error_page, handle_path, home_page, resolve_form_redirect


def request(target: str) -> Request:
    raw_path, _, query = target.partition("?")
    return Request("GET", target, unquote(raw_path), raw_path, query, [])


def header(response: Response, name: str) -> str | None:
    for key, value in response.headers:
        if key.lower() == name.lower():
            return value
    return None


def text(response: Response) -> str:
    return response.body.decode("utf-8")


def assert_no_external_references(body: str) -> None:
    lowered = body.lower()
    assert not re.search(r"<script[^>]*\bsrc=[\"']?(https?:)?//", lowered)
    assert not re.search(r"<link[^>]*\bhref=[\"']?(https?:)?//", lowered)
    assert not re.search(r"@import|url\(\s*[\"']?(https?:)?//", lowered)
    assert not re.search(r"\b(src|href|action)=[\"']?(https?:)?//", lowered)


# -- home and error pages --------------------------------------------------------------------

def test_home_page() -> None:
    response = home_page("Node <A>", ["88.1", "88.100.2&x"])
    assert response.status == 200
    assert response.content_type == "text/html; charset=utf-8"
    assert header(response, "X-Content-Type-Options") == "nosniff"
    assert header(response, "Cache-Control") == "no-cache"
    csp = header(response, "Content-Security-Policy")
    assert csp is not None and csp.startswith(
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'")
    body = text(response)
    assert "Node &lt;A&gt;" in body and "<A>" not in body
    assert "88.100.2&amp;x" in body
    assert 'action="/resolve"' in body and 'method="get"' in body
    assert "Resolve an identifier (解析标识)" in body
    assert 'href="/api/"' in body
    assert_no_external_references(body)


def test_home_page_without_prefixes() -> None:
    assert "None configured" in text(home_page("n", []))


def test_error_page_escapes() -> None:
    response = error_page(418, "Bad <title>", "detail <b>x</b>", extra_html="<p>ok</p>")
    assert response.status == 418
    body = text(response)
    assert "Bad &lt;title&gt;" in body and "detail &lt;b&gt;x&lt;/b&gt;" in body
    assert "<p>ok</p>" in body
    assert "<b>" not in body


# -- /resolve --------------------------------------------------------------------------------

@pytest.mark.parametrize(("target", "location"), [
    ("/resolve?handle=88.1/abc", "/88.1/abc"),
    ("/resolve?handle=+88.1%2Fabc+", "/88.1/abc"),
    ("/resolve?handle=hdl:88.1/x", "/88.1/x"),
    ("/resolve?handle=88.1/a%20b%3Fc%23d%25", "/88.1/a%20b%3Fc%23d%25"),
    ("/resolve?handle=88.1/%E6%A0%87%E8%AF%86", "/88.1/%E6%A0%87%E8%AF%86"),
    # Never a protocol-relative URL to another host.
    ("/resolve?handle=//evil.example/x", "/%2F%2Fevil.example/x"),
    ("/resolve?handle=/%5Cevil.example", "/%2F%5Cevil.example"),
])
def test_resolve_form_redirect(target: str, location: str) -> None:
    response = resolve_form_redirect(request(target))
    assert response.status == 302
    assert header(response, "Location") == location


@pytest.mark.parametrize("target", ["/resolve", "/resolve?handle=", "/resolve?handle=%20",
                                    "/resolve?handle=88.1/a%0d%0aX:y"])
def test_resolve_form_refuses(target: str) -> None:
    response = resolve_form_redirect(request(target))
    assert response.status == 400
    assert header(response, "Location") is None


def test_handle_path() -> None:
    assert handle_path("88.1/a/b") == "/88.1/a/b"
    assert handle_path("88.1/<x>") == "/88.1/%3Cx%3E"


# -- explorer --------------------------------------------------------------------------------

def test_explorer_page() -> None:
    response = explorer_page()
    assert response.status == 200
    assert response.content_type == "text/html; charset=utf-8"
    assert header(response, "X-Content-Type-Options") == "nosniff"
    csp = header(response, "Content-Security-Policy")
    assert csp is not None
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "connect-src 'self'" in csp and "unsafe-eval" not in csp
    body = text(response)
    assert '<script src="/api/explorer.js"></script>' in body
    # No inline script: the CSP would block it anyway.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)
    assert not re.search(r"\son[a-z]+=", body)  # no inline event handlers
    assert "API explorer (接口浏览)" in body
    assert_no_external_references(body)
    assert "http://" not in body and "https://" not in body


def test_explorer_script() -> None:
    response = explorer_script()
    assert response.status == 200
    assert response.content_type is not None and "javascript" in response.content_type
    assert header(response, "X-Content-Type-Options") == "nosniff"
    assert header(response, "Content-Security-Policy") is not None
    script = text(response)
    assert '"/openapi.json"' in script
    assert "http://" not in script and "https://" not in script
    assert "innerHTML" not in script and "eval(" not in script


def test_explorer_responses_are_independent() -> None:
    first = explorer_page()
    first.headers.append(("X-Test", "1"))
    assert header(explorer_page(), "X-Test") is None
    assert explorer_page().body is first.body  # read once, cached
