"""HS_CERT / HS_SIGNATURE as handle values, at the first free index from 400."""

from __future__ import annotations

from collections.abc import Iterable

from idnode.identifiers.value import HandleValue
from idnode.trust.claims import HS_CERT, HS_SIGNATURE

__all__ = ["FIRST_INDEX", "cert_value", "free_index", "signature_value"]

FIRST_INDEX = 400  # hl-trust: "索引通常从 400 开始"


def free_index(values: Iterable[HandleValue], start: int = FIRST_INDEX) -> int:
    taken = {v.index for v in values}
    index = start
    while index in taken:
        index += 1
    return index


def signature_value(index: int, jwt: str) -> HandleValue:
    return HandleValue(index, HS_SIGNATURE, jwt.encode("ascii"))


def cert_value(index: int, jwt: str) -> HandleValue:
    return HandleValue(index, HS_CERT, jwt.encode("ascii"))
