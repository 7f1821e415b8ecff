"""Reading generated carriers back independently: zxing-cpp for images, the XML for SVG."""

from __future__ import annotations

import io
import re
import struct
import xml.etree.ElementTree as ET

import zxingcpp
from PIL import Image
from PIL.PdfParser import PdfName, PdfParser

SVG = "{http://www.w3.org/2000/svg}"
_RUN = re.compile(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z")
_TRANSFORM = re.compile(r"translate\(([\d.]+) ([\d.]+)\) scale\(([\d.]+)\)")

Matrix = list[list[bool]]


def zxing_texts(image: Image.Image | bytes) -> list[str]:
    """Every code zxing-cpp reads in the image (its own reading, not idnode's wrapper), dark
    on light only: an inverted image must not pass."""
    if isinstance(image, bytes):
        image = Image.open(io.BytesIO(image))
    return [code.text for code in zxingcpp.read_barcodes(image.convert("L"), try_invert=False)]


def png_matrix(png: bytes, module_px: int, quiet_zone: int) -> Matrix:
    """The module matrix of a generated PNG (sampled at module centres, quiet zone cut)."""
    image = Image.open(io.BytesIO(png)).convert("L")
    modules = image.width // module_px - 2 * quiet_zone
    rows = []
    for y in range(modules):
        row = []
        for x in range(modules):
            centre = ((x + quiet_zone) * module_px + module_px // 2,
                      (y + quiet_zone) * module_px + module_px // 2)
            row.append(image.getpixel(centre) == 0)
        rows.append(row)
    return rows


def svg_codes(svg: str) -> list[tuple[str, Matrix, tuple[float, float, float]]]:
    """Each code group of an SVG: its data-content, matrix (quiet zone cut) and placement
    (x mm, y mm, mm per module). Parsing also proves the document well-formed."""
    root = ET.fromstring(svg)
    codes = []
    for group in root.iter(f"{SVG}g"):
        if group.get("data-content") is None:
            continue
        box = group.find(f"{SVG}rect")
        path = group.find(f"{SVG}path")
        assert box is not None and path is not None
        width, height = int(box.get("width", "0")), int(box.get("height", "0"))
        full = [[False] * width for _ in range(height)]
        d = path.get("d", "")
        assert _RUN.sub("", d) == "", "path holds only module runs"
        for x, y, n, back in _RUN.findall(d):
            assert n == back
            for i in range(int(n)):
                assert not full[int(y)][int(x) + i], "runs never overlap"
                full[int(y)][int(x) + i] = True
        m = _TRANSFORM.fullmatch(group.get("transform", ""))
        assert m is not None
        codes.append((group.get("data-content", ""), full,
                      (float(m.group(1)), float(m.group(2)), float(m.group(3)))))
    return codes


def trim(matrix: Matrix, quiet_zone: int) -> Matrix:
    """``matrix`` without its quiet zone (which must be all light)."""
    q = quiet_zone
    inner = [row[q:len(row) - q] for row in matrix[q:len(matrix) - q]]
    assert sum(map(sum, matrix)) == sum(map(sum, inner)), "the quiet zone is blank"
    return inner


def render(matrix: Matrix, quiet_zone: int = 4, module_px: int = 4) -> Image.Image:
    """A matrix drawn as an image, to hand to zxing-cpp (for SVG codes)."""
    size = len(matrix) + 2 * quiet_zone
    image = Image.new("L", (size, size), 255)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                image.putpixel((x + quiet_zone, y + quiet_zone), 0)
    return image.resize((size * module_px, size * module_px), Image.Resampling.NEAREST)


def pdf_page_images(path: str) -> list[Image.Image]:
    """The page images of a PDF of 1-bit CCITT G4 pages (as Pillow writes them), decoded
    as a PDF viewer shows them.

    The G4 data goes into a minimal TIFF for libtiff to decode. A G4 decoder gives black
    runs as 1 bits; PDF's ``BlackIs1 true`` keeps them 1 and DeviceGray shows 1 as white,
    which is TIFF's BlackIsZero (photometric 1); ``BlackIs1 false`` is WhiteIsZero (0).
    """
    images = []
    with PdfParser(path) as pdf:
        for page in pdf.pages:
            xobjects = pdf.read_indirect(page)[b"Resources"][b"XObject"]
            (ref,) = xobjects.values()
            stream = pdf.read_indirect(ref)
            info = stream.dictionary
            assert info[b"Filter"] == [PdfName(b"CCITTFaxDecode")]
            assert b"Decode" not in info and info[b"ColorSpace"] == PdfName(b"DeviceGray")
            (params,) = info[b"DecodeParms"]
            assert params[b"K"] == -1  # group 4
            photometric = 1 if params.get(b"BlackIs1", False) else 0
            images.append(_g4_tiff(bytes(stream.buf), info[b"Width"], info[b"Height"],
                                   photometric))
    return images


def _g4_tiff(data: bytes, width: int, height: int, photometric: int) -> Image.Image:
    tags = [(256, 4, width), (257, 4, height), (258, 3, 1), (259, 3, 4), (262, 3, photometric),
            (273, 4, 0), (277, 3, 1), (278, 4, height), (279, 4, len(data))]
    start = 8 + 2 + 12 * len(tags) + 4
    out = bytearray(b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(tags)))
    for tag, kind, given in tags:
        value = start if tag == 273 else given  # 273: where the strip starts
        out += struct.pack("<HHIHH" if kind == 3 else "<HHII", tag, kind, 1, value,
                           *((0,) if kind == 3 else ()))
    out += struct.pack("<I", 0) + data
    image = Image.open(io.BytesIO(bytes(out)))
    image.load()
    return image
