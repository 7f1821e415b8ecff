"""GS1 Digital Link (GS1 数字链接) on a node's web face: ``GET /01/<gtin>[/21/<serial>…]``.

The path is a GS1 Digital Link URI path (:mod:`idnode.schemes.gs1` reads it with biip: any
primary key AI, qualifiers in key order, GTINs padded to 14 digits, percent-encoding). The
key is mapped to its handle through the mapping records (:mod:`idnode.schemes.mapping`),
read through the node's own lookup (a recursive node resolves them through the hierarchy;
an authoritative node sees only the records it holds), and the handle's record supplies the
links, following GS1-Conformant resolver conventions:

* ``URL`` values are the **default link** (``gs1:defaultLink``), lowest index first;
* ``GS1.LINK`` values are typed links, JSON
  ``{"linkType": "gs1:pip", "href": "https://…", "title": "…", "type": "text/html",
  "hreflang": ["zh"]}`` (``linkType`` as ``gs1:name``, a bare GS1 name, or a full URI);
* ``?linkType=gs1:pip`` redirects (307) to a link of that type, preferring one whose
  ``hreflang`` matches ``Accept-Language``; a type the record lacks falls back to the
  default link, as GS1 resolvers do; no ``linkType`` means the default link;
* ``?linkType=all`` (or ``linkset``), or ``Accept: application/linkset+json`` (or
  ``application/json``), returns every link as an RFC 9264 linkset, relations as full URIs
  (``https://gs1.org/voc/pip``), plus ``describedby`` → the handle's REST record.

A malformed path or key (bad check digit, qualifiers out of order) is a 400 naming what is
wrong; a key no mapping record covers, or that maps to a handle that does not exist, a 404.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from idnode.errors import (
    HandleNotFound,
    InvalidIdentifier,
    InvalidValue,
    NotResponsible,
    ValuesNotFound,
)
from idnode.http.messages import Request, Response
from idnode.identifiers.value import TTL_RELATIVE, HandleValue
from idnode.schemes.base import Parsed
from idnode.schemes.gs1 import PRIMARY_KEYS
from idnode.schemes.lookups import public_lookup
from idnode.schemes.mapping import find_mapping
from idnode.schemes.registry import default_registry
from idnode.web.pages import error_page, html_response, render_page
from idnode.web.proxy import REDIRECT_SCHEMES, wants_json

__all__ = ["GS1_VOCABULARY", "LINKSET_TYPE", "LINK_TYPE", "Link", "is_digital_link_path",
           "link_relation", "links_of", "respond"]

#: The value type of typed links.
LINK_TYPE = "GS1.LINK"
LINKSET_TYPE = "application/linkset+json"
GS1_VOCABULARY = "https://gs1.org/voc/"
_DEFAULT_LINK = GS1_VOCABULARY + "defaultLink"
_VOCABULARY_ALIASES = ("https://ref.gs1.org/voc/", "http://gs1.org/voc/")
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_URI_SAFE = "!#$%&'()*+,/:;=?@[]~"
_MAX_AGE = 86400

#: A web face's public lookup: the values of a handle; raises HandleNotFound and friends.
Fetch = Callable[[str], Awaitable[Sequence[HandleValue]]]


@dataclass(frozen=True, slots=True)
class Link:
    """One link of a record: a relation (full URI) and its target."""

    rel: str
    href: str
    title: str = ""
    type: str = ""
    hreflang: tuple[str, ...] = ()
    ttl: int = _MAX_AGE

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"href": self.href}
        if self.title:
            out["title"] = self.title
        if self.type:
            out["type"] = self.type
        if self.hreflang:
            out["hreflang"] = list(self.hreflang)
        return out


def is_digital_link_path(path: str) -> bool:
    """True when the first path segment is a GS1 primary key AI (``/01/…``, ``/00/…``)."""
    first = path[1:].partition("/")[0] if path.startswith("/") else ""
    return first in PRIMARY_KEYS


def link_relation(text: str) -> str:
    """``gs1:pip``, ``pip`` or a GS1 vocabulary URI → ``https://gs1.org/voc/pip``; other
    relations (IANA names, other URIs) are kept."""
    name = text.strip()
    for alias in _VOCABULARY_ALIASES:
        if name.startswith(alias):
            return GS1_VOCABULARY + name[len(alias):]
    if name.lower().startswith("gs1:"):
        return GS1_VOCABULARY + name[4:]
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name) and name not in ("describedby", "alternate",
                                                                   "canonical", "linkset"):
        return GS1_VOCABULARY + name
    return name


def _ttl(value: HandleValue) -> int:
    return min(value.ttl, _MAX_AGE) if value.ttl_type == TTL_RELATIVE else 0


def _typed_link(value: HandleValue) -> Link:
    where = f"{LINK_TYPE} value at index {value.index}"
    try:
        data = json.loads(value.data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidValue(reason=f"{where} is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("href"), str):
        raise InvalidValue(reason=f"{where} needs a JSON object with an 'href'")
    lang = data.get("hreflang", [])
    langs = (lang,) if isinstance(lang, str) else tuple(x for x in lang if isinstance(x, str))
    kind = data.get("linkType", "gs1:defaultLink")
    return Link(link_relation(kind if isinstance(kind, str) else "gs1:defaultLink"),
                data["href"].strip(), str(data.get("title", "")), str(data.get("type", "")),
                langs, _ttl(value))


def links_of(values: Sequence[HandleValue]) -> list[Link]:
    """The record's links: ``URL`` values as default links, then ``GS1.LINK`` values.

    :raises InvalidValue: a ``GS1.LINK`` value that is not the documented JSON.
    """
    ordered = sorted(values, key=lambda v: v.index)
    links = [Link(_DEFAULT_LINK, v.text().strip(), ttl=_ttl(v)) for v in ordered
             if v.matches_type("URL") and v.text().strip()]
    links += [_typed_link(v) for v in ordered if v.matches_type(LINK_TYPE)]
    return links


def _languages(request: Request) -> list[str]:
    ranked = []
    for part in (request.header("accept-language") or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and tag != "*" and q > 0:
            ranked.append((q, tag.lower()))
    return [tag for _, tag in sorted(ranked, key=lambda item: -item[0])]


def _choose(links: list[Link], wanted: str, languages: list[str]) -> Link | None:
    # A type the record lacks falls back to the default link, and a record without one to
    # its first link.
    matching = ([link for link in links if link.rel == wanted]
                or [link for link in links if link.rel == _DEFAULT_LINK] or links[:1])
    for language in languages:
        for link in matching:
            if any(lang.lower() == language or language.startswith(lang.lower() + "-")
                   or lang.lower().startswith(language + "-") for lang in link.hreflang):
                return link
    return matching[0] if matching else None


def _wants_linkset(request: Request) -> bool:
    link_type = (request.param("linkType") or "").strip().lower()
    if link_type in ("all", "linkset"):
        return True
    accept = (request.header("accept") or "").lower()
    return LINKSET_TYPE in accept or wants_json(request)


def _origin(request: Request) -> str:
    host = (request.header("host") or "").strip()
    if not _HOST.fullmatch(host):
        host = "id.gs1.org"
    return f"{request.scheme}://{host}"


def _error(request: Request, status: int, title: str, detail: str) -> Response:
    if _wants_linkset(request):
        body = json.dumps({"status": status, "title": title, "detail": detail},
                          ensure_ascii=False).encode()
        return Response(status, body, "application/json")
    return error_page(status, title, detail)


def _linkset(request: Request, anchor: str, handle: str, links: list[Link]) -> Response:
    entry: dict[str, object] = {"anchor": anchor}
    for link in links:
        target = entry.setdefault(link.rel, [])
        assert isinstance(target, list)
        target.append(link.to_json())
    entry["describedby"] = [{"href": f"{_origin(request)}/api/handles/"
                                     f"{quote(handle, safe='/')}",
                             "type": "application/json", "title": handle}]
    body = json.dumps({"linkset": [entry]}, ensure_ascii=False, indent=1).encode()
    return Response(200, body, LINKSET_TYPE,
                    [("Vary", "Accept"), ("Access-Control-Allow-Origin", "*"),
                     ("Cache-Control", f"max-age={min((v.ttl for v in links), default=0)}")])


def _redirect(anchor: str, handle: str, link: Link) -> Response:
    location = quote(link.href, safe=_URI_SAFE)
    body = (f"<h1>Redirecting (重定向)</h1><p><a href=\"{escape(location)}\">"
            f"{escape(link.href)}</a></p>")
    response = html_response(307, render_page("GS1 Digital Link redirect", body),
                             cache=f"max-age={link.ttl}",
                             headers=[("Location", location),
                                      ("Vary", "Accept, Accept-Language"),
                                      ("Link", f"<{anchor}?linkType=all>; rel=\"linkset\"; "
                                               f"type=\"{LINKSET_TYPE}\", "
                                               f"</{quote(handle, safe='/')}?noredirect>; "
                                               "rel=\"describedby\"")])
    return response


def _unsafe(href: str) -> str | None:
    if _CONTROL.search(href):
        return "it contains control characters"
    scheme = href.partition(":")[0].lower() if ":" in href else ""
    if scheme not in REDIRECT_SCHEMES:
        return "it is not an absolute URL with an allowed scheme"
    return None


def _parse(request: Request) -> Parsed:
    query = f"?{request.query}" if request.query else ""
    return default_registry().parse(f"https://id.gs1.org{request.raw_path}{query}",
                                    scheme="gs1")


async def respond(request: Request, fetch: Fetch) -> Response:
    """Answer a GS1 Digital Link request (see the module docstring).

    :param fetch: the web face's public lookup (``RestApi.lookup_public``).
    """
    try:
        parsed = _parse(request)
    except InvalidIdentifier as exc:
        return _error(request, 400, "Invalid GS1 Digital Link URI (GS1 数字链接无效)",
                      str(exc))
    try:
        hit = await find_mapping(parsed, public_lookup(fetch))
    except HandleNotFound as exc:
        return _error(request, 404, "Unknown GS1 key (未登记的 GS1 标识)", str(exc))
    try:
        values = await fetch(hit.handle)
    except (HandleNotFound, ValuesNotFound):
        return _error(request, 404, "Unknown GS1 key (未登记的 GS1 标识)",
                      f"{parsed.describe()} maps to {hit.handle} (by {hit.record}), which has "
                      "no public record")
    except NotResponsible:
        return _error(request, 404, "Not served here (本节点不服务该标识)",
                      f"{parsed.describe()} maps to {hit.handle}, which this node does not "
                      "serve; ask a recursive node (递归节点)")
    links = links_of(values)
    anchor = f"{_origin(request)}/{parsed.fields['dl_path']}"
    if _wants_linkset(request):
        return _linkset(request, anchor, hit.handle, links)
    wanted = link_relation(request.param("linkType") or "gs1:defaultLink")
    chosen = _choose(links, wanted, _languages(request))
    if chosen is None:
        return _error(request, 404, "No link (无可用链接)",
                      f"{hit.handle} has no URL value and no {LINK_TYPE} value to redirect to")
    reason = _unsafe(chosen.href)
    if reason is not None:
        return _error(request, 400, "Redirect refused (拒绝重定向)",
                      f"the link {chosen.href[:200]!r} of {hit.handle} is not followed because "
                      f"{reason}")
    return _redirect(anchor, hit.handle, chosen)
