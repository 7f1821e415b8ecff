"""``idnode resolve HANDLE``: ask a server for a handle's values.

Three ways to ask:

* one server (``--server``, the default): UDP, falling back to TCP;
* iteratively from root servers (``--root HOST:PORT``, repeatable, or ``--bootstrap FILE``),
  through the hierarchy root → top-level → secondary → enterprise, like ``dig +trace``;
* a recursive node's web face (``--http URL``): ``GET URL/api/handles/HANDLE``.

``--trace`` (with the last two) prints every hop before the values; with ``--json`` the JSON
gains a ``"trace"`` array.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode, urlsplit
from urllib.request import Request, urlopen

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
from idnode.errors import (
    InvalidValue,
    ProtocolError,
    RegistryError,
    RemoteError,
    ValuesNotFound,
)
from idnode.identifiers.jsonvalue import values_from_json
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import SiteData
from idnode.resolver import Resolver, ResolverSettings, Trace, load_bootstrap, root_sites
from idnode.transport.client import TransportError

__all__ = ["register"]

_MAX_HTTP_ANSWER = 64 * 1024 * 1024


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "resolve", help="resolve a handle",
        description="Resolve HANDLE and print its values (a table, or REST JSON with "
                    "--json). Asks one server (--server) over UDP, falling back to TCP on "
                    "timeout or truncation; or walks the hierarchy from root servers "
                    "(--root, --bootstrap); or asks a recursive node's web face (--http).")
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
    walk = parser.add_argument_group("resolving through the hierarchy")
    walk.add_argument("--root", action="append", default=[], metavar="HOST:PORT",
                      help="resolve iteratively from this root server (repeatable), "
                           "like dig +trace")
    walk.add_argument("--bootstrap", metavar="FILE",
                      help="resolve iteratively from the root sites in this JSON file "
                           "(a list of sites in the siteinfo.json shape)")
    walk.add_argument("--http", metavar="URL",
                      help="ask the recursive node whose web face is at URL")
    walk.add_argument("--trace", action="store_true",
                      help="print every hop of the resolution (with --root, --bootstrap "
                           "or --http)")
    add_client_options(parser, json_help="print the REST API's JSON")
    add_auth_options(parser)
    set_command(parser, run, lambda args: f"resolve {args.handle}")


# -- one server ---------------------------------------------------------------------------

async def _resolve(args: argparse.Namespace) -> ResolutionResult:
    auth = authenticator_from_args(args)
    if args.all_values and auth is None:
        raise UsageError(reason="--all needs --auth with --key, --secret-file or --secret")
    async with HandleClient(parse_server(args.server), transport="tcp" if args.tcp else "udp",
                            auth=auth, timeout=args.timeout) as client:
        return await client.resolve(args.handle, types=args.types, indexes=args.indexes,
                                    authoritative=args.authoritative,
                                    public_only=not args.all_values)


def _one_server(args: argparse.Namespace) -> int:
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


# -- through the hierarchy, or a recursive node ---------------------------------------------

def _filtered(args: argparse.Namespace, values: tuple[HandleValue, ...]
              ) -> tuple[HandleValue, ...]:
    """The resolution filter, applied locally: an index or a type listed selects a value."""
    if not args.types and not args.indexes:
        return values
    wanted = set(args.indexes)
    chosen = tuple(v for v in values
                   if v.index in wanted or any(v.matches_type(t) for t in args.types))
    if not chosen:
        raise ValuesNotFound(handle=args.handle, reason="no value matches --type / --index")
    return chosen


async def _roots(args: argparse.Namespace, settings: ResolverSettings) -> list[SiteData]:
    sites = load_bootstrap(Path(args.bootstrap)) if args.bootstrap else []
    if args.root:
        sites.extend(await root_sites([parse_server(text) for text in args.root], settings))
    return sites


async def _iterate(args: argparse.Namespace, trace: Trace | None) -> tuple[HandleValue, ...]:
    settings = ResolverSettings(tcp_timeout=args.timeout)
    resolver = Resolver(await _roots(args, settings), settings)
    try:
        resolved = await resolver.resolve(args.handle, authoritative=args.authoritative,
                                          trace=trace)
    finally:
        await resolver.close()
    return resolved.values


def _fetch_json(args: argparse.Namespace) -> dict[str, Any]:
    base = args.http.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(reason=f"--http {args.http!r}: expected http://HOST:PORT or "
                                "https://HOST:PORT")
    query: list[tuple[str, str]] = [("type", t) for t in args.types]
    query += [("index", str(i)) for i in args.indexes]
    if args.trace:
        query.append(("trace", "true"))
    if args.authoritative:
        query.append(("auth", "true"))
    url = f"{base}/api/handles/{quote(args.handle, safe='/')}"
    if query:
        url += "?" + urlencode(query)
    request = Request(url, headers={"Accept": "application/json"})  # noqa: S310 (scheme checked)
    try:
        with urlopen(request, timeout=args.timeout) as answer:  # noqa: S310 (scheme checked)
            body = answer.read(_MAX_HTTP_ANSWER)
    except HTTPError as exc:  # an error status still carries the REST error JSON
        body = exc.read(_MAX_HTTP_ANSWER)
        exc.close()
    except (URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, URLError) else exc
        raise TransportError(reason=f"cannot reach {base}: {reason}") from None
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(reason=f"{base} did not answer with JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("responseCode"), int):
        raise ProtocolError(reason=f"{base} answered JSON without a responseCode")
    return data


def _over_http(args: argparse.Namespace, trace: Trace | None) -> tuple[HandleValue, ...]:
    data = _fetch_json(args)
    if trace is not None and isinstance(data.get("trace"), list):
        try:
            trace.hops.extend(Trace.from_json(data["trace"]).hops)
        except InvalidValue as exc:
            raise ProtocolError(reason=f"the node's trace: {exc}") from None
    code = data["responseCode"]
    if code != 1:
        text = str(data.get("message", ""))
        raise RemoteError(f"response code {code}: {text}" if text else f"response code {code}",
                          response_code=code, server_message=text)
    try:
        return values_from_json(data.get("values", []), validate=False)
    except InvalidValue as exc:
        raise ProtocolError(reason=f"the node's values: {exc}") from None


def _error_object(exc: RegistryError, handle: str) -> dict[str, Any]:
    if isinstance(exc, RemoteError):
        return error_json(exc, handle=handle)
    return {"responseCode": exc.response_code, "handle": handle, "message": str(exc)}


def _walk(args: argparse.Namespace) -> int:
    if args.all_values or args.auth:
        raise UsageError(reason="--root, --bootstrap and --http resolve public values only; "
                                "drop --all / --auth")
    if args.http and (args.root or args.bootstrap):
        raise UsageError(reason="--http asks a recursive node; it does not go with --root or "
                                "--bootstrap")
    trace = Trace() if args.trace else None
    try:
        if args.http:
            values = _over_http(args, trace)
        else:
            values = _filtered(args, asyncio.run(_iterate(args, trace)))
    except RegistryError as exc:
        if args.json:
            out = _error_object(exc, args.handle)
            if trace is not None:
                out["trace"] = trace.to_json()
            print(dumps(out))
        elif trace is not None:
            print(trace.format())
        raise
    if args.json:
        out = resolution_json(args.handle, values)
        if trace is not None:
            out["trace"] = trace.to_json()
        print(dumps(out))
        return EXIT_OK
    if trace is not None:
        print(trace.format())
        print()
    print(format_values_table(values))
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    if args.root or args.bootstrap or args.http:
        return _walk(args)
    if args.trace:
        raise UsageError(reason="--trace needs --root, --bootstrap or --http")
    return _one_server(args)
