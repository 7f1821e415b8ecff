"""``idnode keygen OUT``: make a private key and show its HS_PUBKEY value."""

from __future__ import annotations

import argparse
import base64

from idnode.auth.keys import generate_identity_key, public_key_data, save_private_key
from idnode.cli.commands import EXIT_OK, UsageError, read_passphrase_file, set_command
from idnode.cli.output import dumps

__all__ = ["register"]

_DEFAULT_BITS = 2048
_SM2_BITS = 256


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "keygen", help="generate a private key",
        description="Write a new private key to OUT (PEM, mode 0600; encrypted with the "
                    "passphrase from --passphrase-file) and print the public key as "
                    "HS_PUBKEY data, ready for 'idnode add HANDLE 300:HS_PUBKEY!base64=…'.")
    parser.add_argument("out", metavar="OUT", help="file to write the private key to")
    parser.add_argument("--alg", default="RSA", type=str.upper, choices=("RSA", "DSA", "SM2"),
                        help="key algorithm (default RSA); SM2 keys are written as "
                             "SM2_PUB_KEY, as the IDIS SDKs read them")
    parser.add_argument("--bits", type=int, default=None,
                        help=f"key size (default {_DEFAULT_BITS}; SM2 is always "
                             f"{_SM2_BITS})")
    parser.add_argument("--passphrase-file", metavar="FILE",
                        help="encrypt the key with the passphrase in FILE (first line)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    set_command(parser, run, lambda args: f"keygen {args.out}")


def run(args: argparse.Namespace) -> int:
    if args.alg == "SM2":
        if args.bits not in (None, _SM2_BITS):
            raise UsageError(reason=f"SM2 keys are {_SM2_BITS}-bit; --bits {args.bits} does "
                                    "not apply")
        args.bits = _SM2_BITS
    elif args.bits is None:
        args.bits = _DEFAULT_BITS
    passphrase = read_passphrase_file(args.passphrase_file) if args.passphrase_file else None
    key = generate_identity_key(args.alg, args.bits)
    save_private_key(args.out, key, passphrase, overwrite=args.overwrite)
    public = public_key_data(key).to_bytes()
    encoded = base64.b64encode(public).decode("ascii")
    if args.json:
        print(dumps({"privateKey": args.out, "alg": args.alg, "bits": args.bits,
                     "encrypted": passphrase is not None,
                     "publicKey": {"hex": public.hex(), "base64": encoded}}))
        return EXIT_OK
    state = "encrypted" if passphrase is not None else "unencrypted"
    print(f"private key ({args.alg} {args.bits}-bit, {state}) written to {args.out} "
          "(mode 0600)")
    print(f"HS_PUBKEY hex:    {public.hex()}")
    print(f"HS_PUBKEY base64: {encoded}")
    print(f"as a value:       300:HS_PUBKEY!base64={encoded}")
    return EXIT_OK
