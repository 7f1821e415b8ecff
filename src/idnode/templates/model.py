"""The metadata template model (元数据模板, ``idis.md`` §8) and its version lifecycle.

A template is immutable; edits, new versions and publish/withdraw return new objects so a
published version can never change under records registered against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum, IntEnum

from idnode.errors import TemplateError
from idnode.templates.dates import DateFormat
from idnode.templates.limits import (
    FIRST_ITEM_INDEX,
    MAX_DESCRIPTION_LENGTH,
    MAX_EXTENSIONS,
    MAX_ITEMS,
    MAX_NAME_LENGTH,
    MAX_PATTERN_LENGTH,
    MAX_STRING_LENGTH,
    MAX_VERSION_LENGTH,
)

__all__ = [
    "DataType",
    "ItemState",
    "Rules",
    "Template",
    "TemplateItem",
    "TemplateState",
    "edit",
    "new_version",
    "publish",
    "withdraw",
]

_TYPE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_U32_MAX = 0xFFFF_FFFF


class DataType(IntEnum):
    """``itemSchema.dataType`` (§8.3)."""

    STRING = 1
    NUMBER = 2
    DATE = 3
    FILE = 4
    REFERENCE = 5
    AUDIO = 6
    VIDEO = 7
    IMAGE = 8

    @property
    def label(self) -> str:
        """The name used in the SNMS ``metadata.type`` field."""
        return self.name.lower()

    @property
    def is_media(self) -> bool:
        """File, audio, video and image values are all URLs of a stored object."""
        return self in (DataType.FILE, DataType.AUDIO, DataType.VIDEO, DataType.IMAGE)


class ItemState(IntEnum):
    """``itemState`` (§8.2); the SNMS ``state`` 0/1 is read the same way (a decision)."""

    ENABLED = 0
    DISABLED = 1
    NOT_EFFECTIVE = 2


class TemplateState(Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"

    @property
    def chinese(self) -> str:
        return {"draft": "草稿", "published": "已发布", "withdrawn": "已撤回"}[self.value]


@dataclass(frozen=True, slots=True)
class Rules:
    """Per-type rules (``itemSchema``); only the fields of the item's type may be set."""

    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    decimal_places: int | None = None
    date_format: str | None = None
    earliest: str | None = None
    latest: str | None = None
    extensions: frozenset[str] | None = None
    max_size: int | None = None
    prefix: str | None = None
    reference_template: str | None = None

    def set_fields(self) -> set[str]:
        return {name for name in _RULE_FIELDS if getattr(self, name) is not None}


_RULE_FIELDS = ("min_length", "max_length", "pattern", "minimum", "maximum", "decimal_places",
                "date_format", "earliest", "latest", "extensions", "max_size", "prefix",
                "reference_template")
_ALLOWED_RULES: dict[DataType, set[str]] = {
    DataType.STRING: {"min_length", "max_length", "pattern"},
    DataType.NUMBER: {"minimum", "maximum", "decimal_places"},
    DataType.DATE: {"date_format", "earliest", "latest"},
    DataType.REFERENCE: {"prefix", "reference_template"},
}
_MEDIA_RULES = {"extensions", "max_size"}


