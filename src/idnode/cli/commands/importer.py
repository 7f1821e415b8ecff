"""``idnode import HOME FILE``: bulk registration (批量注册) straight into a node's store.

Rows are validated against a published metadata template (元数据模板), with the SNMS API's
unique (唯一) and reference checks; good rows are written, as the API would register them,
in batches of ``--batch`` (one transaction each), bad rows and conflicts go to a report
file. After each committed batch the node's cache-generation file is bumped (a running node
drops stale cache entries) and the checkpoint ``FILE.import-state.json`` is replaced, so
``--resume`` continues after the last committed batch.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from idnode.bulk.interrupts import Interrupts
from idnode.bulk.job import Counts, ImportJob, JobOptions
from idnode.bulk.limits import DEFAULT_BATCH, MAX_BATCH, MIN_BATCH
from idnode.bulk.progress import Progress
from idnode.bulk.registry import check_indexed
from idnode.bulk.report import Report, report_path
from idnode.bulk.source import FORMATS, guess_format, open_source
from idnode.bulk.state import Checkpoint, InputIdentity, state_path
from idnode.cli.commands import EXIT_OK, EXIT_SERVER_ERROR, UsageError, set_command
from idnode.config import load_config
from idnode.identifiers.handle import Handle
from idnode.node.cache import TOOL_SLOT, Generation
from idnode.snms.templatestore import TEMPLATE_TYPE
from idnode.storage import Store, open_store
from idnode.templates import Template, TemplateState, loads
from idnode.templates.claims import CLAIMS_FILE

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "import", help="bulk registration (批量注册) of CSV / JSON Lines rows into a store",
        description="Validate FILE's rows against a published metadata template (元数据模板) "
                    "and write the good ones into the store of the node at HOME (running "
                    "or not). Bad rows and conflicts are listed in FILE.import-report.*; "
                    "FILE.import-state.json records progress for --resume.")
    p.add_argument("home", metavar="HOME", type=Path, help="the node home")
    p.add_argument("file", metavar="FILE", type=Path, help="the rows (CSV or JSON Lines)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--template", metavar="T.json", type=Path,
                        help="the published template as JSON (SNMS template body)")
    source.add_argument("--template-handle", metavar="H",
                        help="a template record in this store, as the SNMS API keeps them: "
                             "<prefix>/META_<version> (its IDIS.TEMPLATE value)")
    p.add_argument("--format", choices=FORMATS, help="default: from FILE's extension")
    p.add_argument("--batch", type=int, default=DEFAULT_BATCH,
                   help=f"rows per transaction ({MIN_BATCH}–{MAX_BATCH}, default "
                        f"{DEFAULT_BATCH})")
    p.add_argument("--resume", action="store_true",
                   help="continue after the last committed batch of an earlier run")
    p.add_argument("--dry-run", action="store_true",
                   help="validate and compare with the store; write nothing")
    p.add_argument("--overwrite", action="store_true",
                   help="replace records that exist with other values (default: conflict)")
    p.add_argument("--admin", metavar="INDEX:HANDLE",
                   help="the administrator at HS_ADMIN (index 100) of each record "
                        "(default: the prefix handle's HS_ADMIN, else 200:<prefix>/ADMIN)")
    p.add_argument("--report", metavar="PATH", type=Path,
                   help="bad rows (.csv or .jsonl; default FILE.import-report.csv/.jsonl)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    set_command(p, run_import, lambda args: f"import {args.file}")


def _admin(text: str | None) -> tuple[int, str] | None:
    if text is None:
        return None
    index, sep, handle = text.partition(":")
    if not sep or not index.isdigit() or not handle:
        raise UsageError(reason=f"--admin {text!r}: expected INDEX:HANDLE, e.g. 200:88.1/ADMIN")
    Handle.parse(handle)
    return int(index), handle


def _template(args: argparse.Namespace, store: Store) -> Template:
    if args.template is not None:
        template = loads(args.template.read_text(encoding="utf-8"))
    else:
        record = store.get_record(Handle.parse(args.template_handle).key)
        found = [v for v in record.values if v.type == TEMPLATE_TYPE] if record else []
        if not found:
            raise UsageError(reason=f"{args.template_handle} has no {TEMPLATE_TYPE} value in "
                                    "this store (templates are kept at "
                                    "<prefix>/META_<version>)")
        template = loads(found[0].text())
    if template.state is not TemplateState.PUBLISHED:
        raise UsageError(reason=f"template {template.label()} is {template.state.value} "
                                f"({template.state.chinese}), not published (已发布)")
    return template


def run_import(args: argparse.Namespace) -> int:
    if not MIN_BATCH <= args.batch <= MAX_BATCH:
        raise UsageError(reason=f"--batch {args.batch}: must be {MIN_BATCH}–{MAX_BATCH}")
    admin = _admin(args.admin)
    path: Path = args.file
    fmt = args.format or guess_format(path)
    identity = InputIdentity.of(path)
    config = load_config(args.home)
    # sync "full" whatever the node uses: the checkpoint must never claim a batch that a
    # power cut could still take back (one fsync per batch of thousands costs nothing)
    # the node's indexed types: opening with others would rebuild the reverse index, and
    # unique (唯一) items are checked through it
    store = open_store(config.storage_url, max_values=config.limits.max_values_per_handle,
                       sync="full", index_types=config.reverse_index_types)
    try:
        template = _template(args, store)
        check_indexed(template, frozenset(store.index_types))  # before any file is touched
        return _run(args, store, template, path, fmt, identity, admin, config.storage_url)
    finally:
        store.close()


def _start(args: argparse.Namespace, path: Path, fmt: str, identity: InputIdentity,
           template: Template) -> Checkpoint:
    saved = Checkpoint.load(state_path(path)) if args.resume else None
    if saved is None:
        return Checkpoint(identity, fmt, template.label())
    if saved.input != identity:
        raise UsageError(reason=f"{path} changed since its checkpoint (size, time or first "
                                "64 KiB differ); run without --resume to import it afresh")
    if (saved.format, saved.template) != (fmt, template.label()):
        raise UsageError(reason=f"the checkpoint is of a {saved.format} import with template "
                                f"{saved.template}; use the same options to resume")
    return saved


def _run(args: argparse.Namespace, store: Store, template: Template, path: Path, fmt: str,
         identity: InputIdentity, admin: tuple[int, str] | None, url: str) -> int:
    """``url``: the store's, with any password (a worker process opens it too)."""
    state = _start(args, path, fmt, identity, template)
    counts = Counts(**state.counts)
    if state.complete:
        return _summary(args, counts, 0.0, "already complete")
    source = open_source(path, fmt, template, offset=state.offset, row=state.row)
    report = Report(args.report or report_path(path, fmt), keep=state.report_bytes)
    run_dir = config_run_dir(args.home)
    generation = Generation(run_dir / "generation", TOOL_SLOT) if run_dir else None
    options = JobOptions(batch=args.batch, dry_run=args.dry_run, overwrite=args.overwrite,
                         admin=admin, claims=str(run_dir.parent / CLAIMS_FILE) if run_dir
                         else None, url=url)
    started = time.monotonic()
    progress = Progress(source.size, source.offset, quiet=args.quiet)
    ctrl_c = Interrupts()

    def committed(offset: int, row: int) -> None:
        if args.dry_run:
            progress.update(counts.rows, offset)
            ctrl_c.check()
            return
        if generation is not None:
            generation.bump()
        state.offset, state.row, state.counts = offset, row, counts.as_dict()
        state.report_bytes = report.size
        state.save(state_path(path))
        progress.update(counts.rows, offset)
        ctrl_c.check()  # a Ctrl-C that was lost on the way stops the import here

    try:
        with source, ctrl_c:
            ImportJob(store, template, options, report, committed, counts).run(source.rows())
        progress.update(counts.rows, source.size, force=True)
        if not args.dry_run:
            state.complete, state.counts = True, counts.as_dict()
            state.report_bytes = report.size
            state.save(state_path(path))
    except KeyboardInterrupt:
        progress.finish()
        print(f"interrupted: rows up to {state.row} are committed; run again with --resume",
              file=sys.stderr)
        raise
    finally:
        report.close()
        if generation is not None:
            generation.close()
    progress.finish()
    return _summary(args, counts, time.monotonic() - started,
                    f"report: {report.path}" if report.rows else "")


def config_run_dir(home: Path) -> Path | None:
    run_dir = home / "run"
    return run_dir if run_dir.is_dir() else None


def _summary(args: argparse.Namespace, counts: Counts, elapsed: float, note: str) -> int:
    rate = counts.rows / elapsed if elapsed > 0 else 0.0
    if args.json:
        print(json.dumps({**counts.as_dict(), "seconds": round(elapsed, 3),
                          "rows_per_second": round(rate), "dry_run": args.dry_run}))
    else:
        verb = "would create" if args.dry_run else "created"
        print(f"{counts.rows} rows: {verb} {counts.created}, already present "
              f"{counts.unchanged}, overwritten {counts.overwritten}, conflicts "
              f"{counts.conflicts}, bad {counts.bad} ({elapsed:.1f} s, {rate:,.0f} rows/s)"
              + (f"; {note}" if note else ""))
    return EXIT_SERVER_ERROR if counts.conflicts or counts.bad else EXIT_OK

