"""Ctrl-C stops an import even when the KeyboardInterrupt it raises is lost on the way."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from bulk.conftest import csv_rows
from idnode.bulk import limits
from idnode.bulk.interrupts import Interrupts
from idnode.bulk.lane import Batch, Lane, Outcome
from idnode.bulk.state import state_path
from idnode.cli.main import main


def _import(home: Path, data: Path, template_file: Path, *extra: str) -> int:
    return main(["import", str(home), str(data), "--template", str(template_file), "--batch",
                 "10", "--quiet", *extra])


def test_a_lost_ctrl_c_still_stops_the_import_after_the_batch(
        home: Path, tmp_path: Path, template_file: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "SPLIT_BYTES", 1 << 60)  # one process: the signal is ours
    data = tmp_path / "rows.csv"
    data.write_text(csv_rows(50), encoding="utf-8")
    real = Lane.write
    batches: list[int] = []

    def dropping(self: Lane, batch: Batch) -> Outcome:
        batches.append(batch.read)
        if len(batches) == 2:
            try:  # the interrupt lands where it is caught and dropped, as in a finaliser
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
            except KeyboardInterrupt:
                pass
        return real(self, batch)

    monkeypatch.setattr(Lane, "write", dropping)
    assert _import(home, data, template_file) == 130
    assert batches == [10, 10]  # the batch it arrived in was written, no later one
    state = json.loads(state_path(data).read_text())
    assert not state["complete"] and state["counts"]["rows"] == 20
    monkeypatch.setattr(Lane, "write", real)
    assert _import(home, data, template_file, "--resume") == 0
    state = json.loads(state_path(data).read_text())
    assert state["complete"] and state["counts"]["created"] == 50


def test_the_handler_is_put_back_and_is_only_set_in_the_main_thread() -> None:
    before = signal.getsignal(signal.SIGINT)
    with Interrupts() as ctrl_c:
        assert signal.getsignal(signal.SIGINT) is not before
        ctrl_c.check()  # nothing arrived
    assert signal.getsignal(signal.SIGINT) is before
    with pytest.raises(KeyboardInterrupt), Interrupts() as ctrl_c:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    assert ctrl_c.seen and signal.getsignal(signal.SIGINT) is before
    seen: list[object] = []

    def elsewhere() -> None:
        with Interrupts():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert seen == [before]
