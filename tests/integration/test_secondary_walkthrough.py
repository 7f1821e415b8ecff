"""The walk-through at the top of docs/secondary-node.md runs as written (on free ports):
operators and enterprises copy it, so it must keep working."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from integration.nodeproc import free_port_pair

DOC = Path(__file__).resolve().parents[2] / "docs" / "secondary-node.md"


def _walkthrough() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## A walk through"):]
    start = section.index("```sh\n") + 6
    return section[start:section.index("\n```\n", start)]


def _free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_documented_walkthrough_runs(tmp_path: Path) -> None:
    script = _walkthrough()
    assert "idnode serve sn &" in script
    native, http = free_port_pair(), _free_tcp_port()
    script = script.replace("12641", str(native)).replace("18080", str(http))
    # The one harness addition: wait until the node answers before talking to it, and stop it
    # at the end (a reader does both by eye and Ctrl-C).
    script = script.replace("idnode serve sn &", (
        "idnode serve sn > serve.log 2>&1 &\nSERVE=$!\ntrap 'kill $SERVE' EXIT\n"
        f"for i in $(seq 1 200); do curl -s -o /dev/null http://127.0.0.1:{http}/ && break; "
        "sleep 0.1; done"))
    bin_dir = Path(sys.executable).parent  # the venv's idnode
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], check=False,
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    out = done.stdout
    assert done.returncode == 0, f"{out}\n{done.stderr}\n{(tmp_path / 'serve.log').read_text()}"
    assert re.search(r"^\s+1\s+88\.118\.77\s+approved", out, re.M), out
    assert '{"status":1,"message":"success","data":{"prefix":"88.118.77","version":"1.0"' in out
    assert '{"status":1,"message":"success","data":null}' in out  # the single registration
    assert '"message":"1 of 2 items failed"' in out and "required (必填) but missing" in out
    assert "1000 rows: created 1000" in done.stdout + done.stderr
    assert re.search(r"^2000\s+productName\s.*电钻 42$", out, re.M), out
    _wait_closed(http)  # the trap stopped the node


def _wait_closed(port: int) -> None:
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"the walk-through's node still listens on {port}")
