"""Every scheme: valid and invalid examples, and round trips text → parsed → text."""

from __future__ import annotations

import pytest

from idnode.errors import InvalidHandle, InvalidIdentifier
from idnode.schemes import Parsed, default_registry, parse

REGISTRY = default_registry()

# (text, scheme, kind, canonical)
VALID = [
    # handles and 88 identifiers
    ("88.118.8/JXDY2106023", "handle", "IDIS enterprise identifier (企业标识)",
     "88.118.8/JXDY2106023"),
    ("88.118/abc", "handle", "IDIS secondary-node identifier (二级节点标识)", "88.118/abc"),
    ("0.na/88.118", "handle", "prefix handle (前缀标识)", "0.NA/88.118"),
    ("test/Doc", "handle", "handle", "TEST/Doc"),
    ("10.1000/182", "handle", "handle", "10.1000/182"),
    # GS1: element strings, bare keys, unbracketed, Digital Link, EPC
    ("(01)09521234543213(21)12345", "gs1", "GS1 GTIN-13", "(01)09521234543213(21)12345"),
    ("(21)12345 (01)09521234543213", "gs1", "GS1 GTIN-13", "(01)09521234543213(21)12345"),
    ("(01)09521234543213(17)261231(10)AB-1", "gs1", "GS1 GTIN-13",
     "(01)09521234543213(10)AB-1(17)261231"),
    ("6901234567892", "gs1", "GS1 GTIN-13", "(01)06901234567892"),
    ("96385074", "gs1", "GS1 GTIN-8", "(01)00000096385074"),
    ("614141123452", "gs1", "GS1 GTIN-12", "(01)00614141123452"),
    ("10614141123459", "gs1", "GS1 GTIN-14", "(01)10614141123459"),
    ("106141411234567897", "gs1", "GS1 SSCC", "(00)106141411234567897"),
    ("0109521234543213", "gs1", "GS1 GTIN-13", "(01)09521234543213"),
    ("0109521234543213\x1d21ABC", "gs1", "GS1 GTIN-13", "(01)09521234543213(21)ABC"),
    ("]C1010952123454321321AB<GS>10X", "gs1", "GS1 GTIN-13",
     "(01)09521234543213(10)X(21)AB"),
    ("]d2010952123454321321XYZ", "gs1", "GS1 GTIN-13", "(01)09521234543213(21)XYZ"),
    ("https://id.gs1.org/01/09521234543213/21/12345", "gs1", "GS1 GTIN-13",
     "(01)09521234543213(21)12345"),
    ("https://any.host/path/01/9521234543213/10/AB%2F1?17=261231&linkType=gs1:pip", "gs1",
     "GS1 GTIN-13", "(01)09521234543213(10)AB/1(17)261231"),
    ("https://id.gs1.org/00/106141411234567897", "gs1", "GS1 SSCC",
     "(00)106141411234567897"),
    ("(414)9521234000013(254)7", "gs1", "GS1 GLN", "(414)9521234000013(254)7"),
    ("(8003)00614141123452400", "gs1", "GS1 GRAI", "(8003)00614141123452400"),
    ("(8004)0614141ABC-1", "gs1", "GS1 GIAI", "(8004)0614141ABC-1"),
    ("urn:epc:id:sgtin:0614141.812345.12345", "gs1", "GS1 GTIN-14",
     "(01)80614141123458(21)12345"),
    ("urn:epc:tag:sgtin-96:1.0614141.812345.12345", "gs1", "GS1 GTIN-14",
     "(01)80614141123458(21)12345"),
    ("urn:epc:id:sscc:0614141.1234567890", "gs1", "GS1 SSCC", "(00)106141412345678908"),
    ("urn:epc:id:sgln:0614141.12345.0", "gs1", "GS1 GLN", "(414)0614141123452"),
    ("urn:epc:id:sgln:0614141.12345.7%2F1", "gs1", "GS1 GLN", "(414)0614141123452(254)7/1"),
    ("urn:epc:id:grai:0614141.12345.400", "gs1", "GS1 GRAI", "(8003)00614141123452400"),
    ("urn:epc:id:giai:0614141.12345400", "gs1", "GS1 GIAI", "(8004)061414112345400"),
    ("urn:epc:tag:giai-96:0.0614141.12345400", "gs1", "GS1 GIAI", "(8004)061414112345400"),
    # OIDs
    ("1.2.156.20009.3", "oid", "OID", "1.2.156.20009.3"),
    ("urn:oid:2.16.156.1", "oid", "OID", "2.16.156.1"),
    ("0.39", "oid", "OID", "0.39"),
    ("2.999.1", "oid", "OID", "2.999.1"),
    # Ecode
    ("ecode:10001123456789", "ecode", "Ecode V1", "10001123456789"),
    ("10001234567890123", "ecode", "Ecode V1", "10001234567890123"),
    ("ECODE:2000000011234", "ecode", "Ecode V2", "2000000011234"),
    ("30000000123ABC", "ecode", "Ecode V3", "30000000123ABC"),
    ("ecode:0(01)09521234543213", "ecode", "Ecode V0 (GS1 GTIN-13)", "0(01)09521234543213"),
    # VAA
    ("VAA1234ABCD0001", "vaa", "VAA code", "VAA1234ABCD0001"),
    ("25SVAA1234ABCD", "vaa", "VAA code", "VAA1234ABCD"),
    # DNS
    ("EXAMPLE.COM.", "dns", "DNS name", "example.com"),
    ("www.例子.中国", "dns", "DNS name", "www.xn--fsqu00a.xn--fiqs8s"),
    ("_dmarc.example.com.cn", "dns", "DNS name", "_dmarc.example.com.cn"),
    # the fallback
    ("ACME-42", "generic", "identifier of no known scheme", "ACME-42"),
    ("12345", "generic", "identifier of no known scheme", "12345"),
    ("vaa1234abcd", "generic", "identifier of no known scheme", "vaa1234abcd"),
]


