"""``idnode promote HOME`` and ``idnode replication status HOME``.

Promotion is a change of the node's stored replication state (a new epoch, role primary),
made directly in its store, so it works whether the node is running or not; a running node
sees it within a request or a long poll (the cache-generation file is bumped) and starts
accepting writes. The old primary learns of it from its peers when it comes back.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from idnode.cli.commands import EXIT_OK, EXIT_SERVER_ERROR, UsageError, set_command
from idnode.cli.output import dumps
from idnode.config import load_config
from idnode.node.cache import TOOL_SLOT, Generation
from idnode.replication.state import load_state, promoted, save_state
from idnode.storage import open_store

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    promote = subparsers.add_parser(
        "promote", help="make this mirror the primary of its replication group",
        description="Promote the mirror whose home is HOME: it starts a new epoch and "
                    "accepts writes. Its peers follow it; the old primary, when it returns, "
                    "sees the newer epoch, becomes a mirror and keeps any writes only it "
                    "had in HOME/replication/divergent-*.jsonl.")
    promote.add_argument("home", metavar="HOME", type=Path, help="the mirror's node home")
    promote.add_argument("--force", action="store_true",
                         help="promote even though a dump is still loading (data missing)")
    promote.add_argument("--json", action="store_true", help="print the result as JSON")
    set_command(promote, run_promote, lambda args: f"promote {args.home}")

    group = subparsers.add_parser("replication", help="replication status of a node")
    sub = group.add_subparsers(dest="replication_command", metavar="ACTION", required=True)
    status = sub.add_parser(
        "status", help="role, epoch, position and lag",
        description="Show the node's role and epoch and, for a mirror, how far behind its "
                    "primary it is; for a primary, each mirror's position.")
    status.add_argument("home", metavar="HOME", type=Path, help="the node home")
    status.add_argument("--json", action="store_true", help="print the result as JSON")
    set_command(status, run_status, lambda args: f"replication status {args.home}")


def run_promote(args: argparse.Namespace) -> int:
    config = load_config(args.home)
    if not config.replication.enabled:
        raise UsageError(f"{args.home} has no [replication] section: nothing to promote")
    store = open_store(config.storage_url, max_values=config.limits.max_values_per_handle)
    try:
        state = load_state(store, role=config.replication.role,
                           following=config.replication.primary)
        if state.writable:
            print(f"{args.home} is already the primary (epoch {state.epoch})")
            return EXIT_OK
        if state.dump is not None and not args.force:
            print(f"error: {args.home} is still loading a dump (up to key {state.dump[1]!r}); "
                  "promoting it would serve a partial copy. Use --force to do it anyway.")
            return EXIT_SERVER_ERROR
        position = store.position()
        new = promoted(state, position)
        save_state(store, new)
    finally:
        store.close()
    run_dir = config.home / "run"
    if run_dir.is_dir():
        generation = Generation(run_dir / "generation", TOOL_SLOT)
        generation.bump()
        generation.close()
    result = {"home": str(config.home), "epoch": new.epoch, "position": position,
              "first_write": position + 1, "was_following": state.following}
    if args.json:
        print(dumps(result))
    else:
        print(f"promoted {config.home} to primary: epoch {new.epoch} starts at transaction "
              f"{position + 1} (it held {position}); it was following "
              f"{state.following or 'no one'}. The old primary becomes a mirror when it "
              "sees this epoch.")
    return EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    config = load_config(args.home)
    store = open_store(config.storage_url, max_values=config.limits.max_values_per_handle)
    try:
        state = load_state(store, role=config.replication.role,
                           following=config.replication.primary)
        position = store.position()
        oldest = store.oldest_txn_id()
    finally:
        store.close()
    live = _read(config.home / "run" / "replication.json")
    result: dict[str, Any] = {
        "role": "primary" if state.writable else "mirror", "epoch": state.epoch,
        "position": position, "oldest": oldest, "following": state.following,
        "dump_in_progress": state.dump is not None, "live": live,
        "escrow": {e.name: _read(config.home / "run" / f"escrow-{e.name}.json")
                   for e in config.escrow},
    }
    if args.json:
        print(dumps(result))
        return EXIT_OK
    held = (f"log {oldest}…{position}" if oldest else
            f"position {position} (log empty: loaded from a dump or pruned)")
    print(f"role: {result['role']} (epoch {state.epoch}); {held}")
    if not state.writable:
        print(f"following: {state.following}")
    if live is not None:
        age = time.time() - float(live.get("updated", 0))
        if state.writable:
            for mirror in live.get("mirrors", []):
                seen = mirror["seen_seconds_ago"]
                print(f"mirror {mirror['identity']}: at {mirror['position']}, "
                      f"{mirror['lag_txns']} behind"
                      + (f", last asked {seen:.1f} s ago" if seen is not None else
                         ", never connected"))
        else:
            print(f"state: {live.get('state')}; source at {live.get('source_position')}; "
                  f"lag {live.get('lag_txns')} transactions, {live.get('lag_seconds', 0):.3f} s"
                  + (f"; last error: {live['last_error']}" if live.get("last_error") else ""))
        if age > 10:
            print(f"(status written {age:.0f} s ago: is the node running?)")
    for name, escrow in result["escrow"].items():
        if escrow is not None:
            print(f"escrow {name}: {escrow.get('state')} from {escrow.get('source')}, lag "
                  f"{escrow.get('lag_txns')} transactions")
    return EXIT_OK


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
