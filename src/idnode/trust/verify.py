"""Verifying a record's HS_SIGNATURE values (hl-trust's five checks, each reported).

Checks per signature: ``digests`` (each signed index that is visible), ``window`` (nbf/exp),
``chain`` (HS_CERTs up to a root identity, perms covering the handle), ``root`` (the chain
ends in the trust root handle) and ``signature`` (the JWT verifies with the signer's key).
Signed indexes the reader cannot see are "not visible", not failures: that is why digests are
per index.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from idnode.errors import RegistryError
from idnode.identifiers.handle import handle_key
from idnode.identifiers.value import HandleValue
from idnode.schemes.mapping import Lookup
from idnode.trust.chain import Records, TrustSettings, Untrusted, resolve_chain
from idnode.trust.claims import HS_SIGNATURE, SignatureClaims
from idnode.trust.digests import canonical_alg, value_digest

__all__ = ["DEFAULT_TRUST_ROOT", "Check", "SignatureReport", "TrustReport", "Verdict",
           "verify_record"]

DEFAULT_TRUST_ROOT: str = "0.0/0.0"  # CNRI's; IDIS deployments use e.g. 88.111.1/0.0


class Verdict(enum.StrEnum):
    VALID = "valid"
    TAMPERED = "tampered"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    UNTRUSTED = "untrusted"
    UNSIGNED = "unsigned"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool | None  # None: not checked (an earlier failure made it meaningless)
    detail: str = ""


@dataclass(slots=True)
class SignatureReport:
    index: int
    verdict: Verdict
    reason: str
    signer: str = ""
    checks: list[Check] = field(default_factory=list)
    verified: tuple[int, ...] = ()
    tampered: tuple[int, ...] = ()
    not_visible: tuple[int, ...] = ()
    chain: tuple[str, ...] = ()


@dataclass(slots=True)
class TrustReport:
    handle: str
    verdict: Verdict
    reason: str
    signatures: list[SignatureReport]
    unsigned: tuple[int, ...]  # visible values no valid signature covers

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID

    def to_json(self) -> dict[str, Any]:
        return {"handle": self.handle, "verdict": str(self.verdict), "reason": self.reason,
                "unsigned": list(self.unsigned),
                "signatures": [{"index": s.index, "verdict": str(s.verdict),
                                "reason": s.reason, "signer": s.signer,
                                "verified": list(s.verified), "tampered": list(s.tampered),
                                "notVisible": list(s.not_visible), "chain": list(s.chain),
                                "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail}
                                           for c in s.checks]}
                               for s in self.signatures]}

    def format(self) -> str:
        lines = [f"trust       {self.verdict}: {self.reason}"]
        for sig in self.signatures:
            lines.append(f"  HS_SIGNATURE {sig.index} by {sig.signer or '?'}: {sig.verdict}")
            for check in sig.checks:
                mark = {True: "ok", False: "FAIL", None: "-"}[check.ok]
                lines.append(f"    {check.name:<10} {mark:<5} {check.detail}".rstrip())
        if self.unsigned and self.signatures:
            lines.append(f"  not covered by a valid signature: "
                         f"{', '.join(map(str, self.unsigned))}")
        return "\n".join(lines)


def _digest_check(claims: SignatureClaims, values: Sequence[HandleValue],
                  report: SignatureReport) -> None:
    if canonical_alg(claims.alg) is None:
        report.checks.append(Check("digests", False, f"unsupported alg {claims.alg!r}"))
        report.tampered = tuple(claims.digests)
        return
    by_index = {v.index: v for v in values}
    verified, tampered, hidden = [], [], []
    for index, digest in sorted(claims.digests.items()):
        value = by_index.get(index)
        if value is None:
            hidden.append(index)
        elif value_digest(value, claims.alg) == digest:
            verified.append(index)
        else:
            tampered.append(index)
    report.verified, report.tampered, report.not_visible = (
        tuple(verified), tuple(tampered), tuple(hidden))
    detail = f"{claims.alg}: verified {_list(verified)}"
    if tampered:
        detail += f"; CHANGED {_list(tampered)}"
    if hidden:
        detail += f"; not visible {_list(hidden)}"
    report.checks.append(Check("digests", not tampered, detail))


def _when(stamp: int | None) -> str:
    return "-" if stamp is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


def _list(indexes: Sequence[int]) -> str:
    return ", ".join(map(str, indexes)) or "none"


async def _verify_one(handle: str, sig: HandleValue, values: Sequence[HandleValue],
                      records: Records, trust_root: str, settings: TrustSettings
                      ) -> SignatureReport:
    report = SignatureReport(sig.index, Verdict.VALID, "")
    try:
        claims = SignatureClaims.parse(sig.data)
    except RegistryError as exc:
        report.verdict, report.reason = Verdict.TAMPERED, f"HS_SIGNATURE {sig.index}: {exc}"
        report.tampered = (sig.index,)
        return report
    report.signer = str(claims.issuer)
    if handle_key(claims.subject) != handle_key(handle):
        report.verdict = Verdict.TAMPERED
        report.reason = f"HS_SIGNATURE {sig.index} signs {claims.subject}, not {handle}"
        report.tampered = (sig.index,)
        return report
    _digest_check(claims, values, report)
    problem = claims.window.problem(settings.clock())
    report.checks.append(Check("window", problem is None,
                               f"{_when(claims.window.nbf)} to {_when(claims.window.exp)}"
                               + (f": {problem}" if problem else "")))
    try:
        chain = await resolve_chain(records, claims.issuer, handle, claims.chain, trust_root,
                                    settings)
    except Untrusted as exc:
        report.checks += [Check("chain", False, str(exc)), Check("root", None),
                          Check("signature", None, "no trusted key to check it with")]
        untrusted = str(exc)
        signature_ok: bool | None = None
    else:
        report.chain = chain.certs
        report.checks += [Check("chain", True, " → ".join(chain.certs) or "signed by a root "
                                                                            "key"),
                          Check("root", True, f"{chain.root} in {trust_root}")]
        signature_ok = claims.jws.verify(chain.key)
        report.checks.append(Check("signature", signature_ok, "RS256"))
        untrusted = ""
    _decide(report, problem, signature_ok, untrusted)
    return report


def _decide(report: SignatureReport, problem: str | None, signature_ok: bool | None,
            untrusted: str) -> None:
    """The verdict, most serious first: changed data, a forged JWT, window, chain."""
    if report.tampered:
        report.verdict = Verdict.TAMPERED
        report.reason = f"value(s) {_list(report.tampered)} changed after signing"
    elif signature_ok is False:
        report.verdict, report.tampered = Verdict.TAMPERED, (report.index,)
        report.reason = f"HS_SIGNATURE {report.index} does not verify with the signer's key"
    elif problem is not None:
        report.verdict = Verdict(problem)
        report.reason = f"HS_SIGNATURE {report.index} is {problem}"
    elif untrusted:
        report.verdict, report.reason = Verdict.UNTRUSTED, untrusted
    elif not report.verified:
        report.verdict = Verdict.UNSIGNED
        report.reason = "none of the signed values is visible"
    else:
        report.reason = f"{len(report.verified)} value(s) signed by {report.signer}"


async def verify_record(handle: str, values: Sequence[HandleValue], lookup: Lookup,
                        trust_root: str = DEFAULT_TRUST_ROOT,
                        settings: TrustSettings | None = None) -> TrustReport:
    """Verify every HS_SIGNATURE among ``values`` (the record as the reader received it).

    ``lookup`` reads the HS_CERT chain and the trust root (:mod:`idnode.schemes.lookups`
    adapts a resolver, a client or a store). The verdict is valid only if no signature fails
    and at least one covers a visible value.
    """
    settings = settings or TrustSettings()
    records = Records(lookup)
    signatures = sorted((v for v in values if v.type == HS_SIGNATURE), key=lambda v: v.index)
    reports = [await _verify_one(handle, sig, values, records, trust_root, settings)
               for sig in signatures[:settings.max_signatures]]
    covered = {i for r in reports if r.verdict is Verdict.VALID for i in r.verified}
    unsigned = tuple(sorted(v.index for v in values
                            if v.type != HS_SIGNATURE and v.index not in covered))
    failed = [r for r in reports if r.verdict not in (Verdict.VALID, Verdict.UNSIGNED)]
    if not reports:
        return TrustReport(handle, Verdict.UNSIGNED, "no HS_SIGNATURE value", [], unsigned)
    if failed:
        return TrustReport(handle, failed[0].verdict, failed[0].reason, reports, unsigned)
    if covered:
        signers = sorted({r.signer for r in reports if r.verdict is Verdict.VALID})
        return TrustReport(handle, Verdict.VALID,
                           f"{len(covered)} value(s) verified, signed by {', '.join(signers)}",
                           reports, unsigned)
    return TrustReport(handle, Verdict.UNSIGNED, reports[0].reason, reports, unsigned)
