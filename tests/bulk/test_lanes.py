"""The import's worker process: the same results as one process; its end never loses a
checkpoint or leaves a process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bulk.conftest import PREFIX, TEMPLATE, csv_rows, make_home
from idnode.bulk import job, limits
from idnode.bulk.job import JobOptions
from idnode.bulk.source import Parser
from idnode.bulk.state import state_path
from idnode.bulk.worker import Worker
from idnode.cli.main import main
from idnode.config import load_config
from idnode.errors import StorageError
from idnode.identifiers.handle import handle_key
from idnode.storage import SQLiteStore, open_store
from idnode.storage.plans import RunPlan
from idnode.templates import loads
from services import drop_postgres_schema, postgres_url
from storage.helpers import check_digests


def mixed_csv(n: int, start: int = 0, *, quantity: int = 0) -> bytes:
    """Good rows and every kind of bad one, duplicates within and across batches, quoted
    cells over two lines, blank lines and a line that is not UTF-8."""
    lines = ["handle,productName,model,quantity,productionDate\n",
             f"{PREFIX}/FIRST,x,JX,1,2024-13-01\n"]  # a bad row first
    for i in range(start, start + n):
        k = i % 17
        if k == 3:
            lines.append(f"{PREFIX}/P{i:06d},x,JX,1,2024-13-01\n")
        elif k == 5:  # the row 5 before, again: the same values
            lines.append(f"{PREFIX}/P{i - 5:06d},扳手 {i - 5},JXDY-21,{quantity},2024-03-15\n")
        elif k == 7:  # the row 7 before, again: other values
            lines.append(f"{PREFIX}/P{i - 7:06d},other,JX,1,2024-03-15\n")
        elif k == 9:
            lines.append(f"{PREFIX}/P{i:06d},\"two\nlines, quoted\",JX,{quantity},\n")
        elif k == 11:
            lines.append("\n   \n\u3000\n")
        elif k == 12:
            lines.append(f"{PREFIX}/P{i:06d},x,JX\n")
        elif k == 13:
            lines.append(f"88.999/P{i:06d},x,JX,1,2024-01-01\n")
        elif k == 14:
            lines.append(f"{PREFIX}/P{i:06d},\"a \"\"quoted\"\" name\",JX,{quantity},\n")
        else:
            lines.append(f"{PREFIX}/P{i:06d},扳手 {i},JXDY-21,{quantity},2024-03-15\n")
    body = "".join(lines).encode("utf-8")
    return body + f"{PREFIX}/LATIN1,caf".encode() + b"\xe9,JX,1,\n"


def mixed_jsonl(n: int, start: int = 0, *, quantity: int = 0) -> bytes:
    """JSON Lines of both forms, bad ones, duplicates and blank lines."""
    lines = []
    for i in range(start, start + n):
        k, handle = i % 13, f"{PREFIX}/P{i:06d}"
        if k == 3:
            lines.append(json.dumps({"handle": handle, "productName": "x",
                                     "productionDate": "2024-13-01"}))
        elif k == 5:
            lines.append(json.dumps({"handle": f"{PREFIX}/P{i - 5:06d}", "value": [
                {"index": 2000, "type": "productName", "data": f"扳手 {i - 5}"},
                {"index": 2002, "type": "quantity", "data": quantity}]}, ensure_ascii=False))
        elif k == 7:
            lines.append(json.dumps({"handle": f"{PREFIX}/P{i - 7:06d}", "productName": "o"}))
        elif k == 9:
            lines.append("\n  \n{not json")
        elif k == 11:
            lines.append(json.dumps([handle]))
        else:
            lines.append(json.dumps({"handle": handle, "value": [
                {"index": 2000, "type": "productName", "data": f"扳手 {i}"},
                {"index": 2002, "type": "quantity", "data": quantity}]}, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def stored(home: Path, n: int) -> dict[str, Any]:
    """Every record the input could name, without timestamps."""
    store = open_store(load_config(home).storage_url)
    try:
        found = store.get_records([handle_key(f"{PREFIX}/P{i:06d}") for i in range(n)])
    finally:
        store.close()
    return {key: sorted((v.index, v.type, v.data, v.ttl, v.permissions)
                        for v in record.values) for key, record in found.items()}


def imported(home: Path, data: Path, template: Path, capsys: pytest.CaptureFixture[str],
             *extra: str) -> tuple[int, dict[str, Any], str, dict[str, int]]:
    code = main(["import", str(home), str(data), "--template", str(template), "--quiet",
                 "--json", *extra])
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    del summary["seconds"], summary["rows_per_second"]
    report = data.with_name(data.name + ".import-report." + data.suffix[1:]).read_text(
        encoding="utf-8")
    state = json.loads(state_path(data).read_text())
    return code, summary, report, state["counts"]


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> list[Worker]:
    """The workers started (each import that splits starts one)."""
    started: list[Worker] = []

    class Counted(Worker):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            started.append(self)

    monkeypatch.setattr(job, "Worker", Counted)
    return started


@pytest.mark.postgres
def test_same_results_with_and_without_the_worker_on_postgresql(
        tmp_path: Path, template_file: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], workers: list[Worker]) -> None:
    """The worker opens the store with the node's full URL (the store's own masks any
    password); batches commit in file order there too."""
    results = []
    urls = [postgres_url(), postgres_url()]
    try:
        for split, url in zip((False, True), urls, strict=True):
            monkeypatch.setattr(limits, "SPLIT_BYTES", 0 if split else 1 << 60)
            home = make_home(tmp_path / f"node-{split}", url)
            capsys.readouterr()
            first = tmp_path / f"first-{split}.csv"
            first.write_bytes(mixed_csv(60, quantity=1))
            data = tmp_path / f"rows-{split}.csv"
            data.write_bytes(mixed_csv(200))
            results.append((imported(home, first, template_file, capsys, "--batch", "7"),
                            imported(home, data, template_file, capsys, "--batch", "7"),
                            stored(home, 200)))
            assert len(workers) == (2 if split else 0)
            for process in workers:
                assert process.process.returncode == 0
    finally:
        for url in urls:
            drop_postgres_schema(url)
    assert results[0] == results[1]
    assert results[0][1][1]["created"] and results[0][1][1]["conflicts"]


@pytest.mark.parametrize(("suffix", "extra"), [("csv", ()), ("csv", ("--overwrite",)),
                                               ("jsonl", ())])
def test_same_results_with_and_without_the_worker(
        tmp_path: Path, template_file: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], workers: list[Worker], suffix: str,
        extra: tuple[str, ...]) -> None:
    mixed = mixed_csv if suffix == "csv" else mixed_jsonl
    results = []
    # this process folds logged record hashes during its batches (the worker only at 262,144)
    monkeypatch.setattr("idnode.storage.sqlite.BULK_FOLD", 20)
    monkeypatch.setattr("idnode.storage.sqlite.FOLD_AT", 16)  # the import's last fold
    for split in (False, True):
        monkeypatch.setattr(limits, "SPLIT_BYTES", 0 if split else 1 << 60)
        home = make_home(tmp_path / f"node-{split}")
        capsys.readouterr()
        first = tmp_path / f"first-{split}.{suffix}"
        first.write_bytes(mixed(60, quantity=1))  # some rows then differ: conflicts
        data = tmp_path / f"rows-{split}.{suffix}"
        data.write_bytes(mixed(200))
        results.append((imported(home, first, template_file, capsys, "--batch", "7"),
                        imported(home, data, template_file, capsys, "--batch", "7", *extra),
                        stored(home, 200)))
        for process in workers:
            assert process.process.returncode == 0
        assert len(workers) == (2 if split else 0)
        with open_store(load_config(home).storage_url) as store:
            check_digests(store)
            assert isinstance(store, SQLiteStore)  # an import leaves its hashes folded
            assert store._writer.execute("SELECT count(*) FROM hash_log").fetchone()[0] < 16
    assert results[0] == results[1]
    summary = results[0][1][1]
    assert summary["created"] and summary["bad"] and summary["conflicts"]
    assert summary["overwritten" if extra else "unchanged"]


def test_worker_killed_then_resume(home: Path, tmp_path: Path, template_file: Path,
                                   monkeypatch: pytest.MonkeyPatch,
                                   workers: list[Worker]) -> None:
    monkeypatch.setattr(limits, "SPLIT_BYTES", 0)
    data = tmp_path / "rows.csv"
    data.write_text(csv_rows(3000), encoding="utf-8")
    args = ["import", str(home), str(data), "--template", str(template_file), "--quiet",
            "--batch", "100"]
    real = job.ImportJob._settle
    settled: list[int] = []

    def settle(self: job.ImportJob, *a: Any) -> None:
        real(self, *a)
        settled.append(1)
        if len(settled) == 5:  # the worker's third batch is being prepared or written
            os.kill(workers[0].process.pid, signal.SIGKILL)

    monkeypatch.setattr(job.ImportJob, "_settle", settle)
    assert main(args) != 0
    state = json.loads(state_path(data).read_text())
    assert not state["complete"] and state["row"] == 501  # after five batches and the header
    assert workers[0].process.returncode == -signal.SIGKILL
    monkeypatch.setattr(job.ImportJob, "_settle", real)
    assert main([*args, "--resume"]) == 0
    state = json.loads(state_path(data).read_text())
    assert state["complete"]
    assert state["counts"]["created"] + state["counts"]["unchanged"] == 3000
    assert state["counts"]["rows"] == 3000
    assert len(stored(home, 3000)) == 3000


def test_worker_ends_with_the_import(home: Path, tmp_path: Path, template_file: Path,
                                     monkeypatch: pytest.MonkeyPatch,
                                     workers: list[Worker]) -> None:
    """Ctrl-C (or any error) in the parent: the worker exits, the checkpoint stays."""
    monkeypatch.setattr(limits, "SPLIT_BYTES", 0)
    data = tmp_path / "rows.csv"
    data.write_text(csv_rows(2000), encoding="utf-8")
    real = job.ImportJob._settle
    settled: list[int] = []

    def settle(self: job.ImportJob, *a: Any) -> None:
        real(self, *a)
        settled.append(1)
        if len(settled) == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(job.ImportJob, "_settle", settle)
    started = time.monotonic()
    assert main(["import", str(home), str(data), "--template", str(template_file),
                 "--quiet", "--batch", "100"]) == 130
    assert time.monotonic() - started < 20
    assert workers[0].process.returncode == 0  # it saw its input end, and left
    state = json.loads(state_path(data).read_text())
    assert not state["complete"] and state["row"] == 401


def test_ctrl_c_on_the_terminal(home: Path, tmp_path: Path, template_file: Path) -> None:
    """SIGINT to the whole process group, as a terminal sends it: the worker ignores it and
    leaves when the parent closes its pipe; the import resumes."""
    data = tmp_path / "rows.csv"
    data.write_text(csv_rows(100_000), encoding="utf-8")  # over limits.SPLIT_BYTES
    cmd = [sys.executable, "-m", "idnode", "import", str(home), str(data), "--template",
           str(template_file), "--batch", "1000", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 30
    while not state_path(data).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    with pytest.raises(ProcessLookupError):  # nothing of the group is left
        os.killpg(proc.pid, 0)
    state = json.loads(state_path(data).read_text())
    assert not state["complete"] and state["row"] > 1
    assert subprocess.run([*cmd, "--resume"], capture_output=True, check=False).returncode == 0
    state = json.loads(state_path(data).read_text())
    assert state["complete"] and state["counts"]["rows"] == 100_000
    assert state["counts"]["created"] + state["counts"]["unchanged"] == 100_000


def test_failed_batch_of_this_process_then_resume(
        home: Path, tmp_path: Path, template_file: Path, monkeypatch: pytest.MonkeyPatch,
        workers: list[Worker]) -> None:
    """A write failing in the parent: the worker's batch before it is checkpointed, the
    worker's next one is never written, and the import resumes from there."""
    monkeypatch.setattr(limits, "SPLIT_BYTES", 0)
    data = tmp_path / "rows.csv"
    data.write_text(csv_rows(50) + f"{PREFIX}/BAD,,x,1,\n", encoding="utf-8")
    real = SQLiteStore.create_new
    calls: list[int] = []

    def failing(self: SQLiteStore, plan: RunPlan) -> list[int]:
        calls.append(len(plan.keys))
        if len(calls) == 3:  # this process's third batch: the fifth
            raise StorageError(reason="disk gone (simulated)")
        return real(self, plan)

    monkeypatch.setattr(SQLiteStore, "create_new", failing)
    args = ["import", str(home), str(data), "--template", str(template_file), "--quiet",
            "--batch", "10"]
    assert main(args) != 0
    assert workers[0].process.returncode == 0
    state = json.loads(state_path(data).read_text())
    assert (state["row"], state["counts"]["created"], state["complete"]) == (41, 40, False)
    assert len(stored(home, 50)) == 40  # the failed batch wrote nothing
    monkeypatch.setattr(SQLiteStore, "create_new", real)
    assert main([*args, "--resume"]) == 1  # the one bad row
    state = json.loads(state_path(data).read_text())
    assert state["complete"] and state["counts"]["created"] == 50
    assert state["counts"]["bad"] == 1 and state["counts"]["rows"] == 51
    report = data.with_name(data.name + ".import-report.csv").read_text().splitlines()
    assert len(report) == 2  # header and the bad row, once


def test_worker_failure_is_reported(tmp_path: Path) -> None:
    """What the worker raises reaches the parent as a StorageError with its words."""
    class Unopenable:  # a store the worker cannot open: its directory is missing
        url = f"sqlite://{tmp_path}/missing/handles.db"
        max_values = 100
        index_types = frozenset({"URL"})
        kind = "sqlite"

    template = loads(json.dumps(TEMPLATE))
    worker = Worker(Unopenable(), template, JobOptions(),  # type: ignore[arg-type]
                    Parser("csv", ("handle", "productName")))
    try:
        with pytest.raises(StorageError, match=r"worker process failed: .*missing"):
            worker.batch([(2, 10, f"{PREFIX}/X,x\n".encode())])
            worker.turn()
            worker.outcome()
    finally:
        worker.close()
    assert worker.process.returncode == 1
