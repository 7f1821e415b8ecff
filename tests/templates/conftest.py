from __future__ import annotations

from typing import Any

import pytest

from idnode.templates import Template, loads, publish

BODY: dict[str, Any] = {
    "prefix": "88.608.5288", "version": "1.0", "code": "2f23b2b600", "type": 2,
    "items": [
        {"name": "入库单号", "idType": "receiptNumber", "idIndex": 2000, "required": True,
         "unique": True, "metadata": {"type": "string", "minLength": 3, "maxLength": 20,
                                      "pattern": "TSQ[0-9]+"}},
        {"name": "数量", "idType": "quantity", "idIndex": 2001,
         "metadata": {"type": "number", "min": 0, "max": 1000, "decimalPlaces": 2}},
        {"name": "生产日期", "idType": "productionDate", "idIndex": 2003, "required": True,
         "metadata": {"type": "date", "dateFormat": "yyyy-MM-dd", "min": "2000-01-01",
                      "max": "2099-12-31"}},
        {"name": "检验时间", "idType": "checkedAt", "idIndex": 2004,
         "metadata": {"type": "date", "dateFormat": "yyyy-MM-dd HH:mm:ss"}},
        {"name": "说明书", "idType": "manual", "idIndex": 2005,
         "metadata": {"type": "file", "extensions": ["pdf"], "maxSize": 1000}},
        {"name": "入库产品", "idType": "associatedBoxCode", "idIndex": 2006,
         "metadata": {"type": "reference", "prefix": "88.608"}},
        {"name": "录音", "idType": "voice", "idIndex": 2007, "metadata": {"dataType": 6}},
        {"name": "视频", "idType": "video", "idIndex": 2008, "metadata": {"type": "video"}},
        {"name": "照片", "idType": "photo", "idIndex": 2009, "metadata": {"type": "image"}},
        {"name": "旧字段", "idType": "legacy", "idIndex": 2010, "state": 1},
        {"name": "备注", "idType": "note", "idIndex": 2011},
    ]}


@pytest.fixture
def template() -> Template:
    import json
    return publish(loads(json.dumps(BODY)))
