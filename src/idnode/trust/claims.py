"""The JWT payloads of HS_CERT and HS_SIGNATURE, and building them.

Field names follow CNRI's ``hdllib/trust`` (``HandleClaimsSet``: ``iss``, ``sub``, ``iat``,
``nbf``, ``exp``, ``perms``, ``publicKey`` as a JWK, ``digests`` = ``{"alg", "digests":
[{"index", "digest"}]}``, ``chain`` = HS_CERT references ``index:handle``, first one
authorizing the signer). ``ca``, ``org``, ``sn`` and ``exts`` are the IDIS hl-trust claims.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from idnode.auth.identity import Identity
from idnode.auth.keys import IdentityPublicKey, public_key_data, public_key_from_data
from idnode.auth.sm2 import SM2PrivateKey
from idnode.errors import InvalidValue, RegistryError
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.pubkey import PublicKeyData
from idnode.trust.digests import DIGEST_ALG, value_digest
from idnode.trust.jws import Jws, parse_jws, sign_jws
from idnode.trust.perms import Permission

__all__ = ["HS_CERT", "HS_SIGNATURE", "MAX_DIGESTS", "CertClaims", "SignatureClaims",
           "make_cert", "make_signature"]

HS_CERT = "HS_CERT"
HS_SIGNATURE = "HS_SIGNATURE"
MAX_DIGESTS = 1000
MAX_PERMS = 64
MAX_CHAIN_REFS = 16


def _int(payload: dict[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue(reason=f"claim {name!r} is not a number")
    return int(value)


def _identity(payload: dict[str, Any], name: str) -> Identity:
    value = payload.get(name)
    if not isinstance(value, str):
        raise InvalidValue(reason=f"claim {name!r} is missing")
    try:
        return Identity.parse(value)
    except RegistryError as exc:
        raise InvalidValue(reason=f"claim {name!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Window:
    nbf: int | None
    exp: int | None

    def problem(self, now: int) -> str | None:
        """``"expired"`` / ``"not-yet-valid"`` or None inside the window."""
        if self.exp is not None and now >= self.exp:
            return "expired"
        if self.nbf is not None and now < self.nbf:
            return "not-yet-valid"
        return None


@dataclass(frozen=True, slots=True)
class CertClaims:
    jws: Jws
    issuer: Identity
    subject: Identity
    public_key: IdentityPublicKey
    perms: tuple[Permission, ...]
    ca: bool
    window: Window

    @classmethod
    def parse(cls, data: bytes | str) -> CertClaims:
        jws = parse_jws(data)
        p = jws.payload
        jwk = p.get("publicKey")
        if not isinstance(jwk, dict):
            raise InvalidValue(reason="HS_CERT has no publicKey JWK")
        try:
            key = public_key_from_data(PublicKeyData.from_jwk(jwk), allow_sm2=True)
        except RegistryError as exc:
            raise InvalidValue(reason=f"HS_CERT publicKey: {exc}") from None
        perms = p.get("perms", [])
        if not isinstance(perms, list) or len(perms) > MAX_PERMS:
            raise InvalidValue(reason=f"HS_CERT perms must be a list of at most {MAX_PERMS}")
        ca = p.get("ca", True)  # hl-trust: "如不指定默认为 true"
        return cls(jws, _identity(p, "iss"), _identity(p, "sub"), key,
                   tuple(Permission.from_json(item) for item in perms), ca is not False,
                   Window(_int(p, "nbf"), _int(p, "exp")))


@dataclass(frozen=True, slots=True)
class SignatureClaims:
    jws: Jws
    issuer: Identity
    subject: str
    alg: str
    digests: dict[int, str]
    chain: tuple[Identity, ...]
    window: Window

    @classmethod
    def parse(cls, data: bytes | str) -> SignatureClaims:
        jws = parse_jws(data)
        p = jws.payload
        subject = p.get("sub")
        if not isinstance(subject, str):
            raise InvalidValue(reason="HS_SIGNATURE has no sub")
        block = p.get("digests")
        if not isinstance(block, dict) or not isinstance(block.get("alg"), str) \
                or not isinstance(block.get("digests"), list):
            raise InvalidValue(reason="HS_SIGNATURE digests must be {alg, digests: [...]}")
        if len(block["digests"]) > MAX_DIGESTS:
            raise InvalidValue(reason=f"HS_SIGNATURE has more than {MAX_DIGESTS} digests")
        digests: dict[int, str] = {}
        for item in block["digests"]:
            if not isinstance(item, dict) or not isinstance(item.get("index"), int) \
                    or not isinstance(item.get("digest"), str):
                raise InvalidValue(reason="a digest entry must be {index, digest}")
            digests[item["index"]] = item["digest"]
        chain = p.get("chain", [])
        if not isinstance(chain, list) or len(chain) > MAX_CHAIN_REFS \
                or not all(isinstance(ref, str) for ref in chain):
            raise InvalidValue(reason="HS_SIGNATURE chain must be a short list of index:handle")
        try:
            refs = tuple(Identity.parse(ref) for ref in chain)
        except RegistryError as exc:
            raise InvalidValue(reason=f"HS_SIGNATURE chain: {exc}") from None
        return cls(jws, _identity(p, "iss"), subject, block["alg"], digests, refs,
                   Window(_int(p, "nbf"), _int(p, "exp")))


def _times(days: float, now: int | None, not_before: int | None) -> dict[str, int]:
    issued = int(time.time()) if now is None else now
    start = issued if not_before is None else not_before
    return {"iat": issued, "nbf": start, "exp": start + int(days * 86400)}


def make_cert(issuer: Identity, issuer_key: rsa.RSAPrivateKey | SM2PrivateKey,
              subject: Identity, subject_key: IdentityPublicKey,
              perms: Sequence[Permission], *, ca: bool = False,
              days: float = 365, now: int | None = None, not_before: int | None = None,
              extra: dict[str, Any] | None = None) -> str:
    """An HS_CERT JWT: ``issuer`` vouches that ``subject`` holds ``subject_key``.

    :param extra: further claims (``org``, ``sn``, ``exts``).
    """
    jwk = public_key_data(subject_key).to_jwk()
    if jwk is None:
        raise InvalidValue(reason="the subject key has no JWK form")
    payload: dict[str, Any] = {"iss": str(issuer), "sub": str(subject),
                               **_times(days, now, not_before), "publicKey": jwk,
                               "perms": [p.to_json() for p in perms], "ca": ca}
    payload.update(extra or {})
    return sign_jws(payload, issuer_key)


def make_signature(handle: str, values: Iterable[HandleValue], signer: Identity,
                   key: rsa.RSAPrivateKey | SM2PrivateKey, *, chain: Sequence[Identity] = (),
                   days: float = 365, now: int | None = None,
                   not_before: int | None = None) -> str:
    """An HS_SIGNATURE JWT over ``values`` of ``handle`` (one SHA-256 digest per index)."""
    digests = [{"index": v.index, "digest": value_digest(v)}
               for v in sorted(values, key=lambda v: v.index)]
    payload: dict[str, Any] = {"iss": str(signer), "sub": handle,
                               **_times(days, now, not_before),
                               "digests": {"alg": DIGEST_ALG, "digests": digests}}
    if chain:
        payload["chain"] = [str(ref) for ref in chain]
    return sign_jws(payload, key)
