from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idnode.cli.main import main
from services import drop_postgres_schema, postgres_url

PREFIX = "88.100.1"

TEMPLATE: dict[str, Any] = {
    "prefix": PREFIX, "version": "1.0", "code": "wrench", "type": 2, "status": "published",
    "items": [
        {"name": "产品名称", "idType": "productName", "idIndex": 2000, "required": True,
         "metadata": {"type": "string", "maxLength": 64}},
        {"name": "型号", "idType": "model", "idIndex": 2001,
         "metadata": {"type": "string", "pattern": "[A-Z0-9-]+"}},
        {"name": "数量", "idType": "quantity", "idIndex": 2002,
         "metadata": {"type": "number", "min": 0, "max": 1000000}},
        {"name": "生产日期", "idType": "productionDate", "idIndex": 2003,
         "metadata": {"type": "date", "dateFormat": "yyyy-MM-dd"}},
    ]}


def make_home(path: Path, storage: str = "sqlite:storage/handles.db") -> Path:
    code = main(["init", str(path), "--prefix", PREFIX, "--udp", "127.0.0.1:0", "--tcp",
                 "127.0.0.1:0", "--http", "off", "--https", "off", "--key-bits", "1024",
                 "--admin-secret", "s3cret-for-tests", "--storage", storage])
    assert code == 0
    return path


@pytest.fixture
def template_file(tmp_path: Path) -> Path:
    path = tmp_path / "template.json"
    path.write_text(json.dumps(TEMPLATE, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "node")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    if request.param == "sqlite":
        yield make_home(tmp_path / "node")
        return
    url = postgres_url()
    try:
        yield make_home(tmp_path / "node", url)
    finally:
        drop_postgres_schema(url)


def csv_rows(n: int, start: int = 0) -> str:
    lines = ["handle,productName,model,quantity,productionDate"]
    lines += [f"{PREFIX}/P{i:06d},扳手 {i},JXDY-21,{i % 100},2024-03-15"
              for i in range(start, start + n)]
    return "\n".join(lines) + "\n"
