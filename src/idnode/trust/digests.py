"""Per-value digests as CNRI's HandleValueDigester computes them.

The digest covers a value's wire encoding minus its first eight bytes (index and timestamp),
so a server re-stamping a value on write does not break it, while type, data, TTL,
permissions and references are all covered. Base64 (standard, padded) as CNRI writes it.
"""

from __future__ import annotations

import base64
import hashlib

from idnode.identifiers.value import HandleValue

__all__ = ["DIGEST_ALG", "canonical_alg", "value_digest"]

DIGEST_ALG = "SHA-256"
_ALGS = {"SHA-256": "sha256", "SHA256": "sha256", "SHA-384": "sha384", "SHA384": "sha384",
         "SHA-512": "sha512", "SHA512": "sha512"}
_SKIP = 8  # int4 index + int4 timestamp


def canonical_alg(name: object) -> str | None:
    """hashlib's name for a JWT ``alg`` (Java MessageDigest names); None if unsupported."""
    return _ALGS.get(name.upper()) if isinstance(name, str) else None


def value_digest(value: HandleValue, alg: str = DIGEST_ALG) -> str:
    hashlib_name = canonical_alg(alg)
    if hashlib_name is None:
        raise ValueError(f"unsupported digest algorithm {alg!r}")
    return base64.b64encode(hashlib.new(hashlib_name, value.to_wire()[_SKIP:]).digest()
                            ).decode("ascii")