@pytest.mark.parametrize(("text", "scheme", "kind", "canonical"), VALID)
def test_valid(text: str, scheme: str, kind: str, canonical: str) -> None:
    parsed = parse(text)
    assert (parsed.scheme, parsed.kind, parsed.canonical) == (scheme, kind, canonical)
    assert parsed.text == text.strip()
    # The canonical text reads back as the same identifier, in its own scheme.
    again = parse(parsed.canonical, scheme=scheme)
    assert again.canonical == parsed.canonical and again.kind == parsed.kind


@pytest.mark.parametrize(("text", "scheme", "kind", "canonical"), VALID)
def test_every_form_round_trips(text: str, scheme: str, kind: str, canonical: str) -> None:
    parsed = parse(text)
    forms = REGISTRY.scheme(scheme).forms
    rendered = 0
    for form in forms:
        try:
            out = REGISTRY.render(parsed, form)
        except InvalidIdentifier:
            assert form.startswith("epc")  # only EPC forms may be unavailable
            continue
        rendered += 1
        back = parse(out, scheme=scheme)
        assert back.canonical == parsed.canonical, (form, out)
        assert back.kind == parsed.kind
    assert rendered
    # Same form → an equal Parsed.
    same = parse(REGISTRY.render(parsed, _form_of(parsed)), scheme=scheme)
    assert same == parsed


def _form_of(parsed: Parsed) -> str | None:
    return {"digital link": "digital-link", "epc urn": "epc-urn", "epc tag uri": "epc-tag",
            "urn": "urn", "di": "di", "unicode": "unicode"}.get(parsed.form)


