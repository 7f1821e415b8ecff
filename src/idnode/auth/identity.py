"""An authenticated identity: a value ``index:handle`` (``idis.md`` §5.1).

A user is a handle whose HS_PUBKEY or HS_SECKEY at some index proves who they are, written
``300:88.100.1/ADMIN`` (index first). Handles may contain ``:`` in their suffix, so the text
is split at the *first* colon.

Index 0 means "any index" (CNRI v8+) on the *referring* side: an HS_ADMIN or HS_VLIST
reference ``0:X/Y`` is matched by every ``n:X/Y``. An identity that itself has index 0
(authenticated without naming an index) matches only references with index 0: otherwise
proving possession of *some* key in ``X/Y`` would grant what a reference gives to one
specific key.
"""

from __future__ import annotations

from dataclasses import dataclass

from idnode.errors import InvalidHandle
from idnode.identifiers.handle import Handle, handle_key

__all__ = ["Identity"]

_U32_MAX = 0xFFFF_FFFF


@dataclass(frozen=True, slots=True)
class Identity:
    """``index:handle``; compare with :meth:`matches`, which normalises handle case.

    :ivar handle: the handle as given.
    :ivar index: the value index (0 = any, see the module docstring).
    """

    handle: str
    index: int

    def __post_init__(self) -> None:
        if not 0 <= self.index <= _U32_MAX:
            raise InvalidHandle(handle=f"{self.index}:{self.handle}",
                                reason=f"identity index {self.index} is not an unsigned "
                                       "32-bit number")
        Handle.parse(self.handle)

    @classmethod
    def parse(cls, text: str) -> Identity:
        """Parse ``index:handle`` (e.g. ``300:88.100.1/ADMIN``).

        :raises InvalidHandle: no colon, a non-numeric or out-of-range index, or an invalid
            handle.
        """
        index_text, sep, handle = text.strip().partition(":")
        if not sep:
            raise InvalidHandle(handle=text, reason="an identity is written 'index:handle', "
                                                    "e.g. '300:88.100.1/ADMIN'")
        if not (index_text.isascii() and index_text.isdigit()):
            raise InvalidHandle(handle=text, reason=f"identity index {index_text!r} is not a "
                                                    "decimal number")
        return cls(handle, int(index_text))

    @property
    def key(self) -> str:
        """The normalised handle key."""
        return handle_key(self.handle)

    def matches(self, handle: str, index: int) -> bool:
        """Is this identity the value ``index:handle`` referred to (``index`` 0 = any)?"""
        if index not in (0, self.index):
            return False
        return handle_key(handle) == handle_key(self.handle)

    def __str__(self) -> str:
        return f"{self.index}:{self.handle}"
