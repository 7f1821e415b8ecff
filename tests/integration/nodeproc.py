"""Running real ``idnode`` processes on loopback for end-to-end tests."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

IDNODE = [sys.executable, "-m", "idnode"]


def idnode(*args: str, check: bool = True,
           timeout: float = 60) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*IDNODE, *args], capture_output=True, text=True, timeout=timeout,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"idnode {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def free_port_pair() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (a node serves both on one port)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise AssertionError("no free port")


def init_node(home: Path, prefix: str = "88.100.1", *extra: str,
              secret: str | None = "s3cret-for-tests") -> str:
    """``idnode init`` on one free loopback port for UDP and TCP; returns the admin identity
    (the last line of the output)."""
    port = free_port_pair()
    args = ["init", str(home), "--prefix", prefix, "--udp", f"127.0.0.1:{port}",
            "--tcp", f"127.0.0.1:{port}", "--http", "off", "--https", "off", "--key-bits", "1024",
            *extra]
    if secret is not None:
        args += ["--admin-secret", secret]
    out = idnode(*args).stdout.strip().splitlines()
    return out[-1]


def set_limit(home: Path, key: str, value: str) -> None:
    path = home / "config.toml"
    text = path.read_text()
    text, n = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.M)
    assert n == 1, key
    path.write_text(text)


@dataclass
class NodeProcess:
    home: Path
    proc: subprocess.Popen[bytes]
    udp: tuple[str, int] = ("127.0.0.1", 0)
    tcp: tuple[str, int] = ("127.0.0.1", 0)
    http: tuple[str, int] = ("127.0.0.1", 0)
    https: tuple[str, int] = ("127.0.0.1", 0)
    output: list[str] = field(default_factory=list)
    _pending: bytes = b""

    @classmethod
    def start(cls, home: Path, *extra: str, timeout: float = 30) -> NodeProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen([*IDNODE, "serve", str(home), *extra], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env)
        node = cls(home, proc)
        deadline = time.monotonic() + timeout
        while True:
            line = node._readline(deadline)
            if line is None:
                node.kill()
                raise AssertionError("idnode serve did not start:\n" + "".join(node.output))
            if m := re.match(r"listening (udp|tcp|http|https) (\S+):(\d+)", line):
                setattr(node, m.group(1), (m.group(2), int(m.group(3))))
            if line.startswith("ready"):
                return node

    def _readline(self, deadline: float) -> str | None:
        """One line of the server's output (raw reads: select() and buffered readers
        do not mix)."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while time.monotonic() < deadline:
            if b"\n" in self._pending:
                raw, _, self._pending = self._pending.partition(b"\n")
                line = raw.decode("utf-8", "replace") + "\n"
                self.output.append(line)
                return line
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return None
                self._pending += chunk
            elif self.proc.poll() is not None:
                return None
        return None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        self.output.append(self._pending.decode("utf-8", "replace"))
        self.output.append((out or b"").decode("utf-8", "replace"))
        self._pending = b""
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL (as ``kill -9``), then collect the process and its output pipe."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()

    @property
    def text(self) -> str:
        return "".join(self.output)
