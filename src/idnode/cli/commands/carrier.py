"""``idnode carrier`` and ``idnode scan``: static identifier carriers (静态标识载体).

``carrier HANDLE --qr|--datamatrix|--nfc`` makes a printable QR code or Data Matrix (PNG or
SVG) or an NFC NDEF message holding the identifier's proxy URL; ``carrier --sheet FILE``
lays out label sheets (SVG pages or PDF). ``scan IMAGE`` reads every code in an image back
to its identifier and resolves it with ``idnode resolve``'s own machinery and printing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from idnode.carriers import (
    DEFAULT_PROXY,
    DEFAULT_TAG,
    ERROR_LEVELS,
    NFC_TAGS,
    PAGE_SIZES,
    CarrierError,
    Identified,
    SheetLayout,
    Symbol,
    carrier_symbol,
    carrier_text,
    decode_image,
    identify,
    label_sheet,
    ndef_message,
    symbol_png,
    symbol_svg,
    tags_that_fit,
)
from idnode.carriers.content import check_identifier
from idnode.carriers.nfc import tlv_size
from idnode.cli.commands import (
    DEFAULT_SERVER,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    resolve,
    set_command,
)
from idnode.cli.output import dumps, format_error
from idnode.errors import RegistryError

__all__ = ["register"]

#: Where the default proxy comes from when ``--proxy`` is not given.
PROXY_ENV = "IDNODE_PROXY"
_MM_PER_UNIT = {"mm": 1.0, "cm": 10.0, "in": 25.4, "pt": 25.4 / 72}
_LENGTH = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(mm|cm|in|pt|px)\s*", re.I)
_DEFAULT_MODULE_MM = 0.5


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _register_carrier(subparsers)
    _register_scan(subparsers)


def _register_carrier(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "carrier", help="make a QR code, Data Matrix or NFC tag for an identifier",
        description="Make a static identifier carrier (静态标识载体) for HANDLE: a QR code or "
                    "Data Matrix (PNG or SVG) or an NFC NDEF message, holding the "
                    "identifier's proxy URL (--raw: the identifier itself). With --sheet, "
                    "a label sheet (标签) of one code per identifier in FILE.")
    parser.add_argument("handle", metavar="HANDLE", nargs="?",
                        help="the identifier, e.g. 88.118.8/JXDY2106023")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--qr", dest="kind", action="store_const", const="qr",
                      help="a QR code (the default)")
    kind.add_argument("--datamatrix", dest="kind", action="store_const", const="datamatrix",
                      help="a Data Matrix (ECC 200)")
    kind.add_argument("--nfc", dest="kind", action="store_const", const="nfc",
                      help="an NFC NDEF message with one URI record (written with --out as "
                           "a binary .ndef file; always shown as hex)")
    parser.add_argument("--out", metavar="FILE",
                        help="file to write ('-' or none: standard output; a sheet needs a "
                             "file: .svg or .pdf)")
    parser.add_argument("--format", choices=("png", "svg", "pdf"),
                        help="output format (default: from --out's extension, else png)")
    parser.add_argument("--proxy", metavar="URL",
                        help=f"proxy base URL (default ${PROXY_ENV}, else {DEFAULT_PROXY}); "
                             "IDIS deployments use their recursive node's web face")
    parser.add_argument("--raw", action="store_true",
                        help="encode the bare identifier instead of its proxy URL")
    look = parser.add_argument_group("size and look")
    look.add_argument("--size", metavar="LENGTH",
                      help="width of the code with its quiet zone, e.g. 25mm, 1in, 400px "
                           "(px: dots at --dpi)")
    look.add_argument("--module", metavar="LENGTH",
                      help=f"size of one module (default {_DEFAULT_MODULE_MM}mm)")
    look.add_argument("--dpi", type=int, default=300, help="PNG/PDF resolution (default 300)")
    look.add_argument("--error", type=str.upper, default="M", choices=ERROR_LEVELS,
                      help="QR error-correction level, raised when free (default M)")
    look.add_argument("--quiet-zone", type=int, metavar="MODULES",
                      help="margin in modules (default 4 for QR, 2 for Data Matrix)")
    look.add_argument("--label", metavar="TEXT", help="text to print under the code")
    look.add_argument("--human-readable", action="store_true",
                      help="print the identifier under the code")
    look.add_argument("--font", metavar="FILE",
                      help="font for text in PNG/PDF (default: a CJK font found on this "
                           "machine, or $IDNODE_FONT)")
    look.add_argument("--tag", default=DEFAULT_TAG, choices=(*NFC_TAGS, "none"),
                      help=f"NFC tag the message must fit (default {DEFAULT_TAG})")
    sheet = parser.add_argument_group("label sheets")
    sheet.add_argument("--sheet", metavar="FILE",
                       help="one label per identifier in FILE (one a line; blank lines and "
                            "#-comments skipped)")
    sheet.add_argument("--page", default="A4",
                       help=f"page size: {', '.join(PAGE_SIZES)} or WxH in mm (default A4)")
    sheet.add_argument("--columns", type=int, default=3, help="labels across (default 3)")
    sheet.add_argument("--rows", type=int, default=7, help="labels down (default 7)")
    sheet.add_argument("--margin", type=float, default=10.0, metavar="MM",
                       help="page margin in mm (default 10)")
    set_command(parser, run_carrier,
                lambda args: f"carrier {_shown(args.sheet or args.handle or '')}".rstrip())


def _register_scan(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "scan", help="read QR codes / Data Matrix in an image and resolve them",
        description="Decode every code in IMAGE (PNG or JPEG; QR code, Data Matrix and the "
                    "other symbologies zxing-cpp reads), take each back to its identifier "
                    "(proxy URL, hdl: URI, bare handle, GS1 when the scheme registry is "
                    "present) and resolve it as 'idnode resolve' does.")
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("--no-resolve", action="store_true",
                        help="only decode and identify; ask no server")
    ask = parser.add_argument_group("resolving (as idnode resolve)")
    ask.add_argument("--server", default=DEFAULT_SERVER, metavar="HOST:PORT",
                     help=f"the server to ask (default {DEFAULT_SERVER})")
    ask.add_argument("--root", action="append", default=[], metavar="HOST:PORT",
                     help="resolve iteratively from this root server (repeatable)")
    ask.add_argument("--bootstrap", metavar="FILE",
                     help="resolve iteratively from the root sites in this JSON file")
    ask.add_argument("--http", metavar="URL",
                     help="ask the recursive node whose web face is at URL")
    ask.add_argument("--trace", action="store_true", help="print every hop")
    ask.add_argument("--tcp", action="store_true", help="use TCP instead of UDP")
    ask.add_argument("--authoritative", action="store_true",
                     help="ask for an authoritative answer")
    ask.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                     help="TCP connect/answer timeout (default 10)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON array: each code, its identifier and the "
                             "resolution as 'idnode resolve --json' shows it")
    set_command(parser, run_scan, lambda args: f"scan {args.image}")


# -- making carriers ------------------------------------------------------------------------

def _shown(text: str) -> str:
    # Error messages name the identifier; a 250-character one would drown the reason.
    return text if len(text) <= 60 else text[:60] + "…"


def _proxy(args: argparse.Namespace) -> str:
    return str(args.proxy or os.environ.get(PROXY_ENV) or DEFAULT_PROXY)


def _length(text: str, option: str, dpi: int) -> float:
    """A length option in mm (``px`` are dots at ``dpi``)."""
    m = _LENGTH.fullmatch(text)
    if m is None or float(m.group(1)) <= 0:
        raise UsageError(reason=f"{option} {text!r}: expected a length such as 25mm, 1in or "
                                "400px")
    value, unit = float(m.group(1)), m.group(2).lower()
    return value * 25.4 / dpi if unit == "px" else value * _MM_PER_UNIT[unit]


def _module_mm(args: argparse.Namespace, symbol: Symbol) -> float:
    if args.size and args.module:
        raise UsageError(reason="give --size or --module, not both")
    if args.size:
        return _length(args.size, "--size", args.dpi) / symbol.width
    if args.module:
        return _length(args.module, "--module", args.dpi)
    return _DEFAULT_MODULE_MM


def _output_format(args: argparse.Namespace, allowed: tuple[str, ...], default: str) -> str:
    fmt = args.format
    if fmt is None and args.out and args.out != "-":
        suffix = Path(args.out).suffix.lower().lstrip(".")
        if suffix and suffix not in allowed:
            raise UsageError(reason=f"cannot tell the format from {args.out!r}: name it "
                                    f"{' or '.join('.' + a for a in allowed)}, or give "
                                    "--format")
        fmt = suffix or None
    fmt = fmt or default
    if fmt not in allowed:
        raise UsageError(reason=f"--format {fmt}: use {' or '.join(allowed)} here")
    return str(fmt)


def _write(args: argparse.Namespace, data: bytes) -> None:
    if args.out and args.out != "-":
        Path(args.out).write_bytes(data)
        return
    if sys.stdout.isatty():
        raise UsageError(reason="will not write an image to a terminal: give --out FILE")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _image(args: argparse.Namespace) -> int:
    symbol = carrier_symbol(args.handle, args.kind, proxy=_proxy(args), raw=args.raw,
                            error=args.error, quiet_zone=args.quiet_zone)
    label = args.label or (args.handle if args.human_readable else None)
    fmt = _output_format(args, ("png", "svg"), "png")
    module_mm = _module_mm(args, symbol)
    if fmt == "svg":
        data = symbol_svg(symbol, module_mm=module_mm, label=label).encode("utf-8")
        size = f"{module_mm:.3f} mm per module, {symbol.width * module_mm:.1f} mm wide"
    else:
        module_px = int(module_mm / 25.4 * args.dpi + 0.5)
        if args.size:  # never larger than asked
            module_px = int(_length(args.size, "--size", args.dpi) / 25.4 * args.dpi
                            ) // symbol.width
        if module_px < 1:
            raise UsageError(reason=f"at {args.dpi} dpi a module would be smaller than one "
                                    f"pixel; the code needs {symbol.width} modules across")
        data = symbol_png(symbol, module_px=module_px, dpi=args.dpi, label=label,
                          font_path=args.font)
        size = (f"{module_px} px per module ({module_px * 25.4 / args.dpi:.2f} mm at "
                f"{args.dpi} dpi), {symbol.width * module_px} px wide")
    _write(args, data)
    to_file = bool(args.out) and args.out != "-"
    report = sys.stdout if to_file else sys.stderr  # standard output may be the image
    where = args.out if to_file else "standard output"
    print(f"{symbol.describe()}; {size}; wrote {fmt.upper()} to {where}", file=report)
    print(f"content: {symbol.content}", file=report)
    return EXIT_OK


def _nfc(args: argparse.Namespace) -> int:
    if args.raw:
        raise UsageError(reason="--raw: an NFC carrier holds a URI record, which needs the "
                                "proxy URL")
    uri = carrier_text(args.handle, proxy=_proxy(args))
    message = ndef_message(uri, tag=None if args.tag == "none" else args.tag)
    if args.out and args.out != "-":
        Path(args.out).write_bytes(message)
        print(f"wrote {len(message)} bytes to {args.out}")
    fits = tags_that_fit(len(message))
    print(f"NDEF message: 1 URI record, {len(message)} bytes "
          f"({tlv_size(len(message))} on a Type 2 tag); fits "
          + (", ".join(name.upper() for name in fits) if fits else "none of "
             + ", ".join(name.upper() for name in NFC_TAGS)))
    print(f"uri: {uri}")
    print(f"hex: {message.hex()}")
    return EXIT_OK


def _read_identifiers(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(reason=f"{path}: not UTF-8 ({exc.reason})") from None
    identifiers = []
    for number, raw_line in enumerate(text.splitlines(), 1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identifiers.append(check_identifier(line).text)
        except CarrierError as exc:
            raise UsageError(reason=f"{path}:{number}: {exc}") from None
    if not identifiers:
        raise UsageError(reason=f"{path}: no identifiers")
    return identifiers


def _sheet(args: argparse.Namespace) -> int:
    if args.handle:
        raise UsageError(reason="give HANDLE or --sheet FILE, not both")
    if args.kind == "nfc":
        raise UsageError(reason="--sheet prints QR codes or Data Matrix, not NFC tags")
    if not args.out or args.out == "-":
        raise UsageError(reason="--sheet needs --out FILE (.svg or .pdf)")
    fmt = _output_format(args, ("svg", "pdf"), "pdf")
    layout = SheetLayout(page=args.page, columns=args.columns, rows=args.rows,
                         margin_mm=args.margin)
    sheet = label_sheet(_read_identifiers(args.sheet), kind=args.kind or "qr",
                        proxy=_proxy(args), raw=args.raw, error=args.error, layout=layout)
    if fmt == "svg":
        written = [str(path) for path in sheet.write_svg(args.out)]
    else:
        sheet.write_pdf(args.out, dpi=args.dpi, font_path=args.font)
        written = [args.out]
    print(f"{len(sheet.labels)} labels on {sheet.page_count} page(s) of {args.page} "
          f"({args.columns} × {args.rows}, codes {layout.code_mm:.1f} mm with quiet zone); "
          f"wrote {', '.join(written)}")
    return EXIT_OK


def run_carrier(args: argparse.Namespace) -> int:
    if args.dpi < 1:
        raise UsageError(reason=f"--dpi {args.dpi}: must be positive")
    if args.sheet:
        return _sheet(args)
    if not args.handle:
        raise UsageError(reason="give HANDLE, or --sheet FILE")
    if args.kind == "nfc":
        return _nfc(args)
    args.kind = args.kind or "qr"
    return _image(args)


# -- reading them back ----------------------------------------------------------------------

def _resolve_args(args: argparse.Namespace, found: Identified) -> argparse.Namespace:
    """``idnode resolve IDENTIFIER`` with scan's options, parsed by resolve's own parser (so
    every default resolve has is there). A foreign identifier names its scheme, so that its
    canonical text (``1.2.156.…``) is not read as another scheme's."""
    argv = ["resolve", "--server", args.server, "--timeout", str(args.timeout)]
    for root in args.root:
        argv += ["--root", root]
    for option in ("bootstrap", "http"):
        if getattr(args, option):
            argv += [f"--{option}", getattr(args, option)]
    argv += [f"--{flag}" for flag in ("trace", "tcp", "authoritative", "json")
             if getattr(args, flag)]
    parser = argparse.ArgumentParser(prog="idnode", add_help=False)
    subparsers = parser.add_subparsers(dest="command")
    resolve.register(subparsers)
    if found.scheme != "handle" and "--scheme" in \
            subparsers.choices["resolve"]._option_string_actions:
        argv += ["--scheme", found.scheme]
    try:
        return parser.parse_args([*argv, "--", found.identifier])
    except SystemExit:
        raise UsageError(reason="bad resolve options") from None


