"""Permission levels of HS_CERT."""

from __future__ import annotations

import pytest

from idnode.errors import InvalidValue
from idnode.trust import Permission


def test_levels() -> None:
    assert Permission("everything").covers("20.500/X")
    this = Permission.parse("thisHandle:88.100.1/A")
    assert this.covers("88.100.1/A") and this.covers("88.100.1/a") is False
    under = Permission.parse("handlesUnderThisPrefix:0.NA/88.100.1")
    assert under.covers("88.100.1/A") and not under.covers("88.100.1.2/A")
    assert not under.covers("0.NA/88.100.1")
    derived = Permission.parse("derivedPrefixes:88.100")
    assert derived.covers("88.100/A") and derived.covers("88.100.1.7/B")
    assert derived.covers("0.NA/88.100.1") and not derived.covers("88.1001/A")


def test_bad_permissions() -> None:
    with pytest.raises(InvalidValue):
        Permission.parse("all")
    with pytest.raises(InvalidValue):
        Permission.parse("thisHandle")
    with pytest.raises(InvalidValue):
        Permission.from_json(["everything"])
