"""Identifiers as DNS names under the handle zone, and back.

``88.118.8/JXDY2106023`` is ``jxdy2106023._.8.118.88.<handle_zone>``: the prefix's
dot-separated segments reversed (most specific first, as in DNS), a ``_`` label, then the
suffix's segments reversed. The prefix handle ``0.NA/88.118.8`` is ``8.118.88.<zone>``.

DNS compares names case-insensitively (and resolvers may randomise case), while IDIS
suffixes are case-sensitive; so a letter in a label always stands for an upper-case letter,
and every byte of the UTF-8 text that is not an upper-case ASCII letter, a digit or ``-``
is written ``_hh`` (two hex digits): ``abc`` is ``_61_62_63``, ``测`` is ``_e6_b5_8b``.
Each text has exactly one encoding; names that are not an encoding do not exist.
Limits: a segment of at most 63 octets once encoded, 255 octets in all, no empty segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import dns.name

from idnode.errors import InvalidHandle
from idnode.identifiers.handle import PREFIX_NA, Handle

__all__ = ["SEPARATOR", "HandleName", "decode_handle_name", "encode_handle"]

SEPARATOR = b"_"
_DIGITS = frozenset(b"0123456789-")
_LOWER = frozenset(b"abcdefghijklmnopqrstuvwxyz")
_HEX = frozenset(b"0123456789abcdef")


def _encode_segment(text: str) -> bytes | None:
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: no store holds such a handle either
        return None
    out = bytearray()
    for byte in raw:
        if 0x41 <= byte <= 0x5A:  # an upper-case letter is the letter itself
            out.append(byte + 32)
        elif byte in _DIGITS:
            out.append(byte)
        else:
            out += b"_%02x" % byte
    return bytes(out) if 0 < len(out) <= 63 else None


def _decode_label(label: bytes) -> str | None:
    label = label.lower()
    out = bytearray()
    i = 0
    while i < len(label):
        byte = label[i]
        if byte in _LOWER:
            out.append(byte - 32)
        elif byte in _DIGITS:
            out.append(byte)
        elif byte == 0x5F:
            pair = label[i + 1:i + 3]
            if len(pair) != 2 or not all(b in _HEX for b in pair):
                return None
            value = int(pair, 16)
            if 0x41 <= value <= 0x5A or value in _DIGITS:
                return None  # not canonical: that byte is written as itself
            out.append(value)
            i += 2
        else:
            return None
        i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return None


def encode_handle(key: str, zone: dns.name.Name) -> dns.name.Name | None:
    """The DNS name of the handle with normalised ``key``, or None if it has none."""
    prefix, _, suffix = key.partition("/")
    if prefix == PREFIX_NA:
        prefix, suffix = suffix, ""
        tail: list[bytes] = []
    else:
        tail = [SEPARATOR]
    labels = []
    for segment in reversed(suffix.split(".")) if suffix else ():
        label = _encode_segment(segment)
        if label is None:
            return None
        labels.append(label)
    labels += tail
    for segment in reversed(prefix.split(".")):
        label = _encode_segment(segment)
        if label is None:
            return None
        labels.append(label)
    try:
        return dns.name.Name(labels).concatenate(zone)
    except dns.name.NameTooLong:
        return None


@dataclass(frozen=True, slots=True)
class HandleName:
    """A name under the handle zone.

    :ivar handle: the handle it names; None for the zone apex and for ``_.<prefix>``.
    :ivar prefix: the prefix (``88.118.8``) of a ``_.<prefix>`` name, else "".
    :ivar valid: False when the name is no encoding of anything (it cannot exist).
    """

    handle: Handle | None
    prefix: str = ""
    valid: bool = True


def decode_handle_name(relative: tuple[bytes, ...]) -> HandleName:
    """The labels below the handle zone (leftmost first) → what they name."""
    if not relative:
        return HandleName(None)
    order = list(reversed(relative))  # closest to the zone first
    split = next((i for i, label in enumerate(order) if label == SEPARATOR), len(order))
    texts = [_decode_label(label) for label in order[:split]]
    if split == 0 or any(t is None for t in texts):
        return HandleName(None, valid=False)
    prefix = ".".join(t for t in texts if t is not None)
    if split == len(order):
        return _parsed(f"{PREFIX_NA}/{prefix}")
    suffix_texts = [_decode_label(label) for label in order[split + 1:]]
    if any(t is None for t in suffix_texts):
        return HandleName(None, valid=False)
    if not suffix_texts:
        valid = _parsed(f"{PREFIX_NA}/{prefix}").valid
        return HandleName(None, prefix=prefix, valid=valid)
    return _parsed(prefix + "/" + ".".join(t for t in suffix_texts if t is not None))


def _parsed(text: str) -> HandleName:
    try:
        return HandleName(Handle.parse(text))
    except InvalidHandle:
        return HandleName(None, valid=False)
