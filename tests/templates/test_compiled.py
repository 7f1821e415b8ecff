"""The compiled fast path (:mod:`idnode.templates.compiled`) agrees with the full check."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idnode.errors import TemplateViolation
from idnode.identifiers.value import HandleValue
from idnode.templates import Template, loads, publish, validate
from idnode.templates.compiled import _value, compiled
from idnode.templates.validate import _check_all

TWO: dict[str, Any] = {
    "prefix": "88.100.1", "version": "1.0", "items": [
        {"name": "产品名称", "idType": "productName", "idIndex": 2000, "required": True,
         "metadata": {"type": "string", "maxLength": 8}},
        {"name": "生产日期", "idType": "productionDate", "idIndex": 2001,
         "metadata": {"type": "date", "dateFormat": "yyyy-MM-dd", "min": "2000-01-01",
                      "max": "2030-12-31"}},
        {"name": "检验时间", "idType": "checkedAt", "idIndex": 2002,
         "metadata": {"type": "date", "dateFormat": "yyyy-MM-dd HH:mm:ss",
                      "min": "2000-01-01 00:00:00"}},
        {"name": "型号", "idType": "model", "idIndex": 2003,
         "metadata": {"type": "string", "pattern": "[A-Z]+"}},
        {"name": "数量", "idType": "quantity", "idIndex": 2004, "metadata": {"type": "number"}},
        {"name": "旧", "idType": "old", "idIndex": 2005, "state": 1},
        {"name": "价格", "idType": "price", "idIndex": 2006,
         "metadata": {"type": "number", "min": 0, "max": 100, "decimalPlaces": 2}}]}
SMALL = publish(loads(json.dumps(TWO)))


STAMP = 1_700_000_000


def _agrees(template: Template, data: object) -> None:
    fast = compiled(template).values(data)
    outcome = _check_all(template, data)
    _wires_agree(template, data, fast)
    if fast is not None:
        assert not outcome.problems, (data, outcome.problems)
        assert fast == outcome.values
    try:
        assert validate(template, data) == outcome.values and not outcome.problems
    except TemplateViolation as exc:
        assert exc.problems == outcome.problems


def _wires_agree(template: Template, data: object, fast: list[HandleValue] | None) -> None:
    """The stamped check gives the same values, stamped, and exactly their wire forms."""
    for stamp in (STAMP, STAMP + 1, STAMP):  # the heads made for a stamp are kept
        found = compiled(template).checked(data, stamp)
        assert (found is None) == (fast is None)
        if found is not None and fast is not None:
            values, wire = found
            assert values == [value.with_timestamp(stamp) for value in fast]
            assert wire == b"".join(value.to_wire() for value in values)
        # the importer's form: the count and the same wire forms, or None (data not keyed
        # by type name, items out of index order: then checked() decides)
        wires = compiled(template).encoded(data, stamp)
        if wires is not None:
            assert found is not None and wires == (len(found[0]), found[1])
        elif found is not None and isinstance(data, dict):
            index = {item.type: item.index for item in template.items}
            given = [index[key] for key, raw in data.items() if _given(raw)]
            assert given != sorted(given)


def _given(raw: object) -> bool:
    """Whether a cell gives a value (an empty one gives none)."""
    if isinstance(raw, dict):
        raw = raw.get("value")
    return raw is not None and raw != ""


def test_fast_value_is_a_handle_value() -> None:
    assert _value(2000, "productName", b"x", 7) == HandleValue(2000, "productName", b"x",
                                                               timestamp=7)


def test_wires_of_every_data_type(template: Template) -> None:
    """Every data type's values (the conftest template has them all), by type name and in
    the SNMS list form, in and out of index order."""
    data = {"note": "备注 ünïcode", "receiptNumber": "TSQ12", "quantity": "12.5",
            "productionDate": "2024-02-29", "checkedAt": "2024-01-01 10:00:00",
            "manual": "https://example.com/a.pdf", "associatedBoxCode": "88.608/box",
            "voice": "https://example.com/a.mp3", "video": "https://example.com/a.mp4",
            "photo": "https://example.com/a.png"}
    fast = compiled(template).values(data)
    assert fast is not None and len(fast) == len(data)
    _wires_agree(template, data, fast)
    listed = [{"type": key, "data": value} for key, value in reversed(data.items())]
    _wires_agree(template, listed, compiled(template).values(listed))


def test_fast_path_taken_and_declined() -> None:
    ok = {"productName": "abc", "productionDate": "2024-02-29", "checkedAt":
          "2024-01-01 10:00:00", "model": "AB", "quantity": 3, "price": "99.50"}
    assert compiled(SMALL).values(ok) is not None
    _agrees(SMALL, ok)
    snms = [{"index": 2001, "type": "productionDate",
             "data": {"format": "string", "value": "2024-06-23"}},
            {"index": 2000, "data": {"format": "string", "value": "abc"}}]
    values = compiled(SMALL).values(snms)
    assert values is not None and [v.index for v in values] == [2000, 2001]
    for bad in ({**ok, "productionDate": "2024-02-30"}, {**ok, "productionDate": "1999-12-31"},
                {**ok, "productionDate": "２０２４-01-01"}, {**ok, "productName": "x" * 9},
                {**ok, "model": "ab"}, {**ok, "old": "x"}, {"productionDate": "2024-01-01"},
                {**ok, "price": "100.01"}, {**ok, "price": "1.001"}, {**ok, "price": -1},
                {**ok, "quantity": 10**38}, {**ok, "quantity": 1.5}, {**ok, "quantity": True},
                {**ok, "PRODUCTNAME": "x"}, {**ok, "checkedAt": "2024-01-01"},
                [*snms, {"index": 2000, "data": ""}], [{"index": 1001, "data": "x"}],
                [{"index": 2000, "data": {"format": "json", "value": "x"}}]):
        _agrees(SMALL, bad)
    assert compiled(SMALL) is compiled(SMALL)


VALUES = st.none() | st.integers() | st.booleans() | st.floats() | st.text(max_size=12) | \
    st.decimals(allow_nan=False, allow_infinity=False).map(str) | st.sampled_from(
        ["2024-01-01", "2024-13-01", "2024-02-29", "2023-02-29", "2024-01-01 10:00:00", "AB",
         "abc", "", "100.00", "100.01", "-0", "+7.5", "0.125", "1" * 39, "1" * 38, "٣",
         "100", "101", "007", "0", 10**38,
         10**38 - 1, -(10**38), {"format": "string", "value": "abc"}, {"format": "string"}])
NAMES = st.sampled_from(["productName", "productionDate", "checkedAt", "model", "quantity",
                         "price", "old", "PRODUCTNAME", "x"])
ENTRY = st.fixed_dictionaries({"data": VALUES}, optional={
    "index": st.integers(1999, 2007) | st.none(), "type": NAMES | st.none()})


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(NAMES, VALUES) | st.lists(ENTRY, max_size=6))
def test_fast_path_agrees_with_the_full_check(data: object) -> None:
    _agrees(SMALL, data)
