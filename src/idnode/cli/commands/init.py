"""``idnode init DIR --prefix P``: create a node home (config, keys, storage, admin identity)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from idnode.config import CONFIG_NAME, parse_address
from idnode.config_roles import ROLES
from idnode.errors import ConfigError, RegistryError
from idnode.identifiers.handle import PREFIX_NA
from idnode.node.homes import TLS_GENERATE, HomeSpec, create_home

__all__ = ["register"]

_PREFIX = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "init", help="create a node home: config, keys, storage and admin identity",
        description="Create a node home directory. The last line printed is the admin "
                    "identity (index:handle).")
    p.add_argument("dir", type=Path, help="node home directory (created)")
    p.add_argument("--role", choices=tuple(ROLES), default="authoritative",
                   help="the node's role; all but 'recursive' hold records for --prefix "
                        "(a root node homes 0.NA)")
    p.add_argument("--prefix", action="append", default=[],
                   help="prefix this node is home for (repeatable), e.g. 88.100.1")
    p.add_argument("--root", action="append", default=[], metavar="HOST:PORT",
                   help="a root server a recursive node starts from (repeatable)")
    p.add_argument("--udp", help="UDP listener HOST:PORT or off (default 127.0.0.1:2641; "
                   "3641 for a recursive node)")
    p.add_argument("--tcp", help="TCP listener HOST:PORT or off (default as --udp)")
    p.add_argument("--http", default="127.0.0.1:8000", help="HTTP listener HOST:PORT or off")
    p.add_argument("--https", help="HTTPS listener HOST:PORT or off (default "
                   "127.0.0.1:8443; off for a recursive node)")
    p.add_argument("--tls-cert", type=Path, help="TLS certificate chain (PEM) to use instead "
                   "of a generated self-signed one (with --tls-key)")
    p.add_argument("--tls-key", type=Path, help="private key (PEM) of --tls-cert")
    p.add_argument("--storage", default="sqlite:storage/handles.db",
                   help="sqlite:PATH (relative to DIR) or postgresql://… URL")
    secret = p.add_mutually_exclusive_group()
    secret.add_argument("--admin-secret", help="also give the admin an HS_SECKEY secret "
                        "(visible in the process list; prefer --admin-secret-file)")
    secret.add_argument("--admin-secret-file", type=Path, help="read the admin secret from "
                        "a file")
    p.add_argument("--key-alg", choices=("RSA", "DSA"), default="RSA",
                   help="algorithm of the admin key (default RSA)")
    p.add_argument("--key-bits", type=int, default=2048, help="key size (default 2048)")
    p.set_defaults(func=run)


def _listener(text: str, flag: str) -> str:
    if text != "off":
        parse_address(text, flag)
    return text


def _prefixes(args: argparse.Namespace) -> tuple[str, ...]:
    prefixes = tuple(dict.fromkeys(args.prefix))
    if args.role == "root" and not prefixes:
        prefixes = (PREFIX_NA,)
    if args.role == "recursive":
        if prefixes:
            raise ConfigError(key="--prefix", reason="a recursive node holds no prefixes")
        if not args.root:
            raise ConfigError(key="--root", reason="a recursive node needs at least one "
                              "--root HOST:PORT")
        for root in args.root:
            parse_address(root, "--root")
        return ()
    if args.root:
        raise ConfigError(key="--root", reason="only a recursive node takes --root")
    if not prefixes:
        raise ConfigError(key="--prefix", reason="at least one --prefix is required")
    for prefix in prefixes:
        if prefix.upper() == PREFIX_NA and args.role == "root":
            continue
        if not _PREFIX.match(prefix) or prefix.upper().startswith("0.NA"):
            raise ConfigError(key="--prefix", reason=f"{prefix!r} is not a prefix "
                              "(letters, digits, '.', '-', '_'; at most 64 characters)")
    return prefixes


def run(args: argparse.Namespace) -> int:
    home: Path = args.dir.resolve()
    recursive = args.role == "recursive"
    default_port = "127.0.0.1:3641" if recursive else "127.0.0.1:2641"
    try:
        prefixes = _prefixes(args)
        udp = _listener(args.udp or default_port, "--udp")
        tcp = _listener(args.tcp or args.udp or default_port, "--tcp")
        http = _listener(args.http, "--http")
        https = _listener(args.https or ("off" if recursive else "127.0.0.1:8443"), "--https")
        if (args.tls_cert is None) != (args.tls_key is None):
            raise ConfigError(key="--tls-cert", reason="give both --tls-cert and --tls-key")
        if (home / CONFIG_NAME).exists():
            raise ConfigError(key=str(home), reason="already a node home; not overwriting")
        secret: bytes | None = None
        if args.admin_secret is not None:
            secret = args.admin_secret.encode("utf-8")
        elif args.admin_secret_file is not None:
            secret = args.admin_secret_file.read_bytes().rstrip(b"\r\n")
        if secret is not None and not secret:
            raise ConfigError(key="--admin-secret", reason="empty secret")
        tls: str | tuple[Path, Path] = TLS_GENERATE if args.tls_cert is None \
            else (args.tls_cert, args.tls_key)
        made = create_home(HomeSpec(
            home=home, role=args.role, prefixes=prefixes, roots=tuple(args.root), udp=udp,
            tcp=tcp, http=http, https=https, storage_url=args.storage, secret=secret,
            key_alg=args.key_alg, key_bits=args.key_bits, tls=tls))
    except (RegistryError, OSError) as exc:
        print(f"idnode init: {exc}", file=sys.stderr)
        return 2
    print(f"node home:      {home}")
    if made.identity is None:
        print(f"role:           {ROLES['recursive']}, roots {', '.join(args.root)}")
        print(f"start with:     idnode serve {home}")
        return 0
    config, identity = made.config, made.identity
    print(f"role:           {ROLES[args.role]}")
    print(f"config:         {home / CONFIG_NAME}")
    print(f"storage:        {config.storage_url}")
    print(f"prefixes:       {', '.join(prefixes)} (homed; 0.NA/<prefix> created)")
    print(f"admin key:      {home / 'keys' / 'admin.key'} (mode 0600)")
    if identity.seckey is not None:
        print(f"admin secret:   {home / 'keys' / 'admin.secret'} (mode 0600), identity "
              f"{identity.seckey}")
    print(f"admin cert:     {home / 'keys' / 'admin.crt'} (client certificate for the "
          "REST API)")
    print(f"TLS:            {config.web.tls_certificate}"
          + (" (self-signed)" if args.tls_cert is None else ""))
    print(f"start with:     idnode serve {home}")
    print(identity.pubkey)
    return 0
