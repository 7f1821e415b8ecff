"""``idnode verify A B``: check that two stores hold the same handles, and say where not.

A and B are store URLs (``sqlite:///var/lib/idnode/handles.db``, ``postgresql://…``) or
nodes reached over the TLS replication channel (``tls://HOST:PORT``, authenticated with
``--auth`` and ``--key``; ``--pin-a``/``--pin-b`` pin each node's certificate). A is the
reference: a primary and its mirror, or a secondary node and its escrow copy.

The stores' per-bucket digests are compared first, so stores that agree are checked in time
that depends on the number of buckets, not of handles. Differences are re-checked once when
the positions differ (a mirror catching up), and each one that persists is printed as one
line. ``--deep`` also recomputes every record's hash from its data, reading both stores
whole (linear): it finds rows changed around the store, which the digests cannot see.

Exit status: 0 identical, 1 differences found, 2 bad arguments or a store/node that could
not be opened or read.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from urllib.parse import urlsplit

from idnode.auth.identity import Identity
from idnode.cli.commands import EXIT_OK, EXIT_USAGE, UsageError, parse_server, set_command
from idnode.cli.output import dumps, format_error
from idnode.errors import RegistryError
from idnode.replication.verify import DigestSource, LocalSource, VerifyReport, verify

__all__ = ["EXIT_DIFFERENT", "register"]

#: The stores differ (or a prefix is homed on one side only).
EXIT_DIFFERENT = 1
_TLS = "tls://"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "verify", help="compare two stores (primary and mirror) and report differences",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", metavar="A", help="the reference: store URL or tls://HOST:PORT")
    parser.add_argument("b", metavar="B", help="the copy: store URL or tls://HOST:PORT")
    parser.add_argument("--auth", metavar="INDEX:HANDLE",
                        help="identity for tls:// nodes, e.g. 300:0.NA/88.118")
    parser.add_argument("--key", metavar="PEM", help="its private key (tls:// nodes)")
    parser.add_argument("--pin-a", metavar="CERT", help="certificate A must present")
    parser.add_argument("--pin-b", metavar="CERT", help="certificate B must present")
    parser.add_argument("--deep", action="store_true",
                        help="recompute every record's hash from its data (reads both "
                             "stores whole)")
    parser.add_argument("--max-report", type=int, default=1000, metavar="N",
                        help="describe at most N differing handles, count the rest "
                             "(default 1000)")
    parser.add_argument("--recheck-delay", type=float, default=0.5, metavar="SECONDS",
                        help="wait before re-checking differences when the positions "
                             "differ (default 0.5)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    set_command(parser, run, lambda args: f"verify {_shown(args.a)} {_shown(args.b)}")


def _shown(text: str) -> str:
    """``text`` without a password (error messages end up in logs)."""
    parts = urlsplit(text)
    if parts.password is None:
        return text
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def _address(text: str) -> tuple[str, int]:
    rest = text[len(_TLS):].rstrip("/")
    # The replication channel has no well-known port: it must be given.
    bracketed = rest.startswith("[")
    if (bracketed and "]:" not in rest) or (not bracketed and rest.count(":") != 1):
        raise UsageError(reason=f"{text}: give the port, tls://HOST:PORT or tls://[V6]:PORT")
    return parse_server(rest)


def _sides(args: argparse.Namespace) -> list[tuple[str, str | None, str]]:
    return [(args.a, args.pin_a, "--pin-a"), (args.b, args.pin_b, "--pin-b")]


def _check(args: argparse.Namespace) -> None:
    """Refuse bad options before anything is opened or connected to."""
    if args.max_report < 0:
        raise UsageError(reason="--max-report must be 0 or more")
    if args.auth is not None:
        try:
            Identity.parse(args.auth)
        except RegistryError as exc:
            raise UsageError(reason=f"--auth: {exc}") from None
    for option, path in (("--key", args.key), ("--pin-a", args.pin_a), ("--pin-b", args.pin_b)):
        if path is not None and not Path(path).is_file():
            raise UsageError(reason=f"{option}: no file {path}")
    for text, pin, option in _sides(args):
        if not text.lower().startswith(_TLS):
            if pin is not None:
                raise UsageError(reason=f"{option} goes with a tls:// node, not {_shown(text)}")
            continue
        _address(text)
        if args.auth is None or args.key is None:
            raise UsageError(reason=f"{text}: a tls:// node needs --auth INDEX:HANDLE and "
                                    "--key")
        if pin is None:
            # The pinned certificate is the channel's only proof of who answers.
            raise UsageError(reason=f"{text}: a tls:// node needs {option} CERT (its "
                                    "replication certificate)")


def _open(args: argparse.Namespace, text: str, pin: str | None) -> DigestSource:
    if not text.lower().startswith(_TLS):
        return LocalSource.open(text)
    # Imported on demand: comparing two local stores needs no TLS or client code.
    from idnode.replication.remote import RemoteSource

    return RemoteSource(_address(text), identity=args.auth, key_path=Path(args.key),
                        pin=None if pin is None else Path(pin))


async def _verify(args: argparse.Namespace) -> VerifyReport:
    sources: list[DigestSource] = []
    try:
        for text, pin, _ in _sides(args):
            sources.append(_open(args, text, pin))
        return await verify(sources[0], sources[1], recheck_delay=args.recheck_delay,
                            max_report=args.max_report, deep=args.deep)
    finally:
        for source in sources:
            await source.close()


def run(args: argparse.Namespace) -> int:
    # Every failure exits 2 here: 1 means "the stores differ" and must not be ambiguous.
    try:
        _check(args)
        report = asyncio.run(_verify(args))
    except (RegistryError, OSError) as exc:
        print(format_error(f"verify {_shown(args.a)} {_shown(args.b)}", exc), file=sys.stderr)
        return EXIT_USAGE
    print(dumps(report.to_json()) if args.json else report.to_text())
    return EXIT_OK if report.ok else EXIT_DIFFERENT
