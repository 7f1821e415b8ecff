"""``idnode delegate PREFIX --to HOST:PORT``: point a prefix at the node(s) that serve it.

Run against the parent's server (``--server``, authenticated as an administrator of the
parent prefix), it asks each ``--to`` server for its HS_SITE (OC 2) and writes them into
the prefix record ``0.NA/PREFIX`` held there: HS_SITE values (where handles ``PREFIX/…``
live) and HS_SITE.PREFIX values (where the prefix records ``0.NA/PREFIX.…`` of further
delegations live). This is how a national top-level node (国家顶级节点) delegates a secondary
node's prefix, and a secondary node (二级节点) an enterprise prefix to its enterprise node
(企业节点). Values at other indexes of an existing record (its HS_ADMIN) are kept.
"""

from __future__ import annotations

import argparse
import asyncio

from idnode.auth.identity import Identity
from idnode.cli.commands import (
    EXIT_OK,
    UsageError,
    add_auth_options,
    add_client_options,
    authenticator_from_args,
    parse_server,
    set_command,
)
from idnode.cli.output import dumps
from idnode.client import HandleClient
from idnode.errors import RemoteError
from idnode.identifiers.handle import prefix_handle, strip_prefix_handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.identifiers.values.site import SiteData
from idnode.protocol.constants import ResponseCode

__all__ = ["register"]

#: HS_SITE values take indexes 1…, HS_SITE.PREFIX values 11…
_SITE_BASE, _PREFIX_BASE, _MAX_SITES = 1, 11, 10


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "delegate", help="point a prefix at the node(s) serving it (HS_SITE)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefix", metavar="PREFIX", help="e.g. 88.118 or 88.118.8")
    parser.add_argument("--to", action="append", required=True, metavar="HOST:PORT",
                        help="a server of a site serving PREFIX (repeatable: one per site, "
                             "mirrors too; each reports its own site)")
    parser.add_argument("--no-subprefixes", action="store_true",
                        help="write only HS_SITE (no HS_SITE.PREFIX): PREFIX's node cannot "
                             "delegate further")
    parser.add_argument("--ttl", type=int, default=86400, metavar="SECONDS",
                        help="how long resolvers may cache the delegation (default 86400)")
    add_client_options(parser, json_help="print the written values as JSON")
    add_auth_options(parser)
    set_command(parser, run, lambda args: f"delegate {args.prefix}")


def site_values(sites: list[SiteData], *, subprefixes: bool, ttl: int) -> list[HandleValue]:
    """HS_SITE (and HS_SITE.PREFIX) values for ``sites``, primary sites first."""
    ordered = sorted(sites, key=lambda s: not s.primary)
    values = [HandleValue(_SITE_BASE + i, "HS_SITE", s.to_bytes(), ttl=ttl)
              for i, s in enumerate(ordered)]
    if subprefixes:
        values += [HandleValue(_PREFIX_BASE + i, "HS_SITE.PREFIX", s.to_bytes(), ttl=ttl)
                   for i, s in enumerate(ordered)]
    return values


async def _delegate(args: argparse.Namespace) -> tuple[str, list[HandleValue]]:
    prefix = strip_prefix_handle(args.prefix)
    if not prefix or "/" in prefix:
        raise UsageError(reason=f"{args.prefix!r} is not a prefix")
    if len(args.to) > _MAX_SITES:
        raise UsageError(reason=f"at most {_MAX_SITES} sites (--to)")
    if not 0 <= args.ttl <= 0x7FFF_FFFF:
        raise UsageError(reason="--ttl must be 0…2147483647 seconds")
    auth = authenticator_from_args(args)
    if auth is None:
        raise UsageError(reason="delegating writes 0.NA/PREFIX: give --auth with --key or "
                                "a secret")
    sites = []
    for text in args.to:
        async with HandleClient(parse_server(text), timeout=args.timeout) as child:
            sites.append(await child.get_site_info())
    values = site_values(sites, subprefixes=not args.no_subprefixes, ttl=args.ttl)
    handle = prefix_handle(prefix)
    async with HandleClient(parse_server(args.server), transport="tcp", auth=auth,
                            timeout=args.timeout) as parent:
        try:
            await parent.add_values(handle, values, overwrite=True)
        except RemoteError as exc:
            if exc.response_code != ResponseCode.HANDLE_NOT_FOUND:
                raise
            identity: Identity = auth.identity
            admin = AdminData(ALL_PERMISSIONS, identity.handle, identity.index).to_bytes()
            await parent.create_handle(handle, [*values,
                                                HandleValue(100, "HS_ADMIN", admin)])
    return handle, values


def run(args: argparse.Namespace) -> int:
    handle, values = asyncio.run(_delegate(args))
    sites = [SiteData.from_bytes(v.data) for v in values if v.type == "HS_SITE"]
    if args.json:
        print(dumps({"handle": handle, "sites": [
            {"primary": s.primary, "serial": s.serial, "description": s.attribute("desc"),
             "servers": [f"{srv.ip}" for srv in s.servers]} for s in sites]}))
        return EXIT_OK
    for site in sites:
        kind = "primary" if site.primary else "mirror"
        servers = ", ".join(str(srv.ip) for srv in site.servers)
        print(f"{handle}: {kind} site {site.attribute('desc') or ''} ({servers})")
    return EXIT_OK
