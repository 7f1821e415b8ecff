"""Reading carriers back from images with zxing-cpp (every code in the image, any format)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import zxingcpp
from PIL import Image, UnidentifiedImageError

from idnode.carriers.errors import CarrierError

__all__ = ["Decoded", "decode_image"]

# An image larger than this is refused rather than handed to the decoder (Pillow's own bomb
# check stops at about 179 megapixels; a page at 600 dpi is 35).
_MAX_PIXELS = 100_000_000


@dataclass(frozen=True, slots=True)
class Decoded:
    """One code found in an image.

    :ivar format: zxing-cpp's name of the symbology (``QR Code``, ``Data Matrix`` …).
    :ivar text: the content as text; GS1 content in its human-readable ``(01)…`` form.
    :ivar gs1: the symbol is flagged GS1 (FNC1 first: ``]Q3``, ``]d2``).
    :ivar symbology: the AIM symbology identifier (``]Q1`` …).
    :ivar position: the top-left corner in pixels.
    """

    format: str
    text: str
    gs1: bool
    symbology: str
    position: tuple[int, int]


def _open(image: str | Path | Image.Image) -> Image.Image:
    if isinstance(image, Image.Image):
        return _grey(image)
    try:
        with Image.open(image) as picture:
            return _grey(picture)
    except UnidentifiedImageError:
        raise CarrierError(reason=f"{image}: not an image Pillow can read") from None
    except Image.DecompressionBombError as exc:
        raise CarrierError(reason=f"{image}: {exc}") from None


def _grey(picture: Image.Image) -> Image.Image:
    if picture.width * picture.height > _MAX_PIXELS:
        raise CarrierError(reason=f"{picture.width}×{picture.height} pixels is too large "
                                  f"(at most {_MAX_PIXELS:,})")
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        # Dark modules on a transparent background: flatten onto white, or they vanish.
        flat = Image.new("RGBA", picture.size, (255, 255, 255, 255))
        flat.alpha_composite(picture.convert("RGBA"))
        picture = flat
    return picture.convert("L")


def decode_image(image: str | Path | Image.Image) -> list[Decoded]:
    """Every barcode zxing-cpp finds in ``image`` (a file path or a Pillow image), in the
    order it reports them; an empty list if none.

    :raises CarrierError: the file is not an image, or is too large.
    :raises FileNotFoundError: no such file.
    """
    found = []
    for code in zxingcpp.read_barcodes(_open(image), text_mode=zxingcpp.TextMode.HRI):
        top_left = code.position.top_left
        found.append(Decoded(
            format=str(code.format), text=code.text,
            gs1=code.content_type == zxingcpp.ContentType.GS1,
            symbology=code.symbology_identifier, position=(top_left.x, top_left.y)))
    return found
