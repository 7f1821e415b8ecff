"""The unified social credit code (统一社会信用代码) check."""

from __future__ import annotations

import pytest

from idnode.errors import InvalidValue
from idnode.prefixes.credit import check_credit_code

from .forms import VALID_CODES


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_codes_pass(code: str) -> None:
    assert check_credit_code(code) == code


def test_spaces_and_lower_case_are_normalised() -> None:
    assert check_credit_code(" 9111 0108ma01c8d91r ") == VALID_CODES[0]


def test_wrong_check_character_names_the_right_one() -> None:
    with pytest.raises(InvalidValue) as err:
        check_credit_code("91110108MA01C8D91X")
    assert "creditCode" in str(err.value)
    assert "check character 'X'" in str(err.value) and "call for 'R'" in str(err.value)


@pytest.mark.parametrize("code, words", [
    ("9111010860003734", "16 characters"),
    ("91110108MA01C8D91R0", "19 characters"),
    ("91110108MA01C8DI1R", "'I'"),
    ("91110108MA01C8DO1R", "'O'"),
    ("9111010@MA01C8D91R", "'@'"),
    ("", "missing"),
])
def test_malformed_codes_say_what_is_wrong(code: str, words: str) -> None:
    with pytest.raises(InvalidValue) as err:
        check_credit_code(code)
    assert words in str(err.value)
