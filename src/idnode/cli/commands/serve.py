"""``idnode serve DIR``: run the node in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from idnode.config import load_config
from idnode.errors import RegistryError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("serve", help="serve the Handle protocol on UDP and TCP",
                              description="Run the node in the foreground. SIGINT/SIGTERM "
                                          "stop it cleanly.")
    p.add_argument("dir", type=Path, help="node home created by 'idnode init'")
    p.add_argument("--workers", type=int, help="override node.workers")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from idnode.node.server import run_server

    try:
        config = load_config(args.dir)
        if args.workers is not None:
            if not 1 <= args.workers <= 64:
                print("idnode serve: --workers must be 1…64", file=sys.stderr)
                return 2
            config = dataclasses.replace(config, workers=args.workers)
    except RegistryError as exc:
        print(f"idnode serve: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    try:
        return run_server(config)
    except OSError as exc:
        print(f"idnode serve: cannot listen: {exc}", file=sys.stderr)
        return 1
    except RegistryError as exc:
        print(f"idnode serve: {exc}", file=sys.stderr)
        return 1
