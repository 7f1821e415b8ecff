"""Running real ``idnode`` processes on loopback for end-to-end tests."""

from __future__ import annotations

import os
import re
import select
import signal
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


def init_node(home: Path, prefix: str = "88.100.1", *extra: str,
              secret: str | None = "s3cret-for-tests") -> str:
    """``idnode init`` on ephemeral loopback ports; returns the admin identity (last line)."""
    args = ["init", str(home), "--prefix", prefix, "--udp", "127.0.0.1:0",
            "--tcp", "127.0.0.1:0", "--http", "off", "--key-bits", "1024", *extra]
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
    proc: subprocess.Popen[str]
    udp: tuple[str, int] = ("127.0.0.1", 0)
    tcp: tuple[str, int] = ("127.0.0.1", 0)
    output: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, home: Path, *extra: str, timeout: float = 30) -> NodeProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen([*IDNODE, "serve", str(home), *extra], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=env)
        node = cls(home, proc)
        deadline = time.monotonic() + timeout
        while True:
            line = node._readline(deadline)
            if line is None:
                node.kill()
                raise AssertionError("idnode serve did not start:\n" + "".join(node.output))
            if m := re.match(r"listening (udp|tcp) (\S+):(\d+)", line):
                setattr(node, m.group(1), (m.group(2), int(m.group(3))))
            if line.startswith("ready"):
                return node

    def _readline(self, deadline: float) -> str | None:
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if not line:
                    return None
                self.output.append(line)
                return line
            if self.proc.poll() is not None:
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
        self.output.append(out or "")
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()

    @property
    def text(self) -> str:
        return "".join(self.output)
