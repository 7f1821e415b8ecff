"""Handle names: ``prefix/suffix``.

Case rule (IDIS, ``idis.md`` §1.3): the prefix is ASCII-case-insensitive and the suffix is
case-sensitive, except that ``0.NA/…`` prefix handles are compared entirely upper-cased. The
*key* is the normalised form used for storage and comparison; the *text* is kept as given so
responses can echo exactly what the client asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from idnode.errors import InvalidHandle
from idnode.protocol.constants import MAX_HANDLE_LENGTH

__all__ = ["PREFIX_NA", "Handle", "ascii_upper", "handle_key", "prefix_handle"]

PREFIX_NA = "0.NA"
_ASCII_UPPER = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}


def ascii_upper(text: str) -> str:
    """Upper-case ASCII letters only (non-ASCII letters are left alone)."""
    return text.upper() if text.isascii() else text.translate(_ASCII_UPPER)


def _check(text: str, max_length: int) -> None:
    if not text:
        raise InvalidHandle(handle=text, reason="empty")
    if len(text) * 4 > max_length and len(text.encode("utf-8")) > max_length:
        raise InvalidHandle(handle=text[:64] + "…", reason=f"longer than {max_length} bytes")
    for ch in text:
        if ch < " " or ch == "\x7f":
            raise InvalidHandle(handle=text, reason="contains a control character")


def handle_key(text: str) -> str:
    """Normalised key of a handle text (no validation; see :meth:`Handle.parse`)."""
    prefix, sep, suffix = text.partition("/")
    upper = ascii_upper(prefix)
    if upper == PREFIX_NA:
        return upper + sep + ascii_upper(suffix)
    return upper + sep + suffix


def prefix_handle(prefix: str) -> str:
    """The prefix handle ``0.NA/<PREFIX>`` for ``prefix`` (bare or already ``0.NA/``)."""
    bare = strip_prefix_handle(prefix)
    return f"{PREFIX_NA}/{ascii_upper(bare)}"


def strip_prefix_handle(text: str) -> str:
    """``0.NA/88.1`` → ``88.1``; a bare prefix is returned as is."""
    head, sep, rest = text.partition("/")
    if sep and ascii_upper(head) == PREFIX_NA:
        return rest
    return text


@dataclass(frozen=True, slots=True)
class Handle:
    """A validated handle.

    :ivar text: the handle exactly as given.
    :ivar key: the normalised form used for storage and comparison.
    """

    text: str
    key: str

    @classmethod
    def parse(cls, text: str, *, max_length: int = MAX_HANDLE_LENGTH,
              allow_empty_suffix: bool = False) -> Handle:
        """Validate ``text`` as ``prefix/suffix``.

        :raises InvalidHandle: empty, too long, control characters, no ``/``, empty prefix,
            or (unless ``allow_empty_suffix``) empty suffix.
        """
        _check(text, max_length)
        prefix, sep, suffix = text.partition("/")
        if not sep:
            raise InvalidHandle(handle=text, reason="no '/' between prefix and suffix")
        if not prefix:
            raise InvalidHandle(handle=text, reason="empty prefix")
        if not suffix and not allow_empty_suffix:
            raise InvalidHandle(handle=text, reason="empty suffix")
        return cls(text, handle_key(text))

    @property
    def prefix(self) -> str:
        """The prefix as given (``88.100.1`` of ``88.100.1/abc``)."""
        return self.text.partition("/")[0]

    @property
    def suffix(self) -> str:
        return self.text.partition("/")[2]

    @property
    def is_prefix_handle(self) -> bool:
        """True for ``0.NA/…`` handles."""
        return self.key.startswith(PREFIX_NA + "/")

    @property
    def home_prefix(self) -> str:
        """Normalised prefix whose homing decides where this handle lives.

        A prefix handle ``0.NA/88.1.2`` lives with its parent prefix's server by CNRI's
        convention only for the global registry; idnode homes ``0.NA/X`` where ``X`` is homed,
        so the answer is ``X`` for prefix handles and the prefix otherwise.
        """
        if self.is_prefix_handle:
            return self.key[len(PREFIX_NA) + 1:]
        return self.key.partition("/")[0]

    def __str__(self) -> str:
        return self.text
