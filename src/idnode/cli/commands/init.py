"""``idnode init DIR --prefix P``: create a node home (config, keys, storage, admin identity)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from idnode.auth.certs import client_certificate, self_signed_certificate, write_certificate
from idnode.auth.keys import generate_private_key, public_key_data, save_private_key, save_secret
from idnode.config import CONFIG_NAME, Address, NodeConfig, parse_address, render_config
from idnode.errors import ConfigError, RegistryError
from idnode.node.provision import provision
from idnode.node.worker import build_site
from idnode.storage import open_store

__all__ = ["register"]

_PREFIX = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "init", help="create a node home: config, keys, storage and admin identity",
        description="Create a node home directory. The last line printed is the admin "
                    "identity (index:handle).")
    p.add_argument("dir", type=Path, help="node home directory (created)")
    p.add_argument("--prefix", action="append", required=True,
                   help="prefix this node is home for (repeatable), e.g. 88.100.1")
    p.add_argument("--udp", default="127.0.0.1:2641", help="UDP listener HOST:PORT or off")
    p.add_argument("--tcp", default="127.0.0.1:2641", help="TCP listener HOST:PORT or off")
    p.add_argument("--http", default="127.0.0.1:8000", help="HTTP listener HOST:PORT or off")
    p.add_argument("--https", default="127.0.0.1:8443",
                   help="HTTPS listener HOST:PORT or off")
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


def run(args: argparse.Namespace) -> int:
    home: Path = args.dir.resolve()
    try:
        prefixes = tuple(dict.fromkeys(args.prefix))
        for prefix in prefixes:
            if not _PREFIX.match(prefix) or prefix.upper().startswith("0.NA"):
                raise ConfigError(key="--prefix", reason=f"{prefix!r} is not a prefix "
                                  "(letters, digits, '.', '-', '_'; at most 64 characters)")
        udp = _listener(args.udp, "--udp")
        tcp = _listener(args.tcp, "--tcp")
        http = _listener(args.http, "--http")
        https = _listener(args.https, "--https")
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
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        for sub in ("keys", "logs", "run", "storage"):
            (home / sub).mkdir(mode=0o700, exist_ok=True)
        server_key = generate_private_key("RSA", 2048)
        admin_key = generate_private_key(args.key_alg, args.key_bits)
        save_private_key(home / "keys" / "server.key", server_key)
        save_private_key(home / "keys" / "admin.key", admin_key)
        if secret is not None:
            save_secret(home / "keys" / "admin.secret", secret)
        admins = [f"300:{prefixes[0]}/ADMIN"] + (
            [f"301:{prefixes[0]}/ADMIN"] if secret is not None else [])
        # A client certificate for the admin identity: what Handle.Net REST clients
        # (pyhandle, b2handle) present to authenticate with the admin key.
        write_certificate(home / "keys" / "admin.crt",
                          client_certificate(admin_key, admins[0]))
        tls_cert, tls_key = _tls_pair(home, args, https)
        text = render_config(prefixes=prefixes, server_admins=tuple(admins), udp=udp, tcp=tcp,
                             http=http, https=https, storage_url=args.storage,
                             tls_certificate=tls_cert, tls_private_key=tls_key)
        fd = os.open(home / CONFIG_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        from idnode.config import load_config
        config: NodeConfig = load_config(home)
        site = build_site(config, _pair(config.udp), _pair(config.tcp), server_key).to_bytes()
        store = open_store(config.storage_url, max_values=config.limits.max_values_per_handle)
        try:
            identity = provision(store, prefixes, public_key_data(admin_key), secret, site)
        finally:
            store.close()
    except (RegistryError, OSError) as exc:
        print(f"idnode init: {exc}", file=sys.stderr)
        return 2
    print(f"node home:      {home}")
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


def _tls_pair(home: Path, args: argparse.Namespace, https: str) -> tuple[str, str]:
    """Paths of the HTTPS certificate and key: the operator's, or a new self-signed pair."""
    if args.tls_cert is not None:
        for path in (args.tls_cert, args.tls_key):
            if not path.is_file():
                raise ConfigError(key=str(path), reason="no such file")
        return str(args.tls_cert.resolve()), str(args.tls_key.resolve())
    hosts = ["localhost", "127.0.0.1", "::1"]
    if https != "off":
        host = parse_address(https, "--https").host
        if host not in hosts and host not in ("0.0.0.0", "::"):
            hosts.insert(0, host)
    key = generate_private_key("RSA", 2048)
    save_private_key(home / "keys" / "tls.key", key)
    write_certificate(home / "keys" / "tls.crt", self_signed_certificate(key, hosts=hosts))
    return "keys/tls.crt", "keys/tls.key"


def _pair(addr: Address | None) -> tuple[str, int] | None:
    return None if addr is None else (addr.host, addr.port)
