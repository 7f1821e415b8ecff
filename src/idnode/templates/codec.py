"""Template JSON in the form of the secondary-node template body (SNMS, ``idis.md`` §6.4).

The §6.4 body is ``{prefix, version, industry…, type, description, items: [{name, idType,
idIndex, required, state, metadata: {type, minLength, maxLength}}]}``. idnode adds, as
decisions of its own: ``code``/``name`` (``metaCode``/``metaName``, §8.1), ``status`` (draft /
published / withdrawn), item ``unique`` (``uniqueField``, §8.2) and the per-type rules in
``metadata`` (``pattern``, ``min``, ``max``, ``decimalPlaces``, ``dateFormat``,
``extensions``, ``maxSize``, ``prefix``, ``referenceMetaHandle``); ``metadata.dataType``
(1–8) may stand for ``metadata.type``. Unknown keys are refused so a misspelt rule cannot
silently vanish.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from idnode.errors import TemplateError
from idnode.templates.model import (
    DataType,
    ItemState,
    Rules,
    Template,
    TemplateItem,
    TemplateState,
)

__all__ = ["loads", "template_from_json", "template_to_json"]

_INDUSTRY = ("industryCategory", "industrySpecific", "industryTrade", "industrySubclass")
_TEMPLATE_KEYS = {"prefix", "version", "code", "metaCode", "name", "metaName", "description",
                  "type", "status", "items", *_INDUSTRY}
_ITEM_KEYS = {"name", "idType", "idIndex", "required", "unique", "uniqueField", "state",
              "metadata"}
_RULE_KEYS = {"type", "dataType", "minLength", "maxLength", "pattern", "min", "max",
              "decimalPlaces", "dateFormat", "extensions", "maxSize", "prefix",
              "referenceMetaHandle"}
_LABELS = {t.label: t for t in DataType}


def _bad(where: str, why: str) -> TemplateError:
    return TemplateError(reason=f"{where}: {why}")


def _object(value: object, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(where, "must be an object")
    stray = sorted(set(value) - keys)
    if stray:
        raise _bad(f"{where}.{stray[0]}", "unknown field")
    return value


def _str(obj: dict[str, Any], key: str, where: str, *, default: str | None = None,
         alias: str | None = None) -> str:
    value = obj.get(key, obj.get(alias) if alias else None)
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise _bad(f"{where}.{key}", "must be text" if key in obj else "missing")
    return value


def _int(value: object, where: str, *, missing: str = "missing") -> int:
    if value is None:
        raise _bad(where, missing)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(where, "must be a whole number")
    return value


def _opt_int(obj: dict[str, Any], key: str, where: str) -> int | None:
    return None if obj.get(key) is None else _int(obj[key], f"{where}.{key}")


def _bool(obj: dict[str, Any], key: str, where: str, alias: str | None = None) -> bool:
    value = obj.get(key, obj.get(alias) if alias else None)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _bad(f"{where}.{key}", "must be true or false")
    return value


def _decimal(value: object, where: str) -> Decimal:
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            pass
        else:
            if number.is_finite():
                return number
    raise _bad(where, "must be a finite number")


def _rules(obj: dict[str, Any], where: str) -> tuple[DataType, Rules]:
    if "dataType" in obj:
        code = _int(obj["dataType"], f"{where}.dataType")
        if code not in DataType._value2member_map_:
            raise _bad(f"{where}.dataType", f"{code} is not a data type 1–8")
        data_type = DataType(code)
    else:
        label = _str(obj, "type", where, default="string")
        if label not in _LABELS:
            raise _bad(f"{where}.type", f"{label!r} is not one of {', '.join(_LABELS)}")
        data_type = _LABELS[label]
    low, high = obj.get("min"), obj.get("max")
    dates = data_type is DataType.DATE
    extensions = obj.get("extensions")
    if extensions is not None and (not isinstance(extensions, list) or
                                   not all(isinstance(e, str) for e in extensions)):
        raise _bad(f"{where}.extensions", "must be a list of text")
    texts = {key: _str(obj, key, where) if obj.get(key) is not None else None
             for key in ("pattern", "dateFormat", "prefix", "referenceMetaHandle")}
    if dates:
        texts["min"] = _str(obj, "min", where) if low is not None else None
        texts["max"] = _str(obj, "max", where) if high is not None else None
    rules = Rules(
        min_length=_opt_int(obj, "minLength", where),
        max_length=_opt_int(obj, "maxLength", where),
        pattern=texts["pattern"],
        minimum=None if low is None or dates else _decimal(low, f"{where}.min"),
        maximum=None if high is None or dates else _decimal(high, f"{where}.max"),
        decimal_places=_opt_int(obj, "decimalPlaces", where),
        date_format=texts["dateFormat"],
        earliest=texts.get("min"),
        latest=texts.get("max"),
        extensions=None if extensions is None else
        frozenset(e.lower().lstrip(".") for e in extensions),
        max_size=_opt_int(obj, "maxSize", where),
        prefix=texts["prefix"],
        reference_template=texts["referenceMetaHandle"],
    )
    return data_type, rules


def _item(value: object, where: str) -> TemplateItem:
    obj = _object(value, where, _ITEM_KEYS)
    state = 0 if obj.get("state") is None else _int(obj["state"], f"{where}.state")
    if state not in ItemState._value2member_map_:
        raise _bad(f"{where}.state", f"{state} is not 0 (enabled), 1 (disabled) or 2 "
                                     "(not effective)")
    data_type, rules = _rules(_object(obj.get("metadata", {}), f"{where}.metadata",
                                      _RULE_KEYS), f"{where}.metadata")
    try:
        return TemplateItem(
            name=_str(obj, "name", where), type=_str(obj, "idType", where),
            index=_int(obj.get("idIndex"), f"{where}.idIndex"), data_type=data_type,
            required=_bool(obj, "required", where),
            unique=_bool(obj, "unique", where, alias="uniqueField"),
            state=ItemState(state), rules=rules)
    except TemplateError as exc:
        raise _bad(where, exc.kwargs["reason"]) from None


def template_from_json(value: object) -> Template:
    """Build a :class:`Template` from decoded JSON; errors name the offending field."""
    obj = _object(value, "template", _TEMPLATE_KEYS)
    items = obj.get("items")
    if not isinstance(items, list):
        raise _bad("items", "must be a list" if "items" in obj else "missing")
    status = _str(obj, "status", "template", default="draft")
    if status not in TemplateState._value2member_map_:
        raise _bad("status", f"{status!r} is not draft, published or withdrawn")
    industry = tuple(_str(obj, key, "template", default="") for key in _INDUSTRY)
    return Template(
        prefix=_str(obj, "prefix", "template"), version=_str(obj, "version", "template"),
        items=tuple(_item(item, f"items[{i}]") for i, item in enumerate(items)),
        code=_str(obj, "code", "template", default="", alias="metaCode"),
        name=_str(obj, "name", "template", default="", alias="metaName"),
        description=_str(obj, "description", "template", default=""),
        kind=2 if obj.get("type") is None else _int(obj["type"], "template.type"),
        industry=(industry[0], industry[1], industry[2], industry[3]),
        state=TemplateState(status))


def loads(text: str | bytes) -> Template:
    """Parse template JSON text."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise _bad("template", "not JSON") from None
    return template_from_json(value)


