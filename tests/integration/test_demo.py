"""``idnode demo`` end to end: the whole hierarchy on loopback, resolved through the recursive
node, stopped with SIGINT without leaving a process behind."""

from __future__ import annotations

import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from idnode.client import SyncHandleClient
from idnode.demo.samples import ALIAS, FEATURED, GS1_ELEMENT_STRING, SAMPLES
from idnode.demo.topology import Topology, build_topology
from idnode.errors import RegistryError

pytestmark = pytest.mark.integration



def _free(port: int) -> bool:
    kinds = (socket.SOCK_DGRAM, socket.SOCK_STREAM) if port % 2 == 0 else (socket.SOCK_STREAM,)
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_base() -> int:
    """An even base port with every port the demo needs free."""
    span = max(build_topology(30000, None).ports) - 30000 + 1
    for _ in range(100):
        base = random.randrange(30000, 60000 - span, 2)
        if all(_free(base + i) for i in range(span)):
            return base
    raise AssertionError("no free port range")


@dataclass
class Demo:
    proc: subprocess.Popen[bytes]
    topology: Topology
    directory: Path
    lines: list[str] = field(default_factory=list)
    pending: bytes = b""

    def read_until(self, prefix: str, timeout: float) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while not any(line.startswith(prefix) for line in self.lines):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {prefix!r} line in {timeout} s:\n{self.text}")
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise AssertionError(f"demo exited ({self.proc.wait()}):\n{self.text}")
                self.pending += chunk
                *done, rest = self.pending.split(b"\n")
                self.pending = rest
                self.lines += [line.decode("utf-8", "replace") for line in done]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def section(self, start: str, end: str) -> str:
        text = self.text
        return text[text.index(start):text.index(end)]

    def pids(self) -> dict[str, int]:
        """The node table's NODE → PID (its columns are two or more spaces apart)."""
        rows = [re.split(r"\s{2,}", line.strip()) for line in self.lines
                if "http://127.0.0.1:" in line and not line.startswith(" ")]
        return {row[1]: int(row[5]) for row in rows if len(row) >= 6 and row[5].isdigit()}


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    base = free_base()
    proc = subprocess.Popen(
        [sys.executable, "-m", "idnode", "demo", str(tmp_path / "demo"), "--base-port",
         str(base), "--fresh"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    run = Demo(proc, build_topology(base, None), tmp_path / "demo")
    try:
        run.read_until("ready:", timeout=45)
        yield run
    finally:
        if proc.poll() is None:  # the test failed before stopping it
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def _get(url: str) -> dict[str, object]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        data = json.loads(exc.read())
    assert isinstance(data, dict)
    return data


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_demo_resolves_through_every_level_and_stops_cleanly(demo: Demo) -> None:
    topology = demo.topology
    pids = demo.pids()
    assert set(pids) == {n.name for n in topology.nodes}, demo.text
    assert all(not _gone(pid) for pid in pids.values())

    # the printed trace crosses every level, ending at the server of the three-server site
    trace = demo.section("Resolving", "Point a browser")
    for level in ("root 根节点", "国家顶级节点", "二级节点", "企业节点"):
        assert level in trace, trace
    assert f"127.0.0.1:{topology.holder(FEATURED).port}" in trace
    assert "productName" in trace

    # the recursive node's web face traces another enterprise's identifier level by level
    # (0.NA/88 is cached by now, from the demo's own traced resolution)
    answer = _get(f"{topology.recursive.http_url}/api/handles/88.168.5288/BOTTLE000101"
                  "?trace=true")
    assert answer["responseCode"] == 1, answer
    hops = answer["trace"]
    assert isinstance(hops, list)
    where = {hop["handle"]: hop["server"] for hop in hops}
    assert where["0.NA/88"] in ("cache", topology.root.address), hops
    assert where["0.NA/88.168"] in {n.address for n in topology.by_role("top-level")}, hops
    assert where["0.NA/88.168.5288"] == topology.node("sn-88.168").address, hops
    assert where["88.168.5288/BOTTLE000101"] == topology.node("ent-88.168.5288").address

    recursive = ("127.0.0.1", topology.recursive.port)
    with SyncHandleClient(recursive, transport="tcp") as client:
        wrench = client.resolve(FEATURED)
        assert {v.type for v in wrench.values} >= {"URL", "EMAIL", "productName", "10320/LOC"}
        # the old identifier is an HS_ALIAS of the wrench: the recursive node follows it
        alias = client.resolve(ALIAS)
        assert [v.data for v in alias.values if v.type == "URL"] == \
            [v.data for v in wrench.values if v.type == "URL"]
        # every sample of every enterprise, wherever it lives (own node, three-server site,
        # hosted by its secondary)
        for samples in SAMPLES.values():
            for sample in samples:
                if sample.handle != ALIAS:
                    assert client.resolve(sample.handle).values, sample.handle

    # the three-server site: each server holds its share, the others refer it away (RC 301),
    # and the mirror site holds everything
    tools = [s.handle for s in SAMPLES["88.118.8"]]
    holders = {h: topology.holder(h) for h in tools}
    assert len({n.name for n in holders.values()}) == 3
    mirror = topology.node("ent-88.118.8-mirror")
    with SyncHandleClient(("127.0.0.1", mirror.port), transport="tcp") as client:
        for handle in tools:
            assert client.resolve(handle).values
    for node in topology.site_nodes("ent-88.118.8-1"):
        with SyncHandleClient(("127.0.0.1", node.port), transport="tcp") as client:
            for handle, holder in holders.items():
                if holder is node:
                    assert client.resolve(handle).values
                else:
                    with pytest.raises(RegistryError) as err:
                        client.resolve(handle)
                    assert err.value.response_code == 301

    # a GS1 barcode resolves through the recursive node, mapped by the top-level nodes'
    # mapping record (映射记录)
    out = subprocess.run([sys.executable, "-m", "idnode", "resolve", GS1_ELEMENT_STRING,
                          "--server", f"127.0.0.1:{topology.recursive.port}", "--json"],
                         check=False, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "88.118.8/09521234543213.12345" in out.stdout

    # the data flows: the DR node follows Beijing, Beijing escrows 88.118, 88.118.9 reports
    home = demo.directory

    def status(node: str) -> dict[str, Any]:
        out = subprocess.run([sys.executable, "-m", "idnode", "replication", "status",
                              str(home / node), "--json"], capture_output=True, text=True,
                             check=True, timeout=30).stdout
        return dict(json.loads(out))

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        mirror, top = status("dr-nanjing"), status("top-beijing")
        escrow = top["escrow"].get("88.118") or {}
        reports = json.loads((home / "ent-88.118.9" / "reports" / "state.json").read_text()) \
            if (home / "ent-88.118.9" / "reports" / "state.json").exists() else {}
        acked = reports.get("streams", {}).get("registrations", {}).get("acked", 0)
        if (mirror["role"] == "mirror" and (mirror["live"] or {}).get("state") == "following"
                and escrow.get("state") == "following" and acked >= 1):
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"data flows not running: {mirror} {top} {reports}")
    assert mirror["position"] == top["position"]

    demo.proc.send_signal(signal.SIGINT)
    assert demo.proc.wait(timeout=20) == 0
    demo.read_until("stopped", timeout=5)
    assert f"stopped {len(pids)} node process(es)" in demo.text
    assert all(_gone(pid) for pid in pids.values())


def test_demo_refuses_a_port_in_use(tmp_path: Path) -> None:
    base = free_base()
    topology = build_topology(base, None)
    taken = topology.node("sn-88.200").http
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", taken))
        sock.listen()
        done = subprocess.run(
            [sys.executable, "-m", "idnode", "demo", str(tmp_path / "demo"), "--base-port",
             str(base)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert f"port {taken} (HTTP of sn-88.200) is in use" in done.stderr
    assert not (tmp_path / "demo").exists()  # nothing created before the check


def test_demo_never_deletes_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    done = subprocess.run([sys.executable, "-m", "idnode", "demo", str(tmp_path), "--fresh",
                           "--base-port", str(free_base())],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "is not a demo directory" in done.stderr
    assert (tmp_path / "mine.txt").read_text() == "keep me"
