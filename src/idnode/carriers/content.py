"""What a carrier holds: the identifier's proxy URL (the default) or the bare identifier.

A scanned label should open in any phone's browser, so the default content is the URL of the
identifier on a proxy (``https://<proxy>/88.118.8/JXDY2106023``); ``raw`` carriers hold the
identifier itself, for readers that resolve it themselves.
"""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import quote, urlsplit

from idnode.carriers.errors import CarrierError
from idnode.errors import InvalidHandle
from idnode.identifiers.handle import Handle

__all__ = ["DEFAULT_PROXY", "carrier_text", "check_identifier", "handle_url_path", "proxy_url"]

#: The Handle.Net proxy; IDIS deployments pass their own recursive node's web face.
DEFAULT_PROXY = "https://hdl.handle.net"
# Path segments that browsers (WHATWG URL) collapse or drop, even percent-encoded.
_DOT_SEGMENTS = frozenset({"", ".", ".."})


def check_identifier(identifier: str) -> Handle:
    """The identifier as a validated handle: ``prefix/suffix``, at most 2,048 UTF-8 bytes
    (the Handle protocol); with the scheme registry present, also its rules for ``88.``
    identifiers (at most 255 characters, prefix at most 64: ``idis.md`` §1.3).

    :raises CarrierError: not a valid handle (names the reason).
    """
    try:
        handle = Handle.parse(identifier)
        schemes = _registry()
        if schemes is not None:
            schemes.parse(identifier, scheme="handle")
    except InvalidHandle as exc:  # InvalidIdentifier, the registry's error, is one too
        raise CarrierError(reason=str(exc)) from None
    return handle


def _registry() -> Any:
    # Lazily and optionally: a build without idnode.schemes checks the protocol's rules only.
    try:
        module = importlib.import_module("idnode.schemes")
    except ImportError:
        return None
    return module if hasattr(module, "parse") else None


def handle_url_path(handle: str) -> str:
    """The handle as a URL path (no leading ``/``), UTF-8 percent-encoded, ``/`` kept.

    Where a segment would be empty, ``.`` or ``..`` (``88.1/a//b``, ``88.1/../x``) every ``/``
    is sent as ``%2F`` instead: browsers would otherwise merge or drop those segments before
    the proxy sees them. Proxies percent-decode the whole path, so both forms name the handle.
    """
    segments = handle.split("/")
    encoded = [quote(segment, safe="") for segment in segments]
    joiner = "%2F" if any(s in _DOT_SEGMENTS for s in segments) else "/"
    return joiner.join(encoded)


def _proxy_base(proxy: str) -> str:
    parts = urlsplit(proxy.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CarrierError(reason=f"proxy {proxy!r}: expected an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise CarrierError(reason=f"proxy {proxy!r}: no query or fragment, please")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def proxy_url(identifier: str, proxy: str = DEFAULT_PROXY) -> str:
    """``https://<proxy>/<identifier>`` with the identifier percent-encoded as a path.

    >>> proxy_url("88.118.8/批次 7", "https://id.example.cn")
    'https://id.example.cn/88.118.8/%E6%89%B9%E6%AC%A1%207'

    :raises CarrierError: the identifier is not a handle, or ``proxy`` is not an http(s) URL.
    """
    handle = check_identifier(identifier)
    return f"{_proxy_base(proxy)}/{handle_url_path(handle.text)}"


def carrier_text(identifier: str, *, proxy: str = DEFAULT_PROXY, raw: bool = False) -> str:
    """The text a carrier for ``identifier`` holds: its proxy URL, or (``raw``) itself."""
    if raw:
        return check_identifier(identifier).text
    return proxy_url(identifier, proxy)
