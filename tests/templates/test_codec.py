"""Template JSON (§6.4 body) round trip, malformed templates, version lifecycle."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from idnode.errors import TemplateError
from idnode.templates import (
    DataType,
    Template,
    TemplateState,
    edit,
    loads,
    new_version,
    publish,
    template_from_json,
    template_to_json,
    withdraw,
)


def test_round_trip(template: Template) -> None:
    body = template_to_json(template)
    assert template_from_json(json.loads(json.dumps(body))) == template
    assert body["status"] == "published"
    assert body["items"][6]["metadata"] == {"type": "audio"}
    assert template.handle == "88.608.5288/META_2f23b2b600"
    assert template.items[6].data_type is DataType.AUDIO


def test_snms_minimal_body_and_aliases() -> None:
    t = template_from_json({"prefix": "88.1021.150", "version": "test", "metaCode": "m1",
                            "items": [{"name": "名称", "idType": "name", "idIndex": 2000,
                                       "uniqueField": True,
                                       "metadata": {"type": "string", "maxLength": 50}}]})
    assert t.code == "m1" and t.state is TemplateState.DRAFT
    assert t.items[0].unique and t.items[0].rules.max_length == 50


def with_change(template: Template, path: list[str | int], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(template_to_json(template))
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(("path", "value", "message"), [
    (["prefix"], KeyError, "template.prefix: missing"),
    (["version"], 1, "template.version: must be text"),
    (["items"], KeyError, "items: missing"),
    (["items"], [], "items: between 1 and 200 items needed"),
    (["type"], 3, "type: 3 is neither 1 (主动标识载体"),
    (["status"], "live", "status: 'live' is not draft, published or withdrawn"),
    (["colour"], "red", "template.colour: unknown field"),
    (["items", 0, "idIndex"], 1999, "items[0]: item 'receiptNumber'.index: 1999 is not in "
                                    "2000–4294967295"),
    (["items", 0, "idIndex"], "2000", "items[0].idIndex: must be a whole number"),
    (["items", 0, "idType"], "入库单号", "items[0]: item '入库单号'.type: must be an English"),
    (["items", 0, "name"], "", "items[0]: item 'receiptNumber'.name: must be 1–64"),
    (["items", 0, "required"], "yes", "items[0].required: must be true or false"),
    (["items", 0, "state"], 3, "items[0].state: 3 is not 0 (enabled)"),
    (["items", 0, "metadata", "type"], "text", "items[0].metadata.type: 'text' is not one of"),
    (["items", 0, "metadata", "dataType"], 9, "items[0].metadata.dataType: 9 is not a data "
                                              "type 1–8"),
    (["items", 0, "metadata", "maxLen"], 3, "items[0].metadata.maxLen: unknown field"),
    (["items", 0, "metadata", "maxLength"], 4001, "rules.max_length: above the limit 4000"),
    (["items", 0, "metadata", "minLength"], 30, "rules.min_length: greater than max_length"),
    (["items", 0, "metadata", "pattern"], "(", "rules.pattern: not a regular expression"),
    (["items", 0, "metadata", "min"], 1, "rules: rule(s) minimum do not apply to data type "
                                         "string"),
    (["items", 1, "metadata", "max"], "many", "items[1].metadata.max: must be a finite number"),
    (["items", 1, "metadata", "min"], 2000, "rules.minimum: greater than maximum"),
    (["items", 2, "metadata", "dateFormat"], "yyyy-MM", "date_format: 'yyyy-MM' needs yyyy, "
                                                        "MM and dd"),
    (["items", 2, "metadata", "dateFormat"], "yyyy-MM-dd Q", "has 'Q'"),
    (["items", 2, "metadata", "min"], "2000/01/01", "rules.earliest: '2000/01/01' is not a "
                                                    "date in the format yyyy-MM-dd"),
    (["items", 2, "metadata", "min"], "2100-01-01", "rules.earliest: later than latest"),
    (["items", 4, "metadata", "extensions"], "pdf", "items[4].metadata.extensions: must be a "
                                                    "list of text"),
    (["items", 4, "metadata", "maxSize"], -5, "rules.max_size: must not be negative"),
    (["items", 1, "idIndex"], 2000, "items: index 2000 is used twice"),
    (["items", 1, "idType"], "ReceiptNumber", "items: type 'ReceiptNumber' is used twice"),
])
def test_malformed_templates_name_the_field(template: Template, path: list[str | int],
                                            value: Any, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        template_from_json(with_change(template, path, value))
    assert message in str(info.value)


@pytest.mark.parametrize("text", ["", "[1]", "{", '"x"'])
def test_not_a_template(text: str) -> None:
    with pytest.raises(TemplateError):
        loads(text)


def test_lifecycle(template: Template) -> None:
    with pytest.raises(TemplateError, match=r"is published \(已发布\); only a draft"):
        edit(template, template.items[:1])
    with pytest.raises(TemplateError, match="cannot go from published"):
        publish(template)
    draft = new_version(template, "2.0")
    assert draft.items == template.items and draft.state is TemplateState.DRAFT
    with pytest.raises(TemplateError, match=r"cannot go from draft \(草稿\) to withdrawn"):
        withdraw(draft)
    smaller = edit(draft, draft.items[:2])
    assert len(smaller.items) == 2 and template.items != smaller.items
    gone = withdraw(template)
    assert gone.state is TemplateState.WITHDRAWN
    assert publish(gone).state is TemplateState.PUBLISHED  # 发布/撤回 toggles (§7.3)
    with pytest.raises(TemplateError, match="is the current version"):
        new_version(template, "1.0")
