"""Grant entries and the template names a registration may use (:mod:`idnode.snms.grants`)."""

from __future__ import annotations

import pytest

from idnode.auth.identity import Identity
from idnode.snms.envelope import SnmsFailure
from idnode.snms.grants import edit_grants, granted, parse_grant, parse_grants, template_names


def test_parse_grant() -> None:
    assert parse_grant(" 301:88.1/App ") == "301:88.1/App"
    assert parse_grant("88.1/App") == "88.1/App"
    assert parse_grant("88.1/a:b") == "88.1/a:b"  # a colon in the suffix is no index
    assert parse_grant("0.NA/88.1") == "88.1"
    assert parse_grant("88.1") == "88.1"
    for bad in ("", " ", 7, None, "x" * 300, "88.1/\x01", "301:"):
        with pytest.raises(SnmsFailure):
            parse_grant(bad)
    assert parse_grants(["88.1", "88.1", "88.1/a"]) == ["88.1", "88.1/a"]
    with pytest.raises(SnmsFailure):
        parse_grants("88.1")


def test_granted() -> None:
    me = Identity("88.1/App", 301)
    assert granted(["88.1/APP"], Identity("88.1/App", 301), "99") is False  # suffix case
    assert granted(["88.1/App"], me, "99")
    assert granted(["301:88.1/App"], me, "99")
    assert not granted(["300:88.1/App"], me, "99")
    assert granted(["99"], me, "99") and granted(["99"], me, "99") is True
    assert not granted(["99.1"], me, "99")
    assert granted(["0:88.1/App"], me, "x")  # index 0 means any index


def test_edit_grants() -> None:
    assert edit_grants(["a.1", "b.2"], {"add": ["c.3", "A.1"], "remove": ["B.2"]}) == [
        "a.1", "c.3"]
    assert edit_grants(["a.1"], {"grants": ["d.4"], "add": ["e.5"]}) == ["d.4", "e.5"]


def test_template_names() -> None:
    assert template_names("1.0", "88.1") == [("88.1", "1.0")]
    assert template_names("88.2/1.0", "88.1") == [("88.1", "88.2/1.0"), ("88.2", "1.0")]
    assert template_names("88.2/META_1.0", "88.1") == [("88.1", "88.2/META_1.0"),
                                                      ("88.2", "1.0")]
    assert template_names("0.NA/x", "88.1") == [("88.1", "0.NA/x")]
    assert template_names("/x", "88.1") == [("88.1", "/x")]
