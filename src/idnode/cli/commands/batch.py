"""``idnode batch FILE``: run a CNRI generic batch file (see :mod:`idnode.cli.batchfile`).

Every operation is reported with its line number as ``SUCCESS[n]``, ``FAILURE[n]`` (the
server or the connection said no) or ``INVALID[n]`` (the file is wrong there); the run goes
on after failures and exits non-zero if anything failed. HOME/UNHOME go to the server named
in their block (over TCP), everything else to ``--server``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from idnode.auth.identity import Identity
from idnode.auth.keys import load_private_key
from idnode.cli.batchfile import (
    AuthenticateOp,
    BatchItem,
    DeleteOp,
    HomeOp,
    Invalid,
    RemoveOp,
    SessionSetupOp,
    ValuesOp,
    parse_batch,
)
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
from idnode.cli.output import dumps
from idnode.client import Authenticator, HandleClient, PublicKeyAuth, SecretKeyAuth
from idnode.errors import RegistryError

__all__ = ["register", "run_batch"]

Say = Callable[[str], None]


@dataclass(slots=True)
class _Tally:
    succeeded: int = 0
    failed: int = 0
    lines: list[dict[str, object]] = field(default_factory=list)

    def record(self, say: Say, status: str, line: int, text: str) -> None:
        if status == "SUCCESS":
            self.succeeded += 1
        elif status in ("FAILURE", "INVALID"):
            self.failed += 1
        self.lines.append({"line": line, "status": status, "detail": text})
        say(f"{status}[{line}]: {text}")


def _authenticator(op: AuthenticateOp) -> Authenticator:
    identity = Identity(op.handle, op.index)
    if op.kind == "SECKEY":
        assert op.secret is not None
        return SecretKeyAuth(identity, op.secret)
    assert op.key_file is not None
    return PublicKeyAuth(identity, load_private_key(op.key_file, op.passphrase))


def _action(item: BatchItem) -> tuple[str, Callable[[HandleClient], Awaitable[object]]]:
    """What to report and what to do for one operation item."""
    if isinstance(item, ValuesOp):
        values = item.values
        if item.op == "CREATE":
            return f"create {item.handle}", lambda c: c.create_handle(item.handle, values)
        if item.op == "ADD":
            return f"add values {item.handle}", lambda c: c.add_values(item.handle, values)
        return f"modify values {item.handle}", lambda c: c.modify_values(item.handle, values)
    if isinstance(item, DeleteOp):
        return f"delete {item.handle}", lambda c: c.delete_handle(item.handle)
    if isinstance(item, RemoveOp):
        return (f"remove values {item.handle}",
                lambda c: c.remove_values(item.handle, item.indexes))
    assert isinstance(item, HomeOp)
    verb = "home" if item.home else "unhome"
    if item.home:
        return f"{verb} {item.prefix_handle}", lambda c: c.home_prefix(item.prefix_handle)
    return f"{verb} {item.prefix_handle}", lambda c: c.unhome_prefix(item.prefix_handle)


async def run_batch(items: list[BatchItem], server: tuple[str, int], *,
                    auth: Authenticator | None = None, timeout: float = 10.0,
                    say: Say = print) -> tuple[int, int, list[dict[str, object]]]:
    """Execute parsed batch ``items``; return (succeeded, failed, per-line report).

    :param say: receives one report line per operation.
    """
    tally = _Tally()
    clients: dict[tuple[str, int], HandleClient] = {}
    try:
        for item in items:
            if isinstance(item, Invalid):
                tally.record(say, "INVALID", item.line, item.reason)
                continue
            if isinstance(item, SessionSetupOp):
                tally.record(say, "IGNORED", item.line, "SESSIONSETUP (idnode authenticates "
                                                        "each operation by challenge-response)")
                continue
            if isinstance(item, AuthenticateOp):
                try:
                    auth = _authenticator(item)
                except RegistryError as exc:
                    auth = None  # never go on as the previous identity by accident
                    tally.record(say, "INVALID", item.line, f"authenticate: {exc}")
                continue
            target = (item.host, item.port) if isinstance(item, HomeOp) else server
            client = clients.get(target)
            if client is None:
                client = clients[target] = HandleClient(target, transport="tcp",
                                                        timeout=timeout)
            client.auth = auth
            what, action = _action(item)
            try:
                await action(client)
            except RegistryError as exc:
                tally.record(say, "FAILURE", item.line, f"{what}: {exc}")
            else:
                tally.record(say, "SUCCESS", item.line, what)
    finally:
        for client in clients.values():
            await client.close()
    return tally.succeeded, tally.failed, tally.lines


def _describe(item: BatchItem) -> str:
    """One line per item for ``--dry-run`` (never showing a secret or passphrase)."""
    if isinstance(item, Invalid):
        return f"INVALID[{item.line}]: {item.reason}"
    if isinstance(item, SessionSetupOp):
        return f"IGNORED[{item.line}]: SESSIONSETUP"
    if isinstance(item, AuthenticateOp):
        return f"AUTHENTICATE[{item.line}]: {item.kind}:{item.index}:{item.handle}"
    what = _action(item)[0]
    operation = what.split()[0].upper()  # "add values 88.1/x" -> ADD
    if isinstance(item, ValuesOp):
        what += " with " + ", ".join(f"{v.index}:{v.type}" for v in item.values)
    elif isinstance(item, HomeOp):
        what += f" at {item.host}:{item.port}"
    return f"{operation}[{item.line}]: {what}"


def _run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(reason=f"cannot read batch file {path}: {exc}") from None
    items = parse_batch(text)
    server = parse_server(args.server)
    auth = authenticator_from_args(args)
    if args.dry_run:
        for item in items:
            print(_describe(item))
        return EXIT_OK if not any(isinstance(i, Invalid) for i in items) else EXIT_SERVER_ERROR
    say: Say = (lambda line: None) if args.json else print
    succeeded, failed, lines = asyncio.run(run_batch(items, server, auth=auth,
                                                     timeout=args.timeout, say=say))
    if args.json:
        print(dumps({"succeeded": succeeded, "failed": failed, "operations": lines}))
    else:
        print(f"{succeeded} of {succeeded + failed} operation(s) succeeded", file=sys.stderr)
    return EXIT_OK if failed == 0 else EXIT_SERVER_ERROR


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "batch", help="run a CNRI generic batch file",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--dry-run", action="store_true",
                        help="parse and list the operations without sending anything")
    add_client_options(parser, json_help="print a JSON report at the end")
    add_auth_options(parser)
    set_command(parser, _run, lambda args: f"batch {args.file}")
