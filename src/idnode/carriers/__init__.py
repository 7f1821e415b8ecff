"""Static identifier carriers (静态标识载体): QR codes, Data Matrix and NFC tags.

A carrier holds an identifier's proxy URL (``https://<proxy>/88.118.8/JXDY2106023``) so any
phone opens its record, or with ``raw`` the bare identifier. Making one::

    from idnode.carriers import qr_png, ndef_message, proxy_url
    png = qr_png("88.118.8/JXDY2106023", proxy="https://id.example.cn")
    ndef = ndef_message(proxy_url("88.118.8/JXDY2106023"))

Reading one back: :func:`decode_image` finds every code in an image (zxing-cpp) and
:func:`identify` turns a code's text into the identifier to resolve. :func:`label_sheet`
lays out printable sheets (SVG pages, or a PDF rendered at 300 dpi). Capacities:
:data:`QR_CAPACITY`, :data:`DM_CAPACITY`, :data:`NFC_TAGS`; exceeding one raises
:class:`CapacityExceeded`, naming it. See docs/identifiers.md, "Static carriers".
"""

from __future__ import annotations

from idnode.carriers.content import DEFAULT_PROXY, carrier_text, handle_url_path, proxy_url
from idnode.carriers.datamatrix import DM_CAPACITY, DM_QUIET_ZONE, datamatrix_symbol
from idnode.carriers.decode import Decoded, decode_image
from idnode.carriers.errors import CapacityExceeded, CarrierError
from idnode.carriers.identify import Identified, identify
from idnode.carriers.images import (
    KINDS,
    carrier_symbol,
    datamatrix_png,
    datamatrix_svg,
    qr_png,
    qr_svg,
)
from idnode.carriers.nfc import DEFAULT_TAG, NFC_TAGS, ndef_message, ndef_uri, tags_that_fit
from idnode.carriers.qr import ERROR_LEVELS, QR_CAPACITY, QR_QUIET_ZONE, qr_symbol
from idnode.carriers.raster import symbol_image, symbol_png
from idnode.carriers.sheet import (
    MIN_MODULE_MM,
    PAGE_SIZES,
    LabelSheet,
    SheetLayout,
    label_sheet,
    svg_page_paths,
)
from idnode.carriers.svg import symbol_svg
from idnode.carriers.symbol import Symbol

__all__ = [
    "DEFAULT_PROXY",
    "DEFAULT_TAG",
    "DM_CAPACITY",
    "DM_QUIET_ZONE",
    "ERROR_LEVELS",
    "KINDS",
    "MIN_MODULE_MM",
    "NFC_TAGS",
    "PAGE_SIZES",
    "QR_CAPACITY",
    "QR_QUIET_ZONE",
    "CapacityExceeded",
    "CarrierError",
    "Decoded",
    "Identified",
    "LabelSheet",
    "SheetLayout",
    "Symbol",
    "carrier_symbol",
    "carrier_text",
    "datamatrix_png",
    "datamatrix_svg",
    "datamatrix_symbol",
    "decode_image",
    "handle_url_path",
    "identify",
    "label_sheet",
    "ndef_message",
    "ndef_uri",
    "proxy_url",
    "qr_png",
    "qr_svg",
    "qr_symbol",
    "svg_page_paths",
    "symbol_image",
    "symbol_png",
    "symbol_svg",
    "tags_that_fit",
]
