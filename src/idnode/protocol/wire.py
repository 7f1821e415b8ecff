"""One bounded reader and one writer for every binary structure of the protocol.

All decoding goes through :class:`Parser`: every read is bounds-checked against the current
limit, counted lengths are checked against what is left *before* anything is allocated, and
:meth:`Parser.restrict_to` scopes a sub-structure and rejects leftover bytes. Nothing here
raises anything but :class:`~idnode.errors.ProtocolError`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from idnode.errors import ProtocolError

__all__ = ["Parser", "Writer"]

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")


class Parser:
    """Reads big-endian protocol structures from ``data``.

    :param data: the bytes to read.
    :param what: names the structure in error messages.
    """

    __slots__ = ("_data", "_end", "_pos", "what")

    def __init__(self, data: bytes | bytearray | memoryview, what: str = "message") -> None:
        self._data = bytes(data)
        self._pos = 0
        self._end = len(self._data)
        self.what = what

    @property
    def position(self) -> int:
        return self._pos

    def remaining(self) -> int:
        return self._end - self._pos

    def at_end(self) -> bool:
        return self._pos >= self._end

    def error(self, reason: str) -> ProtocolError:
        return ProtocolError(reason=f"{self.what}: {reason} at byte {self._pos}")

    def get_bytes(self, size: int) -> bytes:
        if size < 0 or size > self._end - self._pos:
            raise self.error(f"needs {size} bytes, {self._end - self._pos} left")
        start = self._pos
        self._pos += size
        return self._data[start:self._pos]

    def get_uint8(self) -> int:
        if self._pos >= self._end:
            raise self.error("truncated (needs 1 byte)")
        value = self._data[self._pos]
        self._pos += 1
        return value

    def get_uint16(self) -> int:
        if self._end - self._pos < 2:
            raise self.error("truncated (needs 2 bytes)")
        (value,) = _U16.unpack_from(self._data, self._pos)
        self._pos += 2
        return int(value)

    def get_uint32(self) -> int:
        if self._end - self._pos < 4:
            raise self.error("truncated (needs 4 bytes)")
        (value,) = _U32.unpack_from(self._data, self._pos)
        self._pos += 4
        return int(value)

    def get_int32(self) -> int:
        if self._end - self._pos < 4:
            raise self.error("truncated (needs 4 bytes)")
        (value,) = _I32.unpack_from(self._data, self._pos)
        self._pos += 4
        return int(value)

    def get_count(self, item_size: int = 1, limit: int | None = None) -> int:
        """Read an ``int4`` count of items of at least ``item_size`` bytes each.

        The count is checked against what is left (and ``limit``) before any allocation, so
        a hostile count cannot make a decoder reserve memory.
        """
        count = self.get_uint32()
        if limit is not None and count > limit:
            raise self.error(f"count {count} exceeds the limit of {limit}")
        if count * max(item_size, 1) > self._end - self._pos:
            raise self.error(f"count {count} cannot fit in {self._end - self._pos} bytes")
        return count

    def get_counted_bytes(self) -> bytes:
        """``int4`` length followed by that many bytes."""
        return self.get_bytes(self.get_uint32())

    def get_string(self) -> str:
        """A UTF8-String (``int4`` length + UTF-8 bytes)."""
        raw = self.get_counted_bytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("string is not valid UTF-8") from None

    def get_int4_array(self, limit: int | None = None) -> tuple[int, ...]:
        count = self.get_count(4, limit)
        return tuple(self.get_uint32() for _ in range(count))

    def get_string_array(self, limit: int | None = None) -> tuple[str, ...]:
        count = self.get_count(4, limit)
        return tuple(self.get_string() for _ in range(count))

    def get_remaining(self) -> bytes:
        return self.get_bytes(self._end - self._pos)

    @contextmanager
    def restrict_to(self, size: int) -> Iterator[None]:
        """Scope the next ``size`` bytes; leftover bytes in the scope are an error."""
        if size < 0 or size > self._end - self._pos:
            raise self.error(f"structure of {size} bytes, {self._end - self._pos} left")
        saved_end = self._end
        self._end = self._pos + size
        try:
            yield
            if self._pos != self._end:
                raise self.error(f"{self._end - self._pos} unexpected trailing bytes")
        finally:
            self._end = saved_end

    def expect_end(self) -> None:
        if self._pos != self._end:
            raise self.error(f"{self._end - self._pos} unexpected trailing bytes")


class Writer:
    """Builds big-endian protocol structures."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def put_bytes(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data

    def put_uint8(self, value: int) -> None:
        self._buf.append(value)

    def put_uint16(self, value: int) -> None:
        self._buf += _U16.pack(value)

    def put_uint32(self, value: int) -> None:
        self._buf += _U32.pack(value)

    def put_int32(self, value: int) -> None:
        self._buf += _I32.pack(value)

    def put_counted_bytes(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += _U32.pack(len(data))
        self._buf += data

    def put_string(self, text: str) -> None:
        self.put_counted_bytes(text.encode("utf-8"))

    def put_int4_array(self, values: Sequence[int]) -> None:
        self._buf += _U32.pack(len(values))
        for value in values:
            self._buf += _U32.pack(value)

    def put_string_array(self, values: Sequence[str]) -> None:
        self._buf += _U32.pack(len(values))
        for value in values:
            self.put_string(value)

    def __len__(self) -> int:
        return len(self._buf)

    def getvalue(self) -> bytes:
        return bytes(self._buf)