def _exit_code(exc: BaseException) -> int:
    from idnode.cli.main import exit_code_for  # main imports this module
    return exit_code_for(exc)


def _resolve_one(args: argparse.Namespace, found: Identified, entry: dict[str, Any]) -> int:
    """Resolve and print (or, with --json, put the answer in ``entry``); the exit code."""
    identifier = found.identifier
    resolve_args = _resolve_args(args, found)
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured) if args.json else contextlib.nullcontext():
            code: int = resolve_args.func(resolve_args)
    except (RegistryError, OSError) as exc:
        print(format_error(f"resolve {identifier}", exc), file=sys.stderr)
        code = _exit_code(exc)
        entry["error"] = str(exc)
    if args.json and captured.getvalue().strip():
        entry["resolution"] = json.loads(captured.getvalue())
    return code


def run_scan(args: argparse.Namespace) -> int:
    codes = decode_image(args.image)
    if not codes:
        raise UsageError(reason="no QR code, Data Matrix or other barcode found")
    worst = EXIT_OK
    entries: list[dict[str, Any]] = []
    for number, code in enumerate(codes, 1):
        entry: dict[str, Any] = {"format": code.format, "symbology": code.symbology,
                                 "position": list(code.position), "text": code.text}
        entries.append(entry)
        if not args.json:
            if number > 1:
                print()
            print(f"{code.format} at {code.position[0]},{code.position[1]}: {code.text}")
        try:
            found = identify(code.text, gs1=code.gs1)
        except CarrierError as exc:
            print(format_error(f"scan {args.image}", exc), file=sys.stderr)
            entry["error"] = str(exc)
            worst = max(worst, EXIT_USAGE)
            continue
        entry.update(identifier=found.identifier, scheme=found.scheme, form=found.form)
        if not args.json:
            how = found.form if found.scheme == "handle" else f"{found.scheme}, {found.form}"
            print(f"identifier: {found.identifier} ({how})")
        if not args.no_resolve:
            worst = max(worst, _resolve_one(args, found, entry))
    if args.json:
        print(dumps(entries))
    return worst
