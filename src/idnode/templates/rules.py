"""Checks of one registration value against its item's data type and rules (§8.3–8.4).

Each check returns the text to store, or raises :class:`Refused` with the reason; the caller
prefixes the item's label and collects every reason into one
:class:`~idnode.errors.TemplateViolation`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from idnode.errors import InvalidHandle
from idnode.identifiers.handle import Handle, ascii_upper
from idnode.templates.dates import DateFormat
from idnode.templates.limits import (
    MAX_NUMBER_DIGITS,
    MAX_REFERENCES,
    MAX_STRING_LENGTH,
    MAX_URL_LENGTH,
)
from idnode.templates.model import DataType, TemplateItem

__all__ = ["DEFAULT_EXTENSIONS", "Checked", "Refused", "check", "show"]

#: extensions allowed when an audio/video/image item names none; a plain file allows any
DEFAULT_EXTENSIONS: dict[DataType, frozenset[str]] = {
    DataType.AUDIO: frozenset({"mp3", "wav", "aac", "flac", "ogg", "m4a", "amr"}),
    DataType.VIDEO: frozenset({"mp4", "avi", "mov", "mkv", "webm", "flv", "wmv"}),
    DataType.IMAGE: frozenset({"jpg", "jpeg", "png", "gif", "bmp", "webp", "svg", "tif",
                               "tiff"}),
}
_NUMBER = re.compile(r"[+-]?(\d+)(?:\.(\d+))?")


class Refused(Exception):
    """One value broke one rule; the message is the reason."""


@dataclass(frozen=True, slots=True)
class Checked:
    """A value that passed: the text to store and the handles it references."""

    text: str
    references: tuple[str, ...] = ()


def show(value: object) -> str:
    """A short ``repr`` of a value for messages (long data is cut)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise Refused(f"{show(value)} is not {what}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused(f"{show(value)} is not valid Unicode text") from None
    return value


def _string(item: TemplateItem, value: object) -> Checked:
    text = _text(value, "text")
    rules = item.rules
    high = MAX_STRING_LENGTH if rules.max_length is None else rules.max_length
    low = rules.min_length or 0
    if not low <= len(text) <= high:
        raise Refused(f"{show(text)} has {len(text)} characters, not {low}–{high}")
    if rules.pattern is not None and re.fullmatch(rules.pattern, text) is None:
        raise Refused(f"{show(text)} does not match the pattern {rules.pattern!r}")
    return Checked(text)


def _number(item: TemplateItem, value: object) -> Checked:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    elif isinstance(value, float):
        value = repr(value)
    text = _text(value, "a number")
    match = _NUMBER.fullmatch(text)
    if match is None:
        raise Refused(f"{show(text)} is not a number in plain decimal notation")
    whole, fraction = match.group(1), match.group(2) or ""
    if len(whole.lstrip("0")) + len(fraction) > MAX_NUMBER_DIGITS:
        raise Refused(f"{show(text)} has more than {MAX_NUMBER_DIGITS} digits")
    rules = item.rules
    if rules.decimal_places is not None and len(fraction) > rules.decimal_places:
        raise Refused(f"{show(text)} has more than {rules.decimal_places} decimal places")
    number = Decimal(text)
    if rules.minimum is not None and number < rules.minimum:
        raise Refused(f"{show(text)} is below the minimum {rules.minimum}")
    if rules.maximum is not None and number > rules.maximum:
        raise Refused(f"{show(text)} is above the maximum {rules.maximum}")
    return Checked(text)


def _date(item: TemplateItem, value: object) -> Checked:
    rules = item.rules
    fmt = DateFormat.compile(rules.date_format)
    text = _text(value, f"a date in the format {fmt.text}")
    moment = fmt.read(text)
    if moment is None:
        raise Refused(f"{show(text)} is not a date in the format {fmt.text}")
    if rules.earliest is not None and moment < fmt.parse(rules.earliest, where="earliest"):
        raise Refused(f"{show(text)} is before {rules.earliest}")
    if rules.latest is not None and moment > fmt.parse(rules.latest, where="latest"):
        raise Refused(f"{show(text)} is after {rules.latest}")
    return Checked(text)


def _media(item: TemplateItem, value: object) -> Checked:
    size: int | None = None
    if isinstance(value, dict):
        # {"url": …, "size": bytes}: the only form that can be held to maxSize
        stray = set(value) - {"url", "size"}
        if stray or "url" not in value:
            raise Refused(f"{show(value)} is not a URL or an object with 'url' and 'size'")
        raw_size = value.get("size")
        if raw_size is not None and (not isinstance(raw_size, int)
                                     or isinstance(raw_size, bool) or raw_size < 0):
            raise Refused(f"size {show(raw_size)} is not a number of bytes")
        size = raw_size
        value = value["url"]
    url = _text(value, "an http or https URL")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise Refused(f"{show(url)} is not an http or https URL") from None
    if len(url) > MAX_URL_LENGTH or parts.scheme.lower() not in ("http", "https") or \
            not host or any(ch <= " " or ch == "\x7f" for ch in url):
        raise Refused(f"{show(url)} is not an http or https URL")
    allowed = item.rules.extensions or DEFAULT_EXTENSIONS.get(item.data_type)
    if allowed is not None:
        name = parts.path.rpartition("/")[2]
        ext = name.rpartition(".")[2].lower() if "." in name else ""
        if ext not in allowed:
            raise Refused(f"{show(url)} does not end in one of "
                          f"{', '.join('.' + e for e in sorted(allowed))}")
    limit = item.rules.max_size
    if limit is not None and size is not None and size > limit:
        raise Refused(f"{show(url)} is {size} bytes, more than {limit}")
    if size is None:
        return Checked(url)
    return Checked(json.dumps({"url": url, "size": size}, ensure_ascii=False,
                              separators=(",", ":")))


def _reference(item: TemplateItem, value: object) -> Checked:
    many = isinstance(value, list)
    texts = value if isinstance(value, list) else [value]
    if not 0 < len(texts) <= MAX_REFERENCES:
        raise Refused(f"a reference list holds 1–{MAX_REFERENCES} identifiers, "
                      f"not {len(texts)}")
    handles: list[str] = []
    for entry in texts:
        text = _text(entry, "an identifier")
        try:
            handle = Handle.parse(text)
        except InvalidHandle as exc:
            raise Refused(f"{show(text)} is not an identifier ({exc.kwargs.get('reason')})"
                          ) from None
        constraint = item.rules.prefix
        if constraint is not None:
            prefix, wanted = ascii_upper(handle.prefix), ascii_upper(constraint)
            if prefix != wanted and not prefix.startswith(wanted + "."):
                raise Refused(f"{show(text)} is not under the prefix {constraint}")
        handles.append(handle.text)
    stored = json.dumps(handles, ensure_ascii=False, separators=(",", ":")) if many \
        else handles[0]
    return Checked(stored, tuple(handles))


def check(item: TemplateItem, value: object) -> Checked:
    """Check ``value`` (JSON data) against ``item``; raise :class:`Refused` with the why."""
    if item.data_type is DataType.STRING:
        return _string(item, value)
    if item.data_type is DataType.NUMBER:
        return _number(item, value)
    if item.data_type is DataType.DATE:
        return _date(item, value)
    if item.data_type is DataType.REFERENCE:
        return _reference(item, value)
    return _media(item, value)
