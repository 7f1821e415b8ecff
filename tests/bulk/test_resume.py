"""Interrupted imports resume after the last committed batch; a running node sees imports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bulk.conftest import PREFIX, csv_rows
from idnode.bulk.state import state_path
from idnode.cli.main import main
from idnode.config import load_config
from idnode.errors import StorageError
from idnode.storage import SQLiteStore, open_store
from idnode.storage.plans import RunPlan
from integration.nodeproc import NodeProcess, idnode


def count(home: Path) -> int:
    store = open_store(load_config(home).storage_url)
    try:
        return store.count_handles(PREFIX)
    finally:
        store.close()


def test_failed_batch_then_resume(home: Path, tmp_path: Path, template_file: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "rows.csv"
    data.write_text(csv_rows(50) + f"{PREFIX}/BAD,,x,1,\n", encoding="utf-8")
    real = SQLiteStore.create_new
    calls: list[int] = []

    def failing(self: SQLiteStore, plan: RunPlan) -> list[int]:
        calls.append(len(plan.keys))
        if len(calls) == 3:
            raise StorageError(reason="disk gone (simulated)")
        return real(self, plan)

    monkeypatch.setattr(SQLiteStore, "create_new", failing)
    args = ["import", str(home), str(data), "--template", str(template_file), "--quiet",
            "--batch", "10"]
    assert main(args) != 0
    state = json.loads(state_path(data).read_text())
    assert (state["row"], state["counts"]["created"], state["complete"]) == (21, 20, False)
    before = count(home)
    monkeypatch.setattr(SQLiteStore, "create_new", real)
    assert main([*args, "--resume"]) == 1  # the one bad row
    state = json.loads(state_path(data).read_text())
    assert state["complete"] and state["counts"]["created"] == 50
    assert state["counts"]["bad"] == 1 and count(home) - before == 30
    report = data.with_name(data.name + ".import-report.csv").read_text().splitlines()
    assert len(report) == 2  # header and the bad row, once


def test_killed_then_resume_and_changed_input(home: Path, tmp_path: Path,
                                              template_file: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text(csv_rows(60000), encoding="utf-8")
    base = count(home)
    cmd = [sys.executable, "-m", "idnode", "import", str(home), str(data), "--template",
           str(template_file), "--batch", "1000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not state_path(data).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    state = json.loads(state_path(data).read_text())
    assert not state["complete"] and state["row"] > 1
    assert subprocess.run([*cmd, "--resume"], capture_output=True, check=False).returncode == 0
    state = json.loads(state_path(data).read_text())
    assert state["complete"] and count(home) - base == 60000
    assert state["counts"]["created"] + state["counts"]["unchanged"] == 60000
    # an input that changed since an unfinished checkpoint is refused
    state["complete"] = False
    state_path(data).write_text(json.dumps(state))
    with data.open("a") as f:
        f.write(f"{PREFIX}/EXTRA,x,JX,1,\n")
    assert main(["import", str(home), str(data), "--template", str(template_file),
                 "--resume", "--quiet"]) == 2


def test_running_node_sees_imports(home: Path, tmp_path: Path, template_file: Path) -> None:
    node = NodeProcess.start(home)
    try:
        server = f"{node.udp[0]}:{node.udp[1]}"
        handle = f"{PREFIX}/P000002"
        first = idnode("resolve", handle, "--server", server, check=False)
        assert first.returncode != 0  # now cached as "not found" by the node
        data = tmp_path / "rows.csv"
        data.write_text(csv_rows(5), encoding="utf-8")
        assert main(["import", str(home), str(data), "--template", str(template_file),
                     "--quiet"]) == 0
        again = idnode("resolve", handle, "--server", server)
        assert "扳手 2" in again.stdout
    finally:
        node.stop()
