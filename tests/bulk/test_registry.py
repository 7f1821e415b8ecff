"""``idnode import`` registers what the SNMS API registers: TEMPLATE_ID / TEMPLATE, unique
(唯一) items and type-5 references, checked as the API checks them."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from bulk.conftest import PREFIX, TEMPLATE, csv_rows, make_home
from idnode.auth.identity import Identity
from idnode.cli.main import main
from idnode.config import load_config
from idnode.identifiers.handle import Handle, handle_key
from idnode.identifiers.value import HandleValue
from idnode.snms.registration import record_values
from idnode.storage import Record, Store, open_store
from idnode.templates import loads, template_values

SERIAL_T: dict[str, Any] = {
    "prefix": PREFIX, "version": "1.0", "code": "part", "type": 2, "status": "published",
    "items": [
        {"name": "序列号", "idType": "serial", "idIndex": 2000, "required": True,
         "unique": True, "metadata": {"type": "string", "maxLength": 40}},
        {"name": "备注", "idType": "note", "idIndex": 2001}]}


def template(tmp_path: Path, body: dict[str, Any], name: str) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return path


def indexed_home(tmp_path: Path, *types: str) -> Path:
    home = make_home(tmp_path / "node")
    config = home / "config.toml"
    text = config.read_text(encoding="utf-8")
    listed = ", ".join(f'"{t}"' for t in ("URL", "CHECKSUM", *types))
    config.write_text(text.replace('reverse_index_types = ["URL", "CHECKSUM"]',
                                   f"reverse_index_types = [{listed}]"), encoding="utf-8")
    assert load_config(home).reverse_index_types == ("URL", "CHECKSUM", *types)
    return home


def store_of(home: Path) -> Store:
    config = load_config(home)
    return open_store(config.storage_url, index_types=config.reverse_index_types)


def records(home: Path, handles: list[str]) -> dict[str, Record]:
    with store_of(home) as store:
        return store.get_records([handle_key(h) for h in handles])


def run(home: Path, data: Path, template_file: Path, *extra: str) -> int:
    return main(["import", str(home), str(data), "--template", str(template_file), "--quiet",
                 *extra])


def report(data: Path) -> dict[str, dict[str, str]]:
    path = data.with_name(data.name + ".import-report.csv")
    with path.open(encoding="utf-8") as f:
        return {r["row"]: r for r in csv.DictReader(f)}


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def node_values(record: Record) -> list[tuple[int, str, bytes]]:
    return [(v.index, v.type, v.data) for v in record.values if v.index in (1000, 1001)]


# -- TEMPLATE_ID and TEMPLATE ---------------------------------------------------------------
def test_template_values_as_the_snms_api_writes_them(home: Path, tmp_path: Path,
                                                     template_file: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    data = tmp_path / "rows.csv"
    data.write_text(csv_rows(3), encoding="utf-8")
    assert run(home, data, template_file) == 0
    rec = records(home, [f"{PREFIX}/P000001"])[handle_key(f"{PREFIX}/P000001")]
    snms = record_values(loads(json.dumps(TEMPLATE)), Identity(f"{PREFIX}/ADMIN", 300), [])
    wanted = [(v.index, v.type, v.data) for v in snms if v.index in (1000, 1001)]
    assert node_values(rec) == wanted == [(1000, "TEMPLATE_ID", b"88.100.1/META_wrench"),
                                          (1001, "TEMPLATE", b"1.0")]
    assert all(v.timestamp > 0 for v in rec.values)
    # Idempotent: the same file again is already present.
    assert run(home, data, template_file) == 0
    assert "created 0, already present 3" in capsys.readouterr().out
    # A template without a code: TEMPLATE_ID is the version's record, <prefix>/META_<version>
    bare = template(tmp_path, {**TEMPLATE, "code": None, "version": "2.0"}, "bare")
    other = tmp_path / "other.csv"
    other.write_text(csv_rows(1, start=50), encoding="utf-8")
    assert run(home, other, bare) == 0
    rec = records(home, [f"{PREFIX}/P000050"])[handle_key(f"{PREFIX}/P000050")]
    assert node_values(rec) == [(1000, "TEMPLATE_ID", b"88.100.1/META_2.0"),
                                (1001, "TEMPLATE", b"2.0")]
    # Under another prefix 1001 names the template's own, as for a granted template in SNMS.
    with store_of(home) as store:
        store.home_prefix("88.100.2")
    elsewhere = write_csv(tmp_path / "elsewhere.csv", "handle,productName", ["88.100.2/E1,钳"])
    assert run(home, elsewhere, template_file) == 0
    rec = records(home, ["88.100.2/E1"])[handle_key("88.100.2/E1")]
    snms = record_values(loads(json.dumps(TEMPLATE)), Identity("88.100.2/ADMIN", 300), [],
                         cited=f"{PREFIX}/1.0")
    assert node_values(rec) == [(v.index, v.type, v.data) for v in snms
                                if v.index in (1000, 1001)]
    assert node_values(rec)[1] == (1001, "TEMPLATE", b"88.100.1/1.0")


def test_records_imported_without_template_values(home: Path, tmp_path: Path,
                                                  template_file: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Records imported before 1000/1001 were written differ: --overwrite brings them in line."""
    data = tmp_path / "rows.csv"
    data.write_text(csv_rows(2), encoding="utf-8")
    assert run(home, data, template_file) == 0
    with store_of(home) as store:
        handle = Handle.parse(f"{PREFIX}/P000000")
        old = store.get_record(handle.key)
        assert old is not None
        store.create_handle(handle, [v for v in old.values if v.index not in (1000, 1001)],
                            overwrite=True)
    assert run(home, data, template_file) == 1
    assert "already present 1, overwritten 0, conflicts 1" in capsys.readouterr().out
    assert run(home, data, template_file, "--overwrite") == 0
    assert "already present 1, overwritten 1" in capsys.readouterr().out
    rec = records(home, [f"{PREFIX}/P000000"])[handle_key(f"{PREFIX}/P000000")]
    assert len(node_values(rec)) == 2


