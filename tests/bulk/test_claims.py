"""``idnode import`` shares unique-value claims with the node's serving workers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from bulk.conftest import PREFIX
from bulk.test_registry import (
    SERIAL_T,
    indexed_home,
    records,
    report,
    run,
    template,
    write_csv,
)
from idnode.errors import RegistryError
from idnode.identifiers.handle import handle_key
from idnode.storage import SQLiteStore, WriteOp, WriteResult
from idnode.storage.creates import Prepared
from idnode.storage.plans import RunPlan
from idnode.templates.claims import CLAIMS_FILE, claim_key
from snms.test_claims import held_elsewhere


def key(value: str) -> str:
    return claim_key(f"{PREFIX}/META_part", PREFIX, "SERIAL", value)


def test_a_value_a_worker_is_registering_makes_the_row_bad(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = indexed_home(tmp_path, "serial")
    serial_t = template(tmp_path, SERIAL_T, "serial")
    data = write_csv(tmp_path / "rows.csv", "handle,serial",
                     [f"{PREFIX}/A,S-HELD", f"{PREFIX}/B,S-FREE"])
    with held_elsewhere(home / CLAIMS_FILE, key("S-HELD")) as answer:
        assert answer == "held"
        assert run(home, data, serial_t) == 1
    assert "created 1" in capsys.readouterr().out
    reasons = report(data)["2"]["reasons"]
    assert "being registered by another process" in reasons and "S-HELD" in reasons, reasons
    assert list(records(home, [f"{PREFIX}/A", f"{PREFIX}/B"])) == [handle_key(f"{PREFIX}/B")]
    # The import's own claims ended with it.
    with held_elsewhere(home / CLAIMS_FILE, key("S-FREE")) as answer:
        assert answer == "held"


def test_a_batch_holds_its_values_until_it_has_committed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = indexed_home(tmp_path, "serial")
    serial_t = template(tmp_path, SERIAL_T, "serial")
    data = write_csv(tmp_path / "rows.csv", "handle,serial",
                     [f"{PREFIX}/R{n},S-{n}" for n in range(4)])
    answers: list[list[str]] = []
    real = SQLiteStore.apply

    def apply(self: SQLiteStore, ops: Sequence[WriteOp],
              prepared: Sequence[Prepared | RegistryError | None] | None = None,
              plan: RunPlan | None = None) -> list[WriteResult]:
        # what another process (a serving worker) gets for each value while a batch is
        # written: its own values are claimed, the batch before has committed and let go
        round_: list[str] = []
        for n in range(4):
            with held_elsewhere(home / CLAIMS_FILE, key(f"S-{n}")) as answer:
                round_.append(answer)
        answers.append(round_)
        return real(self, ops, prepared, plan)

    monkeypatch.setattr(SQLiteStore, "apply", apply)
    assert run(home, data, serial_t, "--batch", "2") == 0
    assert answers == [["busy", "busy", "held", "held"], ["held", "held", "busy", "busy"]]
    with held_elsewhere(home / CLAIMS_FILE, key("S-3")) as answer:
        assert answer == "held"
