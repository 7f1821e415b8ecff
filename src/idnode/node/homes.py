"""Creating a node home: the directories, keys, ``config.toml`` and the first records.

``idnode init`` and ``idnode demo`` both call :func:`create_home`; the command line only
validates its options and prints. Keys can be handed in already generated, so a caller
creating many homes (the demo) generates them concurrently instead of one after another.

Layout of a home (every directory 0700, every key and the config 0600)::

    config.toml  keys/  logs/  run/  storage/
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from idnode.auth.certs import client_certificate, self_signed_certificate, write_certificate
from idnode.auth.keys import (
    PrivateKey,
    generate_private_key,
    public_key_data,
    save_private_key,
    save_secret,
)
from idnode.config import (
    CONFIG_NAME,
    Address,
    NodeConfig,
    load_config,
    parse_address,
    render_config,
)
from idnode.errors import ConfigError
from idnode.identifiers.values.site import SiteData
from idnode.node.provision import AdminIdentity, provision
from idnode.node.worker import build_site
from idnode.storage import open_store

__all__ = ["TLS_GENERATE", "TLS_NONE", "HomeSpec", "NewHome", "create_home"]

#: :attr:`HomeSpec.tls`: write a self-signed certificate for the HTTPS listener.
TLS_GENERATE = "generate"
#: :attr:`HomeSpec.tls`: write no certificate (the home's HTTPS listener stays off).
TLS_NONE = "none"

_SUBDIRS = ("keys", "logs", "run", "storage")


@dataclass(frozen=True, slots=True)
class HomeSpec:
    """What to create. Listener texts are ``HOST:PORT`` or ``off``, already validated.

    :ivar tls: :data:`TLS_GENERATE`, :data:`TLS_NONE`, or ``(certificate, key)`` paths of
        the operator's own pair (used in place).
    :ivar server_id: ``node.server_id``, this server's id within a multi-server ``[site]``.
    :ivar extra_config: TOML appended to the rendered config (e.g. a ``[site]`` table).
    :ivar server_key: the server key to save; generated (RSA 2048) when None.
    :ivar admin_key: the admin key to save; generated (``key_alg``/``key_bits``) when None.
    :ivar sync: SQLite durability while the first records are written.
    """

    home: Path
    role: str
    prefixes: tuple[str, ...]
    udp: str
    tcp: str
    http: str
    https: str
    storage_url: str = "sqlite:storage/handles.db"
    roots: tuple[str, ...] = ()
    secret: bytes | None = None
    key_alg: str = "RSA"
    key_bits: int = 2048
    tls: str | tuple[Path, Path] = TLS_GENERATE
    server_id: int = 1
    extra_config: str = ""
    server_key: PrivateKey | None = None
    admin_key: PrivateKey | None = None
    sync: str = "full"


@dataclass(frozen=True, slots=True)
class NewHome:
    """A created home: its validated config, this server's HS_SITE and, unless the node is
    recursive, the admin identity."""

    config: NodeConfig
    site: SiteData | None
    identity: AdminIdentity | None


def create_home(spec: HomeSpec) -> NewHome:
    """Create the node home ``spec.home`` (which must not hold a config yet).

    For every role but ``recursive``: the server and admin keys, the admin's client
    certificate (and secret), ``config.toml``, and the storage with the prefixes homed, their
    prefix handles ``0.NA/P`` and the admin identity (:func:`~idnode.node.provision.provision`).
    A recursive node gets only its server key and config.

    :raises ConfigError: the home exists, or the rendered config does not validate.
    :raises OSError: a file cannot be written.
    """
    home = spec.home.resolve()
    if (home / CONFIG_NAME).exists():
        raise ConfigError(key=str(home), reason="already a node home; not overwriting")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    for sub in _SUBDIRS:
        (home / sub).mkdir(mode=0o700, exist_ok=True)
    server_key = spec.server_key or generate_private_key("RSA", 2048)
    save_private_key(home / "keys" / "server.key", server_key)
    tls_cert, tls_key = _tls_pair(home, spec.tls, spec.https)
    if spec.role == "recursive":
        _write_config(home, render_config(
            prefixes=(), server_admins=(), udp=spec.udp, tcp=spec.tcp, http=spec.http,
            https=spec.https, storage_url="memory:", role="recursive", roots=spec.roots,
            tls_certificate=tls_cert, tls_private_key=tls_key) + spec.extra_config)
        return NewHome(load_config(home), None, None)
    admin_key = spec.admin_key or generate_private_key(spec.key_alg, spec.key_bits)
    save_private_key(home / "keys" / "admin.key", admin_key)
    if spec.secret is not None:
        save_secret(home / "keys" / "admin.secret", spec.secret)
    first = spec.prefixes[0]
    admins = (f"300:{first}/ADMIN",) + ((f"301:{first}/ADMIN",) if spec.secret is not None
                                        else ())
    # A client certificate for the admin identity: what Handle.Net REST clients
    # (pyhandle, b2handle) present to authenticate with the admin key.
    write_certificate(home / "keys" / "admin.crt", client_certificate(admin_key, admins[0]))
    text = render_config(
        prefixes=spec.prefixes, server_admins=admins, udp=spec.udp, tcp=spec.tcp,
        http=spec.http, https=spec.https, storage_url=spec.storage_url,
        tls_certificate=tls_cert, tls_private_key=tls_key, role=spec.role,
        server_id=spec.server_id)
    _write_config(home, text + spec.extra_config)
    config = load_config(home)
    site = build_site(config, _pair(config.udp), _pair(config.tcp), server_key,
                      _pair(config.http))
    store = open_store(config.storage_url, max_values=config.limits.max_values_per_handle,
                       sync=spec.sync)
    try:
        identity = provision(store, spec.prefixes, public_key_data(admin_key), spec.secret,
                             site.to_bytes())
    finally:
        store.close()
    return NewHome(config, site, identity)


def _write_config(home: Path, text: str) -> None:
    fd = os.open(home / CONFIG_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def _tls_pair(home: Path, tls: str | tuple[Path, Path], https: str) -> tuple[str, str]:
    """Paths of the HTTPS certificate and key: the operator's, or a new self-signed pair.

    With :data:`TLS_NONE` the config still names the usual paths, so turning HTTPS on later
    needs only the two files.
    """
    if isinstance(tls, tuple):
        for path in tls:
            if not path.is_file():
                raise ConfigError(key=str(path), reason="no such file")
        return str(tls[0].resolve()), str(tls[1].resolve())
    if tls == TLS_GENERATE:
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
