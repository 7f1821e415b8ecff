"""Registration data checked against a published template (``idis.md`` §6.3, §8.4).

Data comes as the secondary-node API sends it: a list of ``{index, type, data}`` (``data``
plain or SNMS-wrapped ``{"format": "string", "value": …}``) or an object of English type
name → value. Every problem is collected and reported at once in a
:class:`~idnode.errors.TemplateViolation`.

Decisions where §8.4 is unconfirmed: items in state 1 or 2 are refused; a ``null`` or ``""``
value counts as absent (so it fails a required item and is not stored otherwise); each item
may appear once per record; ``unique`` across records, the existence of referenced
identifiers and the template they follow (``referenceMetaHandle``, §8.4) are checked only
through callables the caller supplies: awaitables to :func:`avalidate` (the SNMS API), plain
functions to :func:`validate` (``idnode import``), with the same checks and messages.

Speed: a template is compiled once (:mod:`.compiled`) and a row that passes is checked by the
compiled form alone; only a row with some problem goes through the full check below, which
words every problem.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from idnode.errors import TemplateViolation
from idnode.identifiers.handle import handle_key
from idnode.identifiers.value import HandleValue
from idnode.templates.compiled import compiled
from idnode.templates.limits import MAX_ITEMS, RESERVED_INDEXES
from idnode.templates.model import ItemState, Template, TemplateItem, TemplateState
from idnode.templates.rules import Checked, Refused, check, show

__all__ = ["Exists", "ExistsNow", "Taken", "TakenNow", "TemplateOf", "TemplateOfNow",
           "avalidate", "validate"]

#: ``exists(handle)``: does the referenced identifier exist?
Exists = Callable[[str], Awaitable[bool]]
#: ``taken(item, text)``: does another record already hold this value of a unique item?
#: True or the other identifier's handle when it does (the handle is named in the message).
Taken = Callable[[TemplateItem, str], Awaitable[bool | str | None]]
#: ``template_of(handle)``: the template handle (TEMPLATE_ID, index 1000) the existing
#: record ``handle`` follows, or None when it names none
TemplateOf = Callable[[str], Awaitable[str | None]]
#: the same questions, answered at once (for :func:`validate`)
ExistsNow = Callable[[str], bool]
TakenNow = Callable[[TemplateItem, str], bool | str | None]
TemplateOfNow = Callable[[str], str | None]

_P = ParamSpec("_P")
_R = TypeVar("_R")

_STATE_WORDS = {ItemState.DISABLED: "disabled (停用)",
                ItemState.NOT_EFFECTIVE: "not effective (未生效)"}


@dataclass(slots=True)
class _Outcome:
    values: list[HandleValue]
    checked: dict[int, tuple[TemplateItem, Checked]]
    problems: list[str]


def _pairs(template: Template, data: object, problems: list[str]
           ) -> list[tuple[TemplateItem, object]]:
    """Match each given value to its item; unmatched ones become problems."""
    by_index = {item.index: item for item in template.items}
    by_type = {item.type.lower(): item for item in template.items}
    if isinstance(data, Mapping):
        entries: list[tuple[str, object, object]] = [
            (f"{key!s}", None, key) for key in data]
        raw: list[object] = list(data.values())
    elif isinstance(data, list):
        entries, raw = [], []
        for n, entry in enumerate(data):
            if not isinstance(entry, dict) or "data" not in entry:
                problems.append(f"value[{n}]: not an object with index, type and data")
                continue
            entries.append((f"value[{n}]", entry.get("index"), entry.get("type")))
            raw.append(entry["data"])
    else:
        problems.append("data must be a list of {index, type, data} or an object of "
                        "type name → value")
        return []
    if len(entries) > MAX_ITEMS:
        problems.append(f"{len(entries)} values, more than the limit {MAX_ITEMS}")
        return []
    pairs: list[tuple[TemplateItem, object]] = []
    for (where, index, type_), value in zip(entries, raw, strict=True):
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            problems.append(f"{where}: index {show(index)} is not a whole number")
            continue
        if type_ is not None and not isinstance(type_, str):
            problems.append(f"{where}: type {show(type_)} is not text")
            continue
        if index in RESERVED_INDEXES:
            problems.append(f"{where}: index {index} is reserved for the node")
            continue
        item = by_index.get(index) if index is not None else \
            by_type.get(type_.lower()) if type_ is not None else None
        if item is None:
            problems.append(f"{where}: no item of the template has "
                            f"{'index ' + str(index) if index is not None else 'type'}"
                            f"{'' if index is not None else ' ' + show(type_)}")
            continue
        if type_ is not None and type_.lower() != item.type.lower():
            problems.append(f"{where}: index {index} is {item.label()}, not type "
                            f"{show(type_)}")
            continue
        pairs.append((item, value))
    return pairs


def _unwrap(value: object) -> object:
    """SNMS wraps data as ``{"format": "string", "value": …}`` (only "string", §6.3)."""
    if isinstance(value, dict) and "format" in value:
        if value.get("format") != "string" or set(value) - {"format", "value"}:
            raise Refused(f"{show(value)} is not data of format \"string\"")
        return value.get("value")
    return value


def _check_all(template: Template, data: object) -> _Outcome:
    problems: list[str] = []
    if template.state is not TemplateState.PUBLISHED:
        problems.append(f"the template is {template.state.value} ({template.state.chinese}),"
                        " not published (已发布)")
        return _Outcome([], {}, problems)
    checked: dict[int, tuple[TemplateItem, Checked]] = {}
    seen: set[int] = set()
    for item, given in _pairs(template, data, problems):
        if item.index in seen:
            problems.append(f"{item.label()}: given more than once")
            continue
        seen.add(item.index)
        if item.state is not ItemState.ENABLED:
            problems.append(f"{item.label()}: the item is {_STATE_WORDS[item.state]}")
            continue
        try:
            value = _unwrap(given)
            if value is None or value == "":
                continue
            checked[item.index] = (item, check(item, value))
        except Refused as exc:
            problems.append(f"{item.label()}: {exc}")
    for item in template.items:
        reported = any(p.startswith(item.label()) for p in problems)
        if item.required and item.enabled and item.index not in checked and not reported:
            problems.append(f"{item.label()}: required (必填) but missing")
    values = [HandleValue(index, item.type, result.text.encode("utf-8"))
              for index, (item, result) in sorted(checked.items())]
    return _Outcome(values, checked, problems)


def validate(template: Template, data: object, *, exists: ExistsNow | None = None,
             taken: TakenNow | None = None, template_of: TemplateOfNow | None = None
             ) -> list[HandleValue]:
    """Check registration ``data`` against ``template``; return the values to store.

    With ``exists``, ``taken`` or ``template_of`` it is :func:`avalidate` with callables
    that answer at once (no event loop): the same checks, asked the same way, worded the same.

    :raises TemplateViolation: listing every problem found.
    """
    if exists is not None or taken is not None or template_of is not None:
        return _now(avalidate(template, data, exists=_awaitable(exists),
                              taken=_awaitable(taken), template_of=_awaitable(template_of)))
    found = compiled(template).checked(data, 0, False)  # one call less than values()
    if found is not None:
        return found[0]
    outcome = _check_all(template, data)
    if outcome.problems:
        raise TemplateViolation(template.label(), outcome.problems)
    return outcome.values


def _awaitable(hook: Callable[_P, _R] | None) -> Callable[_P, Awaitable[_R]] | None:
    if hook is None:
        return None

    async def answer(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        return hook(*args, **kwargs)
    return answer


def _now(check: Coroutine[Any, Any, list[HandleValue]]) -> list[HandleValue]:
    """Run a check whose callables answer at once: it finishes on its first step."""
    try:
        check.send(None)
    except StopIteration as done:
        result: list[HandleValue] = done.value
        return result
    check.close()
    raise RuntimeError("a registry check waited; validate() takes callables that answer "
                       "at once")


def _same_handle(a: str, b: str) -> bool:
    return handle_key(a) == handle_key(b)


async def _referenced(item: TemplateItem, handles: tuple[str, ...], exists: Exists | None,
                      template_of: TemplateOf | None, answers: dict[str, bool],
                      problems: list[str]) -> None:
    wanted = item.rules.reference_template
    for handle in handles:
        if exists is not None:
            if handle not in answers:
                answers[handle] = await exists(handle)
            if not answers[handle]:
                problems.append(f"{item.label()}: {show(handle)} does not exist")
                continue
        if wanted is None or template_of is None:
            continue
        follows = await template_of(handle)
        if follows is None:
            problems.append(f"{item.label()}: {show(handle)} does not exist or follows no "
                            f"template; it must follow {wanted} (referenceMetaHandle)")
        elif not _same_handle(follows, wanted):
            problems.append(f"{item.label()}: {show(handle)} follows the template {follows}, "
                            f"not {wanted} (referenceMetaHandle)")


async def _unique(item: TemplateItem, text: str, taken: Taken, problems: list[str]) -> None:
    other = await taken(item, text)
    if other:
        holder = f" by {other}" if isinstance(other, str) else ""
        problems.append(f"{item.label()}: {show(text)} is already used{holder}; the item is "
                        "unique (唯一)")


async def avalidate(template: Template, data: object, *, exists: Exists | None = None,
                    taken: Taken | None = None, template_of: TemplateOf | None = None
                    ) -> list[HandleValue]:
    """:func:`validate`, then the checks that need the registry.

    :param exists: asked once per distinct referenced identifier (data type 5).
    :param taken: asked for each value of a ``unique`` (唯一) item.
    :param template_of: asked for each identifier a reference item with
        ``referenceMetaHandle`` names: that identifier's record must follow that template.
    """
    form = compiled(template)
    registry = exists is not None or template_of is not None
    fast = None if form.references and registry else form.values(data)
    if fast is not None:
        problems: list[str] = []
        if taken is not None and form.unique:
            for value in fast:
                item = form.unique.get(value.index)
                if item is not None:
                    await _unique(item, value.data.decode("utf-8"), taken, problems)
        if problems:
            raise TemplateViolation(template.label(), problems)
        return fast
    outcome = _check_all(template, data)
    problems = outcome.problems
    answers: dict[str, bool] = {}
    for item, result in outcome.checked.values():
        if result.references and registry:
            await _referenced(item, result.references, exists, template_of, answers, problems)
        if item.unique and taken is not None:
            await _unique(item, result.text, taken, problems)
    if problems:
        raise TemplateViolation(template.label(), problems)
    return outcome.values
