"""10320/LOC: parsing limits, the XML form and the Handle.Net selection rules."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from idnode.errors import InvalidValue
from idnode.identifiers.values import TextData, decode_data
from idnode.identifiers.values.loc import (
    DEFAULT_CHOOSEBY,
    MAX_LOC_BYTES,
    MAX_LOCATIONS,
    Location,
    LocationList,
    parse_locations,
    parse_locatt,
    select_location,
)

SAMPLE = (b'<locations chooseby="locatt,country,weighted">'
          b'<location href="http://a" weight="1" id="0" />'
          b'<location href="http://b" weight="0" view="json" />'
          b'</locations>')


def locs(*specs: tuple[str, float, dict[str, str]], chooseby: str | None = None) -> bytes:
    attr = f' chooseby="{chooseby}"' if chooseby is not None else ""
    body = "".join(
        f'<location href="{href}" weight="{weight}"'
        + "".join(f' {k}="{v}"' for k, v in extra.items()) + " />"
        for href, weight, extra in specs)
    return f"<locations{attr}>{body}</locations>".encode()


def pick(parsed: LocationList, rng: random.Random,
         locatt: dict[str, str | None] | None = None) -> str:
    chosen = select_location(parsed, locatt=locatt, rng=rng)
    assert chosen is not None
    return chosen.href


# -- parsing ---------------------------------------------------------------------------------

def test_parse_sample() -> None:
    parsed = parse_locations(SAMPLE)
    assert parsed.chooseby == ("locatt", "country", "weighted")
    assert parsed.locations == (
        Location("http://a", 1.0, (("id", "0"),)),
        Location("http://b", 0.0, (("view", "json"),)),
    )
    assert parsed.locations[1].attribute("view") == "json"
    assert parsed.locations[1].attribute("id") is None


def test_defaults_missing_weight_and_chooseby() -> None:
    parsed = parse_locations(b'<locations><location href="http://x"/></locations>')
    assert parsed.chooseby == DEFAULT_CHOOSEBY
    assert parsed.locations[0].weight == 1.0


def test_choose_by_underscore_spelling_and_case() -> None:
    parsed = parse_locations(b'<locations choose_by=" Weighted , locatt,"><location href="h:x"/>'
                             b"</locations>")
    assert parsed.chooseby == ("weighted", "locatt")


def test_to_xml_round_trip() -> None:
    parsed = parse_locations(SAMPLE)
    xml = parsed.to_xml()
    assert xml == ('<locations chooseby="locatt,country,weighted">'
                   '<location href="http://a" weight="1" id="0" />'
                   '<location href="http://b" weight="0" view="json" /></locations>')
    assert parse_locations(parsed.to_bytes()) == parsed


def test_to_xml_escapes_attributes() -> None:
    loc = LocationList((Location('http://a/?x=1&y="<2>"', 0.5),))
    assert parse_locations(loc.to_bytes()) == loc
    assert "&amp;" in loc.to_xml()


def test_unknown_children_are_ignored() -> None:
    parsed = parse_locations(b'<locations><note>hi</note><location href="http://a"/>'
                             b"</locations>")
    assert [loc.href for loc in parsed.locations] == ["http://a"]


@pytest.mark.parametrize(("data", "reason"), [
    (b'<!DOCTYPE locations [<!ENTITY a "aaaa">]><locations/>', "DOCTYPE"),
    (b'<?xml version="1.0"?>\n<!doctype x><locations/>', "DOCTYPE"),
    (b'<!ENTITY x "y"><locations/>', "ENTITY"),
    (b"<locations><location href='http://a'></locations>", "well-formed"),
    (b"not xml at all", "well-formed"),
    (b"", "well-formed"),
    (b"<places/>", "expected <locations>"),
    (b"<locations><location weight='1'/></locations>", "no href"),
    (b"<locations><location href='http://a' weight='heavy'/></locations>", "not a number"),
    (b"<locations><location href='http://a' weight='-1'/></locations>", ">= 0"),
    (b"<locations><location href='http://a' weight='nan'/></locations>", ">= 0"),
    (b"\xff\xfe<\x00l\x00", "UTF-8"),
])
def test_parse_errors(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidValue, match="10320/LOC") as info:
        parse_locations(data)
    assert reason in str(info.value)


def test_utf16_doctype_cannot_slip_past_the_check() -> None:
    doc = '<!DOCTYPE x [<!ENTITY a "b">]><locations/>'.encode("utf-16")
    with pytest.raises(InvalidValue, match="UTF-8"):
        parse_locations(doc)


def test_too_many_locations() -> None:
    ok = locs(*[(f"http://h/{i}", 1, {}) for i in range(MAX_LOCATIONS)])
    assert len(parse_locations(ok).locations) == MAX_LOCATIONS
    too_many = locs(*[(f"http://h/{i}", 1, {}) for i in range(MAX_LOCATIONS + 1)])
    with pytest.raises(InvalidValue, match="limit 256"):
        parse_locations(too_many)
    with pytest.raises(InvalidValue):
        LocationList(tuple(Location(f"http://h/{i}") for i in range(MAX_LOCATIONS + 1)))


def test_too_large() -> None:
    big = b"<locations>" + b" " * MAX_LOC_BYTES + b"</locations>"
    with pytest.raises(InvalidValue, match="bytes"):
        parse_locations(big)


def test_location_validates() -> None:
    with pytest.raises(InvalidValue):
        Location("")
    with pytest.raises(InvalidValue):
        Location("http://a", -0.5)
    with pytest.raises(InvalidValue):
        Location("http://a", float("inf"))


def test_registry_keeps_loc_as_lenient_text() -> None:
    # A stored value that is not valid LOC XML still loads (the proxy then ignores it).
    assert decode_data("10320/LOC", b"<broken") == TextData("<broken")


# -- locatt parameter ------------------------------------------------------------------------

def test_parse_locatt() -> None:
    assert parse_locatt(["view:json", "country:gb,lang:en", "mirror", ":x", ""]) == {
        "view": "json", "country": "gb", "lang": "en", "mirror": None}


# -- selection -------------------------------------------------------------------------------

def test_empty_list_selects_nothing() -> None:
    assert select_location(LocationList(()), locatt=None, rng=random.Random(1)) is None


def test_single_location() -> None:
    only = LocationList((Location("http://only", 0.0),))
    assert select_location(only, locatt=None, rng=random.Random(1)) == only.locations[0]


def test_weighted_distribution_and_zero_weight_never_chosen() -> None:
    parsed = parse_locations(locs(("http://a", 3, {}), ("http://b", 1, {}),
                                  ("http://zero", 0, {})))
    rng = random.Random(20260101)
    counts = Counter(pick(parsed, rng) for _ in range(2000))
    assert counts["http://zero"] == 0
    assert 0.70 < counts["http://a"] / 2000 < 0.80
    assert 0.20 < counts["http://b"] / 2000 < 0.30


def test_all_zero_weights_choose_uniformly() -> None:
    parsed = parse_locations(locs(("http://a", 0, {}), ("http://b", 0, {})))
    rng = random.Random(7)
    counts = Counter(pick(parsed, rng) for _ in range(1000))
    assert set(counts) == {"http://a", "http://b"}
    assert 400 < counts["http://a"] < 600


def test_locatt_match() -> None:
    parsed = parse_locations(SAMPLE)
    for seed in range(50):
        chosen = select_location(parsed, locatt={"view": "json"}, rng=random.Random(seed))
        # The match wins even though its weight is 0.
        assert chosen is not None and chosen.href == "http://b"


def test_locatt_presence_only() -> None:
    parsed = parse_locations(SAMPLE)
    chosen = select_location(parsed, locatt={"view": None}, rng=random.Random(3))
    assert chosen is not None and chosen.href == "http://b"


def test_locatt_all_requirements_narrow_in_turn() -> None:
    parsed = parse_locations(locs(("http://gb-html", 1, {"country": "gb", "view": "html"}),
                                  ("http://gb-json", 1, {"country": "gb", "view": "json"}),
                                  ("http://cn-json", 1, {"country": "cn", "view": "json"})))
    for seed in range(50):
        chosen = select_location(parsed, locatt={"country": "gb", "view": "json"},
                                 rng=random.Random(seed))
        assert chosen is not None and chosen.href == "http://gb-json"


def test_locatt_without_match_falls_back_to_full_list() -> None:
    parsed = parse_locations(locs(("http://a", 1, {"view": "html"}), ("http://b", 1, {})))
    seen = {pick(parsed, random.Random(seed), {"view": "pdf"}) for seed in range(100)}
    assert seen == {"http://a", "http://b"}


def test_locatt_ignored_when_not_in_chooseby() -> None:
    parsed = parse_locations(locs(("http://a", 1, {}), ("http://b", 0, {"view": "json"}),
                                  chooseby="weighted"))
    chosen = select_location(parsed, locatt={"view": "json"}, rng=random.Random(1))
    assert chosen is not None and chosen.href == "http://a"


def test_country_is_skipped() -> None:
    parsed = parse_locations(locs(("http://gb", 1, {"country": "gb"}), ("http://cn", 1, {}),
                                  chooseby="country,weighted"))
    seen = {pick(parsed, random.Random(seed)) for seed in range(100)}
    assert seen == {"http://gb", "http://cn"}


def test_score_keeps_the_best() -> None:
    parsed = parse_locations(locs(("http://low", 1, {"score": "1"}),
                                  ("http://high", 1, {"score": "5"}),
                                  ("http://none", 1, {}), chooseby="score,weighted"))
    chosen = select_location(parsed, locatt=None, rng=random.Random(1))
    assert chosen is not None and chosen.href == "http://high"
