"""The proxy face (``handle-protocol.md`` §14.9): ``GET /{handle}`` as hdl.handle.net does it.

:func:`proxy_resolve` resolves through a :data:`Lookup` and answers with a redirect or a page;
the router decides beforehand, with :func:`wants_json`, whether the client wanted the REST
JSON of ``GET /api/handles/{handle}`` instead.

Query parameters:

=====================  ===================================================================
``index``              honoured, repeatable or comma-separated: redirect to the first
                       URL-like value among those indexes (or show only them).
``type``               honoured, repeatable or comma-separated, ``X.`` matches subtypes:
                       as ``index``; with both, values matching either are considered.
``noredirect``         honoured (any value, even empty): show the record page instead.
``urlappend``          honoured: appended raw to the chosen URL, as Handle.Net does.
``locatt``             honoured: 10320/LOC attribute preferences, ``name:value`` or
                       ``name``, repeatable or comma-separated
                       (:func:`~idnode.identifiers.values.loc.select_location`).
``auth``, ``cert``     ignored: this node answers authoritatively from its own store.
``ignore_aliases``     ignored: HS_ALIAS is not followed here (the page links the alias).
``redirectionHeaders`` ignored: 10320/headers and 10320/links are not supported.
=====================  ===================================================================

Without ``index``/``type`` the target is chosen from a 10320/LOC value when one parses and
yields a location, else from the lowest-index ``URL`` value (then ``URL.*`` subtypes).
Targets must be absolute URLs with a scheme from :data:`REDIRECT_SCHEMES` and no control
characters; anything else (``javascript:``, a CR/LF header-injection attempt) gets a 400
page. Non-ASCII characters are percent-encoded for the ``Location`` header.

Every piece of user or record data in a page goes through :func:`html.escape`. Only
:class:`~idnode.errors.RegistryError` is turned into a page here; anything else is a bug
that the router's catch-all reports.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from html import escape
from urllib.parse import quote

from idnode.errors import (
    HandleNotFound,
    InvalidHandle,
    NotResponsible,
    RegistryError,
    ValuesNotFound,
)
from idnode.http.messages import Request, Response
from idnode.identifiers.handle import Handle
from idnode.identifiers.jsonvalue import data_to_json, format_time
from idnode.identifiers.value import TTL_RELATIVE, HandleValue
from idnode.identifiers.values import AdminData, VListData, decode_data
from idnode.identifiers.values.loc import LOC_TYPE, parse_locations, parse_locatt, select_location
from idnode.web.pages import error_page, handle_path, html_response, render_page, resolve_form

__all__ = ["REDIRECT_SCHEMES", "Lookup", "proxy_resolve", "wants_json"]

#: Given a handle text, its public values; raises the RegistryErrors of a resolution.
Lookup = Callable[[str], Awaitable[tuple[HandleValue, ...]]]

#: Schemes a redirect may lead to; an allowlist, so ``javascript:``/``data:`` never pass.
REDIRECT_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "sftp", "mailto", "tel"})
MAX_REDIRECT_AGE = 86400
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Characters kept as they are in a Location header: the URI reserved set plus "%" (the URL
# may already be percent-encoded); spaces, quotes, "<>\^`{|}" and non-ASCII get encoded.
_URI_SAFE = "!#$%&'()*+,/:;=?@[]~"
_MAX_SHOWN_CHARS = 4096
_MAX_SHOWN_BYTES = 256
_RNG = random.Random()


# -- content negotiation -------------------------------------------------------------------

def _accept_q(accept: str) -> dict[str, float]:
    ranges: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media:
            ranges[media.lower()] = max(q, ranges.get(media.lower(), 0.0))
    return ranges


def wants_json(request: Request) -> bool:
    """True when ``Accept`` prefers ``application/json`` over HTML.

    The router then answers ``GET /{handle}`` as ``GET /api/handles/{handle}``. ``*/*``
    counts for neither side, so ``curl`` and browsers get the proxy behaviour and
    ``Accept: application/json, */*`` gets JSON.
    """
    accept = request.header("accept")
    if not accept:
        return False
    ranges = _accept_q(accept)
    json_q = ranges.get("application/json", 0.0)
    html_q = max(ranges.get("text/html", 0.0), ranges.get("application/xhtml+xml", 0.0))
    return json_q > 0 and json_q > html_q


# -- choosing the target ---------------------------------------------------------------------

class _BadParameter(Exception):
    """A query parameter that cannot be read (shown as a 400 page)."""


def _split(request: Request, name: str) -> list[str]:
    return [item.strip() for raw in request.params.get(name, ())
            for item in raw.split(",") if item.strip()]


def _indexes(request: Request) -> set[int]:
    wanted = set()
    for item in _split(request, "index"):
        if not (item.isascii() and item.isdigit()) or len(item) > 10:
            raise _BadParameter(f"index {item[:40]!r} is not a number")
        wanted.add(int(item))
    return wanted


def _is_url_type(value: HandleValue) -> bool:
    return value.matches_type("URL") or value.matches_type("URL.")


def _is_loc_type(value: HandleValue) -> bool:
    return value.matches_type(LOC_TYPE) or value.matches_type(LOC_TYPE + ".")


def _scheme(url: str) -> str | None:
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


def _loc_target(value: HandleValue, request: Request, rng: random.Random) -> str | None:
    try:
        locations = parse_locations(value.data)
    except RegistryError:
        return None  # unusable stored XML: fall back to URL values, as if it were absent
    locatt = parse_locatt(request.params.get("locatt", ()))
    chosen = select_location(locations, locatt=locatt, rng=rng)
    return chosen.href if chosen is not None else None


def _explicit_target(value: HandleValue, request: Request,
                     rng: random.Random) -> str | None:
    """The redirect target of a value asked for by index or type, if it has one."""
    if _is_loc_type(value):
        return _loc_target(value, request, rng)
    text = value.text().strip(" ")
    if _is_url_type(value):
        return text or None
    if value.matches_type("EMAIL") and "@" in text and _scheme(text) is None:
        return "mailto:" + text
    # Other types redirect only when their text is plainly an allowed URL (a DESC reading
    # "Note: …" must not become a refused redirect).
    return text if _scheme(text) in REDIRECT_SCHEMES else None


def _choose(values: Sequence[HandleValue], explicit: bool, request: Request,
            rng: random.Random) -> tuple[HandleValue, str] | None:
    if explicit:
        for value in values:
            target = _explicit_target(value, request, rng)
            if target is not None:
                return value, target
        return None
    for value in values:
        if _is_loc_type(value) and (target := _loc_target(value, request, rng)) is not None:
            return value, target
    urls = [v for v in values if v.matches_type("URL")] or [v for v in values
                                                            if _is_url_type(v)]
    for value in urls:
        if text := value.text().strip(" "):
            return value, text
    return None


def _unsafe_reason(url: str) -> str | None:
    if _CONTROL.search(url):
        return "it contains control characters (such as CR/LF)"
    scheme = _scheme(url)
    if scheme is None:
        return "it is not an absolute URL"
    if scheme not in REDIRECT_SCHEMES:
        return f"its scheme {scheme!r} is not one of {', '.join(sorted(REDIRECT_SCHEMES))}"
    return None


def _max_age(value: HandleValue) -> int:
    # An absolute TTL is a unix time: cache until then.
    remaining = value.ttl if value.ttl_type == TTL_RELATIVE else value.ttl - int(time.time())
    return max(0, min(remaining, MAX_REDIRECT_AGE))


# -- rendering -------------------------------------------------------------------------------

def _link(url: str) -> str:
    """An ``<a>`` for ``url`` when it is safe to link to, else the escaped text."""
    if _unsafe_reason(url) is not None:
        return escape(url)
    href = escape(quote(url, safe=_URI_SAFE))
    return f"<a href=\"{href}\" rel=\"nofollow noopener\">{escape(url)}</a>"


def _truncated(text: str) -> str:
    if len(text) <= _MAX_SHOWN_CHARS:
        return escape(text)
    more = len(text) - _MAX_SHOWN_CHARS
    return f"{escape(text[:_MAX_SHOWN_CHARS])}<span class=\"muted\">… ({more} more)</span>"


def _binary(data: bytes) -> str:
    shown = data[:_MAX_SHOWN_BYTES]
    more = (f" <span class=\"muted\">… ({len(data)} bytes in all)</span>"
            if len(data) > _MAX_SHOWN_BYTES else "")
    return f"<code>{escape(shown.hex(' '))}</code>{more}"


def _render_data(value: HandleValue) -> str:
    """The data cell: text as text, admin and vlist entries as references, binary as hex."""
    try:
        decoded = decode_data(value.type, value.data)
    except RegistryError:
        decoded = None  # malformed structured data: shown as bytes below
    if isinstance(decoded, AdminData):
        admin = f"{decoded.index}:{decoded.handle}"
        return (f"admin {_handle_link(admin, decoded.handle)}, permissions "
                f"<code>{escape(decoded.permissions_text)}</code>")
    if isinstance(decoded, VListData):
        items = "".join(f"<li>{_handle_link(f'{m.index}:{m.handle}', m.handle)}</li>"
                        for m in decoded.members)
        return f"<ul class=\"links\">{items}</ul>"
    rendered = data_to_json(value.type, value.data) if decoded is not None else None
    if rendered is None or rendered["format"] == "base64":
        return _binary(value.data)
    if rendered["format"] != "string":  # site, key: their JSON is the readable form
        text = json.dumps(rendered["value"], indent=1, ensure_ascii=False)
        return f"<pre>{_truncated(text)}</pre>"
    text = str(rendered["value"])
    if _is_url_type(value):
        return _link(text)
    if value.matches_type("HS_ALIAS"):
        return _handle_link(text, text)
    if _is_loc_type(value) or "\n" in text:
        return f"<pre>{_truncated(text)}</pre>"
    return _truncated(text)


def _handle_link(label: str, handle: str) -> str:
    return f"<a href=\"{escape(handle_path(handle))}?noredirect\">{escape(label)}</a>"


def _ttl_text(value: HandleValue) -> str:
    if value.ttl_type == TTL_RELATIVE:
        return f"{value.ttl} s"
    return f"until {format_time(value.ttl)}"


def _values_table(values: Sequence[HandleValue]) -> str:
    rows = "".join(
        f"<tr><td>{value.index}</td><td><code>{escape(value.type)}</code></td>"
        f"<td class=\"data\">{_render_data(value)}</td>"
        f"<td class=\"mono\">{format_time(value.timestamp) if value.timestamp else '—'}</td>"
        f"<td class=\"mono\">{_ttl_text(value)}</td></tr>"
        for value in values)
    return ("<div class=\"scroll\"><table><thead><tr><th>Index (索引)</th><th>Type (类型)</th>"
            "<th>Data (数据)</th><th>Timestamp (时间戳)</th><th>TTL</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>")


def _api_link(handle: str) -> str:
    href = escape("/api/handles" + handle_path(handle))
    return (f"<p><a href=\"{href}\">JSON form of this record</a> · "
            "<a href=\"/api/\">API</a></p>")


def _record_page(handle: str, values: Sequence[HandleValue], note: str) -> Response:
    title = f"Handle record (标识记录): {handle}"
    body = (f"<h1>{escape(handle)}</h1><p class=\"muted\">{escape(note)}</p>"
            f"{_values_table(values)}{_api_link(handle)}{resolve_form()}")
    return html_response(200, render_page(title, body))


def _redirect(value: HandleValue, url: str) -> Response:
    location = quote(url, safe=_URI_SAFE)
    body = (f"<h1>Redirecting (重定向)</h1><p><a href=\"{escape(location)}\">"
            f"{escape(url)}</a></p>")
    return html_response(302, render_page("Handle redirect", body),
                         cache=f"max-age={_max_age(value)}",
                         headers=[("Location", location)])


def _not_found(handle: str) -> Response:
    return error_page(404, "Handle not found (标识不存在)",
                      f"No record exists for {handle}.",
                      extra_html=resolve_form(handle))


def _error(handle: str, exc: RegistryError) -> Response:
    if isinstance(exc, HandleNotFound):
        return _not_found(handle)
    if isinstance(exc, NotResponsible):
        prefix = str(exc.kwargs.get("prefix") or handle.partition("/")[0])
        return error_page(404, "Prefix not served here (本节点不服务该前缀)",
                          f"The prefix {prefix} of {handle} is not served by this node; "
                          "resolve it through its own service.", extra_html=resolve_form())
    if isinstance(exc, InvalidHandle):
        return error_page(400, "Invalid identifier (标识无效)", str(exc),
                          extra_html=resolve_form(handle))
    if isinstance(exc, ValuesNotFound):
        return error_page(404, "No values (无标识值)", f"{handle} has no values to show.")
    status = 503 if exc.response_code in (3, 7) else 500
    return error_page(status, "Resolution failed (解析失败)", str(exc))


# -- the entry point -------------------------------------------------------------------------

async def proxy_resolve(request: Request, handle: str, lookup: Lookup, *,
                        rng: random.Random | None = None) -> Response:
    """Answer ``GET /{handle}``: a 302 to the record's URL, or an HTML page.

    :param handle: the handle text (the percent-decoded path without its leading ``/``).
    :param rng: randomness for the weighted 10320/LOC choice (tests pass a seeded one).
    """
    response = await _resolve(request, handle, lookup, rng or _RNG)
    # The router answers the same URL with JSON for JSON-preferring clients (wants_json).
    response.headers.append(("Vary", "Accept"))
    return response


async def _resolve(request: Request, handle: str, lookup: Lookup,
                   rng: random.Random) -> Response:
    try:
        Handle.parse(handle)
        indexes = _indexes(request)
        types = _split(request, "type")
        values = sorted(await lookup(handle), key=lambda v: v.index)
    except _BadParameter as exc:
        return error_page(400, "Invalid parameter (参数无效)", str(exc))
    except RegistryError as exc:
        return _error(handle, exc)

    explicit = bool(indexes or types)
    selected = values
    if explicit:
        selected = [v for v in values
                    if v.index in indexes or any(v.matches_type(t) for t in types)]
        if not selected:
            present = ", ".join(dict.fromkeys(v.type for v in values)) or "none"
            return error_page(404, "No matching values (无匹配的标识值)",
                              f"{handle} has no value with the requested index or type. "
                              f"Its types are: {present}.",
                              extra_html=_api_link(handle))
    if "noredirect" in request.params:
        return _record_page(handle, selected, "Showing the record (noredirect).")

    chosen = _choose(selected, explicit, request, rng)
    if chosen is None:
        return _record_page(handle, selected, "The record has no URL to redirect to.")
    value, target = chosen
    url = target + (request.param("urlappend") or "")
    reason = _unsafe_reason(url)
    if reason is not None:
        return error_page(400, "Redirect refused (拒绝重定向)",
                          f"The value at index {value.index} of {handle} is not followed "
                          f"because {reason}: {url[:200]}",
                          extra_html=_api_link(handle))
    return _redirect(value, url)
