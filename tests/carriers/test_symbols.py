"""QR codes and Data Matrix: what zxing-cpp reads back is exactly what was encoded."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from carriers.readback import SVG, png_matrix, render, svg_codes, trim, zxing_texts
from idnode.carriers import (
    DM_CAPACITY,
    QR_CAPACITY,
    CapacityExceeded,
    CarrierError,
    carrier_symbol,
    datamatrix_png,
    datamatrix_svg,
    datamatrix_symbol,
    proxy_url,
    qr_png,
    qr_svg,
    qr_symbol,
    symbol_png,
    symbol_svg,
)
from idnode.carriers.datamatrix import datamatrix_codewords

PROXY = "https://id.example.cn"
IDENTIFIERS = [
    "88.118.8/JXDY2106023",
    "88.168.5288/批次-2024-06-23",          # hanzi in the suffix
    "88.200.17/87.01.01.SG1020.20240315.0001",
    "88.118.8/a b?c#d%e&f=g+h",             # URL-significant characters
    "88.118.9/VMC850-2020-0137/维护/2024",   # more slashes
    "88.1/../x",                            # a dot segment browsers would eat
    "20.500.12345/Ärger_ü€",                # non-88 prefix, Latin-1 and beyond
]


@pytest.mark.parametrize("kind", ["qr", "datamatrix"])
@pytest.mark.parametrize("identifier", IDENTIFIERS)
def test_png_round_trip_proxy_url(kind: str, identifier: str) -> None:
    png = (qr_png if kind == "qr" else datamatrix_png)(identifier, proxy=PROXY, module_px=3)
    assert zxing_texts(png) == [proxy_url(identifier, PROXY)]


@pytest.mark.parametrize("kind", ["qr", "datamatrix"])
@pytest.mark.parametrize("identifier", IDENTIFIERS)
def test_png_round_trip_raw(kind: str, identifier: str) -> None:
    # Non-ASCII goes as UTF-8 behind ECI 26 in both symbologies.
    png = (qr_png if kind == "qr" else datamatrix_png)(identifier, raw=True, module_px=3)
    assert zxing_texts(png) == [identifier]


def test_default_proxy_and_label_keep_the_code_readable() -> None:
    png = qr_png("88.118.8/JXDY2106023", label="电动扳手 88.118.8/JXDY2106023")
    assert zxing_texts(png) == ["https://hdl.handle.net/88.118.8/JXDY2106023"]
    png = datamatrix_png("88.118.8/JXDY2106023", label="JXDY2106023")
    assert zxing_texts(png) == ["https://hdl.handle.net/88.118.8/JXDY2106023"]


def test_qr_near_capacity_fits_and_one_more_byte_does_not() -> None:
    # 250 hanzi (9 URL bytes each) + ASCII: the URL is exactly version 40-M's 2,331 bytes.
    head = f"{PROXY}/10.1000/" + "%E6%89%B9" * 250
    identifier = "10.1000/" + "批" * 250 + "a" * (QR_CAPACITY["byte"]["M"] - len(head))
    symbol = carrier_symbol(identifier, "qr", proxy=PROXY, error="M")
    assert len(symbol.content) == 2331 and symbol.detail == "version 40-M"
    assert zxing_texts(symbol_png(symbol, module_px=3)) == [symbol.content]
    with pytest.raises(CapacityExceeded) as err:
        carrier_symbol(identifier + "a", "qr", proxy=PROXY, error="M")
    assert err.value.needed == 2332 and err.value.capacity == 2331
    assert "capacity is 2331 bytes" in str(err.value) and "L 2953" in str(err.value)


def test_qr_capacity_depends_on_level_and_mode() -> None:
    with pytest.raises(CapacityExceeded, match="capacity is 1273 bytes"):
        qr_symbol("x" * 1274, error="H")
    qr_symbol("x" * 1273, error="H")
    with pytest.raises(CapacityExceeded, match=r"alphanumeric mode.*capacity is 4296 char"):
        qr_symbol("88.1/" + "A" * 4292, error="L")
    with pytest.raises(CapacityExceeded, match=r"UTF-8 ECI.*capacity is 2330 bytes"):
        qr_symbol("批" * 777 + "x", error="M")
    with pytest.raises(CarrierError, match="use L, M, Q or H"):
        qr_symbol("x", error="Z")


def test_datamatrix_near_capacity_fits_and_more_does_not() -> None:
    base = "10.1000/" + "批" * 60
    low, high = 0, 2000  # the longest run of "x" that still fits, by bisection
    while low < high:
        mid = (low + high + 1) // 2
        fits = datamatrix_codewords(proxy_url(base + "x" * mid, PROXY)) <= DM_CAPACITY
        low, high = (mid, high) if fits else (low, mid - 1)
    identifier = base + "x" * low
    content = proxy_url(identifier, PROXY)
    assert DM_CAPACITY - 2 <= datamatrix_codewords(content) <= DM_CAPACITY
    symbol = datamatrix_symbol(content)
    assert symbol.detail == "144×144"
    assert zxing_texts(symbol_png(symbol, module_px=3)) == [content]
    with pytest.raises(CapacityExceeded) as err:
        datamatrix_symbol(proxy_url(identifier + "xx", PROXY))
    assert err.value.capacity == 1558 and "1558 data codewords" in str(err.value)


def test_too_long_identifier_is_refused_naming_the_capacity() -> None:
    # A valid IDIS identifier (249 of 255 characters): its URL is 2,192 bytes, which fits
    # level M (any IDIS identifier does, on a proxy this short), but not Q.
    identifier = "88.118.8/" + "批" * 240
    assert carrier_symbol(identifier, "qr").detail == "version 39-M"
    with pytest.raises(CapacityExceeded, match=r"QR code.*capacity is 1663 bytes"):
        carrier_symbol(identifier, "qr", error="Q")
    with pytest.raises(CapacityExceeded, match=r"Data Matrix.*capacity is 1558"):
        carrier_symbol(identifier, "datamatrix")
    # Raw it fits: 720 UTF-8 bytes.
    assert zxing_texts(symbol_png(carrier_symbol(identifier, "qr", raw=True),
                                  module_px=3)) == [identifier]


def test_identifier_over_the_protocol_limit_is_refused() -> None:
    with pytest.raises(CarrierError, match="2048 bytes"):
        carrier_symbol("10.1000/" + "x" * 2041, "qr", raw=True)
    with pytest.raises(CarrierError, match="no '/'"):
        carrier_symbol("JXDY2106023", "qr")


@pytest.mark.parametrize("kind", ["qr", "datamatrix"])
def test_svg_is_well_formed_with_the_png_module_matrix(kind: str) -> None:
    identifier = "88.168.5288/批次-2024-06-23"
    symbol = carrier_symbol(identifier, kind, proxy=PROXY)
    svg = symbol_svg(symbol, module_mm=0.4, label=identifier)
    root = ET.fromstring(svg)
    assert root.get("width") == f"{symbol.width * 0.4:g}mm"
    ((content, matrix, (_, _, module_mm)),) = svg_codes(svg)
    assert content == symbol.content and module_mm == 0.4
    inner = trim(matrix, symbol.quiet_zone)
    assert sum(map(sum, inner)) == symbol.dark_count
    png = symbol_png(symbol, module_px=2)
    assert inner == png_matrix(png, 2, symbol.quiet_zone)
    assert zxing_texts(render(inner)) == [symbol.content]
    texts = "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert texts == identifier  # the label is text, hanzi as they are (wrapped, not cut)


def test_svg_shortcuts_and_quiet_zone() -> None:
    ((content, matrix, _),) = svg_codes(qr_svg("88.1/x", raw=True))
    assert content == "88.1/x" and len(matrix) == 21 + 8
    ((_, matrix, _),) = svg_codes(datamatrix_svg("88.1/x", raw=True))
    assert len(matrix) == 12 + 4  # 12×12 symbol, 2 modules of quiet zone
    symbol = carrier_symbol("88.1/x", "qr", quiet_zone=1)
    assert symbol.width == len(symbol.modules) + 2
    with pytest.raises(CarrierError):
        carrier_symbol("88.1/x", "qr", quiet_zone=-1)
    with pytest.raises(CarrierError, match="unknown carrier kind"):
        carrier_symbol("88.1/x", "aztec")
