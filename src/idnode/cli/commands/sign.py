"""``idnode sign``: add an HS_SIGNATURE to a record, or issue an HS_CERT (idnode.trust).

* ``idnode sign HANDLE --index N... --auth 300:SIGNER --key KEY [--cert-handle I:H]``
  reads the record, signs the chosen values' digests as SIGNER and adds the JWT at the first
  free index from 400 (``--signature-index`` to replace one), with the same authenticated
  write as ``idnode add``.
* ``idnode sign --cert SUBJECT --subject-index 300 [--subject-key PUB.pem] --perms P...
  --issuer I:H --issuer-key KEY --auth … --key …`` signs SUBJECT's public key (from the PEM,
  else its HS_PUBKEY at that index) and adds the HS_CERT to SUBJECT's record.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from idnode.auth.identity import Identity
from idnode.auth.keys import IdentityPublicKey, load_identity_key, public_key_from_bytes
from idnode.auth.sm2 import SM2KeyError, SM2PrivateKey, SM2PublicKey
from idnode.cli.commands import (
    EXIT_OK,
    UsageError,
    add_auth_options,
    add_client_options,
    authenticator_from_args,
    parse_server,
    read_passphrase_file,
    set_command,
)
from idnode.cli.output import dumps
from idnode.client import HandleClient
from idnode.errors import RegistryError
from idnode.identifiers.value import HandleValue
from idnode.trust import (
    Permission,
    cert_value,
    free_index,
    make_cert,
    make_signature,
    signature_value,
)

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sign", help="sign a record's values (HS_SIGNATURE) or issue an HS_CERT",
        description="Add an HS_SIGNATURE JWT over the values at --index to HANDLE, signed "
                    "with --key as --auth; or, with --cert SUBJECT, add an HS_CERT JWT to "
                    "SUBJECT's record vouching for its public key (trusted resolution, "
                    "docs/secondary-node.md).")
    parser.add_argument("handle", metavar="HANDLE", nargs="?", help="the record to sign")
    parser.add_argument("--index", action="extend", nargs="+", type=int, default=[],
                        dest="indexes", metavar="N", help="value indexes to sign")
    parser.add_argument("--cert-handle", action="append", default=[], metavar="INDEX:HANDLE",
                        help="an HS_CERT of the chain, the signer's first (repeatable; "
                             "without it verifiers look in the signer's record)")
    parser.add_argument("--signature-index", type=int, metavar="N",
                        help="write at this index, replacing what is there (default: the "
                             "first free index from 400)")
    parser.add_argument("--ttl", type=float, default=365, metavar="DAYS",
                        help="validity in days from now (default 365)")
    cert = parser.add_argument_group("issuing an HS_CERT")
    cert.add_argument("--cert", metavar="SUBJECT_HANDLE",
                      help="issue a certificate for SUBJECT_HANDLE's key instead of signing")
    cert.add_argument("--subject-index", type=int, default=300, metavar="N",
                      help="the subject identity's index (default 300); its HS_PUBKEY is "
                           "used unless --subject-key is given")
    cert.add_argument("--subject-key", metavar="PUB.pem", help="the subject's public key")
    cert.add_argument("--perms", action="extend", nargs="+", default=[], metavar="LEVEL[:H]",
                      help="everything | derivedPrefixes:P | handlesUnderThisPrefix:P | "
                           "thisHandle:H (repeatable)")
    cert.add_argument("--ca", action="store_true", help="the subject may issue certificates")
    cert.add_argument("--issuer", metavar="INDEX:HANDLE",
                      help="the issuer identity (default: --auth)")
    cert.add_argument("--issuer-key", metavar="FILE", help="the issuer's private key")
    cert.add_argument("--issuer-passphrase-file", metavar="FILE")
    add_client_options(parser, json_help="print the written value as JSON")
    add_auth_options(parser)
    set_command(parser, run, lambda args: f"sign {args.cert or args.handle}")


def _identity(text: str, option: str) -> Identity:
    try:
        return Identity.parse(text)
    except RegistryError as exc:
        raise UsageError(reason=f"{option}: {exc}") from None


def _rsa_key(path: str, passphrase_file: str | None, option: str
             ) -> rsa.RSAPrivateKey | SM2PrivateKey:
    """The JWS signing key: RSA (RS256) or SM2 (SM2SM3)."""
    passphrase = read_passphrase_file(passphrase_file) if passphrase_file else None
    key = load_identity_key(path, passphrase)
    if not isinstance(key, rsa.RSAPrivateKey | SM2PrivateKey):
        raise UsageError(reason=f"{option}: RS256 needs an RSA key (or SM2SM3 an SM2 key)")
    return key


def _subject_key(args: argparse.Namespace, values: list[HandleValue]) -> IdentityPublicKey:
    if args.subject_key:
        with open(args.subject_key, "rb") as file:
            pem = file.read()
        try:
            key = serialization.load_pem_public_key(pem)
        except (ValueError, UnsupportedAlgorithm) as exc:
            try:
                return SM2PublicKey.from_pem(pem)
            except SM2KeyError:
                raise UsageError(reason=f"--subject-key {args.subject_key}: {exc}") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise UsageError(reason="--subject-key must be an RSA or SM2 public key")
        return key
    value = next((v for v in values if v.index == args.subject_index
                  and v.type == "HS_PUBKEY"), None)
    if value is None:
        raise UsageError(reason=f"{args.cert} has no HS_PUBKEY at {args.subject_index}; "
                                "give --subject-key")
    return public_key_from_bytes(value.data, allow_sm2=True)


_Make = Callable[[list[HandleValue], int], HandleValue]


async def _write(args: argparse.Namespace, handle: str, make: _Make) -> HandleValue:
    """Read ``handle``, build the value with ``make(values, index)``, add it."""
    auth = authenticator_from_args(args)
    if auth is None:
        raise UsageError(reason="writing needs --auth with --key or a secret")
    async with HandleClient(parse_server(args.server), transport="tcp", auth=auth,
                            timeout=args.timeout) as client:
        values = list((await client.resolve(handle, authoritative=True,
                                            public_only=False)).values)
        index = args.signature_index if args.signature_index is not None \
            else free_index(values)
        value = make(values, index)
        await client.add_values(handle, [value], overwrite=args.signature_index is not None)
        return value


def _sign(args: argparse.Namespace) -> HandleValue:
    if not args.handle or not args.indexes:
        raise UsageError(reason="give HANDLE and --index N... (or --cert SUBJECT)")
    if not args.auth or not args.key:
        raise UsageError(reason="signing needs --auth INDEX:HANDLE and its --key")
    signer = _identity(args.auth, "--auth")
    key = _rsa_key(args.key, args.passphrase_file, "--key")
    chain = [_identity(ref, "--cert-handle") for ref in args.cert_handle]

    def make(values: list[HandleValue], index: int) -> HandleValue:
        chosen = [v for v in values if v.index in set(args.indexes)]
        missing = set(args.indexes) - {v.index for v in chosen}
        if missing:
            raise UsageError(reason=f"{args.handle} has no value at "
                                    f"{', '.join(map(str, sorted(missing)))}")
        return signature_value(index, make_signature(args.handle, chosen, signer, key,
                                                     chain=chain, days=args.ttl))
    return asyncio.run(_write(args, args.handle, make))


def _issue(args: argparse.Namespace) -> HandleValue:
    if args.handle or args.indexes:
        raise UsageError(reason="--cert issues a certificate; HANDLE and --index are for "
                                "signing")
    if not args.perms or not args.issuer_key:
        raise UsageError(reason="--cert needs --perms and --issuer-key")
    perms = [Permission.parse(text) for text in args.perms]
    issuer = _identity(args.issuer or args.auth or "", "--issuer")
    issuer_key = _rsa_key(args.issuer_key, args.issuer_passphrase_file, "--issuer-key")
    subject = Identity(args.cert, args.subject_index)

    def make(values: list[HandleValue], index: int) -> HandleValue:
        return cert_value(index, make_cert(issuer, issuer_key, subject,
                                           _subject_key(args, values), perms, ca=args.ca,
                                           days=args.ttl))
    return asyncio.run(_write(args, args.cert, make))


def run(args: argparse.Namespace) -> int:
    if args.ttl <= 0:
        raise UsageError(reason="--ttl must be a positive number of days")
    value = _issue(args) if args.cert else _sign(args)
    handle = args.cert or args.handle
    until = time.strftime("%Y-%m-%d", time.gmtime(time.time() + args.ttl * 86400))
    if args.json:
        print(dumps({"handle": handle, "index": value.index, "type": value.type,
                     "jwt": value.text(), "expires": until}))
    else:
        print(f"{handle}: {value.type} added at index {value.index} (valid until {until})")
    return EXIT_OK
