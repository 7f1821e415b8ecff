"""Client authenticators: who the client is and how it answers a challenge (§8.1).

An :class:`Authenticator` names an identity (``index:handle``), the ``authType`` it sends in
OC 200 and signs ``nonce ‖ request digest``. The signing itself is in :mod:`idnode.auth`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Protocol

from idnode.auth.challenge import (
    DerivedKeyCache,
    answer_with_private_key,
    answer_with_secret,
    secret_form_for_version,
    signature_hash_for_version,
)
from idnode.auth.identity import Identity
from idnode.auth.keys import IdentityKey, Secret
from idnode.protocol.digest import RequestDigest

__all__ = ["Authenticator", "PublicKeyAuth", "SecretKeyAuth"]


class Authenticator(Protocol):
    """Answers challenges for one identity."""

    @property
    def identity(self) -> Identity: ...

    @property
    def auth_type(self) -> str:
        """``HS_PUBKEY`` or ``HS_SECKEY``."""
        ...

    def sign_challenge(self, nonce: bytes, digest: RequestDigest,
                       version: tuple[int, int]) -> bytes:
        """The ``signedResponse`` of OC 200.

        :param version: the lower of the challenge's message and suggested versions.
        """
        ...


@dataclass(frozen=True, slots=True)
class PublicKeyAuth:
    """Authenticate as ``identity`` with an RSA, DSA or SM2 private key (HS_PUBKEY).

    :ivar hash_alg: the signature hash; by default the one CNRI's client picks for the
        server's protocol version (SHA-256 from 2.7 on), SM3 for an SM2 key.

    An SM2 key answers as ``teleinfo-dev/id-pointer-sdk`` does: SM2 over SM3(nonce ‖ digest)
    with the identity handle as the SM2 user ID (:mod:`idnode.auth.challenge`).
    """

    identity: Identity
    private_key: IdentityKey = field(repr=False)
    hash_alg: str | None = None

    @property
    def auth_type(self) -> str:
        return "HS_PUBKEY"

    def sign_challenge(self, nonce: bytes, digest: RequestDigest,
                       version: tuple[int, int]) -> bytes:
        hash_alg = self.hash_alg or signature_hash_for_version(self.private_key, *version)
        # Signed is nonce ‖ the bare digest bytes, without the hash-type byte (§8.1).
        return answer_with_private_key(self.private_key, nonce, digest.digest,
                                       hash_alg=hash_alg, identity=self.identity.handle)


@dataclass(frozen=True, slots=True)
class SecretKeyAuth:
    """Authenticate as ``identity`` with a shared secret (HS_SECKEY).

    The answer's form (PBKDF2-HMAC-SHA1, SHA-1 or MD5) follows the protocol version the
    server speaks, as CNRI clients do.
    """

    identity: Identity
    secret: bytes | Secret = field(repr=False)
    #: PBKDF2 salt kept for this authenticator's lifetime (random per instance), so the key
    #: is derived once rather than for every answer; each answer still has its own MAC.
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(16), repr=False,
                        compare=False)
    _derived: DerivedKeyCache = field(default_factory=lambda: DerivedKeyCache(4),
                                      repr=False, compare=False)

    @property
    def auth_type(self) -> str:
        return "HS_SECKEY"

    def sign_challenge(self, nonce: bytes, digest: RequestDigest,
                       version: tuple[int, int]) -> bytes:
        form = secret_form_for_version(*version)
        return answer_with_secret(self.secret, nonce, digest.digest, form=form,
                                  salt=self.salt, cache=self._derived)
