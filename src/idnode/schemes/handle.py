"""Handles, and the national ``88.`` identifiers (工业互联网标识) in particular.

Any ``prefix/suffix`` is a handle (:class:`~idnode.identifiers.handle.Handle` decides what is
valid). Identifiers under ``88`` follow ``idis.md`` §1: ``88.<secondary>.<enterprise>/<suffix>``
with non-empty dot-separated prefix segments, the prefix at most 64 characters and the whole
identifier at most 255 (the limits of the SNMS and enterprise-node APIs, §1.3); the prefix is
compared upper-cased and the suffix as written. Handles are not mapped: they resolve as they
are.
"""

from __future__ import annotations

import re

from idnode.errors import InvalidHandle
from idnode.identifiers.handle import PREFIX_NA, Handle, handle_key
from idnode.schemes.base import Parsed, fail

__all__ = ["IDIS_MAX_IDENTIFIER", "IDIS_MAX_PREFIX", "HandleScheme"]

#: ``idis.md`` §1.3: identifiers at most 255 characters, prefixes at most 64.
IDIS_MAX_IDENTIFIER = 255
IDIS_MAX_PREFIX = 64
_TITLE = "handle (标识)"
_LEVELS = ("national top-level node 国家顶级节点", "secondary node 二级节点",
           "enterprise 企业")


# Handle prefixes as they occur (88.118.8, 0.NA, 10.1000, 20.500.12345, TEST): a URL
# ("https://…"), a GS1 element string ("(01)…(21)AB/1") or a long digit run (an unbracketed
# element string) with a "/" in it is not one.
_PREFIX = re.compile(r"[A-Za-z0-9_.-]+")


def _looks_like_prefix(prefix: str) -> bool:
    if not _PREFIX.fullmatch(prefix):
        return False
    return not (prefix.isdigit() and len(prefix) >= 10)


class HandleScheme:
    """``prefix/suffix``; IDIS rules for ``88.`` prefixes."""

    name = "handle"
    title = _TITLE
    forms: tuple[str, ...] = ("handle",)

    def parse(self, text: str, *, explicit: bool) -> Parsed | None:
        prefix, sep, suffix = text.partition("/")
        if not explicit and not (sep and _looks_like_prefix(prefix)):
            return None
        try:
            handle = Handle.parse(text)
        except InvalidHandle as exc:
            fail(_TITLE, text, str(exc.kwargs.get("reason", exc)))
        upper = handle.key.partition("/")[0]
        if upper == PREFIX_NA:
            return Parsed(self.name, "prefix handle (前缀标识)", handle.key,
                          {"prefix": PREFIX_NA, "suffix": handle.key.partition("/")[2]},
                          (f"the record of prefix {handle.key.partition('/')[2]}",),
                          text=text, form="handle")
        if upper == "88" or upper.startswith("88."):
            return self._idis(text, prefix, suffix, handle)
        return Parsed(self.name, "handle", handle_key(text),
                      {"prefix": upper, "suffix": suffix}, text=text, form="handle")

    def _idis(self, text: str, prefix: str, suffix: str, handle: Handle) -> Parsed:
        segments = prefix.split(".")
        if any(not s for s in segments):
            fail(_TITLE, text, f"prefix {prefix!r} has an empty segment (write 88.<secondary>"
                               ".<enterprise>)")
        if len(prefix) > IDIS_MAX_PREFIX:
            fail(_TITLE, text, f"the prefix is {len(prefix)} characters; IDIS allows at most "
                               f"{IDIS_MAX_PREFIX}")
        if len(text) > IDIS_MAX_IDENTIFIER:
            fail(_TITLE, text, f"the identifier is {len(text)} characters; IDIS allows at "
                               f"most {IDIS_MAX_IDENTIFIER}")
        upper = handle.key.partition("/")[0]
        fields = {"prefix": upper, "suffix": suffix}
        labels = []
        for depth, (name, level) in enumerate(zip(("top", "secondary", "enterprise"), _LEVELS,
                                                  strict=True)):
            if depth >= len(segments):
                break
            fields[name] = upper.split(".")[depth]
            labels.append(f"{level}: {'.'.join(upper.split('.')[:depth + 1])}")
        kinds = ("national prefix", "secondary-node identifier (二级节点标识)",
                 "enterprise identifier (企业标识)")
        kind = kinds[min(len(segments), 3) - 1]
        return Parsed(self.name, f"IDIS {kind}", handle.key, fields, tuple(labels),
                      text=text, form="handle")

    def render(self, parsed: Parsed, form: str | None = None) -> str:
        if form not in (None, "handle"):
            fail(_TITLE, parsed.canonical, f"no form {form!r}; handles have one form")
        return parsed.canonical

    def mapping_key(self, key: str) -> str:
        fail(_TITLE, key, "handles resolve as they are; they have no mapping records")
