"""The reverse index (Store.search), run against every backend."""

from __future__ import annotations

import logging
import random

import pytest

from idnode.errors import ConfigError, HandleExists, InvalidHandle, InvalidValue
from idnode.identifiers.value import PERM_ADMIN_READ, PERM_SECRET, HandleValue
from idnode.storage import (
    AddValues,
    CreateHandle,
    DeleteHandle,
    ModifyValues,
    Record,
    RemoveValues,
    Store,
)
from idnode.storage.index import MAX_INDEXED_BYTES, NEVER_INDEXED, Criterion, successor

from .conftest import Opener
from .helpers import h, v


def url(index: int, data: str) -> HandleValue:
    return v(index, data, "URL")


def checksum(index: int, data: str) -> HandleValue:
    return v(index, data, "CHECKSUM")


def find(store: Store, pattern: str, type_: str = "URL", **options: object) -> list[str]:
    return store.search([(type_, pattern)], limit=100, **options)  # type: ignore[arg-type]


def fill(store: Store) -> None:
    store.apply([
        CreateHandle(h("88.1/doc-a"), (url(1, "http://a.org/x/a.pdf"), checksum(2, "md5:aaa"))),
        CreateHandle(h("88.1/doc-b"), (url(1, "http://a.org/y/b.pdf"), checksum(2, "md5:bbb"))),
        CreateHandle(h("88.1/doc-c"), (url(1, "http://b.org/x/a.pdf"), checksum(2, "md5:aaa"))),
        CreateHandle(h("88.2/doc-d"), (url(1, "http://a.org/x/a.pdf"),)),
        CreateHandle(h("88.1/doc-e"), (url(1, "https://a.org/x/a.pdf.html"),)),
    ])


# -- patterns --------------------------------------------------------------------------


def test_exact_prefix_suffix_and_infix_patterns(store: Store) -> None:
    fill(store)
    assert find(store, "http://a.org/x/a.pdf") == ["88.1/doc-a", "88.2/doc-d"]
    assert find(store, "http://a.org/x/a.pd") == []  # exact means the whole data
    assert find(store, "http://a.org/*") == ["88.1/doc-a", "88.1/doc-b", "88.2/doc-d"]
    assert find(store, "*/a.pdf") == ["88.1/doc-a", "88.1/doc-c", "88.2/doc-d"]
    assert find(store, "http://a*/a.pdf") == ["88.1/doc-a", "88.2/doc-d"]
    assert find(store, "http*x*pdf") == ["88.1/doc-a", "88.1/doc-c", "88.2/doc-d"]
    assert find(store, "https://a.org/x/a.pdf*") == ["88.1/doc-e"]  # * matches zero or more
    assert find(store, "http://a.org/x/a.pdf*") == ["88.1/doc-a", "88.2/doc-d"]


def test_a_star_may_match_nothing_and_anchors_may_overlap(store: Store) -> None:
    store.create_handle(h("88.1/a"), [url(1, "abcd")])
    store.create_handle(h("88.1/b"), [url(1, "abcbcd")])
    assert find(store, "abc*bcd") == ["88.1/b"]  # "abcd" is too short for both anchors
    assert find(store, "abcd*") == ["88.1/a"]
    assert find(store, "*abcd") == ["88.1/a"]


def test_several_criteria_must_all_match(store: Store) -> None:
    fill(store)
    assert store.search([("URL", "*/a.pdf"), ("CHECKSUM", "md5:aaa")], limit=10) == \
        ["88.1/doc-a", "88.1/doc-c"]
    assert store.search([("URL", "http://a.org/*"), ("CHECKSUM", "md5:aaa")], limit=10) == \
        ["88.1/doc-a"]
    assert store.search([("CHECKSUM", "md5:*"), ("URL", "http://b.org/*")], limit=10) == \
        ["88.1/doc-c"]
    assert store.search([("URL", "http://a.org/x/a.pdf"), ("CHECKSUM", "md5:*")],
                        limit=10) == ["88.1/doc-a"]
    # the same type twice: each criterion may be met by a different value
    store.add_values(h("88.1/doc-b"), [url(3, "ftp://mirror/b.pdf")])
    assert store.search([("URL", "http://*"), ("URL", "ftp://*")], limit=10) == ["88.1/doc-b"]
    assert store.search([("URL", "http://*"), ("URL", "*.zip")], limit=10) == []


