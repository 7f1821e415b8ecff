"""Administrative commands: create, delete, add, modify, remove, list, home, unhome.

Values on the command line are written ``INDEX:TYPE=DATA``:

* ``1:URL=https://example.com``, ``2:EMAIL=a@b.c`` — text types take the text as is;
* ``100:HS_ADMIN=300:88.1/ADMIN`` — an administrator with all permissions, or with
  ``…@011111110011`` the 12 permission bits MSB-first, as in the REST API;
* ``200:HS_VLIST=300:88.1/ADMIN,301:88.1/OPS`` — an admin group;
* ``TYPE!hex=…``, ``TYPE!base64=…`` and ``TYPE!file=PATH`` give raw bytes (HS_SITE files
  may be ``siteinfo.json``); ``idnode keygen`` prints a ready ``HS_PUBKEY!base64=…`` value.

HS_SECKEY values get permissions ``1100`` (no public read), every other value ``1110``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

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
from idnode.errors import RegistryError
from idnode.identifiers.handle import prefix_handle
from idnode.identifiers.jsonvalue import site_from_json
from idnode.identifiers.value import PERM_DEFAULT, PERM_SECRET, HandleValue, Reference
from idnode.identifiers.values import (
    ALL_PERMISSIONS,
    SITE_TYPES,
    AdminData,
    VListData,
    decode_data,
)

__all__ = ["default_admin", "parse_value_spec", "register"]

T = TypeVar("T")
#: Where ``create`` puts the HS_ADMIN it adds when none is given (CNRI's convention).
DEFAULT_ADMIN_INDEX = 100
_ENCODINGS = ("text", "hex", "base64", "file")


# -- VALUE syntax ------------------------------------------------------------------------

def _admin_data(text: str) -> bytes:
    spec, at, perms = text.rpartition("@")
    if not at or len(perms) != 12 or set(perms) - {"0", "1"}:
        spec, perms = text, ""  # an '@' that is part of the handle
    index_text, colon, handle = spec.partition(":")
    if not colon or not index_text.isdigit() or not handle:
        raise UsageError(reason="HS_ADMIN data is INDEX:HANDLE[@PERMISSIONS], e.g. "
                                "300:88.1/ADMIN or 300:88.1/ADMIN@011111110011")
    permissions = AdminData.permissions_from_text(perms) if perms else ALL_PERMISSIONS
    return AdminData(permissions, handle, int(index_text)).to_bytes()


def _vlist_data(text: str) -> bytes:
    members = []
    for item in text.split(","):
        index_text, colon, handle = item.strip().partition(":")
        if not colon or not index_text.isdigit() or not handle:
            raise UsageError(reason="HS_VLIST data is INDEX:HANDLE[,INDEX:HANDLE...]")
        members.append(Reference(handle, int(index_text)))
    return VListData(tuple(members)).to_bytes()


def _file_data(type_name: str, path: str) -> bytes:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(reason=f"cannot read {path}: {exc.strerror or exc}") from None
    if type_name.upper() in SITE_TYPES and raw.lstrip()[:1] == b"{":
        # siteinfo.json, as CNRI's tools accept for HS_SITE
        try:
            return site_from_json(json.loads(raw)).to_bytes()
        except ValueError as exc:  # not JSON after all; InvalidValue propagates
            raise UsageError(reason=f"{path}: {exc}") from None
    return raw


def _data(type_name: str, encoding: str, text: str) -> bytes:
    if encoding == "hex":
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise UsageError(reason="data is not valid hex") from None
    if encoding == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error:
            raise UsageError(reason="data is not valid base64") from None
    if encoding == "file":
        return _file_data(type_name, text)
    kind = type_name.upper()
    if kind == "HS_ADMIN":
        return _admin_data(text)
    if kind == "HS_VLIST":
        return _vlist_data(text)
    return text.encode("utf-8")


def parse_value_spec(text: str) -> HandleValue:
    """Parse ``INDEX:TYPE[!ENCODING]=DATA`` (see the module docstring).

    :raises UsageError: the message names the part at fault (but never echoes the data,
        which may be a secret).
    """
    head, eq, data = text.partition("=")
    index_text, colon, type_spec = head.partition(":")
    if not eq or not colon:
        raise UsageError(reason=f"value {head!r} is not INDEX:TYPE=DATA "
                                "(e.g. 1:URL=https://example.com)")
    type_name, _, encoding = type_spec.partition("!")
    encoding = encoding.lower() or "text"
    where = f"value {head!r}"
    if not index_text.isdigit() or int(index_text) > 0xFFFF_FFFF:
        raise UsageError(reason=f"{where}: index must be a number 0..4294967295")
    if not type_name:
        raise UsageError(reason=f"{where}: the type is empty")
    if encoding not in _ENCODINGS:
        raise UsageError(reason=f"{where}: encoding {encoding!r} is not one of "
                                f"{', '.join(_ENCODINGS)}")
    try:
        raw = _data(type_name, encoding, data)
        decode_data(type_name, raw)  # structured types must decode (HS_ADMIN, HS_SITE, …)
        permissions = PERM_SECRET if type_name.upper() == "HS_SECKEY" else PERM_DEFAULT
        return HandleValue(int(index_text), type_name, raw, permissions=permissions)
    except RegistryError as exc:  # UsageError from above, InvalidValue from the codecs
        raise UsageError(reason=f"{where}: {exc}") from None


def default_admin(identity: Identity, values: Sequence[HandleValue]) -> HandleValue:
    """HS_ADMIN naming ``identity`` with all permissions, at index 100 or the next free one."""
    taken = {value.index for value in values}
    index = DEFAULT_ADMIN_INDEX
    while index in taken:
        index += 1
    data = AdminData(ALL_PERMISSIONS, identity.handle, identity.index).to_bytes()
    return HandleValue(index, "HS_ADMIN", data)


# -- commands ----------------------------------------------------------------------------

def _connect_and(args: argparse.Namespace,
                 action: Callable[[HandleClient], Awaitable[T]]) -> T:
    auth = authenticator_from_args(args)

    async def go() -> T:
        async with HandleClient(parse_server(args.server), transport="tcp", auth=auth,
                                timeout=args.timeout) as client:
            return await action(client)

    return asyncio.run(go())


def _report(args: argparse.Namespace, text: str, **fields: Any) -> int:
    print(dumps({"responseCode": 1, **fields}) if args.json else text)
    return EXIT_OK


def _values(specs: Sequence[str]) -> list[HandleValue]:
    values = [parse_value_spec(spec) for spec in specs]
    indexes = [value.index for value in values]
    duplicates = sorted({i for i in indexes if indexes.count(i) > 1})
    if duplicates:
        raise UsageError(reason=f"index {duplicates[0]} is given twice")
    return values


def _create(args: argparse.Namespace) -> int:
    values = _values(args.values)
    if not any(value.type.upper() == "HS_ADMIN" for value in values):
        if args.auth is None:
            raise UsageError(reason="create needs --auth (whose identity becomes the "
                                    "administrator) or an explicit HS_ADMIN value")
        try:
            identity = Identity.parse(args.auth)
        except RegistryError as exc:
            raise UsageError(reason=f"--auth: {exc}") from None
        values.append(default_admin(identity, values))
    created = _connect_and(args, lambda c: c.create_handle(
        args.handle, values, overwrite=args.overwrite, mint=args.mint))
    return _report(args, f"created {created}", handle=created)


def _delete(args: argparse.Namespace) -> int:
    _connect_and(args, lambda c: c.delete_handle(args.handle))
    return _report(args, f"deleted {args.handle}", handle=args.handle)


def _add(args: argparse.Namespace) -> int:
    values = _values(args.values)
    _connect_and(args, lambda c: c.add_values(args.handle, values, overwrite=args.overwrite))
    return _report(args, f"added {len(values)} value(s) to {args.handle}", handle=args.handle)


def _modify(args: argparse.Namespace) -> int:
    values = _values(args.values)
    _connect_and(args, lambda c: c.modify_values(args.handle, values))
    return _report(args, f"modified {len(values)} value(s) of {args.handle}",
                   handle=args.handle)


def _remove(args: argparse.Namespace) -> int:
    _connect_and(args, lambda c: c.remove_values(args.handle, args.indexes))
    listed = ", ".join(str(i) for i in args.indexes)
    return _report(args, f"removed index {listed} from {args.handle}", handle=args.handle)


def _list(args: argparse.Namespace) -> int:
    handles = _connect_and(args, lambda c: c.list_handles(args.prefix))
    if args.json:
        print(dumps({"responseCode": 1, "prefix": args.prefix, "handles": handles}))
    else:
        for handle in handles:
            print(handle)
    return EXIT_OK


def _home(args: argparse.Namespace) -> int:
    _connect_and(args, lambda c: c.home_prefix(args.prefix))
    return _report(args, f"homed {prefix_handle(args.prefix)}",
                   handle=prefix_handle(args.prefix))


def _unhome(args: argparse.Namespace) -> int:
    _connect_and(args, lambda c: c.unhome_prefix(args.prefix))
    return _report(args, f"unhomed {prefix_handle(args.prefix)}",
                   handle=prefix_handle(args.prefix))


def _index(text: str) -> int:
    if not text.isdigit() or int(text) > 0xFFFF_FFFF:
        raise argparse.ArgumentTypeError(f"{text!r} is not an index (0..4294967295)")
    return int(text)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    value_help = "INDEX:TYPE=DATA, e.g. 1:URL=https://example.com (see 'idnode create -h')"

    def add(name: str, help_text: str, func: Callable[[argparse.Namespace], int],
            describe: Callable[[argparse.Namespace], str]) -> argparse.ArgumentParser:
        parser = subparsers.add_parser(name, help=help_text, description=__doc__,
                                       formatter_class=argparse.RawDescriptionHelpFormatter)
        set_command(parser, func, describe)
        return parser

    def finish(parser: argparse.ArgumentParser) -> None:
        add_client_options(parser, json_help="print the result as JSON")
        add_auth_options(parser)

    parser = add("create", "create a handle", _create, lambda a: f"create {a.handle}")
    parser.add_argument("handle", metavar="HANDLE")
    parser.add_argument("values", nargs="*", metavar="VALUE", help=value_help)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the record if the handle exists")
    parser.add_argument("--mint", action="store_true",
                        help="let the server add a new suffix to HANDLE (PREFIX/)")
    finish(parser)

    parser = add("delete", "delete a handle", _delete, lambda a: f"delete {a.handle}")
    parser.add_argument("handle", metavar="HANDLE")
    finish(parser)

    parser = add("add", "add values to a handle", _add, lambda a: f"add to {a.handle}")
    parser.add_argument("handle", metavar="HANDLE")
    parser.add_argument("values", nargs="+", metavar="VALUE", help=value_help)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace values whose index exists")
    finish(parser)

    parser = add("modify", "replace values of a handle (matched by index)", _modify,
                 lambda a: f"modify {a.handle}")
    parser.add_argument("handle", metavar="HANDLE")
    parser.add_argument("values", nargs="+", metavar="VALUE", help=value_help)
    finish(parser)

    parser = add("remove", "remove values from a handle", _remove,
                 lambda a: f"remove from {a.handle}")
    parser.add_argument("handle", metavar="HANDLE")
    parser.add_argument("indexes", nargs="+", type=_index, metavar="INDEX")
    finish(parser)

    parser = add("list", "list the handles under a prefix", _list,
                 lambda a: f"list {a.prefix}")
    parser.add_argument("prefix", metavar="PREFIX", help="e.g. 88.1 or 0.NA/88.1")
    finish(parser)

    parser = add("home", "make the server responsible for a prefix", _home,
                 lambda a: f"home {a.prefix}")
    parser.add_argument("prefix", metavar="PREFIX")
    finish(parser)

    parser = add("unhome", "stop the server being responsible for a prefix", _unhome,
                 lambda a: f"unhome {a.prefix}")
    parser.add_argument("prefix", metavar="PREFIX")
    finish(parser)
