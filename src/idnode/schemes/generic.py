"""The fallback: an identifier of a scheme idnode does not know (a company's own part number,
a legacy code), taken as an opaque string and mapped only by its exact text.

It accepts what no registered scheme recognised, if it is one printable token of at most
200 characters: no white space or control characters, and not a URL (a web address that is
not a GS1 Digital Link URI is a location, not an identifier).
"""

from __future__ import annotations

from idnode.schemes.base import Parsed, fail

__all__ = ["GenericScheme"]

_TITLE = "generic identifier (其他标识)"
_MAX = 200


class GenericScheme:
    """Opaque identifiers, mapped by exact text."""

    name = "generic"
    title = _TITLE
    forms: tuple[str, ...] = ("text",)

    def parse(self, text: str, *, explicit: bool) -> Parsed | None:
        self.mapping_key(text)
        return Parsed(self.name, "identifier of no known scheme", text, {"text": text},
                      (), self.name, (text,), text=text, form="text")

    def render(self, parsed: Parsed, form: str | None = None) -> str:
        if form not in (None, "text"):
            fail(_TITLE, parsed.canonical, f"no form {form!r}; generic identifiers are text")
        return parsed.canonical

    def mapping_key(self, key: str) -> str:
        if len(key) > _MAX:
            fail(_TITLE, key, f"{len(key)} characters; at most {_MAX}")
        if any(c.isspace() or not c.isprintable() for c in key):
            fail(_TITLE, key, "contains white space or a control character")
        if "://" in key:
            fail(_TITLE, key, "a URL that is not a GS1 Digital Link URI is a location, not an "
                              "identifier")
        if not key:
            fail(_TITLE, key, "empty")
        return key
