"""``idnode prefix apply|list|show|approve|reject|suspend|reinstate|revoke HOME …``:
enterprise prefixes (企业前缀) at a secondary node (二级节点), against its node home.

Run on the node's host: the store and the ledger are opened directly (as ``idnode
promote`` does), writes go through the store's transaction log, and a running node is told
through ``run/generation`` so it serves the change at once. Whoever can run this can read
the node's database anyway, so the CLI acts as an operator: ``--operator`` (default: the
first of ``node.server_admins``) is recorded in the audit trail and in HS_ADMIN 101.
Over the network, operators and applicants use ``/api/prefix-applications`` instead.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from idnode.auth.identity import Identity
from idnode.cli.commands import EXIT_OK, UsageError, set_command
from idnode.cli.output import dumps
from idnode.config import load_config
from idnode.prefixes.api import application_json, audit_json
from idnode.prefixes.application import ACTIONS, STATUSES
from idnode.prefixes.local import LocalRegistry

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser(
        "prefix", help="enterprise prefix applications (企业前缀) at a secondary node",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = group.add_subparsers(dest="prefix_command", metavar="ACTION", required=True)

    apply = sub.add_parser("apply", help="record an application from a JSON form")
    apply.add_argument("home", metavar="HOME", type=Path, help="the secondary node's home")
    apply.add_argument("form", metavar="FORM.json",
                       help="the form (docs/secondary-node.md); - reads standard input")
    apply.add_argument("--applicant", default=None,
                       help="who submitted it (default: cli:<login name>)")
    _common(apply)
    set_command(apply, _run, lambda a: f"prefix apply {a.form}")

    listing = sub.add_parser("list", help="list applications")
    listing.add_argument("home", metavar="HOME", type=Path)
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--prefix", default=None)
    _common(listing)
    set_command(listing, _run, lambda a: "prefix list")

    show = sub.add_parser("show", help="one application with its audit trail")
    show.add_argument("home", metavar="HOME", type=Path)
    show.add_argument("id", metavar="ID", type=int)
    _common(show)
    set_command(show, _run, lambda a: f"prefix show {a.id}")

    for action in ACTIONS:
        parser = sub.add_parser(action, help=f"{action} an application")
        parser.add_argument("home", metavar="HOME", type=Path)
        parser.add_argument("id", metavar="ID", type=int)
        parser.add_argument("--reason", default="", required=action == "reject",
                            help="why (required to reject; shown to the applicant)")
        parser.add_argument("--operator", default=None, metavar="INDEX:HANDLE",
                            help="the operator recorded (default: the first server admin)")
        _common(parser)
        set_command(parser, _run, lambda a: f"prefix {a.prefix_command} {a.id}")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds to wait for an enterprise node's HS_SITE (approve)")


def _operator(args: argparse.Namespace, admins: tuple[str, ...]) -> Identity:
    text = args.operator or (admins[0] if admins else None)
    if text is None:
        raise UsageError(reason="node.server_admins is empty: give --operator INDEX:HANDLE")
    if text not in admins:
        raise UsageError(reason=f"--operator {text} is not one of node.server_admins "
                                f"({', '.join(admins) or 'none'})")
    return Identity.parse(text)


def _read_form(path: str) -> Any:
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(reason=f"{path}: not valid JSON: {exc}") from None


async def _act(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(args.home)
    command = args.prefix_command
    local = LocalRegistry(config, timeout=args.timeout)
    with local as registry:
        if command == "apply":
            applicant = args.applicant or f"cli:{getpass.getuser()}"
            app = await registry.apply(_read_form(args.form), applicant)
            return {"application": application_json(app)}
        if command == "list":
            prefix = args.prefix.upper() if args.prefix else None
            apps = await registry.find(args.status, prefix, 0, 10_000)
            return {"applications": [application_json(a) for a in apps]}
        if command == "show":
            app = await registry.get(args.id)
            return {"application": application_json(app),
                    "audit": audit_json(await registry.audit(args.id))}
        operator = _operator(args, config.server_admins)
        app = await registry.act(args.id, command, operator, args.reason.strip())
        return {"application": application_json(app)}


def _line(app: dict[str, Any]) -> str:
    form = app["form"]
    route = form["route"]["mode"]
    reason = f" — {app['reason']}" if app["reason"] else ""
    return (f"{app['id']:>5}  {app['prefix']:<16} {app['status']:<9} {route:<9} "
            f"{form['organisation']} ({form['creditCode']}){reason}")


def _run(args: argparse.Namespace) -> int:
    result = asyncio.run(_act(args))
    if args.json:
        print(dumps(result))
        return EXIT_OK
    apps: list[dict[str, Any]] = result.get("applications") or [result["application"]]
    for app in apps:
        print(_line(app))
    for entry in result.get("audit", []):
        print(f"       {entry['at']}  {entry['action']:<9} {entry['actor']}: {entry['detail']}")
    if args.prefix_command == "list" and not apps:
        print("no applications", file=sys.stderr)
    return EXIT_OK


