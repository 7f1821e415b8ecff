"""The resolver's pure parts: cache, TTLs, health, site choice, the tunnel's HTTP reader,
traces and bootstrap files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idnode.errors import ConfigError, InvalidValue, ProtocolError
from idnode.identifiers.value import TTL_ABSOLUTE, HandleValue
from idnode.identifiers.values.site import Interface, ServerRecord, SiteData
from idnode.resolver import (
    CacheEntry,
    Hop,
    ResolverCache,
    Trace,
    load_bootstrap,
    parse_bootstrap,
    record_ttl,
    save_bootstrap,
)
from idnode.resolver.health import HealthBook
from idnode.resolver.sites import endpoints, plan, service_of
from idnode.resolver.tunnel import ResponseReader


def entry(expires: float, values: tuple[HandleValue, ...] | None = ()) -> CacheEntry:
    return CacheEntry("h", values, expires)


# -- cache ----------------------------------------------------------------------------------

def test_cache_expires_and_evicts_least_recently_used() -> None:
    cache = ResolverCache(max_entries=2)
    cache.put("a", entry(10))
    cache.put("b", entry(10))
    assert cache.get("a", now=1) is not None  # a is now the most recent
    cache.put("c", entry(10))
    assert "b" not in cache and len(cache) == 2
    assert cache.get("c", now=10) is None and "c" not in cache  # expired: removed
    assert (cache.hits, cache.misses) == (1, 1)
    cache.drop("a")
    cache.drop("missing")
    assert len(cache) == 0
    cache.put("x", entry(10))
    cache.clear()
    assert len(cache) == 0
    off = ResolverCache(max_entries=0)
    off.put("a", entry(10))
    assert off.get("a", now=0) is None
    with pytest.raises(ValueError, match="max_entries"):
        ResolverCache(-1)


def test_record_ttl() -> None:
    now = 1_700_000_000.0
    values = [HandleValue(1, "URL", b"x", ttl=300), HandleValue(2, "URL", b"y", ttl=60)]
    assert record_ttl(values, 172_800, now) == 60
    assert record_ttl([HandleValue(1, "URL", b"x", ttl=10**6)], 172_800, now) == 172_800
    until = HandleValue(1, "URL", b"x", ttl_type=TTL_ABSOLUTE, ttl=int(now) + 90)
    assert record_ttl([until], 172_800, now) == 90
    gone = HandleValue(1, "URL", b"x", ttl_type=TTL_ABSOLUTE, ttl=int(now) - 5)
    assert record_ttl([gone, *values], 172_800, now) == 0
    assert record_ttl([], 500, now) == 500


# -- health ---------------------------------------------------------------------------------

def test_circuit_breaker_state_machine() -> None:
    book = HealthBook(failure_threshold=2, open_seconds=1.0, max_open_seconds=3.0,
                      max_inflight=2)
    assert book.admit("s", 0.0) is None
    book.failure("s", 0.0, "timeout")
    assert book.usable("s", 0.0)
    assert book.admit("s", 0.0) is None
    book.failure("s", 0.0, "timeout")  # threshold reached: open for 1 s
    assert not book.usable("s", 0.5)
    assert "circuit open" in (book.admit("s", 0.5) or "")
    assert book.admit("s", 1.0) is None  # half-open: this is the probe…
    assert "probe" in (book.admit("s", 1.0) or "")  # …and the only one
    book.failure("s", 1.0)  # the probe failed: open again, twice as long
    assert book.admit("s", 2.9) is not None
    assert book.admit("s", 3.0) is None
    book.failure("s", 3.0)  # open for 4 s, capped at 3
    assert book.admit("s", 5.9) is not None
    assert book.admit("s", 6.0) is None
    book.success("s", 0.010)  # the probe worked: closed, back-off reset
    [state] = book.snapshot(6.0)
    assert state["state"] == "closed" and state["failures"] == 0 and state["srtt_ms"] == 10
    book.success("s", 0.020) if book.admit("s", 6.0) is None else None
    assert book.srtt("s") == pytest.approx(0.010 * 0.875 + 0.020 * 0.125)


def test_in_flight_bound_and_release() -> None:
    book = HealthBook(failure_threshold=3, open_seconds=1.0, max_open_seconds=1.0,
                      max_inflight=2)
    assert book.admit("s", 0) is None and book.admit("s", 0) is None
    assert "in flight" in (book.admit("s", 0) or "")
    assert not book.usable("s", 0)
    book.release("s")
    assert book.admit("s", 0) is None


# -- sites ----------------------------------------------------------------------------------

def _site(port: int, *, primary: bool = True, servers: int = 1) -> SiteData:
    return SiteData(primary=primary, servers=tuple(
        ServerRecord.from_ip(i + 1, "127.0.0.1", interfaces=(Interface(2, 0, port + i),
                                                             Interface(3, 1, port + i)))
        for i in range(servers)))


def test_plan_orders_sites_by_health_rtt_and_primary() -> None:
    primary, mirror, other = _site(1000), _site(2000, primary=False), _site(3000)
    srtts = {"127.0.0.1:1000": 0.050, "127.0.0.1:2000": 0.005}
    down = {"127.0.0.1:2000"}

    def order(sites: list[SiteData], *, bad: set[str] = frozenset(),  # type: ignore[assignment]
              primary_first: bool = False) -> list[str]:
        return [t.label for t in plan(sites, "88.1/x", usable=lambda label: label not in bad,
                                      srtt=srtts.get, primary_first=primary_first)]

    # Unknown RTT counts as good; then lower RTT.
    assert order([primary, mirror, other]) == ["127.0.0.1:3000", "127.0.0.1:2000",
                                                "127.0.0.1:1000"]
    assert order([primary, mirror], bad=down) == ["127.0.0.1:1000", "127.0.0.1:2000"]
    assert order([mirror, primary], primary_first=True)[0] == "127.0.0.1:1000"
    # Ties go to the primary site.
    assert order([_site(4000, primary=False), _site(5000)]) == ["127.0.0.1:5000",
                                                                "127.0.0.1:4000"]
    # The hash rule picks the server of a multi-server site; empty sites are skipped.
    big = _site(6000, servers=3)
    [target] = plan([big, SiteData()], "20.500.12345/abc", usable=lambda _: True,
                    srtt=lambda _: None)
    assert target.server.server_id == 3  # §10.3's worked example: index 2
    assert [e.transport for e in endpoints(target.server)] == ["udp", "tcp"]


def test_service_of_values() -> None:
    site = _site(1000)
    v6 = SiteData(servers=(ServerRecord.from_ip(1, "2001:db8::1",
                                                  interfaces=(Interface(2, 0, 2641),)),))
    values = (HandleValue(1, "HS_SITE", site.to_bytes()),
              HandleValue(2, "HS_SITE", b"\x00garbage"),
              HandleValue(3, "hs_serv", b" 0.NA/0.NA "),
              HandleValue(4, "HS_NA_DELEGATE", site.to_bytes()),
              HandleValue(5, "HS_SERV.PREFIX", b"88/svc"),
              HandleValue(6, "HS_SITE.6", v6.to_bytes()))
    plain = service_of(values, source="0.NA/88")
    assert plain.sites == (site, v6) and plain.serv == ("0.NA/0.NA",) and plain.source
    [target] = plan([v6], "88/x", usable=lambda _: True, srtt=lambda _: None)
    assert target.label == "[2001:db8::1]:2641"
    assert target.endpoints[0].address == ("2001:db8::1", 2641)
    delegated = service_of(values, prefix=True)
    assert delegated.sites == (site,) and delegated.serv == ("88/svc",)
    assert not service_of(())


# -- the tunnel's HTTP reader ---------------------------------------------------------------

def _feed(data: bytes, cuts: list[int], eof: bool = True) -> ResponseReader:
    reader = ResponseReader(max_body=10_000)
    last = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        reader.feed(data[last:cut])
        last = cut
    reader.feed(data[last:])
    if eof and not reader.done:
        reader.feed_eof()
    return reader


def _chunked(body: bytes, size: int) -> bytes:
    out = b"".join(b"%x\r\n" % len(body[i:i + size]) + body[i:i + size] + b"\r\n"
                   for i in range(0, len(body), size))
    return out + b"0\r\n\r\n"


@given(st.binary(max_size=600), st.lists(st.integers(0, 2000), max_size=8),
       st.integers(1, 64), st.sampled_from(["length", "chunked", "eof"]))
def test_response_reader_any_split(body: bytes, cuts: list[int], size: int,
                                   framing: str) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-hdl-message\r\n"
    if framing == "length":
        data = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    elif framing == "chunked":
        data = head + b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(body, size)
    else:
        data = head + b"\r\n" + body
    reader = _feed(data, cuts)
    assert reader.done and reader.status == 200 and reader.body == body
    assert reader.headers["content-type"] == "application/x-hdl-message"


@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=4))
def test_response_reader_rejects_garbage_cleanly(data: bytes, cuts: list[int]) -> None:
    try:
        _feed(data, cuts)
    except ProtocolError:
        pass


@pytest.mark.parametrize("data", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
    b"SMTP 200\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
])
def test_response_reader_errors(data: bytes) -> None:
    with pytest.raises(ProtocolError, match="HTTP tunnel"):
        _feed(data, [])


# -- traces -------------------------------------------------------------------------------

_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)


@given(st.lists(st.builds(Hop, _text, _text, _text, _text, _text, st.integers(0, 5000),
                          st.floats(0, 1e5, allow_nan=False), _text), max_size=6))
def test_trace_json_round_trip(hops: list[Hop]) -> None:
    trace = Trace()
    for hop in hops:
        trace.add(hop)
    back = Trace.from_json(json.loads(json.dumps(trace.to_json())))
    assert [(h.step, h.handle, h.server, h.transport, h.site, h.response_code, h.note)
            for h in back.hops] == \
        [(h.step, h.handle, h.server, h.transport, h.site, h.response_code, h.note)
         for h in hops]
    lines = back.format().splitlines()
    assert len(lines) == len(hops) + 2 and lines[-1].startswith("total ")


def test_trace_from_bad_json() -> None:
    with pytest.raises(InvalidValue, match="responseCode"):
        Trace.from_json([{"step": "x"}])
    with pytest.raises(InvalidValue, match="not an object"):
        Trace.from_json(["x"])  # type: ignore[list-item]


# -- bootstrap files ------------------------------------------------------------------------

def test_bootstrap_round_trip(tmp_path: Path) -> None:
    sites = [_site(1000), _site(2000, primary=False, servers=2)]
    path = tmp_path / "bootstrap.json"
    save_bootstrap(path, sites)
    assert load_bootstrap(path) == sites
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"sites": json.loads(path.read_text())}))
    assert load_bootstrap(wrapped) == sites


@pytest.mark.parametrize(("content", "problem"), [
    (None, "cannot be read"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[{", "not valid JSON"),
    (b'{"roots": []}', "exactly one member, 'sites'"),
    (b'"x"', "expected a list of sites"),
    (b"[]", "empty"),
    (b'[{"servers": []}]', "no servers"),
    (b'[{"servers": [{"serverId": 1, "address": "not-ip"}]}]', "address"),
])
def test_bad_bootstrap_files(tmp_path: Path, content: bytes | None, problem: str) -> None:
    path = tmp_path / "bootstrap.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=problem) as info:
        load_bootstrap(path)
    assert str(path) in str(info.value)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.sampled_from(["sites", "servers", "address",
                                                        "serverId", "interfaces", "port",
                                                        "protocol", "x"]), inner, max_size=4),
                     max_leaves=20)


@given(_json)
def test_parse_bootstrap_accepts_sites_or_says_what_is_wrong(obj: object) -> None:
    try:
        sites = parse_bootstrap(obj)
    except InvalidValue as exc:
        assert str(exc).startswith("invalid value: bootstrap")
    else:
        assert sites and all(site.servers for site in sites)


def test_save_refuses_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="empty"):
        save_bootstrap(tmp_path / "b.json", [])
    with pytest.raises(ConfigError, match="cannot be written"):
        save_bootstrap(tmp_path / "missing" / "b.json", [_site(1)])
