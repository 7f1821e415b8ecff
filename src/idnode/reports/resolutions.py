"""The ``resolutions`` stream (标识解析日志上报): request counts from the access log.

Raw lines are never sent (a busy node writes 100 million a day). The reporter reads the
access-log file after its cursor and counts requests per minute, prefix, operation and
response code::

    {"kind": "count", "minute": "2026-11-24T13:23Z", "prefix": "88.118.8",
     "op": "RESOLUTION", "code": 1, "count": 1734}

``op`` is the opcode mnemonic for the Handle protocol (``code`` its response code) and
``HTTP:GET``-style for the web face (``code`` the HTTP status). ``prefix`` is the handle's
prefix when it is the source or below it (``0.NA/<prefix>`` for its prefix handles) and
``-`` for everything else. A minute's counts may be split over batches; add them up.

The cursor is the file's inode, a byte offset and a fingerprint of the file's first bytes
(inode numbers are reused), so it survives restarts and rotation:

* rename rotation (``access.log`` → ``access.log.1``): the old file is found again by its
  inode in the same directory and read to its end; the new file is taken up once it has
  content (until the node reopens its log it keeps writing to the old one);
* copy-and-truncate: the file shrinking below the offset restarts it at 0;
* a rotated file that is gone (deleted, compressed): a ``gap`` item says lines were lost.

Only complete lines are consumed; a line still being written is read next time.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idnode.identifiers.handle import ascii_upper
from idnode.reports.registrations import in_source

__all__ = ["GAP_ROOM", "AccessLogTail", "Counts", "parse_line"]

_CHUNK = 1 << 20
#: bytes of log one batch may consume (bounds a cycle's work after a long outage)
_READ_MAX = 64 << 20
#: bytes at the start of the file that identify it (with its inode)
_HEAD = 256
#: items of a batch kept for gap items (at most one per reason and file)
GAP_ROOM = 4

#: (minute, prefix, op, code)
Key = tuple[str, str, str, int]


def _prefix(handle: str, source: str) -> str:
    prefix, _, rest = handle.partition("/")
    upper = ascii_upper(prefix)
    if upper == "0.NA":
        inner = ascii_upper(rest)
        return f"0.NA/{inner}" if in_source(inner, source) else "-"
    return upper if in_source(upper, source) else "-"


def parse_line(line: str, source: str) -> Key | None:
    """The counting key of one access-log line (``idnode.node.accesslog`` formats), or
    None for a line of another shape."""
    parts = line.split(" ", 5)
    if len(parts) < 6 or not parts[2].startswith('"') or not parts[3].endswith('"'):
        return None
    transport, day, clock, op, rest = parts[1], parts[2][1:], parts[3], parts[4], parts[5]
    code_text, _, rest = rest.partition(" ")
    _duration, _, handle = rest.partition(" ")
    if not code_text.isdigit() or len(day) != 10 or len(clock) < 6:
        return None
    if ":HDL(" in transport:
        if not handle.startswith("[adm="):
            return None
        close = handle.find("] ")
        if close < 0:
            return None
        handle = handle[close + 2:]
    else:
        op = f"HTTP:{op}"
    return f"{day}T{clock[:5]}Z", _prefix(handle, source), op, int(code_text)


@dataclass
class Counts:
    """Counts being gathered for one batch, bounded in distinct keys."""

    max_keys: int

    def __post_init__(self) -> None:
        self.counts: dict[Key, int] = {}
        self.gaps: list[dict[str, Any]] = []

    def full_for(self, key: Key) -> bool:
        return key not in self.counts and len(self.counts) >= self.max_keys

    def gap(self, reason: str) -> None:
        if not any(g["reason"] == reason for g in self.gaps):
            self.gaps.append({"kind": "gap", "reason": reason})

    def add(self, key: Key) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def items(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = list(self.gaps)
        for (minute, prefix, op, code), count in sorted(self.counts.items()):
            out.append({"kind": "count", "minute": minute, "prefix": prefix, "op": op,
                        "code": code, "count": count})
        return out


def _find_inode(directory: Path, inode: int) -> Path | None:
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.inode() == inode and entry.is_file(follow_symlinks=False):
                    return Path(entry.path)
    except OSError:
        return None
    return None


class AccessLogTail:
    """Reads the access log after a cursor ``{"inode": N, "offset": M}``."""

    def __init__(self, path: Path, source: str) -> None:
        self.path = path
        self.source = source

    def build(self, cursor: Any, max_items: int) -> tuple[list[dict[str, Any]], Any]:
        """The next batch's items and the cursor after them."""
        counts = Counts(max(1, max_items - GAP_ROOM))
        inode, offset, head = _cursor(cursor)
        budget = _READ_MAX
        at: Path | None = None
        for _ in range(3):  # the rotated file, then the current one
            current = _stat(self.path)
            if inode is None:
                if current is None:
                    break
                inode, offset, head = current.st_ino, 0, ""
            if current is not None and current.st_ino == inode:
                at = self.path
                if current.st_size < offset or not _same_head(self.path, offset, head):
                    counts.gap(f"the access log was truncated or replaced below offset "
                               f"{offset} (copytruncate rotation?); lines written before "
                               "may be missed")
                    offset = 0
                offset, budget, _ = self._read(self.path, offset, budget, counts)
                break
            old = _find_inode(self.path.parent, inode)
            if old is not None and _same_head(old, offset, head):
                at = old
                offset, budget, at_end = self._read(old, offset, budget, counts)
                if not at_end or current is None or current.st_size == 0:
                    break  # more to read later, or the writer still appends to the old file
            else:
                counts.gap(f"the rotated access log (inode {inode}) is gone; its lines "
                           f"after offset {offset} were not counted")
            at = None
            inode, offset = (current.st_ino, 0) if current is not None else (None, 0)
            if inode is None:
                break
        if inode is None:
            return counts.items(), None
        return counts.items(), {"inode": inode, "offset": offset,
                                "head": _head(at, offset) if at is not None else ""}

    def _read(self, path: Path, offset: int, budget: int,
              counts: Counts) -> tuple[int, int, bool]:
        """Count complete lines of ``path`` from ``offset``; (new offset, budget left,
        whether the end of the file was reached)."""
        try:
            handle = path.open("rb")
        except OSError:
            return offset, budget, True
        with handle:
            handle.seek(offset)
            while budget > 0:
                wanted = min(_CHUNK, budget)
                chunk = handle.read(wanted)
                if not chunk:
                    return offset, budget, True
                end = chunk.rfind(b"\n")
                if end < 0:
                    if len(chunk) < wanted:
                        return offset, budget, True  # a partial last line: later
                    if wanted < _CHUNK:
                        return offset, budget, False  # this batch's budget is spent
                    # A line longer than a chunk is no access-log line: skip past it.
                    counts.gap("over-long access-log lines were skipped")
                    offset += len(chunk)
                    budget -= len(chunk)
                    continue
                complete = chunk[:end + 1]
                consumed = self._count(complete, counts)
                offset += consumed
                budget -= consumed
                if consumed < len(complete):
                    return offset, budget, False  # the batch is full
                handle.seek(offset)
        return offset, budget, False

    def _count(self, data: bytes, counts: Counts) -> int:
        """Count the lines of ``data``; the bytes consumed (less when the batch filled)."""
        pos = 0
        source = self.source
        for raw in data.split(b"\n")[:-1]:
            key = parse_line(raw.decode("utf-8", "replace"), source)
            if key is not None:
                if counts.full_for(key):
                    return pos
                counts.add(key)
            pos += len(raw) + 1
        return pos


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def _head(path: Path, offset: int) -> str:
    """A fingerprint of the file's first bytes (up to the offset): an inode number can be
    reused by a new file, and a truncated file can grow past the old offset again."""
    try:
        with path.open("rb") as handle:
            data = handle.read(min(offset, _HEAD))
    except OSError:
        return ""
    return hashlib.sha256(data).hexdigest()[:16]


def _same_head(path: Path, offset: int, head: str) -> bool:
    return not head or _head(path, offset) == head


def _cursor(cursor: Any) -> tuple[int | None, int, str]:
    if isinstance(cursor, dict) and isinstance(cursor.get("inode"), int) \
            and isinstance(cursor.get("offset"), int):
        return cursor["inode"], cursor["offset"], str(cursor.get("head") or "")
    return None, 0, ""