# -- unique items -------------------------------------------------------------------------
def test_unique_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = indexed_home(tmp_path, "serial")
    serial_t = template(tmp_path, SERIAL_T, "serial")
    first = write_csv(tmp_path / "first.csv", "handle,serial", [f"{PREFIX}/S0,S-000"])
    assert run(home, first, serial_t) == 0
    with store_of(home) as store:  # the same value under another template is no conflict
        store.create_handle(Handle.parse(f"{PREFIX}/OTHER"), [
            *template_values(f"{PREFIX}/META_else", "1.0"),
            HandleValue(2000, "serial", b"S-900")])
    data = write_csv(tmp_path / "rows.csv", "handle,serial,note", [
        f"{PREFIX}/X1,S-000,",       # row 2: held in the store by S0
        f"{PREFIX}/X2,S-100,",       # row 3
        f"{PREFIX}/X3,S-100,",       # row 4: held by X2, same batch
        f"{PREFIX}/X4,S-200,",       # row 5 (batch 2)
        f"{PREFIX}/X5,S-100,",       # row 6: held by X2, the batch before
        f"{PREFIX}/X6,S-900,",       # row 7: another template's value
        f"{PREFIX}/X7,S-100,",       # row 8 (batch 3): X2, committed by now
        f"{PREFIX}/X8,S-200,",       # row 9: X4
        f"{PREFIX}/S0,S-000,",       # row 10: the holder itself, already present
        f"{PREFIX}/X9,S*0001,",      # row 11: the index's wildcard, compared exactly
        f"{PREFIX}/XA,A*,",          # row 12: cannot be looked up
    ])
    assert run(home, data, serial_t, "--batch", "3") == 1
    out = capsys.readouterr().out
    assert "created 4, already present 1, overwritten 0, conflicts 0, bad 6" in out, out
    bad = report(data)
    assert set(bad) == {"2", "4", "6", "8", "9", "12"}
    reasons = bad["2"]["reasons"]
    assert "serial (序列号, index 2000)" in reasons and "'S-000'" in reasons, reasons
    assert "already used by 88.100.1/S0" in reasons and "唯一" in reasons
    assert "88.100.1/X2 (row 3 of this import)" in bad["4"]["reasons"]
    assert "88.100.1/X2" in bad["6"]["reasons"] and "88.100.1/X2" in bad["8"]["reasons"]
    assert "88.100.1/X4" in bad["9"]["reasons"]
    assert "cannot check" in bad["12"]["reasons"]
    found = records(home, [f"{PREFIX}/X{n}" for n in "123456789"])
    assert {k.rsplit("/", 1)[1] for k in found} == {"X2", "X4", "X6", "X9"}
    # Idempotent: again, nothing new, the same bad rows.
    assert run(home, data, serial_t, "--batch", "3") == 1
    assert "created 0, already present 5, overwritten 0, conflicts 0, bad 6" in \
        capsys.readouterr().out
    assert set(report(data)) == {"2", "4", "6", "8", "9", "12"}


