"""``index:handle`` identities."""

from __future__ import annotations

import pytest

from idnode.auth import Identity
from idnode.errors import InvalidHandle


@pytest.mark.parametrize(("text", "handle", "index"), [
    ("300:88.100.1/ADMIN", "88.100.1/ADMIN", 300),
    ("0:0.NA/88", "0.NA/88", 0),
    ("300:88.1/urn:isbn:123", "88.1/urn:isbn:123", 300),  # split at the first ':'
    ("  7:88.1/x  ", "88.1/x", 7),
    ("4294967295:88.1/x", "88.1/x", 4294967295),
    ("1:88.1/用户", "88.1/用户", 1),
])
def test_parse(text: str, handle: str, index: int) -> None:
    identity = Identity.parse(text)
    assert (identity.handle, identity.index) == (handle, index)
    assert str(identity) == f"{index}:{handle}"
    assert Identity.parse(str(identity)) == identity


@pytest.mark.parametrize(("text", "reason"), [
    ("", "index:handle"),
    ("88.1/ADMIN", "index:handle"),
    ("ADMIN:88.1/x", "not a decimal number"),
    ("-1:88.1/x", "not a decimal number"),
    ("+1:88.1/x", "not a decimal number"),
    ("\uff13:88.1/x", "not a decimal number"),  # fullwidth digit three
    (":88.1/x", "not a decimal number"),
    ("300:", "empty"),
    ("300:noslash", "no '/'"),
    ("300:/suffix", "empty prefix"),
    ("4294967296:88.1/x", "32-bit"),
])
def test_parse_errors(text: str, reason: str) -> None:
    with pytest.raises(InvalidHandle, match=reason) as info:
        Identity.parse(text)
    assert info.value.response_code == 102


def test_matches_honours_index_zero_and_handle_case() -> None:
    alice = Identity("88.ABC/Alice", 300)
    assert alice.matches("88.abc/Alice", 300)  # prefix is case-insensitive
    assert not alice.matches("88.abc/alice", 300)  # suffix is case-sensitive
    assert alice.matches("88.ABC/Alice", 0)  # a reference with index 0 means any index
    assert not alice.matches("88.ABC/Alice", 301)
    anywhere = Identity("88.ABC/Alice", 0)
    assert anywhere.matches("88.ABC/Alice", 0)
    assert not anywhere.matches("88.ABC/Alice", 300)  # index-0 identity is not every key
    assert Identity("0.na/88.abc", 1).matches("0.NA/88.ABC", 1)
    assert alice.key == "88.ABC/Alice"