@pytest.mark.parametrize("special", ["%", "_", "[", "]", "?", "\\", "[a-z]", "%_"])
def test_glob_and_like_characters_are_literal(store: Store, special: str) -> None:
    store.create_handle(h("88.1/lit"), [url(1, f"http://x.org/{special}/end")])
    store.create_handle(h("88.1/decoy"), [url(1, "http://x.org/q/end"),
                                          url(2, f"http://x.org/{special}{special}/end")])
    assert find(store, f"http://x.org/{special}/end") == ["88.1/lit"]
    assert find(store, f"http://x.org/{special}/*") == ["88.1/lit"]
    assert find(store, f"*/{special}/end") == ["88.1/lit"]
    assert find(store, f"http://*{special}/end") == ["88.1/decoy", "88.1/lit"]


def test_non_ascii_data(store: Store) -> None:
    store.create_handle(h("88.1/jp"), [url(1, "https://例え.jp/文書/ファイル.pdf")])
    store.create_handle(h("88.1/emoji"), [url(1, "https://x.org/🙂/é.txt")])
    assert find(store, "https://例え.jp/*") == ["88.1/jp"]
    assert find(store, "*ファイル.pdf") == ["88.1/jp"]
    assert find(store, "*/🙂/é.txt") == ["88.1/emoji"]
    assert find(store, "https://x.org/🙂*") == ["88.1/emoji"]
    assert find(store, "*/🙂/e.txt") == []


def test_data_is_case_sensitive_types_and_prefixes_are_not(store: Store) -> None:
    store.create_handle(h("88.abc/MixedCase"), [url(1, "HTTP://Example.org/Doc")])
    store.create_handle(h("88.abc/lower"), [v(1, "http://example.org/doc", "url")])
    assert find(store, "HTTP://Example.org/Doc") == ["88.abc/MixedCase"]
    assert find(store, "http://example.org/doc") == ["88.abc/lower"]
    assert find(store, "*/Doc") == ["88.abc/MixedCase"]
    assert find(store, "http://example*") == ["88.abc/lower"]
    assert find(store, "*/doc", type_="uRl") == ["88.abc/lower"]  # stored as "url"
    for prefix in ("88.ABC", "88.abc", "0.na/88.Abc"):
        assert find(store, "*g/doc", prefix=prefix) == ["88.abc/lower"]
    assert find(store, "*/doc", prefix="88.ab") == []
    with pytest.raises(InvalidHandle):
        find(store, "*/doc", prefix="88.abc/x")


def test_results_are_handle_texts_in_key_order_distinct_and_paged(store: Store) -> None:
    names = [f"88.1/H{i:03d}" for i in range(40)]
    shuffled = names[:]
    random.Random(7).shuffle(shuffled)
    for i, name in enumerate(shuffled):
        # two matching values per handle, data not in key order
        store.create_handle(h(name), [url(1, f"http://p.org/{i}"), url(2, f"http://p.org/{i}b")])
    store.create_handle(h("0.NA/88.1"), [url(1, "http://p.org/prefix")])
    every = store.search([("URL", "http://p.org/*")], limit=1000)
    assert every == ["0.NA/88.1", *names]
    assert store.search([("URL", "http://p.org/*")], limit=1000, prefix="88.1") == names
    pages = [store.search([("URL", "http://p.org/*")], limit=7, offset=o, prefix="88.1")
             for o in range(0, 42, 7)]
    assert [n for page in pages for n in page] == names
    assert store.search([("URL", "http://p.org/*")], limit=5, offset=39, prefix="88.1") == \
        names[39:]
    assert store.search([("URL", "http://p.org/*")], limit=5, offset=400) == []
    # the exact path pages the same way, alone or checking a further criterion
    for i, name in enumerate(names[:12]):
        store.add_values(h(name), [url(9, "same"), checksum(10, "even" if i % 2 else "odd")])
    assert store.search([("URL", "same")], limit=5, offset=5) == names[5:10]
    assert store.search([("URL", "same"), ("CHECKSUM", "odd")], limit=3, offset=1) == \
        names[2:8:2]


