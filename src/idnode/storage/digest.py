"""Digests that let two stores be compared without reading either one whole.

Every record has a 16-byte hash (:func:`record_hash`) and lies in one of :data:`BUCKETS`
buckets chosen by its key (:func:`bucket_of`). A store keeps the hash of every record and,
per bucket, the XOR of its records' hashes and their count, updated with every write. Two
stores compare the 4096 bucket aggregates first, then the record hashes of the buckets that
differ, then only the records whose hashes differ.

XOR makes a bucket's aggregate independent of the order its records were written in, and
lets a write update it without reading the bucket's other records: replacing a record XORs
the old hash out and the new one in. Homed prefixes are not digested (there are few; compare
them directly).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from itertools import pairwise

from idnode.identifiers.value import HandleValue, encode_values
from idnode.storage.ops import Record

__all__ = ["BUCKETS", "bucket_of", "hash_and_bucket", "hash_record", "hashes_and_buckets",
           "record_hash"]

#: How many buckets the key space is hashed into (the first 12 bits of a key's hash).
BUCKETS = 4096


#: copied for every hash: making a BLAKE2b state anew (its keyword arguments parsed) costs
#: more than hashing a record
_BLAKE2B_128 = hashlib.blake2b(digest_size=16)


def _blake2b_128(data: bytes) -> bytes:
    state = _BLAKE2B_128.copy()
    state.update(data)
    return state.digest()


def bucket_of(key: str) -> int:
    """The bucket of ``key``: the first 12 bits of its BLAKE2b-128 hash."""
    digest = _blake2b_128(key.encode("utf-8"))
    return (digest[0] << 4) | (digest[1] >> 4)


def record_hash(record: Record) -> bytes:
    """The 16-byte BLAKE2b hash of ``record``: its key, its handle text and its values (as
    :func:`~idnode.identifiers.value.encode_values` writes them, in index order), each
    preceded by its length so that no two records' fields can run together alike."""
    return hash_record(record.key, record.handle, encode_values(_in_order(record.values)))


def hash_record(key: str, handle: str, encoded: bytes) -> bytes:
    """:func:`record_hash` from the record's parts, its values already encoded in index
    order (the store encodes them once for the hash and the log entry)."""
    return _blake2b_128(_fields(key.encode("utf-8"), handle.encode("utf-8"), encoded))


def hash_and_bucket(key: str, handle: str, encoded: bytes) -> tuple[bytes, int]:
    """:func:`hash_record` and :func:`bucket_of` of the key, encoding the key once."""
    key_bytes = key.encode("utf-8")
    first = _blake2b_128(key_bytes)
    return (_blake2b_128(_fields(key_bytes, handle.encode("utf-8"), encoded)),
            (first[0] << 4) | (first[1] >> 4))


def hashes_and_buckets(records: Sequence[tuple[str, str, bytes]],
                       ) -> list[tuple[int, str, bytes]]:
    """``(bucket, key, hash)`` of each ``(key, handle, encoded values)``: :func:`hash_and_bucket`
    over a run of records, in one loop (the bulk importer hashes every record it writes)."""
    copy = _BLAKE2B_128.copy
    out: list[tuple[int, str, bytes]] = []
    append = out.append
    for key, handle, encoded in records:
        key_bytes = key.encode("utf-8")
        handle_bytes = key_bytes if handle == key else handle.encode("utf-8")
        state = copy()
        state.update(key_bytes)
        first = state.digest()
        state = copy()
        state.update(b"".join((len(key_bytes).to_bytes(4, "big"), key_bytes,
                               len(handle_bytes).to_bytes(4, "big"), handle_bytes,
                               len(encoded).to_bytes(4, "big"), encoded)))
        append(((first[0] << 4) | (first[1] >> 4), key, state.digest()))
    return out


def _fields(key: bytes, handle: bytes, encoded: bytes) -> bytes:
    """The hashed bytes: each field preceded by its length."""
    return b"".join((len(key).to_bytes(4, "big"), key, len(handle).to_bytes(4, "big"), handle,
                     len(encoded).to_bytes(4, "big"), encoded))


def _in_order(values: Sequence[HandleValue]) -> tuple[HandleValue, ...]:
    # Stored records are sorted already; a caller's hand-made one may not be.
    if all(a.index < b.index for a, b in pairwise(values)):
        return tuple(values)
    return tuple(sorted(values, key=lambda value: value.index))
