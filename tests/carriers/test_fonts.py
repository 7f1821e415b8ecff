"""Label text in raster output: a font that has the glyphs, else the exact ASCII form."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from carriers.readback import zxing_texts
from idnode.carriers import CarrierError, carrier_symbol, symbol_png
from idnode.carriers.fonts import LabelFont, can_render, label_font, printable_label

BUILT_IN = LabelFont("")  # Pillow's own font: Latin letters, no hanzi


def test_glyph_coverage_of_the_built_in_font() -> None:
    assert can_render(BUILT_IN, "88.118.8/JXDY 2106023")
    assert not can_render(BUILT_IN, "88.118.8/批次")


def test_printable_label_is_exact_ascii() -> None:
    assert printable_label("88.118.8/批次 7%") == "88.118.8/%E6%89%B9%E6%AC%A1%207%25"
    assert printable_label("88.1/a-b_c~d") == "88.1/a-b_c~d"


def test_label_font_search_and_fallback(caplog: pytest.LogCaptureFixture) -> None:
    chosen = label_font("88.118.8/批次")
    assert chosen is None or can_render(chosen, "批次")  # depends on the fonts installed
    assert label_font("JXDY") is not None  # ASCII always finds one (the built-in at worst)
    symbol = carrier_symbol("88.1/批次", "qr")
    with caplog.at_level(logging.WARNING):
        png = symbol_png(symbol, module_px=4, label="88.1/批次")
    assert zxing_texts(png) == [symbol.content]  # the text below never spoils the code
    if chosen is None:
        assert "%E6%89%B9%E6%AC%A1" in caplog.text


def test_bad_font_file_is_an_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(b"not a font")
    with pytest.raises(CarrierError, match="cannot load font"):
        label_font("x", str(bogus))
