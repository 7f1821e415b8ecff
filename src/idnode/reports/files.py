"""The sender's durable state under ``<home>/reports/``.

::

    reports/state.json                   per stream: next seq, cursor, last ack, last error
    reports/outbox/<stream>/<seq>.json   batches built but not yet acknowledged
    reports/lock                         flock'ed for a whole cycle

Every file is written atomically (temporary file, fsync, rename, fsync of the directory)
with mode 0600. A batch file is the commit point of building: it holds the batch *and* the
stream's cursor after it, and is written before ``state.json``. :meth:`Outbox.load_state`
re-derives a state that a crash left behind a batch file from that file, so a batch is
never built twice from the same data and never lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idnode.config_reports import STREAMS
from idnode.errors import RegistryError, StorageError

__all__ = ["Batch", "LockBusy", "Outbox", "StreamState", "atomic_write_json"]

_STATE_VERSION = 1


class LockBusy(RegistryError):
    """Another reporter (the node, or ``idnode reports flush``) is running a cycle."""

    response_code = 3
    fmt = "{reason}"


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` so that a crash leaves the old or the new file."""
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


@dataclass
class StreamState:
    """One stream's progress. ``next`` is the next *local* seq; the receiver sees
    ``local + shift`` (``shift`` moves only when the receiver asks for other numbers)."""

    next: int = 1
    shift: int = 0
    cursor: Any = None
    acked: int = 0
    last_ok: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    #: the last time the receiver asked for other numbers, and why
    renumbered: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"next": self.next, "shift": self.shift, "cursor": self.cursor,
                "acked": self.acked, "last_ok": self.last_ok, "last_error": self.last_error,
                "last_error_at": self.last_error_at, "renumbered": self.renumbered}

    @classmethod
    def from_json(cls, obj: Any) -> StreamState:
        if not isinstance(obj, dict):
            return cls()
        return cls(next=int(obj.get("next", 1)), shift=int(obj.get("shift", 0)),
                   cursor=obj.get("cursor"), acked=int(obj.get("acked", 0)),
                   last_ok=obj.get("last_ok"), last_error=obj.get("last_error"),
                   last_error_at=obj.get("last_error_at"), renumbered=obj.get("renumbered"))

    def failed(self, message: str) -> None:
        self.last_error = message
        self.last_error_at = time.time()


@dataclass(frozen=True, slots=True)
class Batch:
    """A persisted batch: its local seq, the cursor after it and the wire body without
    ``seq`` (added at send time as ``local + shift``)."""

    stream: str
    local_seq: int
    cursor: Any
    body: dict[str, Any]
    built: float

    def wire(self, shift: int) -> bytes:
        body = {"source": self.body["source"], "stream": self.stream,
                "seq": self.local_seq + shift, "items": self.body["items"]}
        if self.body.get("reporter"):
            body["reporter"] = self.body["reporter"]
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    @property
    def items(self) -> list[Any]:
        items = self.body["items"]
        assert isinstance(items, list)
        return items


@dataclass
class State:
    streams: dict[str, StreamState] = field(default_factory=dict)

    def stream(self, name: str) -> StreamState:
        return self.streams.setdefault(name, StreamState())


class Outbox:
    """The files of one node home's reporting state."""

    def __init__(self, home: Path) -> None:
        self.root = home / "reports"
        self.state_path = self.root / "state.json"
        self.lock_path = self.root / "lock"

    def ensure(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for stream in STREAMS:
            (self.root / "outbox" / stream).mkdir(mode=0o700, parents=True, exist_ok=True)

    def _dir(self, stream: str) -> Path:
        return self.root / "outbox" / stream

    def _file(self, stream: str, local_seq: int) -> Path:
        return self._dir(stream) / f"{local_seq:012d}.json"

    # -- the lock ---------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self, wait: float) -> Iterator[None]:
        """Hold ``reports/lock`` (flock) for a cycle; wait up to ``wait`` seconds.

        :raises LockBusy: another process (or reporter) holds it.
        """
        self.ensure()
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockBusy(reason=f"another reporter is running a cycle "
                                              f"({self.lock_path} is locked)") from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    # -- batches ----------------------------------------------------------------------
    def pending(self, stream: str) -> list[int]:
        """Local seqs of the stream's unacknowledged batches, oldest first."""
        try:
            names = os.listdir(self._dir(stream))
        except FileNotFoundError:
            return []
        return sorted(int(n[:-5]) for n in names
                      if n.endswith(".json") and n[:-5].isdigit())

    def read(self, stream: str, local_seq: int) -> Batch:
        path = self._file(stream, local_seq)
        try:
            obj = json.loads(path.read_bytes())
            return Batch(stream, int(obj["seq"]), obj.get("cursor"), obj["body"],
                         float(obj.get("built", 0)))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StorageError(reason=f"cannot read the pending report batch {path}: "
                                      f"{exc}") from None

    def write(self, batch: Batch) -> None:
        atomic_write_json(self._file(batch.stream, batch.local_seq),
                          {"seq": batch.local_seq, "cursor": batch.cursor,
                           "built": batch.built, "body": batch.body})

    def remove(self, stream: str, local_seq: int) -> None:
        # No fsync: an acknowledged batch that reappears after a crash is re-sent and
        # acknowledged again as a duplicate.
        with contextlib.suppress(FileNotFoundError):
            self._file(stream, local_seq).unlink()

    # -- state ------------------------------------------------------------------------
    def load_state(self) -> State:
        """``state.json``, reconciled with the outbox (a batch file newer than the state
        carries the cursor the state should have)."""
        state = State()
        try:
            obj = json.loads(self.state_path.read_bytes())
        except FileNotFoundError:
            obj = {}
        except (OSError, ValueError) as exc:
            raise StorageError(reason=f"cannot read {self.state_path}: {exc}") from None
        for name, data in (obj.get("streams") or {}).items():
            state.streams[name] = StreamState.from_json(data)
        for stream in STREAMS:
            seqs = self.pending(stream)
            current = state.stream(stream)
            if seqs and seqs[-1] >= current.next:
                newest = self.read(stream, seqs[-1])
                current.next = newest.local_seq + 1
                current.cursor = newest.cursor
        return state

    def summary(self) -> list[dict[str, Any]]:
        """Per stream, for ``idnode reports status``: seqs as the receiver numbers them,
        the cursor, pending batches and the last success and error. Reads only."""
        state = self.load_state()
        out = []
        for stream in STREAMS:
            current = state.stream(stream)
            pending = self.pending(stream)
            out.append({"stream": stream, "next_seq": current.next + current.shift,
                        "acked_seq": current.acked, "pending": len(pending),
                        "oldest_pending_seq": pending[0] + current.shift if pending else None,
                        "cursor": current.cursor, "last_ok": current.last_ok,
                        "last_error": current.last_error,
                        "last_error_at": current.last_error_at,
                        "renumbered": current.renumbered})
        return out

    def save_state(self, state: State) -> None:
        atomic_write_json(self.state_path, {
            "version": _STATE_VERSION,
            "streams": {name: s.to_json() for name, s in sorted(state.streams.items())}})
