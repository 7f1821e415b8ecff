"""Verifying HS_SIGNATURE through HS_CERT chains: each verdict and what it reports."""

from __future__ import annotations

import json
from dataclasses import replace

from idnode.identifiers.value import HandleValue
from idnode.trust import SignatureReport, Verdict
from idnode.trust.jws import b64url_decode, b64url_encode, parse_jws
from trust.pki import CA, DAY, ITEM, NOW, OTHER_KEY, ROOT_HANDLE, pubkey_value, world


def _checks(report_sig: SignatureReport) -> dict[str, bool | None]:
    return {c.name: c.ok for c in report_sig.checks}


def test_valid_signature_through_explicit_chain() -> None:
    report = world().verify()
    assert report.verdict is Verdict.VALID, report.format()
    sig = report.signatures[0]
    assert sig.verified == (1, 2, 2000)
    assert sig.chain == ("400:88.100.1/ADMIN", "400:88.111.1/CA")
    assert _checks(sig) == {"digests": True, "window": True, "chain": True, "root": True,
                            "signature": True}
    assert report.unsigned == ()
    assert "valid" in report.format()
    assert json.loads(json.dumps(report.to_json()))["verdict"] == "valid"


def test_chain_is_discovered_without_chain_claim() -> None:
    report = world(chain=False).verify()
    assert report.verdict is Verdict.VALID, report.format()
    assert report.signatures[0].chain == ("400:88.100.1/ADMIN", "400:88.111.1/CA")


def test_value_changed_after_signing_is_tampered_with_its_index() -> None:
    w = world()
    w.put(ITEM, [HandleValue(2, "EMAIL", b"evil@example.com") if v.index == 2 else v
                 for v in w.get(ITEM)])
    report = w.verify()
    assert report.verdict is Verdict.TAMPERED
    assert report.signatures[0].tampered == (2,)
    assert "2" in report.reason
    assert _checks(report.signatures[0])["digests"] is False


def test_changed_permissions_or_ttl_also_count_but_timestamp_does_not() -> None:
    w = world()
    w.put(ITEM, [replace(v, timestamp=NOW) if v.index == 1 else
                 replace(v, ttl=1) if v.index == 2000 else v for v in w.get(ITEM)])
    report = w.verify()
    assert report.verdict is Verdict.TAMPERED
    assert report.signatures[0].tampered == (2000,)
    assert 1 in report.signatures[0].verified


def test_forged_signature_payload_is_tampered() -> None:
    w = world()
    sig = w.get(ITEM)[-1]
    head, body, signature = sig.data.decode().split(".")
    payload = json.loads(b64url_decode(body))
    payload["exp"] += 100 * DAY
    forged = ".".join([head, b64url_encode(json.dumps(payload).encode()), signature])
    w.put(ITEM, [*w.get(ITEM)[:-1], HandleValue(400, "HS_SIGNATURE", forged.encode())])
    report = w.verify()
    assert report.verdict is Verdict.TAMPERED
    assert report.signatures[0].tampered == (400,)
    assert _checks(report.signatures[0])["signature"] is False


def test_expired_and_not_yet_valid() -> None:
    assert world().verify(now=NOW + 31 * DAY).verdict is Verdict.EXPIRED
    report = world(sig_start=NOW + DAY).verify()
    assert report.verdict is Verdict.NOT_YET_VALID
    assert _checks(report.signatures[0])["window"] is False


def test_partly_visible_record_verifies_the_indexes_it_shows() -> None:
    w = world()
    visible = [v for v in w.get(ITEM) if v.index != 2]
    report = w.verify(values=visible)
    assert report.verdict is Verdict.VALID, report.format()
    assert report.signatures[0].verified == (1, 2000)
    assert report.signatures[0].not_visible == (2,)


def test_only_the_signature_visible_is_unsigned_not_valid() -> None:
    w = world()
    assert w.verify(values=[w.get(ITEM)[-1]]).verdict is Verdict.UNSIGNED


def test_record_without_signature_is_unsigned() -> None:
    w = world()
    report = w.verify(values=w.get(ITEM)[:-1])
    assert report.verdict is Verdict.UNSIGNED
    assert report.unsigned == (1, 2, 2000)


def test_unknown_root_is_untrusted() -> None:
    w = world()
    w.put(ROOT_HANDLE, [pubkey_value(300, OTHER_KEY)])
    report = w.verify()
    assert report.verdict is Verdict.UNTRUSTED
    assert "does not verify" in report.reason
    w.put("88.999/0.0", [pubkey_value(300, OTHER_KEY)])
    report = w.verify(trust_root="88.999/0.0")
    assert report.verdict is Verdict.UNTRUSTED
    assert w.verify(trust_root="88.999/NONE").verdict is Verdict.UNTRUSTED


def test_perms_not_covering_the_handle_are_untrusted() -> None:
    report = world(signer_perms="thisHandle:88.100.1/OTHER").verify()
    assert report.verdict is Verdict.UNTRUSTED
    assert "do not cover 88.100.1/ITEM" in report.reason


def test_chain_longer_than_the_limit_is_untrusted() -> None:
    report = world().verify(max_chain=1)
    assert report.verdict is Verdict.UNTRUSTED
    assert "longer than 1" in report.reason
    assert world().verify(max_chain=2).verdict is Verdict.VALID


def test_tampered_certificate_in_the_chain_is_untrusted() -> None:
    w = world()
    cert = w.get(CA.handle)[1]
    head, body, signature = cert.data.decode().split(".")
    payload = json.loads(b64url_decode(body))
    payload["perms"] = [{"perm": "everything"}]
    forged = ".".join([head, b64url_encode(json.dumps(payload).encode()), signature])
    w.put(CA.handle, [w.get(CA.handle)[0], HandleValue(400, "HS_CERT", forged.encode())])
    report = w.verify()
    assert report.verdict is Verdict.UNTRUSTED
    assert "400:88.111.1/CA does not verify" in report.reason


def test_non_ca_intermediate_and_expired_certificate_are_untrusted() -> None:
    assert "not a CA" in world(ca_ca=False).verify().reason
    report = world(ca_start=NOW - 400 * DAY).verify()
    assert report.verdict is Verdict.UNTRUSTED
    assert "expired" in report.reason


def test_root_may_be_a_self_signed_cert() -> None:
    from idnode.trust import Permission, cert_value, make_cert
    from trust.pki import ROOT, ROOT_KEY
    w = world()
    w.put(ROOT_HANDLE, [cert_value(400, make_cert(ROOT, ROOT_KEY, ROOT,
                                                  ROOT_KEY.public_key(),
                                                  [Permission("everything")], ca=True,
                                                  now=NOW - DAY))])
    assert w.verify().verdict is Verdict.VALID


def test_oversized_or_garbled_jwt_is_refused_unread() -> None:
    w = world()
    big = HandleValue(401, "HS_SIGNATURE", b"a" * (64 * 1024 + 1))
    junk = HandleValue(402, "HS_SIGNATURE", b"not.a-jwt")
    report = w.verify(values=[*w.get(ITEM), big, junk])
    assert report.verdict is Verdict.TAMPERED
    assert [s.verdict for s in report.signatures] == [Verdict.VALID, Verdict.TAMPERED,
                                                      Verdict.TAMPERED]
    assert "larger than" in report.signatures[1].reason


def test_jws_roundtrip_header() -> None:
    jws = parse_jws(world().get(ITEM)[-1].data)
    assert jws.header == {"alg": "RS256"}
    assert set(jws.payload) >= {"iss", "sub", "iat", "nbf", "exp", "digests", "chain"}
    assert jws.payload["digests"]["alg"] == "SHA-256"