def test_gs1_renders_every_human_form() -> None:
    parsed = parse("urn:epc:tag:sgtin-96:1.0614141.812345.12345")
    assert REGISTRY.render(parsed) == "(01)80614141123458(21)12345"
    assert REGISTRY.render(parsed, "unbracketed") == "01806141411234582112345"
    assert REGISTRY.render(parsed, "digital-link") == \
        "https://id.gs1.org/01/80614141123458/21/12345"
    assert REGISTRY.render(parsed, "epc-urn") == "urn:epc:id:sgtin:0614141.812345.12345"
    assert REGISTRY.render(parsed, "epc-tag") == "urn:epc:tag:sgtin-96:1.0614141.812345.12345"
    # Separators after variable-length fields; reserved characters percent-encoded.
    lot = parse("(01)09521234543213(10)A/B(21)1&2")
    assert REGISTRY.render(lot, "unbracketed") == "0109521234543213" "10A/B\x1d" "211&2"
    assert REGISTRY.render(lot, "digital-link") == \
        "https://id.gs1.org/01/09521234543213/10/A%2FB/21/1%262"
    with pytest.raises(InvalidIdentifier, match=r"\(10\) would be lost"):
        REGISTRY.render(lot, "epc-urn")


def test_parsed_details() -> None:
    gtin = parse("(01)06901234567892(21)X1")
    assert gtin.fields["gtin"] == "06901234567892"
    assert gtin.fields["identity"] == "(01)06901234567892(21)X1"
    assert gtin.fields["dl_path"] == "01/06901234567892/21/X1"
    assert gtin.fields["company_prefix"] == "6901234"
    assert "GS1 prefix 690: GS1 China" in gtin.labels
    assert gtin.map_keys[0] == "690123456789" and gtin.map_keys[-1] == "6901"
    assert len(gtin.map_keys) == 9
    oid = parse("1.2.156.20009.3")
    assert any("1.2.156" in label and "中国" in label for label in oid.labels)
    assert oid.map_keys == ("1.2.156.20009.3", "1.2.156.20009", "1.2.156")
    assert any("2.16.156" in label for label in parse("2.16.156.7").labels)
    idis = parse("88.118.8/JXDY2106023")
    assert idis.fields["secondary"] == "118" and idis.fields["enterprise"] == "8"
    dns = parse("a.b.example.com")
    assert dns.map_keys == ("a.b.example.com", "b.example.com", "example.com", "com")[:3]
    vaa = parse("VAA1234ABCD0001")
    assert vaa.map_keys[0] == "1234ABCD000" and vaa.map_keys[-1] == "1234"
    v0 = parse("ecode:0(01)09521234543213")
    assert v0.map_scheme == "gs1" and v0.map_keys == parse("(01)09521234543213").map_keys


