"""What carriers hold (proxy URLs) and how scanned text goes back to the identifier."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest
import zxingcpp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from idnode.carriers import (
    CarrierError,
    carrier_text,
    decode_image,
    handle_url_path,
    identify,
    proxy_url,
)
from idnode.carriers.identify import _registry_parse

# Suffixes of any printable characters (no controls: handles refuse them), hanzi included.
suffixes = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40)


@pytest.mark.parametrize(("identifier", "url"), [
    ("88.118.8/JXDY2106023", "https://p.cn/88.118.8/JXDY2106023"),
    ("88.118.8/批次2024", "https://p.cn/88.118.8/%E6%89%B9%E6%AC%A12024"),
    ("88.1/a b?c#d%e+f", "https://p.cn/88.1/a%20b%3Fc%23d%25e%2Bf"),
    ("88.1/a/b", "https://p.cn/88.1/a/b"),
    # A dot or empty segment would be merged away by browsers: every "/" goes as %2F.
    ("88.1/../x", "https://p.cn/88.1%2F..%2Fx"),
    ("88.1/a//b", "https://p.cn/88.1%2Fa%2F%2Fb"),
    ("88.1/x/", "https://p.cn/88.1%2Fx%2F"),
])
def test_proxy_url_encoding(identifier: str, url: str) -> None:
    assert proxy_url(identifier, "https://p.cn/") == url
    assert identify(url).identifier == identifier


def test_proxy_base_may_have_a_path_but_must_be_http() -> None:
    assert proxy_url("88.1/x", "http://127.0.0.1:24001/r/") == "http://127.0.0.1:24001/r/88.1/x"
    for bad in ("ftp://p.cn", "p.cn", "https://p.cn/?q=1", "https://p.cn/#f"):
        with pytest.raises(CarrierError, match="proxy"):
            proxy_url("88.1/x", bad)
    assert carrier_text("88.1/x", raw=True) == "88.1/x"


@settings(max_examples=300, deadline=None)
@given(suffix=suffixes, prefix=st.sampled_from(["88.118.8", "20.500.1", "0.NA"]))
def test_every_handle_round_trips_through_its_proxy_url(prefix: str, suffix: str) -> None:
    assume(suffix.strip())  # the scheme registry reads identifiers with white space trimmed
    identifier = f"{prefix}/{suffix}"
    url = proxy_url(identifier, "https://p.cn")
    assert url.isascii() and " " not in url
    path = urlsplit(url).path
    # What a browser sends: no dot segments left to collapse.
    assert not any(seg in (".", "..") for seg in path.split("/")[1:])
    assert unquote(path[1:]) == identifier
    found = identify(url)
    assert (found.identifier, found.form) == (identifier, "proxy URL")
    assert identify(identifier).identifier == identifier
    assert handle_url_path(identifier) == path[1:]


@pytest.mark.parametrize(("text", "identifier", "form"), [
    ("88.118.8/JXDY2106023", "88.118.8/JXDY2106023", "bare handle"),
    ("88.118.8/ 有空格 ", "88.118.8/ 有空格 ", "bare handle"),
    ("hdl:88.118.8/%E6%89%B9", "88.118.8/批", "hdl: URI"),
    ("HDL://88.118.8/x", "88.118.8/x", "hdl: URI"),
    ("http://127.0.0.1:24001/api/handles/88.118.8/x?pretty", "88.118.8/x", "REST URL"),
    ("https://hdl.handle.net/88.118.8/x?noredirect#top", "88.118.8/x", "proxy URL"),
])
def test_identify_forms(text: str, identifier: str, form: str) -> None:
    found = identify(text)
    assert (found.identifier, found.scheme, found.form) == (identifier, "handle", form)


@pytest.mark.parametrize("text", ["just words", "https://example.com/", "https://p.cn/%FF/x",
                                  "88.118.8/"])
def test_identify_refuses_what_names_no_identifier(text: str) -> None:
    with pytest.raises(CarrierError):
        identify(text)


def gs1_datamatrix() -> Image.Image:
    """A GS1 Data Matrix (FNC1 first) made by zxing-cpp's writer, not by idnode."""
    code = zxingcpp.create_barcode("(01)09506000134352(10)ABC123",
                                   zxingcpp.BarcodeFormat.DataMatrix, gs1=True)
    symbol = Image.fromarray(code.to_image(scale=4))
    framed = Image.new("L", (symbol.width + 16, symbol.height + 16), 255)
    framed.paste(symbol, (8, 8))
    return framed


def test_gs1_symbols_need_the_scheme_registry() -> None:
    (code,) = decode_image(gs1_datamatrix())
    assert code.gs1 and code.symbology == "]d2"
    assert code.text == "(01)09506000134352(10)ABC123"  # the human-readable form
    if _registry_parse() is None:  # a build without idnode.schemes
        with pytest.raises(CarrierError, match="no GS1 scheme"):
            identify(code.text, gs1=True)
        return
    found = identify(code.text, gs1=True)
    assert found.scheme == "gs1"
    assert "09506000134352" in found.identifier
    link = identify("https://id.gs1.org/01/09506000134352")
    assert link.scheme == "gs1" and "09506000134352" in link.identifier