@pytest.mark.parametrize("record_cost", [20, 0])  # 0: further criteria checked on records
def test_random_searches_agree_with_a_brute_force_oracle(
        store: Store, monkeypatch: pytest.MonkeyPatch, record_cost: int) -> None:
    import re

    monkeypatch.setattr("idnode.storage.search._RECORD_COST", record_cost)
    rng = random.Random(record_cost)
    alphabet = "ab/%_*?[é"

    def text(n: int) -> str:
        return "".join(rng.choice(alphabet.replace("*", "")) for _ in range(n))

    records = {}
    for i in range(80):
        values = [url(j, "x/" + text(rng.randrange(0, 6))) for j in range(1, rng.randrange(2, 4))]
        values.append(checksum(9, text(4)))
        name = f"88.{i % 2}/{text(3)}{i}"
        records[name] = values
        store.create_handle(h(name), values)
    for _ in range(150):
        criteria = []
        for _ in range(rng.randrange(1, 3)):
            type_ = rng.choice(["URL", "CHECKSUM"])
            pool = [val.text() for vals in records.values() for val in vals
                    if val.type == type_]
            data = rng.choice(pool)
            cut = sorted(rng.sample(range(len(data) + 1), 2))
            pattern = rng.choice([data, data[:max(3, cut[0])] + "*", "*" + data[cut[1] - 3:],
                                  data[:3] + "*" + data[-3:], data[:3] + "*" + data[cut[1]:]])
            criteria.append((type_, pattern))
        prefix = rng.choice([None, "88.0", "88.1"])

        def matches(vals: list[HandleValue], type_: str, pattern: str) -> bool:
            regex = ".*".join(re.escape(part) for part in pattern.split("*"))
            return any(val.type == type_ and re.fullmatch(regex, val.text(), re.DOTALL)
                       for val in vals)

        expected = sorted(name for name, vals in records.items()
                          if all(matches(vals, t, p) for t, p in criteria)
                          and (prefix is None or name.startswith(prefix + "/")))
        try:
            found = store.search(criteria, limit=1000, prefix=prefix)
        except InvalidValue as exc:  # an anchor shorter than 3 characters
            assert "at least 3" in str(exc)
            continue
        assert found == expected, criteria
        assert store.search(criteria, limit=2, offset=1, prefix=prefix) == expected[1:3]


def test_an_overwrite_shows_the_new_handle_spelling(store: Store) -> None:
    store.create_handle(h("88.abc/x"), [url(1, "http://z.org/1")])
    store.create_handle(h("88.ABC/x"), [url(1, "http://z.org/1")], overwrite=True)
    assert find(store, "http://z.org/*") == ["88.ABC/x"]


# -- what is indexed -------------------------------------------------------------------


def test_only_public_text_values_of_indexed_types_are_found(store: Store) -> None:
    long = "http://l.org/" + "x" * (MAX_INDEXED_BYTES - 13)
    store.create_handle(h("88.1/s"), [
        v(1, "http://s.org/secret", permissions=PERM_SECRET),
        v(2, "http://s.org/admin", permissions=PERM_ADMIN_READ),
        HandleValue(3, "HS_SECKEY", b"http://s.org/key"),
        HandleValue(4, "URL", b"http://s.org/\xff\xfe"),
        HandleValue(5, "URL", b"http://s.org/nul\x00"),
        v(6, long), v(7, long + "y"),
        v(8, "http://s.org/email", "EMAIL"),
    ])
    assert find(store, "http://s.org/*") == []
    assert find(store, "http://s.org/key", type_="HS_SECKEY") == []
    assert find(store, "http://s.org/email", type_="EMAIL") == []
    assert find(store, "http://l.org/*") == ["88.1/s"]  # exactly the limit is indexed
    assert find(store, long + "y") == []
    # making a value public makes it searchable; making it secret again hides it
    store.modify_values(h("88.1/s"), [v(1, "http://s.org/secret")])
    assert find(store, "http://s.org/*") == ["88.1/s"]
    store.modify_values(h("88.1/s"), [v(1, "http://s.org/secret", permissions=PERM_SECRET)])
    assert find(store, "http://s.org/*") == []


@pytest.mark.parametrize("secret", sorted(NEVER_INDEXED))
def test_secret_and_binary_types_cannot_be_configured(opener: Opener, secret: str) -> None:
    with pytest.raises(ConfigError, match=f"{secret}.*never indexed"):
        opener(index_types=("URL", secret.lower()))


