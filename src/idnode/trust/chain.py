"""From a signer's identity up to a trust root: which key signed, and may it sign this handle.

Links are found as CNRI's ChainBuilder does: the HS_SIGNATURE's ``chain`` names the HS_CERT
for each step (first one authorizes the signer); without it, the HS_CERT values of the
identity's own handle whose ``sub`` is that identity. A step ends at an identity of the
trust root handle: an HS_PUBKEY there (``index:root``) or a self-signed HS_CERT there.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from idnode.auth.identity import Identity
from idnode.auth.keys import IdentityPublicKey, public_key_from_bytes
from idnode.errors import RegistryError
from idnode.identifiers.handle import handle_key
from idnode.identifiers.value import HandleValue
from idnode.schemes.mapping import Lookup
from idnode.trust.claims import HS_CERT, CertClaims

__all__ = ["ChainResult", "Records", "TrustSettings", "Untrusted", "resolve_chain"]

_CERTS_PER_HANDLE = 16  # HS_CERT values looked at in one record


@dataclass(frozen=True, slots=True)
class TrustSettings:
    #: HS_CERTs allowed between the signer and a root identity (0: only root keys sign).
    max_chain: int = 4
    #: HS_SIGNATURE values verified per record; more are reported as not checked.
    max_signatures: int = 16
    now: int | None = None

    def clock(self) -> int:
        return int(time.time()) if self.now is None else self.now


class Untrusted(Exception):
    """The chain does not lead to the trust root; the message says why."""


def _key(identity: Identity) -> str:
    return f"{identity.index}:{identity.key}"


class Records:
    """A lookup with a per-verification cache (chains share certificates)."""

    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup
        self._seen: dict[str, Sequence[HandleValue] | None] = {}

    async def get(self, handle: str) -> Sequence[HandleValue] | None:
        key = handle_key(handle)
        if key not in self._seen:
            try:
                self._seen[key] = await self._lookup(handle)
            except RegistryError as exc:
                raise Untrusted(f"cannot read {handle}: {exc}") from None
        return self._seen[key]


async def root_keys(records: Records, trust_root: str, now: int
                    ) -> dict[str, IdentityPublicKey]:
    """The root identities of ``trust_root`` and their keys."""
    values = await records.get(trust_root)
    if values is None:
        raise Untrusted(f"trust root {trust_root} not found")
    roots: dict[str, IdentityPublicKey] = {}
    for value in values:
        if value.type == "HS_PUBKEY":
            try:
                roots[_key(Identity(trust_root, value.index))] = public_key_from_bytes(
                    value.data, allow_sm2=True)
            except RegistryError:
                continue
        elif value.type == HS_CERT:
            try:
                cert = CertClaims.parse(value.data)
            except RegistryError:
                continue
            # A root cert is self-signed and vouches for itself only inside its window.
            if _key(cert.issuer) == _key(cert.subject) and cert.jws.verify(cert.public_key) \
                    and cert.window.problem(now) is None:
                roots[_key(cert.subject)] = cert.public_key
    if not roots:
        raise Untrusted(f"trust root {trust_root} holds no usable HS_PUBKEY or root HS_CERT")
    return roots


@dataclass(frozen=True, slots=True)
class ChainResult:
    key: IdentityPublicKey
    root: str
    certs: tuple[str, ...] = field(default=())


async def _cert_at(records: Records, ref: Identity, subject: Identity) -> CertClaims:
    values = await records.get(ref.handle)
    value = next((v for v in values or () if v.index == ref.index), None)
    if value is None or value.type != HS_CERT:
        raise Untrusted(f"no HS_CERT at {ref}")
    try:
        cert = CertClaims.parse(value.data)
    except RegistryError as exc:
        raise Untrusted(f"HS_CERT {ref} is malformed: {exc}") from None
    if _key(cert.subject) != _key(subject):
        raise Untrusted(f"HS_CERT {ref} is for {cert.subject}, not {subject}")
    return cert


async def _find_cert(records: Records, subject: Identity, now: int
                     ) -> tuple[Identity, CertClaims]:
    found: list[tuple[Identity, CertClaims]] = []
    values = [v for v in await records.get(subject.handle) or () if v.type == HS_CERT]
    for value in values[:_CERTS_PER_HANDLE]:
        try:
            cert = CertClaims.parse(value.data)
        except RegistryError:
            continue
        if _key(cert.subject) == _key(subject):
            found.append((Identity(subject.handle, value.index), cert))
    if not found:
        raise Untrusted(f"no HS_CERT for {subject} (not a root identity either)")
    # Prefer a certificate valid now (a renewed one next to an expired one).
    return next((f for f in found if f[1].window.problem(now) is None), found[0])


async def resolve_chain(records: Records, signer: Identity, target: str,
                        explicit: Sequence[Identity], trust_root: str,
                        settings: TrustSettings) -> ChainResult:
    """The key that must verify ``signer``'s signature over ``target``.

    :raises Untrusted: no path to a root identity, a link that does not verify, is outside
        its window, lacks the permission for ``target``, or a too-long chain.
    """
    now = settings.clock()
    roots = await root_keys(records, trust_root, now)
    links: list[tuple[Identity, CertClaims]] = []
    pending = list(explicit)
    current = signer
    while _key(current) not in roots:
        if len(links) >= settings.max_chain:
            raise Untrusted(f"chain longer than {settings.max_chain} certificates")
        if pending:
            ref = pending.pop(0)
            links.append((ref, await _cert_at(records, ref, current)))
        else:
            links.append(await _find_cert(records, current, now))
        current = links[-1][1].issuer
    key = roots[_key(current)]
    for position in range(len(links) - 1, -1, -1):  # from the root down to the signer
        ref, cert = links[position]
        if not cert.jws.verify(key):
            raise Untrusted(f"HS_CERT {ref} does not verify with {cert.issuer}'s key "
                            "(tampered, or issued by another key)")
        problem = cert.window.problem(now)
        if problem is not None:
            raise Untrusted(f"HS_CERT {ref} is {problem}")
        if not any(p.covers(target) for p in cert.perms):
            raise Untrusted(f"HS_CERT {ref} perms "
                            f"({', '.join(map(str, cert.perms)) or 'none'}) do not cover "
                            f"{target}")
        if position > 0 and not cert.ca:
            raise Untrusted(f"HS_CERT {ref} is not a CA certificate but issued "
                            f"{links[position - 1][0]}")
        key = cert.public_key
    return ChainResult(key, str(current), tuple(str(ref) for ref, _ in links))
