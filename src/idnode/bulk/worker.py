"""The import's second lane: a worker process that checks, prepares and writes every other
batch, so that one lane's Python work runs while the other writes (threads cannot: the GIL).

The parent reads the file and sends each of the worker's batches as raw records (a few
hundred kilobytes, pickled in well under a millisecond); the worker parses, checks, stamps
and prepares it at once, then waits for its **turn**: the parent sends it once the batch
before has committed, so batches commit in file order, exactly as in one process (a
record given in two batches is found stored by the later one). The worker answers each
turn with the batch's :class:`~.lane.Outcome`; the parent reports it and takes the
checkpoint, in order.

Messages are length-prefixed pickles on two pipes of their own (not stdin/stdout, which
library code might print to). The worker ignores Ctrl-C (the parent decides) and ends when
its input pipe closes: the parent closes it when done, on an error and on Ctrl-C; the kernel
closes it when the parent is killed. A batch the worker commits after that is simply found
stored, unchanged, when the import is resumed.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import signal
import subprocess
import sys
from typing import BinaryIO, NoReturn

from idnode.bulk.lane import Batch, JobOptions, Lane, Outcome, few_collections
from idnode.bulk.source import Parser, RawRecord
from idnode.errors import RegistryError, StorageError
from idnode.storage import Store, open_store
from idnode.templates import Template

__all__ = ["Worker", "can_serve"]

#: the worker's program (not ``-m``: this module is imported with its package already)
_START = "import sys; from idnode.bulk.worker import main; sys.exit(main(sys.argv[1:]))"
#: seconds the parent waits for the worker to finish its current step and exit
_EXIT_WAIT = 30.0
_LENGTH = 8
#: the default limit of /proc/sys/fs/pipe-max-size; a batch of 5,000 CSV rows of 200 bytes
_PIPE_BYTES = 1 << 20


def can_serve(store: Store, options: JobOptions) -> bool:
    """Whether a worker process can open ``store`` and pays for it: SQLite, and PostgreSQL
    given its full URL in ``options.url`` (a store's own URL has the password masked).
    Measured, 100,000 rows on PostgreSQL: 29,000–30,000 rows/s with a worker against
    22,000–24,000 without. Not a memory store (not shared between processes)."""
    return store.kind == "sqlite" or (store.kind == "postgresql" and options.url is not None)


def _widen(fd: int) -> None:
    """Let a whole batch wait in the pipe (Linux), so the parent need not wait for the
    worker to start, or to finish its write, before sending it the next batch."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except (AttributeError, OSError):
        pass  # another system, or a lower limit: the parent may wait a little


def _send(pipe: BinaryIO, message: object) -> None:
    body = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    pipe.write(len(body).to_bytes(_LENGTH, "big") + body)
    pipe.flush()


def _receive(pipe: BinaryIO) -> object | None:
    """The next message, or None at the end of the pipe."""
    head = pipe.read(_LENGTH)
    if len(head) < _LENGTH:
        return None
    size = int.from_bytes(head, "big")
    body = pipe.read(size)
    if len(body) < size:
        return None
    message: object = pickle.loads(body)  # noqa: S301 - our own child, on our own pipe
    return message


class Worker:
    """The parent's end: start the worker, give it batches and turns, take outcomes."""

    def __init__(self, store: Store, template: Template, options: JobOptions,
                 parser: Parser) -> None:
        to_worker, from_parent = os.pipe()
        to_parent, from_worker = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _START, str(to_worker), str(from_worker)],
                pass_fds=(to_worker, from_worker), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL)
        except BaseException:
            for fd in (to_worker, from_parent, to_parent, from_worker):
                os.close(fd)
            raise
        os.close(to_worker)
        os.close(from_worker)
        _widen(from_parent)
        self._out: BinaryIO = os.fdopen(from_parent, "wb")
        self._in: BinaryIO = os.fdopen(to_parent, "rb")
        try:
            url = options.url if store.kind == "postgresql" and options.url else store.url
            self._call("setup", (url, store.max_values, sorted(store.index_types),
                                 template, options, parser))
        except BaseException:
            self.close()
            raise

    def _call(self, kind: str, body: object) -> None:
        try:
            _send(self._out, (kind, body))
        except BrokenPipeError:
            self._failed()

    def batch(self, records: list[RawRecord]) -> None:
        """The worker's next batch: it parses, checks and prepares it meanwhile."""
        self._call("batch", records)

    def turn(self) -> None:
        """The batch before has committed: the worker may write its batch."""
        self._call("turn", None)

    def outcome(self) -> Outcome:
        """Wait for the worker's batch to commit.

        :raises StorageError: it could not be written, or the worker ended.
        """
        message = _receive(self._in)
        if not isinstance(message, tuple) or message[0] != "done":
            self._failed(message)
        outcome = message[1]
        assert isinstance(outcome, Outcome)
        return outcome

    def _failed(self, message: object | None = None) -> NoReturn:
        if message is None:
            message = _receive(self._in)  # its last word, when it had one
        if isinstance(message, tuple) and message[0] == "error":
            raise StorageError(reason=f"the import's worker process failed: {message[1]}")
        code = self.process.wait(_EXIT_WAIT)
        raise StorageError(reason=f"the import's worker process ended (exit status {code})")

    def close(self) -> None:
        """End the worker: it finishes what it is doing (writing nothing more) and exits."""
        try:
            self._out.close()
        except BrokenPipeError:
            pass  # it has gone already
        try:
            self.process.wait(_EXIT_WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        finally:
            self._in.close()


def _serve(inbox: BinaryIO, outbox: BinaryIO) -> None:
    setup = _receive(inbox)
    if setup is None:
        return
    assert isinstance(setup, tuple) and setup[0] == "setup"
    url, max_values, index_types, template, options, parser = setup[1]
    # sync "full", as the import's own store: a checkpoint must never outrun a commit
    store = open_store(url, max_values=max_values, sync="full", index_types=index_types)
    try:
        lane = Lane(store, template, options)
        ready: list[Batch] = []
        while (message := _receive(inbox)) is not None:
            assert isinstance(message, tuple)
            kind, body = message
            if kind == "batch":
                batch = lane.read(parser.rows(body))
                lane.seal(batch)
                ready.append(batch)
            else:  # the turn of the oldest batch
                _send(outbox, ("done", lane.write(ready.pop(0))))
                lane.tidy()  # while the parent writes
    finally:
        store.close()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    inbox, outbox = os.fdopen(int(argv[0]), "rb"), os.fdopen(int(argv[1]), "wb")
    try:
        with few_collections():
            _serve(inbox, outbox)
    except BrokenPipeError:
        return 1  # the parent has gone
    except Exception as exc:
        try:
            _send(outbox, ("error", f"{exc}"))
        except OSError:
            pass
        if isinstance(exc, RegistryError):
            return 1  # the parent reports it
        raise
    return 0
