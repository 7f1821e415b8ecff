"""The unified social credit code (统一社会信用代码, GB 32100-2015) of an applicant.

Checked with ``python-stdnum`` (``stdnum.cn.uscc``); the refusal says what is wrong, and for
a wrong check character, which one the first 17 characters call for.
"""

from __future__ import annotations

from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength

from idnode.errors import InvalidValue

__all__ = ["check_credit_code"]

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z


def check_credit_code(text: object, field: str = "creditCode") -> str:
    """The code, upper-cased and without spaces.

    :raises InvalidValue: naming ``field`` and what is wrong.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidValue(reason=f"{field}: missing; the 18-character unified social credit "
                                  "code (统一社会信用代码) is required")
    code = uscc.compact(text)
    if len(code) != 18:
        raise InvalidValue(reason=f"{field}: {text!r} has {len(code)} characters; a unified "
                                  "social credit code (统一社会信用代码) has 18")
    bad = sorted({c for c in code if c not in _ALPHABET})
    if bad:
        raise InvalidValue(reason=f"{field}: {text!r} contains {', '.join(map(repr, bad))}; "
                                  "only digits and the letters "
                                  f"{_ALPHABET[10:]} are used (no I, O, S, V, Z)")
    try:
        return str(uscc.validate(code))
    except InvalidChecksum:
        expected = uscc.calc_check_digit(code[:17])
        raise InvalidValue(reason=f"{field}: {text!r} has check character {code[-1]!r}; "
                                  f"the first 17 characters call for {expected!r}") from None
    except (InvalidFormat, InvalidLength) as exc:
        raise InvalidValue(reason=f"{field}: {text!r}: {exc}") from None