# (text, forced scheme or None, what the message says)
INVALID = [
    # GS1 check digits: the message names the right digit
    ("(01)09521234543210", None, "GTIN check digit should be 3, not 0"),
    ("6901234567890", None, "GTIN check digit should be 2, not 0"),
    ("https://id.gs1.org/01/09521234543219", None, "GTIN check digit should be 3, not 9"),
    ("106141411234567890", None, "SSCC check digit should be 7, not 0"),
    ("(414)9521234000012", None, "GLN check digit should be 3, not 2"),
    ("(8003)00614141123459400", None, "GRAI check digit should be 2, not 9"),
    ("urn:epc:id:sgtin:0614141.812345.12345", "oid", "arc 1"),
    # GS1 structure
    ("(10)ABC", None, "no GS1 key"),
    ("(01)09521234543213(414)9521234000013", None, "more than one GS1 key"),
    ("(01)09521234543213(21)A(21)B", None, "AI (21) appears more than once"),
    ("(01)12345", None, "pattern"),
    ("https://id.gs1.org/01/09521234543213/21/1/10/AB", None, "as qualifier"),
    ("urn:epc:id:sgtin:0614141.812345", None, "3 dot-separated parts"),
    ("urn:epc:id:sgtin:061414.812345.1", None, "not 13"),
    ("urn:epc:tag:sgtin-96:9.0614141.812345.12345", None, "filter value"),
    ("urn:epc:tag:sgtin-96:1.0614141.812345.0123", None, "without leading zeros"),
    ("urn:epc:tag:sgtin-96:1.0614141.812345.274877906944", None, "up to 274877906943"),
    ("urn:epc:id:foo:1", None, "not one of sgtin"),
    ("urn:epc:id:sgtin:0614141.812345.1%2", None, "not an escape"),
    ("hello", "gs1", "not a GS1 element string"),
    # handles and 88
    ("88..1/x", None, "empty segment"),
    ("88.118.8/" + "x" * 300, None, "IDIS allows at most 255"),
    ("88." + "1" * 70 + "/x", None, "IDIS allows at most 64"),
    ("88.1/", "handle", "empty suffix"),
    # OIDs
    ("3.1.2", None, "first arc is 3"),
    ("0.40.1", None, "second arc must be below 40, not 40"),
    ("1.40", None, "below 40"),
    ("1.02.3", None, "leading zero"),
    ("1.2." + "9" * 50, None, "at most 39"),
    ("urn:oid:1..2", None, "arc 2 is empty"),
    # Ecode (layout unconfirmed: messages say so)
    ("ecode:40001", None, "V0 to V3"),
    ("ecode:1abc", None, "digits only"),
    ("ecode:1000112345678901234567890123", None, "at most 25 characters"),
    ("ecode:200001", None, "NSI of 8 digits"),
    ("ecode:10001", None, "no master data code"),
    ("ecode:1000", "ecode", "unconfirmed"),
    ("ecode:0(01)09521234543210", None, "GTIN check digit should be 3"),
    # VAA
    ("VAA12", None, "too short"),
    ("VAA" + "A" * 60, None, "at most 50"),
    ("VAA12-34", None, "upper-case letters only"),
    ("XYZ123", "vaa", "starts with the issuing agency code VAA"),
    # DNS
    ("a..b.com", None, "label 2 is empty"),
    ("-a.com", None, "not first or last"),
    ("x" * 64 + ".com", None, "64 characters; DNS allows 63"),
    (".".join(["abcdefghij"] * 24) + ".com", None, "DNS allows 253"),
    # the fallback refuses what is no identifier
    ("foo bar", None, "white space"),
    ("https://example.com/x", None, "not a GS1 Digital Link URI"),
    ("", None, "empty"),
    ("x" * 3000, None, "longer than 2048"),
    ("abc", "nosuch", "unknown identifier scheme 'nosuch'"),
]


@pytest.mark.parametrize(("text", "scheme", "message"), INVALID)
def test_invalid(text: str, scheme: str | None, message: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        parse(text, scheme=scheme)
    assert message in str(caught.value)
    assert caught.value.response_code == 102
    assert isinstance(caught.value, InvalidHandle)


def test_messages_name_the_scheme() -> None:
    with pytest.raises(InvalidIdentifier, match=r"^invalid GS1 identifier '\(01\)09521"):
        parse("(01)09521234543210")
    with pytest.raises(InvalidIdentifier, match=r"^invalid OID \(对象标识符\) identifier"):
        parse("3.1")
    with pytest.raises(InvalidIdentifier, match=r"Ecode \(物品编码\)"):
        parse("ecode:9")


def test_registry_order_and_registration() -> None:
    assert REGISTRY.names == ("handle", "gs1", "oid", "ecode", "vaa", "dns", "generic")
    with pytest.raises(ValueError, match="registered already"):
        REGISTRY.register(REGISTRY.scheme("oid"))
    # Bare GS1 key lengths stay GS1 (a typo reports the check digit, not an Ecode).
    with pytest.raises(InvalidIdentifier, match="GTIN check digit should be 8, not 9"):
        parse("1000112345679")
    assert parse("1000112345679", scheme="ecode").kind == "Ecode V1"
    with pytest.raises(InvalidIdentifier, match="no form 'xml'"):
        REGISTRY.render(parse("1.2.3"), "xml")