def test_index_types_must_be_a_list_of_names(opener: Opener) -> None:
    with pytest.raises(ConfigError, match="list of types"):
        opener(index_types="URL")
    with pytest.raises(ConfigError, match="not a value type"):
        opener(index_types=("URL", ""))


def test_configured_types_are_indexed(opener: Opener) -> None:
    store = opener(index_types=("email", "URL"))
    assert store.index_types == frozenset({"EMAIL", "URL"})
    store.create_handle(h("88.1/a"), [v(1, "ops@example.org", "EMAIL"), checksum(2, "md5:1")])
    assert find(store, "*@example.org", type_="Email") == ["88.1/a"]
    assert find(store, "md5:1", type_="CHECKSUM") == []  # not indexed here


# -- validation ------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["*", "**", "ab*", "*ab", "a*b", "ab*cd", "*abc*", "x*yz"])
def test_patterns_need_a_literal_beginning_or_end_of_three_characters(
        store: Store, pattern: str) -> None:
    with pytest.raises(InvalidValue, match="literal beginning or end of at least 3 char"):
        find(store, pattern)


def test_short_exact_patterns_are_fine(store: Store) -> None:
    store.create_handle(h("88.1/a"), [url(1, "ab"), url(2, "")])
    assert find(store, "ab") == ["88.1/a"]
    assert find(store, "") == ["88.1/a"]
    assert find(store, "abc*") == []


def test_limits(store: Store) -> None:
    for limit in (0, -1, 100_001):
        with pytest.raises(InvalidValue, match="limit"):
            store.search([("URL", "x")], limit=limit)
    with pytest.raises(InvalidValue, match="offset"):
        store.search([("URL", "x")], limit=1, offset=-1)
    with pytest.raises(InvalidValue, match="at least one"):
        store.search([], limit=1)
    with pytest.raises(InvalidValue, match="NUL"):
        store.search([("URL", "a\x00bc*")], limit=1)
    assert store.search([("URL", "x")], limit=100_000) == []


def test_a_search_that_would_examine_too_much_is_refused(store: Store) -> None:
    for i in range(30):
        store.create_handle(h(f"88.1/{i:02d}"), [url(1, f"http://wide.org/{i}"),
                                                  checksum(2, "same" if i < 12 else f"md5:{i}")])
    store.search_scan_limit = 25
    with pytest.raises(InvalidValue, match="too broad"):
        find(store, "http://wide.org/*")  # 30 entries in range
    assert find(store, "http://wide.org/1*") == ["88.1/01", *(f"88.1/{i}" for i in range(10, 20))]
    assert store.search([("CHECKSUM", "same")], limit=12) == [f"88.1/{i:02d}" for i in range(12)]
    # a narrow further criterion is answered from its own index range ...
    assert store.search([("CHECKSUM", "same"), ("URL", "*/11")], limit=5) == ["88.1/11"]
    # ... a broad one on the candidates' records, at 20 entries each: one fits, 12 do not
    assert store.search([("CHECKSUM", "md5:17"), ("URL", "http://wide.org/*7")], limit=5) == \
        ["88.1/17"]
    with pytest.raises(InvalidValue, match="too broad"):
        store.search([("CHECKSUM", "same"), ("URL", "http://wide.org/*x")], limit=5)


def test_an_unindexed_type_finds_nothing(store: Store) -> None:
    store.create_handle(h("88.1/a"), [url(1, "http://x.org/a")])
    assert store.search([("URL", "http://x.org/a"), ("EMAIL", "a@b.c")], limit=5) == []


# -- the index follows every write -----------------------------------------------------


