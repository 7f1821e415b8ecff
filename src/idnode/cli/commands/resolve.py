"""``idnode resolve HANDLE``: ask a server for a handle's values."""

from __future__ import annotations

import argparse
import asyncio

from idnode.cli.commands import (
    EXIT_OK,
    UsageError,
    add_auth_options,
    add_client_options,
    authenticator_from_args,
    parse_server,
    set_command,
)
from idnode.cli.output import dumps, error_json, format_values_table, resolution_json
from idnode.client import HandleClient, ResolutionResult
from idnode.errors import RemoteError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "resolve", help="resolve a handle",
        description="Resolve HANDLE and print its values (a table, or REST JSON with "
                    "--json). Uses UDP, falling back to TCP on timeout or truncation.")
    parser.add_argument("handle", metavar="HANDLE")
    parser.add_argument("--type", action="append", default=[], dest="types", metavar="TYPE",
                        help="only values of this type (repeatable; 'X.' matches X.*)")
    parser.add_argument("--index", action="append", default=[], dest="indexes", type=int,
                        metavar="N", help="only the value at this index (repeatable)")
    parser.add_argument("--tcp", action="store_true", help="use TCP instead of UDP")
    parser.add_argument("--authoritative", action="store_true",
                        help="ask for an authoritative answer (no cache)")
    parser.add_argument("--all", action="store_true", dest="all_values",
                        help="also values that are not publicly readable (needs --auth)")
    add_client_options(parser, json_help="print the REST API's JSON")
    add_auth_options(parser)
    set_command(parser, run, lambda args: f"resolve {args.handle}")


async def _resolve(args: argparse.Namespace) -> ResolutionResult:
    auth = authenticator_from_args(args)
    if args.all_values and auth is None:
        raise UsageError(reason="--all needs --auth with --key, --secret-file or --secret")
    async with HandleClient(parse_server(args.server), transport="tcp" if args.tcp else "udp",
                            auth=auth, timeout=args.timeout) as client:
        return await client.resolve(args.handle, types=args.types, indexes=args.indexes,
                                    authoritative=args.authoritative,
                                    public_only=not args.all_values)


def run(args: argparse.Namespace) -> int:
    try:
        result = asyncio.run(_resolve(args))
    except RemoteError as exc:
        if args.json:  # the REST API's error shape on stdout, the message on stderr
            print(dumps(error_json(exc, handle=args.handle)))
        raise
    if args.json:
        print(dumps(resolution_json(result.handle, result.values)))
    else:
        print(format_values_table(result.values))
    return EXIT_OK
