"""A small PKI for the trust tests: root (trust root handle) → CA → signer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import rsa

from idnode.auth.identity import Identity
from idnode.auth.keys import public_key_data
from idnode.identifiers.handle import handle_key
from idnode.identifiers.value import HandleValue
from idnode.trust import (
    Permission,
    TrustReport,
    TrustSettings,
    cert_value,
    make_cert,
    make_signature,
    signature_value,
    verify_record,
)

NOW = 1_800_000_000
DAY = 86400
ROOT_HANDLE = "88.111.1/0.0"
ROOT = Identity(ROOT_HANDLE, 300)
CA = Identity("88.111.1/CA", 300)
SIGNER = Identity("88.100.1/ADMIN", 300)
ITEM = "88.100.1/ITEM"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


ROOT_KEY, CA_KEY, SIGNER_KEY, OTHER_KEY = _key(), _key(), _key(), _key()


def pubkey_value(index: int, key: rsa.RSAPrivateKey) -> HandleValue:
    return HandleValue(index, "HS_PUBKEY", public_key_data(key).to_bytes())


@dataclass
class World:
    records: dict[str, list[HandleValue]] = field(default_factory=dict)

    def put(self, handle: str, values: Sequence[HandleValue]) -> None:
        self.records[handle_key(handle)] = list(values)

    def get(self, handle: str) -> list[HandleValue]:
        return self.records[handle_key(handle)]

    async def lookup(self, handle: str) -> Sequence[HandleValue] | None:
        return self.records.get(handle_key(handle))

    def verify(self, handle: str = ITEM, values: Sequence[HandleValue] | None = None,
               trust_root: str = ROOT_HANDLE, **settings: int) -> TrustReport:
        seen = self.get(handle) if values is None else values
        return asyncio.run(verify_record(handle, seen, self.lookup, trust_root,
                                         TrustSettings(now=settings.pop("now", NOW),
                                                       **settings)))


def item_values() -> list[HandleValue]:
    return [HandleValue(1, "URL", b"https://example.com/item"),
            HandleValue(2, "EMAIL", b"ops@example.com"),
            HandleValue(2000, "productName", "冲击扳手".encode())]


def world(*, chain: bool = True, signer_perms: str = "handlesUnderThisPrefix:88.100.1",
          ca_ca: bool = True, sig_days: float = 30, sig_start: int = NOW - DAY,
          ca_start: int = NOW - DAY) -> World:
    w = World()
    w.put(ROOT_HANDLE, [pubkey_value(300, ROOT_KEY)])
    w.put(CA.handle, [pubkey_value(300, CA_KEY), cert_value(400, make_cert(
        ROOT, ROOT_KEY, CA, CA_KEY.public_key(), [Permission.parse("derivedPrefixes:88.100")],
        ca=ca_ca, now=ca_start, days=365))])
    w.put(SIGNER.handle, [pubkey_value(300, SIGNER_KEY), cert_value(400, make_cert(
        CA, CA_KEY, SIGNER, SIGNER_KEY.public_key(), [Permission.parse(signer_perms)],
        now=NOW - DAY, days=365))])
    values = item_values()
    refs = [Identity(SIGNER.handle, 400), Identity(CA.handle, 400)] if chain else []
    jwt = make_signature(ITEM, values, SIGNER, SIGNER_KEY, chain=refs, now=sig_start,
                         days=sig_days)
    w.put(ITEM, [*values, signature_value(400, jwt)])
    return w
