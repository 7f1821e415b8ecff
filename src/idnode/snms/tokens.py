"""Bearer tokens of the SNMS API and the two login forms (``idis.md`` §6.1–6.2).

A token is ``base64url(payload) "." base64url(HMAC-SHA256(key, payload))`` with the payload
``{"sub": "index:handle", "exp": unix seconds, "k": fingerprint of the HS_SECKEY}``. The key is
derived from the server key, so every worker accepts every worker's tokens, and they survive a
restart; nothing is stored. The fingerprint ties a token to the secret it was issued for:
changing the identity's HS_SECKEY revokes its tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta, timezone

from idnode.auth.identity import Identity
from idnode.errors import InvalidCredential, RegistryError

__all__ = [
    "CHINA_STANDARD_TIME",
    "TOKEN_LIFETIME",
    "TokenIssuer",
    "hashed_password",
    "hashed_password_dates",
    "parse_username",
    "secret_fingerprint",
]

TOKEN_LIFETIME = 24 * 3600
#: the date in ``/identity/token/v1`` is China Standard Time (UTC+8, no daylight saving)
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")
#: around midnight a client's clock may still (or already) be on the neighbouring date
DATE_GRACE = timedelta(minutes=15)
_MAX_TOKEN = 2048


def parse_username(text: str) -> Identity:
    """``index:handle``, or a bare handle meaning index 301 (the HS_SECKEY convention).

    :raises InvalidCredential: not an identity.
    """
    index_text, sep, handle = text.partition(":")
    try:
        if sep and index_text.isdigit():
            return Identity(handle, int(index_text))
        return Identity(text, 301)
    except RegistryError:
        raise InvalidCredential(reason=f"username {text!r} is not index:handle or a "
                                       "handle") from None


def secret_fingerprint(secret: bytes) -> str:
    return hashlib.sha256(b"idnode snms secret\x00" + secret).hexdigest()[:16]


def hashed_password(secret: bytes, date: str) -> str:
    """``sha256(sha256(pwd) + "yyyy-MM-dd")`` in lower-case hex (inner hash hex too)."""
    inner = hashlib.sha256(secret).hexdigest()
    return hashlib.sha256((inner + date).encode()).hexdigest()


def hashed_password_dates(now: float) -> list[str]:
    """Dates a hashed password may carry at ``now``: today in China Standard Time, and the
    neighbouring date within :data:`DATE_GRACE` of midnight."""
    here = datetime.fromtimestamp(now, CHINA_STANDARD_TIME)
    dates = {here.date()}
    dates.add((here - DATE_GRACE).date())
    dates.add((here + DATE_GRACE).date())
    return sorted(d.isoformat() for d in dates)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    def __init__(self, key: bytes, lifetime: int = TOKEN_LIFETIME) -> None:
        self._key = hashlib.sha256(b"idnode snms token\x00" + key).digest()
        self.lifetime = lifetime

    def issue(self, identity: Identity, fingerprint: str, now: float | None = None) -> str:
        expires = int(time.time() if now is None else now) + self.lifetime
        payload = json.dumps({"sub": f"{identity.index}:{identity.handle}", "exp": expires,
                              "k": fingerprint}, separators=(",", ":")).encode()
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()
        return f"{_b64(payload)}.{_b64(mac)}"

    def open(self, token: str, now: float | None = None) -> tuple[Identity, str]:
        """The identity and secret fingerprint a valid token carries.

        :raises InvalidCredential: malformed, forged or expired.
        """
        head, sep, tail = token.strip().partition(".")
        if not sep or len(token) > _MAX_TOKEN:
            raise InvalidCredential(reason="malformed token")
        try:
            payload, mac = _unb64(head), _unb64(tail)
        except (binascii.Error, ValueError):
            raise InvalidCredential(reason="malformed token") from None
        if not hmac.compare_digest(mac, hmac.new(self._key, payload, hashlib.sha256).digest()):
            raise InvalidCredential(reason="token signature does not verify")
        try:
            claims = json.loads(payload)
            expires, subject, fingerprint = int(claims["exp"]), claims["sub"], claims["k"]
        except (ValueError, KeyError, TypeError):
            raise InvalidCredential(reason="malformed token") from None
        if expires <= (time.time() if now is None else now):
            raise InvalidCredential(reason="token expired (tokens are valid for 24 h); "
                                           "log in again")
        return parse_username(str(subject)), str(fingerprint)
