"""Date formats of date items, written the Java way (``yyyy-MM-dd HH:mm:ss``, §8.2).

A format is compiled to a strict regular expression (fixed field widths) and the fields are
then checked by :class:`datetime.datetime`, so ``2021-13-01`` and ``2021-2-30`` are refused
where :func:`time.strptime` would be lenient about widths.
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


@dataclass(frozen=True, slots=True)
class DateFormat:
    text: str
    regex: re.Pattern[str]

    @classmethod
    def compile(cls, text: str | None, *, where: str = "date_format") -> DateFormat:
        text = DEFAULT_DATE_FORMAT if text is None else text
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
        return cls(text, re.compile("".join(parts)))

    def read(self, value: str) -> datetime | None:
        """The moment ``value`` names, or None when it is not in this format."""
        match = self.regex.fullmatch(value)
        if match is None:
            return None
        f = {k: int(v) for k, v in match.groupdict().items()}
        try:
            return datetime(f["year"], f["month"], f["day"], f.get("hour", 0),
                            f.get("minute", 0), f.get("second", 0),
                            f.get("millisecond", 0) * 1000)
        except ValueError:
            return None

    def parse(self, value: str, *, where: str) -> datetime:
        """Like :meth:`read` for template fields: raise naming ``where``."""
        moment = self.read(value)
        if moment is None:
            raise TemplateError(reason=f"{where}: {value!r} is not a date in the format "
                                       f"{self.text}")
        return moment
