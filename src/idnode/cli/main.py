"""The ``idnode`` command line: subcommands from an explicit list of modules.

Exit codes: 0 success, 1 the server answered with an error (or a batch had failures),
2 usage errors (bad options, unreadable input files), 3 the server could not be reached.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from idnode import __version__
from idnode.cli.commands import (
    EXIT_CONNECTION,
    EXIT_SERVER_ERROR,
    EXIT_USAGE,
    UsageError,
    admin,
    batch,
    carrier,
    delegate,
    demo,
    importer,
    init,
    keygen,
    prefix,
    replication,
    reports,
    resolve,
    serve,
    sign,
    verify,
)
from idnode.cli.output import format_error
from idnode.errors import ConfigError, InvalidValue, RegistryError
from idnode.transport.client import TransportError

__all__ = ["COMMAND_MODULES", "build_parser", "exit_code_for", "main"]

#: Every subcommand module, in the order ``idnode --help`` lists them.
COMMAND_MODULES = (init, serve, resolve, admin, delegate, batch, keygen, demo, replication,
                   verify, reports, carrier, importer, sign, prefix)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="idnode", description="Handle / IDIS identifier node and client.")
    parser.add_argument("--version", action="version", version=f"idnode {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def exit_code_for(exc: BaseException) -> int:
    """The exit code for an error that ended a command."""
    # Bad input given locally: options, key files, value syntax, missing files.
    if isinstance(exc, UsageError | ConfigError | InvalidValue | FileNotFoundError
                  | IsADirectoryError | NotADirectoryError):
        return EXIT_USAGE
    if isinstance(exc, TransportError | OSError):
        return EXIT_CONNECTION
    return EXIT_SERVER_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        # argparse stops filling a VALUE... list at the first option; values given after
        # an option ("create H --mint 1:URL=x") still belong to it.
        if extra and isinstance(getattr(args, "values", None), list) and \
                not any(item.startswith("-") for item in extra):
            args.values.extend(extra)
        elif extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help, --version and argparse's usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    describe = getattr(args, "describe", None)
    what = describe(args) if describe is not None else args.command
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        print(f"error: {what} — interrupted", file=sys.stderr)
        return 130
    except (RegistryError, OSError) as exc:
        print(format_error(what, exc), file=sys.stderr)
        return exit_code_for(exc)
    return code


if __name__ == "__main__":
    sys.exit(main())
