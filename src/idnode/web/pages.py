"""Small HTML pages: the skeleton shared by the proxy pages, the home page and error pages.

Every page is one self-contained document with inline CSS and no script, font or image
from elsewhere, served with a strict Content-Security-Policy. Functions taking ``*_html``
arguments insert them as markup; every other string is escaped here, so a caller only
escapes what it builds itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from urllib.parse import quote

from idnode.http.messages import Request, Response

__all__ = [
    "CSP_PAGE",
    "HTML",
    "error_page",
    "handle_path",
    "home_page",
    "html_response",
    "render_page",
    "resolve_form",
    "resolve_form_redirect",
]

HTML = "text/html; charset=utf-8"
#: No script at all; inline styles only; forms may only submit back here.
CSP_PAGE = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

_CSS = """
:root{color-scheme:light dark;--fg:#1d2430;--muted:#5b6575;--bg:#fff;--line:#d8dde6;
--accent:#0b5cad;--soft:#f3f5f9}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ef;--muted:#9aa3b2;--bg:#14171c;
--line:#2e3440;--accent:#6cb2ff;--soft:#1c2027}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI","PingFang SC",
"Microsoft YaHei","Noto Sans CJK SC",sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:60rem;margin:0 auto;padding:1.25rem 1rem 3rem}
header{border-bottom:1px solid var(--line);padding:.75rem 1rem}
header a{color:var(--fg);text-decoration:none;font-weight:600}
h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
a{color:var(--accent)}
p.muted,.muted{color:var(--muted)}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
font-size:.9em}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:0}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.45rem .6rem;border-bottom:1px solid var(--line)}
th{background:var(--soft);font-weight:600;white-space:nowrap}
td.data{overflow-wrap:anywhere;min-width:12rem}
tr:last-child td{border-bottom:0}
form.resolve{display:flex;gap:.5rem;flex-wrap:wrap;margin:1rem 0}
form.resolve label{flex-basis:100%}
form.resolve input{flex:1 1 16rem;min-width:0;padding:.5rem .6rem;font:inherit;
color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:6px}
form.resolve button{padding:.5rem 1rem;font:inherit;border:0;border-radius:6px;
background:var(--accent);color:#fff;cursor:pointer}
ul.links{padding-left:1.2rem}
footer{margin-top:2rem;font-size:.875rem;color:var(--muted)}
"""


def html_response(status: int, document: str, *, cache: str = "no-cache",
                  csp: str = CSP_PAGE,
                  headers: Sequence[tuple[str, str]] = ()) -> Response:
    """A ``text/html`` response with the security headers every page carries."""
    all_headers = [("Cache-Control", cache), ("X-Content-Type-Options", "nosniff"),
                   ("Content-Security-Policy", csp), *headers]
    return Response(status, document.encode("utf-8"), HTML, all_headers)


def render_page(title: str, body_html: str) -> str:
    """The whole document: ``title`` is text, ``body_html`` is markup."""
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta name=\"referrer\" content=\"same-origin\">"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        "<header><a href=\"/\">Identifier resolution (标识解析)</a></header>"
        f"<main>{body_html}</main></body></html>\n"
    )


def handle_path(handle: str) -> str:
    """``/`` + the handle, percent-encoded minimally (``/`` kept), for links and redirects.

    Leading slashes are encoded: ``//evil.example`` must not become a protocol-relative URL.
    """
    stripped = handle.lstrip("/")
    leading = "%2F" * (len(handle) - len(stripped))
    return "/" + leading + quote(stripped, safe="/")


def resolve_form(value: str = "") -> str:
    """The "resolve an identifier" form (a GET to ``/resolve``), as markup."""
    return (
        "<form class=\"resolve\" method=\"get\" action=\"/resolve\" role=\"search\">"
        "<label class=\"muted\" for=\"handle\">Resolve an identifier (解析标识)</label>"
        "<input id=\"handle\" name=\"handle\" type=\"text\" required autocomplete=\"off\" "
        f"spellcheck=\"false\" placeholder=\"88.100.1/abc\" value=\"{escape(value)}\">"
        "<button type=\"submit\">Resolve (解析)</button></form>"
    )


def error_page(status: int, title: str, detail: str, *, extra_html: str = "") -> Response:
    """An error page: ``title`` and ``detail`` are text; ``extra_html`` is appended markup."""
    body = (f"<h1>{escape(title)}</h1><p>{escape(detail)}</p>{extra_html}"
            "<footer><a href=\"/\">Home</a> · <a href=\"/api/\">API</a></footer>")
    return html_response(status, render_page(title, body))


def home_page(node_name: str, prefixes: Sequence[str]) -> Response:
    """``GET /``: what this node is, the prefixes it serves and the resolve form."""
    if prefixes:
        items = "".join(f"<li><code>{escape(p)}</code></li>" for p in prefixes)
        served = f"<ul class=\"links\">{items}</ul>"
    else:
        served = "<p class=\"muted\">None configured.</p>"
    body = (
        f"<h1>{escape(node_name)}</h1>"
        "<p class=\"muted\">Industrial-internet identifier node (工业互联网标识解析节点)</p>"
        f"{resolve_form()}"
        f"<h2>Prefixes served here (本节点服务的前缀)</h2>{served}"
        "<h2>API</h2><ul class=\"links\">"
        "<li><a href=\"/api/\">Browse the REST API (接口浏览)</a></li>"
        "<li><a href=\"/openapi.json\">OpenAPI description</a></li></ul>"
    )
    return html_response(200, render_page(node_name, body))


def resolve_form_redirect(request: Request) -> Response:
    """``GET /resolve?handle=X`` → 302 to ``/X`` (``/`` kept, the rest percent-encoded).

    Surrounding whitespace and an ``hdl:`` scheme (as people paste them) are removed.
    """
    text = (request.param("handle") or "").strip()
    if text[:4].lower() == "hdl:":
        text = text[4:].strip()
    if not text:
        return error_page(400, "No identifier given (未输入标识)",
                          "Type an identifier such as 88.100.1/abc.", extra_html=resolve_form())
    if any(ch < " " or ch == "\x7f" for ch in text):
        return error_page(400, "Invalid identifier (标识无效)",
                          "The identifier contains a control character.",
                          extra_html=resolve_form())
    return html_response(302, render_page("Redirect", ""),
                         headers=[("Location", handle_path(text))])