def test_unique_in_a_dry_run_across_batches(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    home = indexed_home(tmp_path, "serial")
    serial_t = template(tmp_path, SERIAL_T, "serial")
    data = write_csv(tmp_path / "rows.csv", "handle,serial",
                     [f"{PREFIX}/D{n},S-{n}" for n in range(6)] + [f"{PREFIX}/DX,S-0"])
    assert run(home, data, serial_t, "--batch", "2", "--dry-run") == 1
    assert "would create 6" in capsys.readouterr().out
    assert "88.100.1/D0 (row 2 of this import)" in report(data)["8"]["reasons"]


def test_unique_type_not_indexed_is_refused_up_front(home: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    serial_t = template(tmp_path, SERIAL_T, "serial")
    data = write_csv(tmp_path / "rows.csv", "handle,serial", [f"{PREFIX}/S0,S-000"])
    assert run(home, data, serial_t) == 2
    err = capsys.readouterr().err
    assert "reverse_index_types" in err and "serial" in err, err
    assert records(home, [f"{PREFIX}/S0"]) == {}
    assert not data.with_name("rows.csv.import-report.csv").exists()
    assert not data.with_name("rows.csv.import-state.json").exists()


# -- references -----------------------------------------------------------------------------
def ref_template(code: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"prefix": PREFIX, "version": "1.0", "code": code, "type": 2,
            "status": "published", "items": items}


NAME = {"name": "名称", "idType": "productName", "idIndex": 2000, "required": True}


def test_references(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    box = template(tmp_path, ref_template("box", [NAME]), "box")
    other = template(tmp_path, ref_template("other", [NAME]), "other")
    part = template(tmp_path, ref_template("part", [
        NAME,
        {"name": "所属箱", "idType": "box", "idIndex": 2001,
         "metadata": {"type": "reference", "referenceMetaHandle": f"{PREFIX}/META_box"}},
        {"name": "上级", "idType": "parent", "idIndex": 2002,
         "metadata": {"type": "reference", "referenceMetaHandle": f"{PREFIX}/META_part"}},
        {"name": "任意", "idType": "any", "idIndex": 2003, "metadata": {"type": "reference"}},
    ]), "part")
    assert run(home, write_csv(tmp_path / "b.csv", "handle,productName",
                               [f"{PREFIX}/B1,箱"]), box) == 0
    assert run(home, write_csv(tmp_path / "o.csv", "handle,productName",
                               [f"{PREFIX}/O1,其他"]), other) == 0
    data = write_csv(tmp_path / "parts.csv", "handle,productName,box,parent,any", [
        f"{PREFIX}/P1,件,{PREFIX}/B1,,{PREFIX}/O1",     # row 2: good
        f"{PREFIX}/P2,件,{PREFIX}/O1,,",                # row 3: another template
        f"{PREFIX}/P3,件,{PREFIX}/NOTHING,,",           # row 4: missing (batch 2)
        f"{PREFIX}/P4,件,,{PREFIX}/P1,{PREFIX}/P3",     # row 5: P1 earlier; P3 was bad
        f"{PREFIX}/P5,件,,{PREFIX}/P1,{PREFIX}/P6",     # row 6 (batch 3): P6 comes later
        f"{PREFIX}/P6,件,,{PREFIX}/B1,",                # row 7: B1 is no part
        f"{PREFIX}/P7,件,,{PREFIX}/P1,{PREFIX}/P1",     # row 8 (batch 4): committed P1
        f"{PREFIX}/P8,件,,0.NA/{PREFIX},",              # row 9: follows no template
    ])
    assert run(home, data, part, "--batch", "2") == 1
    out = capsys.readouterr().out
    assert "created 2," in out and "bad 6" in out, out
    bad = report(data)
    assert set(bad) == {"3", "4", "5", "6", "7", "9"}
    assert "box (所属箱, index 2001): '88.100.1/O1' follows the template 88.100.1/META_other, " \
           "not 88.100.1/META_box (referenceMetaHandle)" in bad["3"]["reasons"]
    assert "box (所属箱, index 2001): '88.100.1/NOTHING' does not exist" in bad["4"]["reasons"]
    assert "'88.100.1/P3' does not exist" in bad["5"]["reasons"]
    assert "'88.100.1/P6' does not exist" in bad["6"]["reasons"]
    assert "follows the template 88.100.1/META_box, not 88.100.1/META_part" in \
        bad["7"]["reasons"]
    assert "follows no template" in bad["9"]["reasons"]
    assert set(records(home, [f"{PREFIX}/P{n}" for n in range(1, 9)])) == {
        handle_key(f"{PREFIX}/P1"), handle_key(f"{PREFIX}/P7")}
    assert run(home, data, part, "--batch", "2") == 1
    assert "created 0, already present 2" in capsys.readouterr().out
