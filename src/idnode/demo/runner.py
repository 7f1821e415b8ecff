"""The demo's node processes: start each ``idnode serve HOME``, wait until it says ``ready``,
keep reading what it prints, and stop them all.

Every child runs in its own session, so a Ctrl-C in the terminal reaches only the demo, which
then stops the children in order (SIGTERM, a bounded wait, SIGKILL for stragglers). On Linux
each child also asks the kernel for SIGTERM when the demo dies (``PR_SET_PDEATHSIG``), so not
even a ``kill -9`` of the demo leaves orphans. Children's output is drained all the time (a
full pipe would block them), appended to ``HOME/logs/serve.log``, and its last lines are
kept to explain a failure.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from idnode.demo.errors import Interrupted, NodeFailed, PortInUse
from idnode.demo.topology import HOST, Node, Topology
from idnode.transport.sockets import bind_tcp, bind_udp

__all__ = ["Child", "Processes", "StopReport", "check_ports"]

_TAIL_LINES = 12
_PR_SET_PDEATHSIG = 1


def check_ports(topology: Topology) -> None:
    """Refuse to start when any port the demo needs is taken (UDP and TCP for each node's
    protocol port, TCP for its HTTP port).

    :raises PortInUse: naming the first port in use and the node that needs it.
    """
    for node in topology.nodes:
        for port, what, binders in ((node.port, "UDP", (bind_udp,)),
                                    (node.port, "TCP", (bind_tcp,)),
                                    (node.http, "HTTP", (bind_tcp,))):
            for bind in binders:
                try:
                    bind(HOST, port).close()
                except OSError:
                    raise PortInUse(port=port, what=what, node=node.name) from None


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGTERM when the demo dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def arm() -> None:  # runs in the child between fork and exec: nothing but syscalls
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the demo died before the line above took effect
            os._exit(1)
    return arm


@dataclass(eq=False)
class Child:
    """One node process and what it printed."""

    node: Node
    home: Path
    proc: subprocess.Popen[bytes]
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=_TAIL_LINES))
    log: BinaryIO | None = None
    ready: bool = False
    pending: bytes = b""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def feed(self, chunk: bytes) -> None:
        if self.log is not None:
            self.log.write(chunk)
            self.log.flush()
        self.pending += chunk
        while b"\n" in self.pending:
            raw, _, self.pending = self.pending.partition(b"\n")
            line = raw.decode("utf-8", "replace").rstrip()
            self.tail.append(line)
            if line.startswith("ready"):
                self.ready = True

    def last_output(self) -> str:
        lines = [*self.tail, *([self.pending.decode("utf-8", "replace")]
                               if self.pending else [])]
        if not lines:
            return "\n    (it printed nothing)"
        return "\n    last output:\n" + "\n".join(f"      {line}" for line in lines)

    def describe_exit(self) -> str:
        code = self.proc.returncode
        if code is not None and code < 0:
            try:
                return f"was killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with status {code}"


@dataclass(frozen=True, slots=True)
class StopReport:
    stopped: int
    killed: int
    seconds: float


class Processes:
    """The children the demo started; use as a context manager so they are always stopped."""

    def __init__(self) -> None:
        self.children: list[Child] = []
        self._selector = selectors.DefaultSelector()
        self._preexec = _die_with_parent()

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._selector.close()

    def start(self, node: Node, home: Path) -> Child:
        """Start ``idnode serve home`` for ``node``."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        log_dir = home / "logs"
        log_dir.mkdir(mode=0o700, exist_ok=True)
        log = (log_dir / "serve.log").open("ab")
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "idnode", "serve", str(home)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                env=env, cwd=home, start_new_session=True,
                preexec_fn=self._preexec)  # noqa: PLW1509
        except BaseException:
            log.close()
            raise
        child = Child(node, home, proc, log=log)
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        self._selector.register(proc.stdout, selectors.EVENT_READ, child)
        self.children.append(child)
        return child

    def pump(self, timeout: float) -> None:
        """Read what the children printed, waiting at most ``timeout`` seconds for it."""
        for key, _ in self._selector.select(timeout):
            child: Child = key.data
            try:
                chunk = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if chunk:
                child.feed(chunk)
            else:
                self._selector.unregister(key.fileobj)

    def exited(self) -> list[Child]:
        return [c for c in self.children if c.proc.poll() is not None]

    def _drain(self, child: Child) -> None:
        """Read what an exited child printed last, up to the end of its output."""
        stdout = child.proc.stdout
        while stdout is not None and not stdout.closed:
            try:
                chunk = os.read(stdout.fileno(), 65536)
            except BlockingIOError:  # still open (a child that is not ready yet)
                return
            if not chunk:
                return
            child.feed(chunk)

    def _failure(self, child: Child, reason: str) -> NodeFailed:
        self._drain(child)
        return NodeFailed(f"{child.node.name} ({child.node.title}, pid {child.pid}) {reason}"
                          f"{child.last_output()}")

    def wait_ready(self, timeout: float, interrupted: threading.Event) -> None:
        """Return once every child has printed ``ready``.

        :raises NodeFailed: a child exited first, or ``timeout`` passed.
        :raises Interrupted: ``interrupted`` was set meanwhile.
        """
        deadline = time.monotonic() + timeout
        while not all(c.ready for c in self.children):
            if interrupted.is_set():
                raise Interrupted()
            for child in self.exited():
                raise self._failure(child, f"{child.describe_exit()} before it was ready")
            if time.monotonic() > deadline:
                late = [c for c in self.children if not c.ready]
                raise self._failure(late[0], f"was not ready after {timeout:g} s "
                                    f"({len(late)} node(s) not ready)")
            self.pump(0.1)

    def watch(self, stop: threading.Event) -> Child | None:
        """Drain output until ``stop`` is set (None) or a child exits (that child)."""
        while not stop.is_set():
            self.pump(0.2)
            for child in self.exited():
                return child
        return None

    def failure(self, child: Child) -> NodeFailed:
        """The error for ``child`` having exited on its own."""
        return self._failure(child, f"{child.describe_exit()} unexpectedly")

    def stop(self, timeout: float = 10.0) -> StopReport:
        """SIGTERM every running child, wait up to ``timeout`` seconds, SIGKILL the rest."""
        started = time.monotonic()
        running = [c for c in self.children if c.proc.poll() is None]
        for child in running:
            try:
                child.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = started + timeout
        while any(c.proc.poll() is None for c in running) and time.monotonic() < deadline:
            self.pump(0.05)  # a child blocked on a full pipe would never finish stopping
        killed = 0
        for child in running:
            if child.proc.poll() is None:
                child.proc.kill()
                killed += 1
            child.proc.wait()
        for child in self.children:
            if child.proc.stdout is not None:
                try:
                    self._selector.unregister(child.proc.stdout)
                except (KeyError, ValueError):
                    pass
                child.proc.stdout.close()
            if child.log is not None:
                child.log.close()
                child.log = None
        return StopReport(len(running) - killed, killed, time.monotonic() - started)