def test_the_index_follows_each_kind_of_write(store: Store) -> None:
    store.create_handle(h("88.1/w"), [url(1, "http://w.org/one"), checksum(2, "c1")])
    store.add_values(h("88.1/w"), [url(3, "http://w.org/three")])
    assert find(store, "http://w.org/*") == ["88.1/w"]
    assert find(store, "*/three") == ["88.1/w"]
    store.modify_values(h("88.1/w"), [url(3, "http://w.org/drei")])
    assert find(store, "*/three") == []
    assert find(store, "*/drei") == ["88.1/w"]
    store.remove_values(h("88.1/w"), [1])
    assert find(store, "*/one") == []
    assert find(store, "c1", type_="CHECKSUM") == ["88.1/w"]
    store.create_handle(h("88.1/w"), [checksum(2, "c2")], overwrite=True)
    assert find(store, "http://w.org/*") == []
    assert find(store, "c1", type_="CHECKSUM") == []
    assert find(store, "c2", type_="CHECKSUM") == ["88.1/w"]
    store.apply([AddValues(h("88.1/w"), (url(1, "http://w.org/again"),), overwrite=True)])
    assert find(store, "http://w.org/*") == ["88.1/w"]
    store.delete_handle(h("88.1/w"))
    assert find(store, "http://w.org/*") == []
    assert find(store, "c2", type_="CHECKSUM") == []
    store.create_handle(h("88.1/w"), [url(1, "http://w.org/reborn")])
    assert find(store, "http://w.org/*") == ["88.1/w"]


def test_a_type_changed_by_modify_moves_the_entry(store: Store) -> None:
    store.create_handle(h("88.1/t"), [url(1, "md5:xyz")])
    store.modify_values(h("88.1/t"), [checksum(1, "md5:xyz")])
    assert find(store, "md5:*") == []
    assert find(store, "md5:*", type_="CHECKSUM") == ["88.1/t"]


