"""Whole registrations: forms, required/unique/enabled, unknown items, async checks."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idnode.errors import TemplateViolation
from idnode.identifiers.value import HandleValue
from idnode.templates import Template, TemplateItem, avalidate, new_version, validate, withdraw


def problems(template: Template, data: object) -> list[str]:
    with pytest.raises(TemplateViolation) as info:
        validate(template, data)
    return info.value.problems


def test_snms_list_form_returns_values_in_index_order(template: Template) -> None:
    data = [
        {"index": 2003, "type": "productionDate", "auth": "",
         "data": {"format": "string", "value": "2024-06-23"}},
        {"index": 2000, "type": "receiptNumber", "data": "TSQ202406231"},
        {"type": "quantity", "data": "3"},
    ]
    assert validate(template, data) == [
        HandleValue(2000, "receiptNumber", b"TSQ202406231"),
        HandleValue(2001, "quantity", b"3"),
        HandleValue(2003, "productionDate", b"2024-06-23"),
    ]


def test_every_problem_is_reported(template: Template) -> None:
    found = problems(template, {"quantity": "x", "legacy": "old", "colour": "red",
                                "checkedAt": "now"})
    assert found == [
        "colour: no item of the template has type 'colour'",
        "quantity (数量, index 2001): 'x' is not a number in plain decimal notation",
        "legacy (旧字段, index 2010): the item is disabled (停用)",
        "checkedAt (检验时间, index 2004): 'now' is not a date in the format "
        "yyyy-MM-dd HH:mm:ss",
        "receiptNumber (入库单号, index 2000): required (必填) but missing",
        "productionDate (生产日期, index 2003): required (必填) but missing",
    ]


@pytest.mark.parametrize(("data", "message"), [
    ([{"index": 1001, "type": "TEMPLATE", "data": "1.0"}], "value[0]: index 1001 is reserved"),
    ([{"index": 2999, "data": "x"}], "value[0]: no item of the template has index 2999"),
    ([{"index": 2000, "type": "quantity", "data": "TSQ1"}],
     "value[0]: index 2000 is receiptNumber (入库单号, index 2000), not type 'quantity'"),
    ([{"index": "2000", "data": "x"}], "value[0]: index '2000' is not a whole number"),
    ([{"index": 2000}], "value[0]: not an object with index, type and data"),
    ([5], "value[0]: not an object with index, type and data"),
    ("TSQ1", "data must be a list of {index, type, data}"),
    ([{"index": 2000, "data": "TSQ1"}, {"type": "receiptNumber", "data": "TSQ2"}],
     "receiptNumber (入库单号, index 2000): given more than once"),
    ({"receiptNumber": "", "productionDate": None},
     "receiptNumber (入库单号, index 2000): required (必填) but missing"),
    ([{"type": "note", "data": "x"}] * 201, "201 values, more than the limit 200"),
])
def test_refused_registrations(template: Template, data: object, message: str) -> None:
    assert any(message in p for p in problems(template, data)), problems(template, data)


def test_empty_optional_values_are_not_stored(template: Template) -> None:
    values = validate(template, {"receiptNumber": "TSQ1", "productionDate": "2024-01-01",
                                 "note": "", "quantity": None})
    assert [v.type for v in values] == ["receiptNumber", "productionDate"]


def test_type_names_match_without_case(template: Template) -> None:
    values = validate(template, {"RECEIPTNUMBER": "TSQ1", "productiondate": "2024-01-01"})
    assert [v.type for v in values] == ["receiptNumber", "productionDate"]


@pytest.mark.parametrize("change", ["draft", "withdrawn"])
def test_only_published_templates_accept_data(template: Template, change: str) -> None:
    unusable = new_version(template, "2.0") if change == "draft" else withdraw(template)
    assert problems(unusable, {"receiptNumber": "TSQ1"}) == [
        f"the template is {change} ({'草稿' if change == 'draft' else '已撤回'}), "
        "not published (已发布)"]


def test_required_disabled_item_is_not_demanded(template: Template) -> None:
    from dataclasses import replace

    from idnode.templates import ItemState, edit, publish
    draft = new_version(template, "2.0")
    items = tuple(replace(i, state=ItemState.NOT_EFFECTIVE) if i.type == "productionDate"
                  else i for i in draft.items)
    fixed = publish(edit(draft, items))
    assert [v.type for v in validate(fixed, {"receiptNumber": "TSQ1"})] == ["receiptNumber"]
    assert problems(fixed, {"receiptNumber": "TSQ1", "productionDate": "2024-01-01"}) == [
        "productionDate (生产日期, index 2003): the item is not effective (未生效)"]


def test_async_reference_and_unique_checks(template: Template) -> None:
    asked: list[str] = []

    async def exists(handle: str) -> bool:
        asked.append(handle)
        return handle.endswith("CASE001")

    async def taken(item: TemplateItem, text: str) -> bool:
        return text == "TSQ9"

    data = {"receiptNumber": "TSQ9", "productionDate": "2024-06-23",
            "associatedBoxCode": ["88.608.1/CASE001", "88.608.1/CASE002", "88.608.1/CASE002"]}
    with pytest.raises(TemplateViolation) as info:
        asyncio.run(avalidate(template, data, exists=exists, taken=taken))
    assert info.value.problems == [
        "receiptNumber (入库单号, index 2000): 'TSQ9' is already used; the item is unique (唯一)",
        "associatedBoxCode (入库产品, index 2006): '88.608.1/CASE002' does not exist",
        "associatedBoxCode (入库产品, index 2006): '88.608.1/CASE002' does not exist",
    ]
    assert asked == ["88.608.1/CASE001", "88.608.1/CASE002"]  # each identifier asked once
    ok = {**data, "receiptNumber": "TSQ1", "associatedBoxCode": "88.608.1/CASE001"}
    values = asyncio.run(avalidate(template, ok, exists=exists, taken=taken))
    assert values == validate(template, ok)


def test_sync_hooks_ask_and_word_as_avalidate(template: Template) -> None:
    """validate() with plain callables (idnode import) is avalidate() answered at once."""
    asked: list[str] = []

    def exists(handle: str) -> bool:
        asked.append(handle)
        return handle.endswith("CASE001")

    def taken(item: TemplateItem, text: str) -> str | None:
        return "88.608.1/R1" if text == "TSQ9" else None

    def template_of(handle: str) -> str | None:
        return None

    data = {"receiptNumber": "TSQ9", "productionDate": "2024-06-23",
            "associatedBoxCode": ["88.608.1/CASE001", "88.608.1/CASE002", "88.608.1/CASE002"]}
    with pytest.raises(TemplateViolation) as info:
        validate(template, data, exists=exists, taken=taken, template_of=template_of)
    assert info.value.problems == [
        "receiptNumber (入库单号, index 2000): 'TSQ9' is already used by 88.608.1/R1; the "
        "item is unique (唯一)",
        "associatedBoxCode (入库产品, index 2006): '88.608.1/CASE002' does not exist",
        "associatedBoxCode (入库产品, index 2006): '88.608.1/CASE002' does not exist",
    ]
    assert asked == ["88.608.1/CASE001", "88.608.1/CASE002"]
    ok = {**data, "receiptNumber": "TSQ1", "associatedBoxCode": "88.608.1/CASE001"}
    assert validate(template, ok, exists=exists, taken=taken) == validate(template, ok)


def test_async_reports_sync_problems_too(template: Template) -> None:
    async def exists(handle: str) -> bool:
        return False

    with pytest.raises(TemplateViolation) as info:
        asyncio.run(avalidate(template, {"associatedBoxCode": "88.608/x"}, exists=exists))
    assert len(info.value.problems) == 3  # two required items missing, one reference absent


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(max_size=20), inner, max_size=5), max_leaves=20)
NAMES = st.sampled_from(["receiptNumber", "quantity", "productionDate", "checkedAt", "manual",
                         "associatedBoxCode", "voice", "photo", "legacy", "note", "x"])
ENTRY = st.fixed_dictionaries({"data": JSON}, optional={
    "index": st.integers(990, 2012) | JSON, "type": NAMES | JSON})


# the template fixture is immutable, so sharing it across examples is safe
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=JSON | st.dictionaries(NAMES, JSON) | st.lists(ENTRY | JSON, max_size=6))
def test_arbitrary_json_never_crashes(template: Template, data: object) -> None:
    try:
        values = validate(template, data)
    except TemplateViolation as exc:
        assert exc.problems
    else:
        assert all(isinstance(v, HandleValue) for v in values)