def _check_rules(where: str, data_type: DataType, rules: Rules) -> None:
    allowed = _MEDIA_RULES if data_type.is_media else _ALLOWED_RULES[data_type]
    stray = rules.set_fields() - allowed
    if stray:
        raise TemplateError(reason=f"{where}: rule(s) {', '.join(sorted(stray))} do not apply "
                                   f"to data type {data_type.label}")
    for name in ("min_length", "max_length", "decimal_places", "max_size"):
        number = getattr(rules, name)
        if number is not None and number < 0:
            raise TemplateError(reason=f"{where}.{name}: must not be negative")
    if rules.max_length is not None and rules.max_length > MAX_STRING_LENGTH:
        raise TemplateError(reason=f"{where}.max_length: above the limit {MAX_STRING_LENGTH}")
    if (rules.min_length or 0) > (rules.max_length if rules.max_length is not None
                                  else MAX_STRING_LENGTH):
        raise TemplateError(reason=f"{where}.min_length: greater than max_length")
    if rules.pattern is not None:
        if len(rules.pattern) > MAX_PATTERN_LENGTH:
            raise TemplateError(reason=f"{where}.pattern: longer than {MAX_PATTERN_LENGTH}")
        try:
            re.compile(rules.pattern)
        except re.error as exc:
            raise TemplateError(reason=f"{where}.pattern: not a regular expression ({exc})"
                                ) from None
    for name in ("minimum", "maximum"):
        number = getattr(rules, name)
        if number is not None and not number.is_finite():
            raise TemplateError(reason=f"{where}.{name}: not a finite number")
    if rules.minimum is not None and rules.maximum is not None and \
            rules.minimum > rules.maximum:
        raise TemplateError(reason=f"{where}.minimum: greater than maximum")
    if data_type is DataType.DATE:
        fmt = DateFormat.compile(rules.date_format, where=f"{where}.date_format")
        bounds = [fmt.parse(text, where=f"{where}.{name}")
                  for name, text in (("earliest", rules.earliest), ("latest", rules.latest))
                  if text is not None]
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            raise TemplateError(reason=f"{where}.earliest: later than latest")
    if rules.extensions is not None and (len(rules.extensions) > MAX_EXTENSIONS or not all(
            _TYPE_NAME.fullmatch(e) and e == e.lower() for e in rules.extensions)):
        raise TemplateError(reason=f"{where}.extensions: at most {MAX_EXTENSIONS} "
                                   "lower-case names without dots")


def _check_name(where: str, text: str, limit: int) -> None:
    if not text or len(text) > limit or any(ch < " " or ch == "\x7f" for ch in text):
        raise TemplateError(reason=f"{where}: must be 1–{limit} characters without "
                                   "control characters")


@dataclass(frozen=True, slots=True)
class TemplateItem:
    """One item (数据项) of a template.

    :ivar name: the Chinese name (``name`` / ``chineseName``).
    :ivar type: the English type name (``idType`` / ``englishName``): the value type stored.
    :ivar index: the value index (``idIndex`` / ``itemIndex``), 2000 and up.
    """

    name: str
    type: str
    index: int
    data_type: DataType = DataType.STRING
    required: bool = False
    unique: bool = False
    state: ItemState = ItemState.ENABLED
    rules: Rules = field(default_factory=Rules)

    def __post_init__(self) -> None:
        where = f"item {self.type!r}"
        _check_name(f"{where}.name", self.name, MAX_NAME_LENGTH)
        if len(self.type) > MAX_NAME_LENGTH or not _TYPE_NAME.fullmatch(self.type):
            raise TemplateError(reason=f"{where}.type: must be an English name of letters, "
                                       f"digits and '_' (at most {MAX_NAME_LENGTH})")
        if not FIRST_ITEM_INDEX <= self.index <= _U32_MAX:
            raise TemplateError(reason=f"{where}.index: {self.index} is not in "
                                       f"{FIRST_ITEM_INDEX}–{_U32_MAX}")
        _check_rules(f"{where}.rules", self.data_type, self.rules)

    @property
    def enabled(self) -> bool:
        return self.state is ItemState.ENABLED

    def label(self) -> str:
        """``productionDate (生产日期, index 2003)``: how messages name the item."""
        return f"{self.type} ({self.name}, index {self.index})"