def _fail_journaling(store: Store, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the op on ``key`` after its data and index entries were written."""
    original = store._append_txn

    def append(timestamp: float, op: str, k: str, handle: str,
               values: tuple[HandleValue, ...]) -> None:
        original(timestamp, op, k, handle, values)
        if k == key:
            raise InvalidValue(reason="injected failure")

    monkeypatch.setattr(store, "_append_txn", append)


@pytest.mark.parametrize("victim", ["88.1/new", "88.1/add", "88.1/mod", "88.1/rem", "88.1/del",
                                    "88.1/over"])
def test_a_rolled_back_op_rolls_its_index_changes_back(
        store: Store, monkeypatch: pytest.MonkeyPatch, victim: str) -> None:
    for name in ("add", "mod", "rem", "del", "over"):
        store.create_handle(h(f"88.1/{name}"), [url(1, f"http://r.org/{name}/old")])
    before = {name: find(store, f"http://r.org/{name}/*") for name in
              ("new", "add", "mod", "rem", "del", "over")}
    _fail_journaling(store, victim, monkeypatch)
    results = store.apply([
        CreateHandle(h("88.1/new"), (url(1, "http://r.org/new/x"),)),
        AddValues(h("88.1/add"), (url(2, "http://r.org/add/x"),)),
        ModifyValues(h("88.1/mod"), (url(1, "http://r.org/mod/x"),)),
        RemoveValues(h("88.1/rem"), (1,)),
        DeleteHandle(h("88.1/del")),
        CreateHandle(h("88.1/over"), (url(5, "http://r.org/over/x"),), overwrite=True),
        CreateHandle(h("88.1/add"), (url(1, "http://r.org/add/never"),)),  # fails: exists
    ])
    assert isinstance(results[-1], HandleExists)
    failed = [i for i, r in enumerate(results[:-1]) if isinstance(r, InvalidValue)]
    assert len(failed) == 1
    monkeypatch.undo()
    name = victim.partition("/")[2]
    # the failed op left no trace in the index; the others' changes are there
    assert find(store, f"http://r.org/{name}/*") == before[name]
    assert find(store, "*/add/never") == []
    for other in {"new", "add", "mod", "over"} - {name}:
        assert find(store, f"http://r.org/{other}/x") == [f"88.1/{other}"]
    for gone in {"rem", "del"} - {name}:
        assert find(store, f"http://r.org/{gone}/*") == []
    # and the index still agrees with the records
    for record in store.dump(limit=100):
        for value in record.values:
            assert record.handle in find(store, value.text())


def test_a_failed_group_leaves_the_index_untouched(store: Store,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    store.create_handle(h("88.1/keep"), [url(1, "http://g.org/keep")])
    error: type[Exception] = store.driver_errors[0] if store.driver_errors else RuntimeError
    original = store._append_txn

    def append(timestamp: float, op: str, k: str, handle: str,
               values: tuple[HandleValue, ...]) -> None:
        original(timestamp, op, k, handle, values)
        if k == "88.1/b":
            raise error("disk on fire")

    monkeypatch.setattr(store, "_append_txn", append)
    with pytest.raises(Exception, match="disk on fire"):
        store.apply([DeleteHandle(h("88.1/keep")),
                     CreateHandle(h("88.1/b"), (url(1, "http://g.org/b"),))])
    monkeypatch.undo()
    assert find(store, "http://g.org/*") == ["88.1/keep"]


# -- rebuilding ------------------------------------------------------------------------


def test_rebuild_index(store: Store, caplog: pytest.LogCaptureFixture,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("idnode.storage.base.BATCH_SIZE", 3)
    for i in range(10):
        store.create_handle(h(f"88.1/{i}"), [url(1, f"http://rb.org/{i}")])
    with store._write_lock, store._transaction():
        store._clear_index()  # as if the index had been lost
    assert find(store, "http://rb.org/*") == []
    with caplog.at_level(logging.INFO, logger="idnode.storage"):
        store.rebuild_index()
    assert "rebuilding the reverse index for CHECKSUM, URL" in caplog.text
    assert "back-fill done: 10 handles" in caplog.text
    assert find(store, "http://rb.org/*") == [f"88.1/{i}" for i in range(10)]


# A memory store does not outlive its process: there is nothing to reopen.
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql",
                                                            marks=pytest.mark.postgres)],
                         indirect=True)
def test_changing_the_indexed_types_rebuilds_the_index(
        opener: Opener, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("idnode.storage.base.BATCH_SIZE", 4)
    store = opener(index_types=["URL"])
    for i in range(9):
        store.create_handle(h(f"88.1/{i}"), [url(1, f"http://c.org/{i}"),
                                              v(2, f"{i}@c.org", "EMAIL")])
    assert find(store, "*@c.org", type_="EMAIL") == []
    store.close()
    with caplog.at_level(logging.INFO, logger="idnode.storage"):
        store = opener(index_types=["EMAIL", "url"])
    assert "rebuilding the reverse index for EMAIL, URL" in caplog.text
    assert "back-fill done: 9 handles" in caplog.text
    assert find(store, "*@c.org", type_="EMAIL") == [f"88.1/{i}" for i in range(9)]
    assert find(store, "http://c.org/*") == [f"88.1/{i}" for i in range(9)]
    store.close()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="idnode.storage"):
        store = opener(index_types=["URL", "EMAIL"])  # the same set: nothing to do
    assert "rebuilding" not in caplog.text
    store.close()
    store = opener(index_types=["EMAIL"])
    assert find(store, "*@c.org", type_="EMAIL") == [f"88.1/{i}" for i in range(9)]
    store.close()
    store = opener(index_types=["URL"])
    assert find(store, "http://c.org/*") == [f"88.1/{i}" for i in range(9)]
    assert find(store, "*@c.org", type_="EMAIL") == []


# -- the pattern helpers ---------------------------------------------------------------


def test_scan_ranges() -> None:
    exact = Criterion.parse("url", "abc")
    assert (exact.type, exact.exact, exact.low) == ("URL", True, "abc")
    prefix = Criterion.parse("URL", "http://x/*.pdf")
    assert (prefix.reverse, prefix.low, prefix.high) == (False, "http://x/", "http://x0")
    suffix = Criterion.parse("URL", "h*/file.pdf")
    assert (suffix.reverse, suffix.low, suffix.scan_pattern) == \
        (True, "fdp.elif/", "fdp.elif/*h")
    assert Criterion.parse("URL", "a?[%_\\*xyz").glob() == "a[?][[]%_\\*xyz"
    assert Criterion.parse("URL", "ab*[?]xyz").glob() == "zyx][?][[]*ba"  # reversed
    assert Criterion.parse("URL", "x?[%_\\x*").like() == "x?[\\%\\_\\\\x%"
    assert Criterion.parse("URL", "x?[]x*").glob() == "x[?][[]]x*"
    assert successor("ab") == "ac"
    assert successor("a\U0010ffff") == "b"
    assert successor("\U0010ffff") is None
    assert successor("a\ud7ff") == "a\ue000"


def test_records_round_trip_unchanged(store: Store) -> None:
    # the index is invisible to the record API
    record = store.create_handle(h("88.1/r"), [url(1, "http://x.org/r")])
    assert store.get_record("88.1/r") == record == Record("88.1/r", "88.1/r", record.values)
