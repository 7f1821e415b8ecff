"""Label sheets: the right number of pages, and every label decodes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL.PdfParser import PdfParser

from carriers.readback import SVG, pdf_page_images, render, svg_codes, trim, zxing_texts
from idnode.carriers import (
    CarrierError,
    SheetLayout,
    label_sheet,
    proxy_url,
    svg_page_paths,
)
from idnode.carriers.sheet import page_size

PROXY = "https://id.example.cn"
IDENTIFIERS = [f"88.168.5288/批次-{n:03d}" for n in range(10)] + \
    [f"88.118.8/JXDY21060{n:02d}" for n in range(15)]  # 25 labels: 2 pages of 3 × 5


@pytest.mark.parametrize("kind", ["qr", "datamatrix"])
def test_raster_pages_and_pdf(kind: str, tmp_path: Path) -> None:
    sheet = label_sheet(IDENTIFIERS, kind=kind, proxy=PROXY,
                        layout=SheetLayout(columns=3, rows=5))
    assert sheet.page_count == 2
    pages = sheet.raster_pages(dpi=200)
    assert [p.size for p in pages] == [(1654, 2339)] * 2  # A4 at 200 dpi
    found = [text for page in pages for text in zxing_texts(page)]
    assert sorted(found) == sorted(proxy_url(i, PROXY) for i in IDENTIFIERS)
    out = tmp_path / "sheet.pdf"
    sheet.write_pdf(out, dpi=200)
    with PdfParser(str(out)) as pdf:
        assert len(pdf.pages) == 2
        box = [float(v) for v in pdf.read_indirect(pdf.pages[0])[b"MediaBox"]]
        assert box[2:] == pytest.approx([595.3, 841.9], abs=0.5)  # A4 in points
    # The PDF's own page images, decoded as a viewer shows them, hold every label.
    in_pdf = pdf_page_images(str(out))
    assert [p.tobytes() for p in in_pdf] == [p.tobytes() for p in pages]
    found = [text for page in in_pdf for text in zxing_texts(page)]
    assert sorted(found) == sorted(proxy_url(i, PROXY) for i in IDENTIFIERS)


def test_svg_pages_decode_and_carry_the_text(tmp_path: Path) -> None:
    sheet = label_sheet(IDENTIFIERS, kind="qr", proxy=PROXY,
                        layout=SheetLayout(columns=4, rows=6))  # 24 a page: 2 pages
    paths = sheet.write_svg(tmp_path / "labels.svg")
    assert [p.name for p in paths] == ["labels-1.svg", "labels-2.svg"]
    contents, texts = [], []
    for path in paths:
        svg = path.read_text(encoding="utf-8")
        root = ET.fromstring(svg)
        assert (root.get("width"), root.get("height")) == ("210mm", "297mm")
        for content, matrix, (x, _, module) in svg_codes(svg):
            assert x >= 10 and x + len(matrix) * module <= 200  # inside the margins
            inner = trim(matrix, 4)
            assert zxing_texts(render(inner)) == [content]
            contents.append(content)
        # Each label's text, joined across its wrapped lines, is the identifier.
        for group in root.iter(f"{SVG}g"):
            if group.get("font-size"):
                texts.append("".join(t.text or "" for t in group.iter(f"{SVG}text")))
    assert contents == [proxy_url(i, PROXY) for i in IDENTIFIERS]
    assert texts == IDENTIFIERS


def test_page_names_and_sizes() -> None:
    assert svg_page_paths(Path("s.svg"), 1) == [Path("s.svg")]
    assert svg_page_paths(Path("d/s.svg"), 12)[0] == Path("d/s-01.svg")
    assert page_size("a5") == (148.0, 210.0) and page_size("100x150") == (100.0, 150.0)
    with pytest.raises(CarrierError, match="page 'B9'"):
        page_size("B9")


def test_layout_limits() -> None:
    single = label_sheet(["88.1/x"], layout=SheetLayout(page="50x30", columns=1, rows=1,
                                                         margin_mm=2))
    assert single.page_count == 1 and single.layout.code_mm == pytest.approx(14.86)
    with pytest.raises(CarrierError, match=r"^20.500.1/y{51}…: .*minimum is 0.25 mm"):
        label_sheet(["20.500.1/" + "y" * 300], layout=SheetLayout(columns=8, rows=12))
    with pytest.raises(CarrierError, match=r"88\.1/: invalid handle"):
        label_sheet(["88.1/"])
    with pytest.raises(CarrierError, match="no room"):
        SheetLayout(page="A6", margin_mm=60)
    with pytest.raises(CarrierError, match="no identifiers"):
        label_sheet([])
