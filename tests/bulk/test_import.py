"""``idnode import``: CSV and JSON Lines into SQLite and PostgreSQL stores."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bulk.conftest import PREFIX, TEMPLATE, csv_rows
from idnode.bulk.state import state_path
from idnode.cli.main import main
from idnode.config import load_config
from idnode.identifiers.handle import handle_key
from idnode.identifiers.values.admin import AdminData
from idnode.storage import Record, open_store


def records(home: Path, handles: list[str]) -> dict[str, Record]:
    store = open_store(load_config(home).storage_url)
    try:
        return store.get_records([handle_key(h) for h in handles])
    finally:
        store.close()


def text_at(record: Record, index: int) -> str:
    value = record.value(index)
    assert value is not None
    return value.text()


def run(home: Path, data: Path, template: Path, *extra: str) -> int:
    return main(["import", str(home), str(data), "--template", str(template), "--quiet",
                 *extra])


def report_rows(data: Path) -> list[dict[str, str]]:
    path = data.with_name(data.name + ".import-report.csv")
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_csv_import_with_bad_rows(any_home: Path, tmp_path: Path, template_file: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "rows.csv"
    text = csv_rows(20)
    text += (f"{PREFIX}/BAD1,,jx lower,5,2024-03-15\n"          # row 22: required missing, pattern
             f"{PREFIX}/BAD2,x,JX,-1,2024-13-01\n"               # row 23: number and date
             "88.999/ELSEWHERE,x,JX,1,2024-01-01\n"              # row 24: prefix not homed
             f"{PREFIX}/QUOTED,\"multi\nline, quoted\",JX,1,\n")  # rows 25-26: a good row
    data.write_text(text, encoding="utf-8")
    assert run(any_home, data, template_file, "--batch", "7") == 1
    out = capsys.readouterr().out
    assert "created 21" in out and "bad 3" in out
    handles = [f"{PREFIX}/P{i:06d}" for i in range(20)] + [f"{PREFIX}/QUOTED"]
    found = records(any_home, handles)
    assert len(found) == 21
    rec = found[handle_key(f"{PREFIX}/P000007")]
    assert text_at(rec, 2000) == "扳手 7"
    assert all(v.timestamp > 0 for v in rec.values)
    admin = rec.value(100)
    assert admin is not None and admin.type == "HS_ADMIN"
    assert AdminData.from_bytes(admin.data).handle == f"{PREFIX}/ADMIN"
    assert text_at(found[handle_key(f"{PREFIX}/QUOTED")], 2000) == "multi\nline, quoted"
    bad = {r["row"]: r for r in report_rows(data)}
    assert set(bad) == {"22", "23", "24"}
    assert "productName (产品名称, index 2000): required (必填) but missing" in bad["22"]["reasons"]
    assert "model (型号, index 2001)" in bad["22"]["reasons"]
    assert "quantity (数量, index 2002)" in bad["23"]["reasons"]
    assert "productionDate (生产日期, index 2003)" in bad["23"]["reasons"]
    assert "not homed" in bad["24"]["reasons"]


def test_jsonl_both_forms(any_home: Path, tmp_path: Path, template_file: Path) -> None:
    data = tmp_path / "rows.jsonl"
    lines = [
        {"handle": f"{PREFIX}/J1", "value": [
            {"index": 2000, "type": "productName", "data": {"format": "string",
                                                           "value": "钻"}},
            {"index": 2002, "type": "quantity", "data": "3"}]},
        {"handle": f"{PREFIX}/J2", "productName": "锯", "model": "SAW-1"},
        {"handle": f"{PREFIX}/J3", "model": "X"},
    ]
    data.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\nnot json\n",
                    encoding="utf-8")
    assert run(any_home, data, template_file, "--admin", "300:88.100.1/OPS") == 1
    found = records(any_home, [f"{PREFIX}/J1", f"{PREFIX}/J2", f"{PREFIX}/J3"])
    assert set(found) == {handle_key(f"{PREFIX}/J1"), handle_key(f"{PREFIX}/J2")}
    admin = found[handle_key(f"{PREFIX}/J2")].value(100)
    assert admin is not None
    parsed = AdminData.from_bytes(admin.data)
    assert (parsed.index, parsed.handle) == (300, "88.100.1/OPS")
    report = data.with_name(data.name + ".import-report.jsonl").read_text(encoding="utf-8")
    entries = [json.loads(x) for x in report.splitlines()]
    assert [e["row"] for e in entries] == [3, 4]
    assert "required (必填)" in entries[0]["reasons"][0]


def test_idempotent_conflict_overwrite(home: Path, tmp_path: Path, template_file: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "rows.csv"
    data.write_text(csv_rows(10), encoding="utf-8")
    assert run(home, data, template_file) == 0
    assert run(home, data, template_file) == 0
    assert "created 0, already present 10" in capsys.readouterr().out
    changed = tmp_path / "changed.csv"
    changed.write_text(csv_rows(10).replace("扳手 3,", "扳手 三,"), encoding="utf-8")
    assert run(home, changed, template_file, "--dry-run") == 1
    assert run(home, changed, template_file) == 1
    assert "already present 9, overwritten 0, conflicts 1" in capsys.readouterr().out
    assert report_rows(changed)[0]["row"] == "5"
    assert run(home, changed, template_file, "--overwrite") == 0
    assert "overwritten 1" in capsys.readouterr().out
    rec = records(home, [f"{PREFIX}/P000003"])[handle_key(f"{PREFIX}/P000003")]
    assert text_at(rec, 2000) == "扳手 三"


def test_dry_run_writes_nothing(home: Path, tmp_path: Path, template_file: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text(csv_rows(5), encoding="utf-8")
    assert run(home, data, template_file, "--dry-run") == 0
    assert records(home, [f"{PREFIX}/P000001"]) == {}
    assert not state_path(data).exists()


def test_bad_header_and_unpublished_template(home: Path, tmp_path: Path,
                                             template_file: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("handle,colour\n88.100.1/x,red\n", encoding="utf-8")
    assert run(home, data, template_file) == 2
    draft = tmp_path / "draft.json"
    draft.write_text(template_file.read_text(encoding="utf-8").replace('"published"',
                                                                       '"draft"'))
    data.write_text(csv_rows(1), encoding="utf-8")
    assert run(home, data, draft) == 2


def test_template_from_the_record_the_snms_api_keeps(home: Path, tmp_path: Path,
                                                     template_file: Path) -> None:
    """--template-handle reads <prefix>/META_<version>, where the SNMS API stores templates."""
    from idnode.config import load_config
    from idnode.identifiers.handle import Handle
    from idnode.snms.templatestore import template_handle, template_value
    from idnode.storage import open_store
    from idnode.templates import loads
    template = loads(template_file.read_text(encoding="utf-8"))
    handle = template_handle(PREFIX, "1.0")
    with open_store(load_config(home).storage_url) as store:
        store.create_handle(Handle.parse(handle), [template_value(template)])
    data = tmp_path / "rows.csv"
    data.write_text(csv_rows(3), encoding="utf-8")
    assert main(["import", str(home), str(data), "--template-handle", handle, "--quiet"]) == 0
    assert len(records(home, [f"{PREFIX}/P00000{i}" for i in (0, 1, 2)])) == 3
    assert main(["import", str(home), str(data), "--template-handle", f"{PREFIX}/META_9",
                 "--quiet"]) == 2


def test_a_line_break_in_an_unquoted_cell_is_a_bad_row(home: Path, tmp_path: Path,
                                                        template_file: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_bytes(csv_rows(2).encode() + f"{PREFIX}/CR,a\rb,JX,1,\n".encode()
                     + csv_rows(1, start=5).split("\n", 1)[1].encode())
    assert run(home, data, template_file) == 1
    bad = report_rows(data)
    assert [r["row"] for r in bad] == ["4"] and "not CSV" in bad[0]["reasons"]
    assert len(records(home, [f"{PREFIX}/P{i:06d}" for i in (0, 1, 5)])) == 3


def test_imported_values_of_an_indexed_type_are_found(any_home: Path, tmp_path: Path) -> None:
    """A planned batch works out index entries too: an item whose type the node indexes
    (URL, by default) is found by search once imported."""
    template = json.loads(json.dumps(TEMPLATE))
    template["items"].append({"name": "网址", "idType": "URL", "idIndex": 2004,
                              "metadata": {"type": "string"}})
    template_path = tmp_path / "t.json"
    template_path.write_text(json.dumps(template, ensure_ascii=False), encoding="utf-8")
    data = tmp_path / "rows.csv"
    data.write_text("handle,productName,URL\n" + "".join(
        f"{PREFIX}/U{i},扳手 {i},https://example.com/p/{i}\n" for i in range(12)),
        encoding="utf-8")
    assert run(any_home, data, template_path, "--batch", "5") == 0
    with open_store(load_config(any_home).storage_url) as store:
        found = store.search([("URL", "https://example.com/p/7")], limit=10)
    assert found == [f"{PREFIX}/U7"]


def test_a_record_over_the_value_limit_is_a_bad_row(home: Path, tmp_path: Path,
                                                    template_file: Path) -> None:
    """With HS_ADMIN, TEMPLATE_ID and TEMPLATE, a row of four items makes seven values."""
    config = home / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "max_values_per_handle = 2048", "max_values_per_handle = 6"), encoding="utf-8")
    data = tmp_path / "rows.csv"
    data.write_text("handle,productName,model,quantity,productionDate\n"
                    f"{PREFIX}/FULL,x,JX,1,2024-03-15\n{PREFIX}/FEW,x,JX,,\n", encoding="utf-8")
    assert run(home, data, template_file) == 1
    bad = {r["row"]: r["reasons"] for r in report_rows(data)}
    assert bad == {"2": "too many values: 7 (limit 6)"}
    assert list(records(home, [f"{PREFIX}/FULL", f"{PREFIX}/FEW"])) == [handle_key(f"{PREFIX}/FEW")]
