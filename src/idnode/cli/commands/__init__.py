"""CLI subcommands and the options they share.

Each command module exposes ``register(subparsers)``, which adds its parser(s) and sets two
defaults through :func:`set_command`: ``func`` (parsed args → exit code) and ``describe``
(parsed args → what is being done, for error messages such as
``error: create 88.1/x — response code 401 …``). :mod:`idnode.cli.main` lists the modules.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from idnode.auth.identity import Identity
from idnode.auth.keys import load_identity_key, load_secret
from idnode.client import Authenticator, PublicKeyAuth, SecretKeyAuth
from idnode.client.async_client import DEFAULT_PORT
from idnode.errors import RegistryError

__all__ = [
    "DEFAULT_SERVER",
    "EXIT_CONNECTION",
    "EXIT_OK",
    "EXIT_SERVER_ERROR",
    "EXIT_USAGE",
    "Command",
    "UsageError",
    "add_auth_options",
    "add_client_options",
    "authenticator_from_args",
    "parse_server",
    "read_passphrase_file",
    "set_command",
]

EXIT_OK = 0
#: The server answered with an error (or something the client could not accept).
EXIT_SERVER_ERROR = 1
#: Bad command line or input (argparse uses 2 as well).
EXIT_USAGE = 2
#: The server could not be reached, or the connection failed.
EXIT_CONNECTION = 3

DEFAULT_SERVER = f"127.0.0.1:{DEFAULT_PORT}"

Command = Callable[[argparse.Namespace], int]
Describe = Callable[[argparse.Namespace], str]


class UsageError(RegistryError):
    """The command line or an input file is wrong; exits with :data:`EXIT_USAGE`."""

    fmt = "{reason}"


def set_command(parser: argparse.ArgumentParser, func: Command, describe: Describe) -> None:
    """Make ``parser`` run ``func``; ``describe`` names the action in error messages."""
    parser.set_defaults(func=func, describe=describe)


def parse_server(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[v6]:PORT``, a bare host or a bare IPv6 address (port 2641).

    :raises UsageError: an empty host or a port outside 1..65535.
    """
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else rest
        if not sep or (rest and not rest.startswith(":")):
            raise UsageError(reason=f"bad server address {text!r} (use [v6addr]:port)")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:  # a bare name, IPv4 address or unbracketed IPv6 address
        host, port_text = text, ""
    if not host:
        raise UsageError(reason=f"bad server address {text!r}: no host")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(reason=f"bad server address {text!r}: port must be 1..65535")
    return host, int(port_text)


def add_client_options(parser: argparse.ArgumentParser, *, json_help: str) -> None:
    """``--server``, ``--timeout`` and ``--json``."""
    parser.add_argument("--server", default=DEFAULT_SERVER, metavar="HOST:PORT",
                        help=f"the server to ask (default {DEFAULT_SERVER})")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="TCP connect/answer timeout (default 10)")
    parser.add_argument("--json", action="store_true", help=json_help)


def add_auth_options(parser: argparse.ArgumentParser) -> None:
    """``--auth INDEX:HANDLE`` with ``--key``/``--passphrase-file`` or a secret."""
    group = parser.add_argument_group("authentication")
    group.add_argument("--auth", metavar="INDEX:HANDLE",
                       help="identity to authenticate as, e.g. 300:88.1/ADMIN")
    group.add_argument("--key", metavar="FILE", help="private key file (HS_PUBKEY identity)")
    group.add_argument("--passphrase-file", metavar="FILE",
                       help="file holding the private key's passphrase")
    group.add_argument("--secret-file", metavar="FILE",
                       help="file holding the secret (HS_SECKEY identity); one trailing "
                            "newline is ignored")
    group.add_argument("--secret", metavar="SECRET",
                       help="the secret itself (visible in the process list; prefer "
                            "--secret-file)")


def read_passphrase_file(path: str) -> str:
    """The first line of ``path`` (the passphrase), without its line ending.

    :raises UsageError: unreadable or empty.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(reason=f"cannot read passphrase file {path}: {exc}") from None
    passphrase = text.splitlines()[0] if text else ""
    if not passphrase:
        raise UsageError(reason=f"passphrase file {path} is empty")
    return passphrase


def _strip_newline(data: bytes) -> bytes:
    # Files written with an editor or `echo` end in a newline that is not part of the secret.
    for ending in (b"\r\n", b"\n"):
        if data.endswith(ending):
            return data[:-len(ending)]
    return data


def authenticator_from_args(args: argparse.Namespace) -> Authenticator | None:
    """The authenticator the auth options describe, or ``None`` without ``--auth``.

    :raises UsageError: inconsistent options (a key and a secret, ``--auth`` alone, …).
    :raises KeyFileError: the key or secret file cannot be read.
    """
    sources = [name for name in ("key", "secret_file", "secret") if getattr(args, name)]
    if args.auth is None:
        if sources or args.passphrase_file:
            raise UsageError(reason="--key, --secret-file and --secret need --auth "
                                    "INDEX:HANDLE")
        return None
    try:
        identity = Identity.parse(args.auth)
    except RegistryError as exc:
        raise UsageError(reason=f"--auth: {exc}") from None
    if len(sources) != 1:
        raise UsageError(reason="--auth needs exactly one of --key, --secret-file or --secret")
    if args.passphrase_file and not args.key:
        raise UsageError(reason="--passphrase-file goes with --key")
    if args.key:
        passphrase = read_passphrase_file(args.passphrase_file) if args.passphrase_file else None
        return PublicKeyAuth(identity, load_identity_key(args.key, passphrase))  # RSA/DSA/SM2
    if args.secret_file:
        return SecretKeyAuth(identity, _strip_newline(bytes(load_secret(args.secret_file))))
    print("warning: --secret is visible to other users in the process list; "
          "prefer --secret-file", file=sys.stderr)
    return SecretKeyAuth(identity, args.secret.encode("utf-8"))
