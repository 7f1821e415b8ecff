"""Date formats of date items, written the Java way (``yyyy-MM-dd HH:mm:ss``, §8.2).

A format is compiled to a strict regular expression (fixed field widths) and the fields are
then checked by :class:`datetime.datetime`, so ``2021-13-01`` and ``2021-2-30`` are refused
where :func:`time.strptime` would be lenient about widths.

Compiled formats are cached by their text (:meth:`DateFormat.compile`), and a read takes the
fields by position, so checking a date costs one regular-expression match and one
:class:`~datetime.datetime` (the validation hot path of ``idnode import`` and batchCreate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from idnode.errors import TemplateError

__all__ = ["DEFAULT_DATE_FORMAT", "DateFormat"]

#: §8.2 gives ``YYYY-MM-DD``; ``YYYY``/``DD`` are accepted as ``yyyy``/``dd``
DEFAULT_DATE_FORMAT = "yyyy-MM-dd"
_FIELDS = {"yyyy": "year", "YYYY": "year", "MM": "month", "dd": "day", "DD": "day",
           "HH": "hour", "mm": "minute", "ss": "second", "SSS": "millisecond"}
_TOKEN = re.compile("|".join(sorted(_FIELDS, key=len, reverse=True)))
_SEPARATORS = set(" -/:.T年月日时分秒")
#: datetime's arguments, in order; milliseconds become microseconds
_ORDER = ("year", "month", "day", "hour", "minute", "second", "millisecond")
_CACHE_SIZE = 256
_cache: dict[str, DateFormat] = {}


@dataclass(frozen=True, slots=True)
class DateFormat:
    """A compiled format.

    :ivar positions: for each of :data:`_ORDER`, its group number in :attr:`regex` (from 1),
        or 0 when the format lacks it (then it is 0 in the moment read).
    """

    text: str
    regex: re.Pattern[str]
    positions: tuple[int, ...] = ()

    @classmethod
    def compile(cls, text: str | None, *, where: str = "date_format") -> DateFormat:
        """The compiled format (cached by text).

        :raises TemplateError: naming ``where``.
        """
        text = DEFAULT_DATE_FORMAT if text is None else text
        known = _cache.get(text)
        if known is not None:
            return known
        compiled = cls._compile(text, where)
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()  # bounded: formats come from templates, which are few
        _cache[text] = compiled
        return compiled

    @classmethod
    def _compile(cls, text: str, where: str) -> DateFormat:
        parts: list[str] = []
        seen: set[str] = set()
        pos = 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match:
                name = _FIELDS[match.group()]
                if name in seen:
                    raise TemplateError(reason=f"{where}: {text!r} repeats {name}")
                seen.add(name)
                parts.append(f"(?P<{name}>\\d{{{len(match.group())}}})")
                pos = match.end()
            elif text[pos] in _SEPARATORS:
                parts.append(re.escape(text[pos]))
                pos += 1
            else:
                raise TemplateError(reason=f"{where}: {text!r} has {text[pos]!r}; use yyyy, "
                                           "MM, dd, HH, mm, ss, SSS and separators")
        if not {"year", "month", "day"} <= seen:
            raise TemplateError(reason=f"{where}: {text!r} needs yyyy, MM and dd")
        regex = re.compile("".join(parts))
        positions = tuple(regex.groupindex.get(name, 0) for name in _ORDER)
        return cls(text, regex, positions)

    def read(self, value: str) -> datetime | None:
        """The moment ``value`` names, or None when it is not in this format."""
        match = self.regex.fullmatch(value)
        if match is None:
            return None
        # group(0) is the whole text; a missing field reads group 0 and counts as 0
        y, mo, d, h, mi, s, ms = self.positions
        group = match.group
        try:
            return datetime(int(group(y)), int(group(mo)), int(group(d)),
                            int(group(h)) if h else 0, int(group(mi)) if mi else 0,
                            int(group(s)) if s else 0, int(group(ms)) * 1000 if ms else 0)
        except ValueError:
            return None

    def parse(self, value: str, *, where: str) -> datetime:
        """Like :meth:`read` for template fields: raise naming ``where``."""
        moment = self.read(value)
        if moment is None:
            raise TemplateError(reason=f"{where}: {value!r} is not a date in the format "
                                       f"{self.text}")
        return moment
