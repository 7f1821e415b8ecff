"""The scheme registry: which schemes exist, in which order text is tried against them.

Order matters because some texts fit more than one shape (``6901234567892`` is a GTIN-13
and could be read as other digit strings). :meth:`Registry.parse` tries the registered
schemes in registration order: the first that parses wins; a scheme that recognises its
shape but finds an error is remembered, and if no later scheme parses the text, the first
such error is raised (so ``(01)09521234543210`` reports the GS1 check digit). Only text
that no scheme recognised goes to the fallback scheme.
"""

from __future__ import annotations

from functools import cache

from idnode.errors import InvalidIdentifier
from idnode.schemes.base import MAX_TEXT, Parsed, Scheme, shown

__all__ = ["Registry", "default_registry", "parse"]


class Registry:
    """Schemes in the order they are tried, and a fallback for text none recognises."""

    def __init__(self) -> None:
        self._schemes: dict[str, Scheme] = {}
        self._fallback: Scheme | None = None

    def register(self, scheme: Scheme, *, fallback: bool = False) -> None:
        """Add ``scheme`` after those already registered (or as the fallback).

        :raises ValueError: a scheme of that name is registered already.
        """
        if scheme.name in self._schemes or (self._fallback is not None
                                            and self._fallback.name == scheme.name):
            raise ValueError(f"scheme {scheme.name!r} is registered already")
        if fallback:
            self._fallback = scheme
        else:
            self._schemes[scheme.name] = scheme

    @property
    def names(self) -> tuple[str, ...]:
        """Scheme names in the order they are tried, the fallback last."""
        extra = (self._fallback.name,) if self._fallback is not None else ()
        return (*self._schemes, *extra)

    def scheme(self, name: str) -> Scheme:
        """The scheme called ``name`` (case-insensitive).

        :raises InvalidIdentifier: no such scheme.
        """
        wanted = name.strip().lower()
        found = self._schemes.get(wanted)
        if found is None and self._fallback is not None and self._fallback.name == wanted:
            found = self._fallback
        if found is None:
            raise InvalidIdentifier(f"unknown identifier scheme {name!r}; known: "
                                    f"{', '.join(self.names)}", scheme=name, text="",
                                    reason="unknown scheme")
        return found

    def parse(self, text: str, *, scheme: str | None = None) -> Parsed:
        """``text`` as an identifier of ``scheme``, or of the first scheme that fits.

        :raises InvalidIdentifier: empty, too long, invalid in the scheme asked for, invalid
            in every scheme that recognised its shape, or recognised by none.
        """
        stripped = text.strip()
        if not stripped:
            raise InvalidIdentifier("an identifier is needed; the text is empty",
                                    scheme=scheme or "", text=text, reason="empty")
        if len(stripped) > MAX_TEXT:
            raise InvalidIdentifier(f"identifier text longer than {MAX_TEXT} characters",
                                    scheme=scheme or "", text=shown(stripped),
                                    reason="too long")
        if scheme is not None:
            chosen = self.scheme(scheme)
            parsed = chosen.parse(stripped, explicit=True)
            if parsed is None:  # a scheme that broke its contract still gets a clear error
                raise InvalidIdentifier(scheme=chosen.title, text=shown(stripped),
                                        reason="not of this scheme's form")
            return parsed
        errors: list[InvalidIdentifier] = []
        for candidate in self._schemes.values():
            try:
                parsed = candidate.parse(stripped, explicit=False)
            except InvalidIdentifier as exc:
                errors.append(exc)
                continue
            if parsed is not None:
                return parsed
        if errors:
            raise errors[0]
        if self._fallback is not None:
            parsed = self._fallback.parse(stripped, explicit=False)
            if parsed is not None:
                return parsed
        raise InvalidIdentifier(f"{shown(stripped)!r} is not an identifier of a known "
                                f"scheme ({', '.join(self.names)})", scheme="", text=stripped,
                                reason="unknown form")

    def render(self, parsed: Parsed, form: str | None = None) -> str:
        """``parsed`` in ``form`` of its scheme (default: canonical)."""
        return self.scheme(parsed.scheme).render(parsed, form)


@cache
def default_registry() -> Registry:
    """The schemes idnode knows, in the order documented in ``docs/identifiers.md``."""
    from idnode.schemes.dnsname import DnsScheme
    from idnode.schemes.ecode import EcodeScheme
    from idnode.schemes.generic import GenericScheme
    from idnode.schemes.gs1 import Gs1Scheme
    from idnode.schemes.handle import HandleScheme
    from idnode.schemes.oid import OidScheme
    from idnode.schemes.vaa import VaaScheme

    registry = Registry()
    gs1 = Gs1Scheme()
    for scheme in (HandleScheme(), gs1, OidScheme(), EcodeScheme(gs1), VaaScheme(),
                   DnsScheme()):
        registry.register(scheme)
    registry.register(GenericScheme(), fallback=True)
    return registry


def parse(text: str, *, scheme: str | None = None) -> Parsed:
    """:meth:`Registry.parse` on the default registry."""
    return default_registry().parse(text, scheme=scheme)