def _number(value: Decimal) -> int | str:
    return int(value) if value == value.to_integral_value() and abs(value) < 2**53 \
        else str(value)


def _rules_to_json(item: TemplateItem) -> dict[str, Any]:
    r = item.rules
    out: dict[str, Any] = {"type": item.data_type.label}
    pairs: list[tuple[str, object]] = [
        ("minLength", r.min_length), ("maxLength", r.max_length), ("pattern", r.pattern),
        ("min", r.earliest if r.minimum is None else _number(r.minimum)),
        ("max", r.latest if r.maximum is None else _number(r.maximum)),
        ("decimalPlaces", r.decimal_places), ("dateFormat", r.date_format),
        ("extensions", None if r.extensions is None else sorted(r.extensions)),
        ("maxSize", r.max_size), ("prefix", r.prefix),
        ("referenceMetaHandle", r.reference_template)]
    out.update((key, value) for key, value in pairs if value is not None)
    return out


def template_to_json(template: Template) -> dict[str, Any]:
    """The §6.4 body of ``template`` (plus idnode's fields, see the module docstring)."""
    out: dict[str, Any] = {"prefix": template.prefix, "version": template.version}
    if template.code:
        out["code"] = template.code
    if template.name:
        out["name"] = template.name
    out.update(zip(_INDUSTRY, template.industry, strict=True))
    out.update({
        "type": template.kind, "description": template.description,
        "status": template.state.value,
        "items": [{"name": i.name, "idType": i.type, "idIndex": i.index,
                   "required": i.required, "unique": i.unique, "state": int(i.state),
                   "metadata": _rules_to_json(i)} for i in template.items]})
    return out
