"""From a scanned carrier's text back to the identifier to resolve.

Recognised: what the identifier scheme registry (``idnode.schemes``, when this build has it)
parses as another scheme's identifier — a GS1 Digital Link URI or element string, an OID,
an Ecode …; ``hdl:`` URIs; proxy URLs (``https://<proxy>/88.118.8/JXDY2106023``, or a REST
``…/api/handles/…`` URL), percent-decoded; and bare handles.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from idnode.carriers.errors import CarrierError
from idnode.errors import InvalidHandle, RegistryError
from idnode.identifiers.handle import Handle

__all__ = ["Identified", "identify"]

_REST_PATH = "api/handles/"
# Registry results that say "a handle" or "some text": the carrier's own rules decide those.
_NOT_FOREIGN = frozenset({"handle", "generic"})


@dataclass(frozen=True, slots=True)
class Identified:
    """What a carrier names.

    :ivar identifier: the text to resolve: a handle, or another scheme's canonical form
        (``(01)09521234543213``), which ``idnode resolve`` maps.
    :ivar scheme: ``handle``, or the scheme registry's name (``gs1`` …).
    :ivar form: how the carrier wrote it (``proxy URL``, ``hdl: URI``, ``bare handle``,
        or the registry's form: ``digital link``, ``element string`` …).
    """

    identifier: str
    scheme: str
    form: str


def _registry_parse() -> Any:
    # Imported lazily: the registry is optional here, and costs nothing when only making codes.
    try:
        return getattr(importlib.import_module("idnode.schemes"), "parse", None)
    except ImportError:
        return None


def _foreign(text: str) -> tuple[Identified | None, RegistryError | None]:
    """The registry's reading of ``text`` if it is another scheme's; else its error, if any."""
    parse = _registry_parse()
    if parse is None:
        return None, None
    try:
        parsed = parse(text)
    except RegistryError as exc:
        return None, exc
    if parsed.scheme in _NOT_FOREIGN:
        return None, None
    return Identified(str(parsed.canonical), str(parsed.scheme), str(parsed.form)), None


def _handle(text: str, form: str) -> Identified:
    try:
        return Identified(Handle.parse(text).text, "handle", form)
    except InvalidHandle as exc:
        raise CarrierError(reason=f"not an identifier ({form}): {exc}") from None


def _url_path_handle(text: str) -> Identified | None:
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    path = parts.path.lstrip("/")
    form = "proxy URL"
    if path.startswith(_REST_PATH):
        path, form = path[len(_REST_PATH):], "REST URL"
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        raise CarrierError(reason=f"{text}: the path is not UTF-8") from None
    return _handle(decoded, form)


def identify(text: str, *, gs1: bool = False) -> Identified:
    """The identifier a carrier's text names.

    :param gs1: the symbol was flagged GS1 (FNC1 first), so the text is a GS1 element string.
    :raises CarrierError: nothing recognisable (names what the text was taken for).
    """
    # Not stripped: a symbol's content is exact, and a suffix may end in a space.
    found, registry_error = _foreign(text)
    if found is not None:
        return found
    if gs1:
        reason = str(registry_error) if registry_error is not None else \
            "this build has no GS1 scheme (idnode.schemes) to read it"
        raise CarrierError(reason=f"GS1 content {text!r}: {reason}")
    try:
        scheme, sep, rest = text.partition(":")
        if sep and scheme.lower() == "hdl":
            return _handle(unquote(rest.lstrip("/")), "hdl: URI")
        return _url_path_handle(text) or _handle(text, "bare handle")
    except CarrierError:
        if registry_error is not None:  # a scheme knew the shape: its reason is the better one
            raise CarrierError(reason=str(registry_error)) from None
        raise
