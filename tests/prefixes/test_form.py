"""Application forms: every refusal names its field."""

from __future__ import annotations

from typing import Any

import pytest

from idnode.errors import InvalidValue
from idnode.prefixes.application import parse_form

from .forms import hosted_form

PARENTS = frozenset({"88.118"})


def test_hosted_form_is_accepted() -> None:
    form = parse_form(hosted_form(), PARENTS)
    assert form.prefix == "88.118.77" and form.hosted
    assert str(form.admin) == "200:88.118.77/ADMIN"  # the group idnode init also makes
    assert form.to_json(with_secret=False)["admin"]["secret"] == "(withheld)"


@pytest.mark.parametrize("changes, field", [
    ({"prefix": "88.119.7"}, "prefix"),
    ({"prefix": "88.118.7.1"}, "prefix"),
    ({"prefix": "88.118.a_b"}, "prefix"),
    ({"organisation": " "}, "organisation"),
    ({"creditCode": "91110108MA01C8D91X"}, "creditCode"),
    ({"contact": {"name": "王", "phone": "call me", "email": "a@b.cn"}}, "contact.phone"),
    ({"contact": {"name": "王", "phone": "13800138000", "email": "nobody"}}, "contact.email"),
    ({"contact": {"phone": "13800138000", "email": "a@b.cn"}}, "contact.name"),
    ({"route": {"mode": "elsewhere"}}, "route.mode"),
    ({"route": {"mode": "delegated", "servers": []}}, "route.servers"),
    ({"route": {"mode": "delegated", "servers": ["10.0.0.1"]}}, "route.servers"),
    ({"admin": {"handle": "88.118.77/ADMIN"}}, "admin.pubkey"),
    ({"admin": {"handle": "88.118.78/ADMIN", "secret": "long enough"}}, "admin.handle"),
    ({"admin": {"secret": "short"}}, "admin.secret"),
    ({"admin": {"pubkey": "-----BEGIN PUBLIC KEY-----\nxx\n"}}, "admin.pubkey"),
    ({"extra": 1}, "extra"),
])
def test_refusals_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as err:
        parse_form(hosted_form(**changes), PARENTS)
    assert str(err.value).startswith(f"invalid value: {field}:"), str(err.value)


def test_delegated_admin_carries_no_keys() -> None:
    body = hosted_form(route={"mode": "delegated", "servers": ["127.0.0.1:2641"]})
    with pytest.raises(InvalidValue, match=r"admin\.pubkey: a delegated"):
        parse_form(body, PARENTS)
    body["admin"] = {"handle": "88.118.77/ADMIN"}
    form = parse_form(body, PARENTS)
    assert str(form.admin) == "300:88.118.77/ADMIN" and form.servers == ("127.0.0.1:2641",)
