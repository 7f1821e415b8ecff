"""HS_CERT permissions (CNRI ``trust.Permission``: ``{"handle": …, "perm": …}``).

What each level covers (the IDIS hl-trust levels; CNRI's names):

* ``everything`` — any handle (no ``handle`` member needed);
* ``derivedPrefixes`` — handles under the prefix P and under any prefix derived from it
  (``P.x``), and their prefix handles ``0.NA/P…``;
* ``handlesUnderThisPrefix`` — handles whose prefix is exactly P;
* ``thisHandle`` — that one handle.

P may be written bare (``88.100``) or as its prefix handle (``0.NA/88.100``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idnode.errors import InvalidValue, RegistryError
from idnode.identifiers.handle import PREFIX_NA, ascii_upper, handle_key

__all__ = ["LEVELS", "Permission"]

EVERYTHING = "everything"
DERIVED_PREFIXES = "derivedPrefixes"
UNDER_PREFIX = "handlesUnderThisPrefix"
THIS_HANDLE = "thisHandle"
LEVELS = (EVERYTHING, DERIVED_PREFIXES, UNDER_PREFIX, THIS_HANDLE)


def _bare_prefix(text: str) -> str:
    upper = ascii_upper(text)
    return upper[len(PREFIX_NA) + 1:] if upper.startswith(PREFIX_NA + "/") else upper


@dataclass(frozen=True, slots=True)
class Permission:
    perm: str
    handle: str | None = None

    def __post_init__(self) -> None:
        if self.perm not in LEVELS:
            raise InvalidValue(reason=f"perm {self.perm!r} is not one of {', '.join(LEVELS)}")
        if self.perm != EVERYTHING and not self.handle:
            raise InvalidValue(reason=f"perm {self.perm!r} needs a handle")

    @classmethod
    def parse(cls, text: str) -> Permission:
        """``LEVEL`` or ``LEVEL:HANDLE`` (the command-line form)."""
        perm, _, handle = text.partition(":")
        return cls(perm, handle or None)

    @classmethod
    def from_json(cls, data: Any) -> Permission:
        if not isinstance(data, dict) or not isinstance(data.get("perm"), str):
            raise InvalidValue(reason="a perms entry must be {\"perm\": …, \"handle\": …}")
        handle = data.get("handle")
        if handle is not None and not isinstance(handle, str):
            raise InvalidValue(reason="a perms entry's handle must be a string")
        return cls(data["perm"], handle)

    def to_json(self) -> dict[str, str]:
        out = {"perm": self.perm}
        if self.handle is not None:
            out["handle"] = self.handle
        return out

    def covers(self, handle: str) -> bool:
        """Does this permission let its holder sign ``handle``?"""
        if self.perm == EVERYTHING:
            return True
        assert self.handle is not None
        try:
            if self.perm == THIS_HANDLE:
                return handle_key(handle) == handle_key(self.handle)
        except RegistryError:
            return False
        prefix, _, _ = handle.partition("/")
        target = ascii_upper(prefix)
        if target == PREFIX_NA:  # a prefix handle: judged by the prefix it names
            target = _bare_prefix(handle)
        granted = _bare_prefix(self.handle)
        if self.perm == UNDER_PREFIX:
            return target == granted and ascii_upper(prefix) != PREFIX_NA
        return target == granted or target.startswith(granted + ".")

    def __str__(self) -> str:
        return self.perm if self.handle is None else f"{self.perm}:{self.handle}"