@dataclass(frozen=True, slots=True)
class Template:
    """A metadata template version (§6.4 body, §8.1 record).

    :ivar prefix: the owning prefix, e.g. ``88.608.5288``.
    :ivar version: the version name registrations cite as ``templateVersion``.
    :ivar code: ``metaCode``; the template handle is ``<prefix>/META_<code>`` when set.
    :ivar kind: SNMS ``type``: 1 主动标识载体 (active identifier carrier), 2 其他 (other).
    :ivar industry: the four industry levels (category, specific, trade, subclass).
    """

    prefix: str
    version: str
    items: tuple[TemplateItem, ...]
    code: str = ""
    name: str = ""
    description: str = ""
    kind: int = 2
    industry: tuple[str, str, str, str] = ("", "", "", "")
    state: TemplateState = TemplateState.DRAFT

    def __post_init__(self) -> None:
        _check_name("prefix", self.prefix, MAX_NAME_LENGTH)
        if "/" in self.prefix:
            raise TemplateError(reason="prefix: a bare prefix has no '/'")
        _check_name("version", self.version, MAX_VERSION_LENGTH)
        for label, text in (("code", self.code), ("name", self.name)):
            if text:
                _check_name(label, text, MAX_NAME_LENGTH)
        for label, text in zip(("industryCategory", "industrySpecific", "industryTrade",
                                "industrySubclass"), self.industry, strict=True):
            if text:
                _check_name(label, text, MAX_NAME_LENGTH)
        if len(self.description) > MAX_DESCRIPTION_LENGTH:
            raise TemplateError(reason=f"description: longer than {MAX_DESCRIPTION_LENGTH}")
        if self.kind not in (1, 2):
            raise TemplateError(reason=f"type: {self.kind} is neither 1 (主动标识载体, active "
                                       "identifier carrier) nor 2 (其他, other)")
        if not 0 < len(self.items) <= MAX_ITEMS:
            raise TemplateError(reason=f"items: between 1 and {MAX_ITEMS} items needed")
        for attr in ("index", "type"):
            seen: set[object] = set()
            for item in self.items:
                key = getattr(item, attr)
                key = key.lower() if isinstance(key, str) else key
                if key in seen:
                    raise TemplateError(reason=f"items: {attr} {getattr(item, attr)!r} is "
                                               "used twice")
                seen.add(key)

    @property
    def handle(self) -> str | None:
        """``<prefix>/META_<code>`` (§8.1), or None without a code."""
        return f"{self.prefix}/META_{self.code}" if self.code else None

    def label(self) -> str:
        return f"{self.handle or self.prefix} version {self.version!r}"


# -- lifecycle ------------------------------------------------------------------------------

def edit(template: Template, items: tuple[TemplateItem, ...]) -> Template:
    """Replace the items of a draft; published or withdrawn versions are frozen."""
    if template.state is not TemplateState.DRAFT:
        raise TemplateError(reason=f"{template.label()} is {template.state.value} "
                                   f"({template.state.chinese}); only a draft (草稿) can be "
                                   "edited — make a new version")
    return replace(template, items=items)


def new_version(template: Template, version: str) -> Template:
    """A draft copy of ``template`` (items included) under another version name."""
    if version == template.version:
        raise TemplateError(reason=f"version: {version!r} is the current version")
    return replace(template, version=version, state=TemplateState.DRAFT)


_MOVES = {
    TemplateState.PUBLISHED: {TemplateState.DRAFT, TemplateState.WITHDRAWN},
    TemplateState.WITHDRAWN: {TemplateState.PUBLISHED},
}


def _move(template: Template, to: TemplateState) -> Template:
    if template.state not in _MOVES[to]:
        raise TemplateError(reason=f"{template.label()} cannot go from {template.state.value} "
                                   f"({template.state.chinese}) to {to.value} ({to.chinese})")
    return replace(template, state=to)


def publish(template: Template) -> Template:
    """Draft or withdrawn → published (发布); registration needs a published version."""
    return _move(template, TemplateState.PUBLISHED)


def withdraw(template: Template) -> Template:
    """Published → withdrawn (撤回); new registrations against it are then refused."""
    return _move(template, TemplateState.WITHDRAWN)
