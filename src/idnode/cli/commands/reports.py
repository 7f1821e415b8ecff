"""``idnode reports status|flush HOME``: upward reporting (数据上报) of a node home.

``status`` shows each stream's cursor, pending batches and last success or error from
``HOME/reports/`` (read only; safe while the node runs). ``flush`` runs one reporting cycle
now with the node's ``[reports]`` configuration: it sends what is pending, then builds and
sends new batches. It takes ``HOME/reports/lock`` like the running node does, so the two
never interleave (it waits up to a minute for a cycle of the node to finish).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from idnode.cli.commands import EXIT_OK, EXIT_SERVER_ERROR, UsageError, set_command
from idnode.cli.output import dumps
from idnode.config import NodeConfig, load_config
from idnode.reports.files import Outbox
from idnode.reports.sender import ReportResult

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "reports", help="upward reporting (数据上报): status, flush now",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    status = actions.add_parser("status", help="each stream's cursor, pending batches and "
                                               "last success or error")
    status.add_argument("home", type=Path, metavar="HOME", help="the node home")
    status.add_argument("--json", action="store_true", help="print JSON")
    set_command(status, run_status, lambda args: f"reports status {args.home}")
    flush = actions.add_parser("flush", help="run one reporting cycle now")
    flush.add_argument("home", type=Path, metavar="HOME", help="the node home")
    flush.add_argument("--json", action="store_true", help="print the cycle's result as JSON")
    set_command(flush, run_flush, lambda args: f"reports flush {args.home}")


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(stamp))


def _cursor(cursor: Any) -> str:
    if cursor is None:
        return "-"
    if isinstance(cursor, int):
        return f"txn {cursor}"
    if isinstance(cursor, dict):
        return f"inode {cursor.get('inode')} offset {cursor.get('offset')}"
    return f"hash {str(cursor)[:12]}"


def run_status(args: argparse.Namespace) -> int:
    config = load_config(args.home)
    streams = Outbox(config.home).summary()
    reports = config.reports
    if args.json:
        print(dumps({"enabled": reports is not None,
                     "to": reports.to if reports else None,
                     "source": reports.source if reports else None, "streams": streams}))
        return EXIT_OK
    if reports is None:
        print("reporting is off (no [reports] section in config.toml)")
    else:
        as_reporter = f" (reporter {reports.reporter})" if reports.reporter else ""
        print(f"reporting {reports.source}{as_reporter} to {reports.to} as "
              f"{reports.identity}, every {reports.interval:g} s: "
              f"{', '.join(reports.streams)}")
    for s in streams:
        print(f"\n{s['stream']}: next seq {s['next_seq']}, acknowledged up to "
              f"{s['acked_seq']}, {s['pending']} pending"
              + (f" (oldest seq {s['oldest_pending_seq']})" if s["pending"] else ""))
        print(f"  cursor        {_cursor(s['cursor'])}")
        print(f"  last success  {_when(s['last_ok'])}")
        if s["last_error"]:
            print(f"  last error    {_when(s['last_error_at'])}: {s['last_error']}")
        if s["renumbered"]:
            print(f"  renumbered    {s['renumbered']}")
    return EXIT_OK


def run_flush(args: argparse.Namespace) -> int:
    config = load_config(args.home)
    if config.reports is None:
        raise UsageError(reason=f"{config.home}: no [reports] section in config.toml")
    result = asyncio.run(_flush(config))
    if args.json:
        print(dumps({"ok": result.ok, "sent": result.sent, "duplicates": result.duplicates,
                     "built": result.built, "pending": result.pending,
                     "errors": result.errors, "more": result.more}))
    else:
        for stream in config.reports.streams:
            sent = result.sent.get(stream, []) + result.duplicates.get(stream, [])
            print(f"{stream}: built {len(result.built.get(stream, []))}, delivered "
                  f"{len(sent)}" + (f" (seq {sent[0]}…{sent[-1]})" if sent else "")
                  + f", pending {result.pending.get(stream, 0)}")
        for stream, error in result.errors.items():
            print(f"error: {stream}: {error}")
        if result.more:
            print("more to send: run flush again (the node catches up by itself)")
    return EXIT_OK if result.ok else EXIT_SERVER_ERROR


async def _flush(config: NodeConfig) -> ReportResult:
    from idnode.auth.keys import load_private_key
    from idnode.node.worker import build_site
    from idnode.reports import Reporter
    from idnode.storage import open_store

    assert config.reports is not None

    def address(value: Any) -> tuple[str, int] | None:
        return None if value is None else (value.host, value.port)

    site = build_site(config, address(config.udp), address(config.tcp),
                      load_private_key(config.server_key), address(config.http))
    access_log = None
    if config.access_log not in ("-", "off"):
        path = Path(config.access_log)
        access_log = path if path.is_absolute() else config.home / path
    store = open_store(config.storage_url, max_values=config.limits.max_values_per_handle,
                       sync=config.storage_sync, index_types=config.reverse_index_types)
    try:
        reporter = Reporter(config.reports, config.home, store, access_log=access_log,
                            sites=lambda: site, role=config.role)
        try:
            return await reporter.flush()
        finally:
            await reporter.close()
    finally:
        store.close()
