"""``idnode resolve HANDLE``: ask a server for a handle's values.

Three ways to ask:

* one server (``--server``, the default): UDP, falling back to TCP;
* iteratively from root servers (``--root HOST:PORT``, repeatable, or ``--bootstrap FILE``),
  through the hierarchy root → top-level → secondary → enterprise, like ``dig +trace``;
* a recursive node's web face (``--http URL``): ``GET URL/api/handles/HANDLE``.

``--trace`` (with the last two) prints every hop before the values; with ``--json`` the JSON
gains a ``"trace"`` array.

HANDLE may also be a foreign identifier (GS1, OID, Ecode, VAA, DNS; ``--scheme`` forces
one): it is mapped to a handle through the mapping records (映射记录), read the same way as
the handle itself, and that handle is resolved (``docs/identifiers.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode, urlsplit
from urllib.request import Request, urlopen

from idnode.cli.commands import (
    EXIT_OK,
    EXIT_SERVER_ERROR,
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
    HandleNotFound,
    InvalidHandle,
    InvalidIdentifier,
    InvalidValue,
    ProtocolError,
    RegistryError,
    RemoteError,
    ValuesNotFound,
)
from idnode.identifiers.handle import Handle
from idnode.identifiers.jsonvalue import values_from_json
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import SiteData
from idnode.resolver import Resolver, ResolverSettings, Trace, load_bootstrap, root_sites
from idnode.schemes import Lookup, MappingHit, Parsed, default_registry, find_mapping
from idnode.schemes.lookups import client_lookup, resolver_lookup
from idnode.transport.client import TransportError
from idnode.trust import DEFAULT_TRUST_ROOT, TrustReport, verify_record

__all__ = ["register"]

_MAX_HTTP_ANSWER = 64 * 1024 * 1024


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "resolve", help="resolve a handle",
        description="Resolve HANDLE and print its values (a table, or REST JSON with "
                    "--json). Asks one server (--server) over UDP, falling back to TCP on "
                    "timeout or truncation; or walks the hierarchy from root servers "
                    "(--root, --bootstrap); or asks a recursive node's web face (--http).")
    parser.add_argument("handle", metavar="HANDLE",
                        help="a handle, or a GS1, OID, Ecode, VAA or DNS identifier to map "
                             "through the mapping records")
    parser.add_argument("--scheme", metavar="NAME",
                        choices=default_registry().names,
                        help="read HANDLE as an identifier of this scheme: "
                             f"{', '.join(default_registry().names)}")
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
    _add_verify_options(parser)
    set_command(parser, run, lambda args: f"resolve {args.handle}")


# -- one server ---------------------------------------------------------------------------

async def _resolve(args: argparse.Namespace, parsed: Parsed | None
                   ) -> tuple[ResolutionResult, MappingHit | None]:
    auth = authenticator_from_args(args)
    if args.all_values and auth is None:
        raise UsageError(reason="--all needs --auth with --key, --secret-file or --secret")
    async with HandleClient(parse_server(args.server), transport="tcp" if args.tcp else "udp",
                            auth=auth, timeout=args.timeout) as client:
        hit = await _map(args, parsed, client_lookup(client))
        result = await client.resolve(args.handle, types=args.types, indexes=args.indexes,
                                      authoritative=args.authoritative,
                                      public_only=not args.all_values)
        return result, hit


def _one_server(args: argparse.Namespace, parsed: Parsed | None) -> int:
    try:
        result, hit = asyncio.run(_resolve(args, parsed))
    except (RemoteError, HandleNotFound) as exc:
        if args.json:  # the REST API's error shape on stdout, the message on stderr
            print(dumps(_error_object(exc, args.handle)))
        raise
    report = _verify(args, result.values)
    if args.json:
        print(dumps(_with_trust(_with_identifier(resolution_json(result.handle, result.values),
                                                 parsed, hit), report)))
    else:
        _announce(parsed, hit)
        print(format_values_table(result.values))
        _print_trust(report)
    return _trust_exit(report)


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


async def _iterate(args: argparse.Namespace, trace: Trace | None, parsed: Parsed | None
                   ) -> tuple[tuple[HandleValue, ...], MappingHit | None]:
    settings = ResolverSettings(tcp_timeout=args.timeout)
    resolver = Resolver(await _roots(args, settings), settings)
    try:
        hit = await _map(args, parsed, resolver_lookup(resolver, trace=trace))
        resolved = await resolver.resolve(args.handle, authoritative=args.authoritative,
                                          trace=trace)
    finally:
        await resolver.close()
    return resolved.values, hit


def _fetch_json(args: argparse.Namespace, handle: str | None = None) -> dict[str, Any]:
    """``GET /api/handles/…`` of ``handle`` (default: HANDLE with the command's filters)."""
    base = args.http.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(reason=f"--http {args.http!r}: expected http://HOST:PORT or "
                                "https://HOST:PORT")
    query: list[tuple[str, str]] = []
    if handle is None:
        query += [("type", t) for t in args.types]
        query += [("index", str(i)) for i in args.indexes]
        if args.trace:
            query.append(("trace", "true"))
        if args.authoritative:
            query.append(("auth", "true"))
    url = f"{base}/api/handles/{quote(handle or args.handle, safe='/')}"
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


def _over_http(args: argparse.Namespace, trace: Trace | None, parsed: Parsed | None
               ) -> tuple[tuple[HandleValue, ...], MappingHit | None]:
    hit = asyncio.run(_map(args, parsed, _http_lookup(args))) if parsed is not None else None
    return _values_over_http(args, trace), hit


def _values_over_http(args: argparse.Namespace, trace: Trace | None
                      ) -> tuple[HandleValue, ...]:
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


def _walk(args: argparse.Namespace, parsed: Parsed | None) -> int:
    if args.all_values or args.auth:
        raise UsageError(reason="--root, --bootstrap and --http resolve public values only; "
                                "drop --all / --auth")
    if args.http and (args.root or args.bootstrap):
        raise UsageError(reason="--http asks a recursive node; it does not go with --root or "
                                "--bootstrap")
    trace = Trace() if args.trace else None
    try:
        if args.http:
            values, hit = _over_http(args, trace, parsed)
        else:
            found, hit = asyncio.run(_iterate(args, trace, parsed))
            values = _filtered(args, found)
    except RegistryError as exc:
        if args.json:
            out = _error_object(exc, args.handle)
            if trace is not None:
                out["trace"] = trace.to_json()
            print(dumps(out))
        elif trace is not None:
            print(trace.format())
        raise
    report = _verify(args, values)
    if args.json:
        out = _with_trust(_with_identifier(resolution_json(args.handle, values), parsed, hit),
                          report)
        if trace is not None:
            out["trace"] = trace.to_json()
        print(dumps(out))
        return _trust_exit(report)
    _announce(parsed, hit)
    if trace is not None:
        print(trace.format())
        print()
    print(format_values_table(values))
    _print_trust(report)
    return _trust_exit(report)


def run(args: argparse.Namespace) -> int:
    parsed = _identify(args)
    if args.root or args.bootstrap or args.http:
        return _walk(args, parsed)
    if args.trace:
        raise UsageError(reason="--trace needs --root, --bootstrap or --http")
    return _one_server(args, parsed)


# -- foreign identifiers (idnode.schemes): parsed, then mapped by the mapping records ------

def _identify(args: argparse.Namespace) -> Parsed | None:
    """HANDLE as a foreign identifier, or ``None`` for a handle (resolved as it is)."""
    try:
        parsed = default_registry().parse(args.handle, scheme=args.scheme)
    except InvalidIdentifier as exc:
        if args.scheme is None:
            try:  # what resolve always accepted still goes to the server as a handle
                Handle.parse(args.handle)
            except InvalidHandle:
                raise UsageError(reason=str(exc)) from None
            return None
        raise UsageError(reason=str(exc)) from None
    return None if parsed.scheme == "handle" else parsed


async def _map(args: argparse.Namespace, parsed: Parsed | None,
               lookup: Lookup) -> MappingHit | None:
    """Map ``parsed``; HANDLE becomes the mapped handle (for the rest and for messages)."""
    if parsed is None:
        return None
    hit = await find_mapping(parsed, lookup)
    args.handle = hit.handle
    return hit


def _http_lookup(args: argparse.Namespace) -> Lookup:
    async def lookup(handle: str) -> Sequence[HandleValue] | None:
        data = await asyncio.to_thread(_fetch_json, args, handle)
        code = data["responseCode"]
        if code in (100, 200):
            return None
        if code != 1:
            raise RemoteError(f"{handle}: response code {code}: {data.get('message', '')}",
                              response_code=code)
        try:
            return values_from_json(data.get("values", []), validate=False)
        except InvalidValue as exc:
            raise ProtocolError(reason=f"the node's values of {handle}: {exc}") from None
    return lookup


def _announce(parsed: Parsed | None, hit: MappingHit | None) -> None:
    if parsed is None or hit is None:
        return
    print(f"identifier  {parsed.kind} {parsed.canonical}")
    print(f"mapping     {hit.record} (映射记录, value {hit.index})")
    print(f"handle      {hit.handle}")
    print()


def _with_identifier(out: dict[str, Any], parsed: Parsed | None,
                     hit: MappingHit | None) -> dict[str, Any]:
    if parsed is not None and hit is not None:
        out["identifier"] = {"text": parsed.text, "scheme": parsed.scheme,
                             "kind": parsed.kind, "canonical": parsed.canonical,
                             "mappingRecord": hit.record, "handle": hit.handle}
    return out


# -- --verify: trusted resolution (idnode.trust), the verdict after the values -------------

def _add_verify_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("trusted resolution")
    group.add_argument("--verify", action="store_true",
                       help="verify the record's HS_SIGNATURE values through their HS_CERT "
                            "chain; exit 1 unless valid")
    group.add_argument("--trust-root", default=DEFAULT_TRUST_ROOT, metavar="HANDLE",
                       help=f"the handle holding the root keys (default {DEFAULT_TRUST_ROOT}"
                            "; IDIS uses e.g. 88.111.1/0.0)")


async def _trust_report(args: argparse.Namespace, values: Sequence[HandleValue]
                        ) -> TrustReport:
    """Certificates and the trust root are read the same way as the record was."""
    if args.http:
        return await verify_record(args.handle, values, _http_lookup(args), args.trust_root)
    if args.root or args.bootstrap:
        settings = ResolverSettings(tcp_timeout=args.timeout)
        resolver = Resolver(await _roots(args, settings), settings)
        try:
            return await verify_record(args.handle, values, resolver_lookup(resolver),
                                       args.trust_root)
        finally:
            await resolver.close()
    async with HandleClient(parse_server(args.server), transport="tcp" if args.tcp else "udp",
                            timeout=args.timeout) as client:
        return await verify_record(args.handle, values, client_lookup(client),
                                   args.trust_root)


def _verify(args: argparse.Namespace, values: Sequence[HandleValue]) -> TrustReport | None:
    return asyncio.run(_trust_report(args, values)) if args.verify else None


def _with_trust(out: dict[str, Any], report: TrustReport | None) -> dict[str, Any]:
    if report is not None:
        out["trust"] = report.to_json()
    return out


def _print_trust(report: TrustReport | None) -> None:
    if report is not None:
        print()
        print(report.format())


def _trust_exit(report: TrustReport | None) -> int:
    return EXIT_SERVER_ERROR if report is not None and not report.valid else EXIT_OK
