"""``verify``: two stores compared by bucket digests, every difference reported precisely."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from idnode.cli.main import main
from idnode.errors import StorageError
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue, encode_values
from idnode.replication.verify import DigestSource, LocalSource, VerifyReport, verify
from idnode.storage import CreateHandle, Record, Store, WriteOp, open_store
from idnode.storage.contract import decode_value_list
from idnode.storage.digest import bucket_of
from services import drop_postgres_schema, postgres_url

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def h(text: str) -> Handle:
    return Handle.parse(text)


def url_value(index: int, url: str, **fields: int) -> HandleValue:
    return HandleValue(index, "URL", url.encode(), **fields)


def base_ops() -> list[WriteOp]:
    return [CreateHandle(h("88.118/x"), (url_value(1, "http://a.example/1"),
                                         url_value(2, "http://a.example/2"))),
            CreateHandle(h("88.118/y"), (url_value(1, "http://a.example/y"),)),
            CreateHandle(h("88.118/z"), (HandleValue(1, "EMAIL", b"ops@example.com"),))]


class Counting:
    """A source that records what verify asked of it."""

    def __init__(self, inner: DigestSource,
                 before_recheck: Callable[[], None] | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.buckets: list[int] = []
        self.keys: list[str] = []
        self.positions = 0
        self._before_recheck = before_recheck

    async def position(self) -> int:
        self.positions += 1
        if self.positions == 2 and self._before_recheck is not None:
            self._before_recheck()  # the mirror catches up while verify waits
        return await self.inner.position()

    async def homed(self) -> list[str]:
        return await self.inner.homed()

    async def bucket_digests(self) -> list[tuple[int, bytes, int]]:
        return await self.inner.bucket_digests()

    async def bucket_hashes(self, bucket: int) -> list[tuple[str, bytes]]:
        self.buckets.append(bucket)
        return await self.inner.bucket_hashes(bucket)

    async def records(self, keys: Sequence[str]) -> dict[str, Record]:
        self.keys += keys
        return await self.inner.records(keys)

    async def close(self) -> None:
        await self.inner.close()


Maker = Callable[[], Store]


@pytest.fixture(params=BACKENDS)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Maker]:
    """Opens fresh, empty stores of the backend (closed, and dropped, at teardown)."""
    opened: list[tuple[Store, str]] = []

    def make() -> Store:
        if request.param == "sqlite":
            url = f"sqlite://{tmp_path}/store{len(opened)}.db"
        else:
            url = postgres_url()
        store = open_store(url)
        opened.append((store, url))
        return store

    yield make
    for store, url in opened:
        store.close()
        if url.startswith("postgresql"):
            drop_postgres_schema(url)


def build(make: Maker, ops: Sequence[WriteOp], *, homed: Sequence[str] = ("88.118",)) -> Store:
    store = make()
    for prefix in homed:
        store.home_prefix(prefix)
    store.apply(ops)
    return store


def compare(a: Store | DigestSource, b: Store | DigestSource, **options: Any) -> VerifyReport:
    sa = LocalSource(a) if isinstance(a, Store) else a
    sb = LocalSource(b) if isinstance(b, Store) else b
    options.setdefault("recheck_delay", 0)
    return asyncio.run(verify(sa, sb, **options))


# -- what is found ------------------------------------------------------------------------

def test_identical_stores_are_ok_without_opening_a_bucket(make_store: Maker) -> None:
    a, b = build(make_store, base_ops()), build(make_store, base_ops())
    ca, cb = Counting(LocalSource(a)), Counting(LocalSource(b))
    report = compare(ca, cb)
    assert report.ok and report.differences == () and report.mode == "digest"
    assert (report.handles_a, report.handles_b, report.buckets_differing) == (3, 3, 0)
    assert report.position_a == a.position() and report.position_b == b.position()
    assert ca.buckets == cb.buckets == [] and ca.keys == cb.keys == []
    assert report.to_text().splitlines()[-1].startswith("identical")


def test_a_changed_value_is_reported_with_handle_index_and_both_data(make_store: Maker) -> None:
    ops = base_ops()
    changed = [*ops[:1], CreateHandle(h("88.118/y"), (url_value(1, "http://b.example/y"),)),
               *ops[2:]]
    report = compare(build(make_store, ops), build(make_store, changed))
    assert not report.ok and report.differing == 1 and report.buckets_differing == 1
    [diff] = report.differences
    assert (diff.handle, diff.kind, diff.index, diff.type) == ("88.118/y", "value-differs", 1,
                                                               "URL")
    assert diff.to_text() == ("88.118/y: value 1 (URL) differs: A='http://a.example/y' "
                              "B='http://b.example/y'")
    assert diff.to_text() in report.to_text()


def test_every_field_of_a_value_is_compared(make_store: Maker) -> None:
    a = build(make_store, [CreateHandle(h("88.118/f"), (url_value(1, "u", ttl=60),
                                                        url_value(2, "u", timestamp=5),
                                                        url_value(3, "u", permissions=14)))])
    b = build(make_store, [CreateHandle(h("88.118/f"), (url_value(1, "u", ttl=3600),
                                                        url_value(2, "u", timestamp=6),
                                                        url_value(3, "u", permissions=12)))])
    lines = [d.to_text() for d in compare(a, b).differences]
    assert lines == ["88.118/f: value 1 (URL) differs: ttl A=60 B=3600",
                     "88.118/f: value 2 (URL) differs: timestamp A=5 B=6",
                     "88.118/f: value 3 (URL) differs: permissions A=00001110 B=00001100"]


def test_missing_and_extra_handles_and_values(make_store: Maker) -> None:
    ops = base_ops()
    a = build(make_store, [*ops, CreateHandle(h("88.118/only-a"), (url_value(1, "a"),))])
    b = build(make_store, [ops[0], ops[1],
                           CreateHandle(h("88.118/z"), (HandleValue(1, "EMAIL",
                                                                    b"ops@example.com"),
                                                        url_value(7, "http://new"))),
                           CreateHandle(h("88.118/only-b"), (url_value(1, "b"),
                                                             url_value(2, "c")))])
    a.remove_values(h("88.118/x"), [2])
    b.remove_values(h("88.118/x"), [1])
    report = compare(a, b)
    got = {(d.handle, d.kind, d.index) for d in report.differences}
    assert got == {("88.118/only-a", "missing", None), ("88.118/only-b", "extra", None),
                   ("88.118/z", "value-extra", 7), ("88.118/x", "value-missing", 1),
                   ("88.118/x", "value-extra", 2)}
    assert report.differing == 4
    text = report.to_text()
    assert "88.118/only-a: missing in B (A has 1 value)" in text
    assert "88.118/only-b: extra in B, missing in A (B has 2 values)" in text
    assert "88.118/z: value 7 (URL) extra in B: B='http://new'" in text


def test_handle_text_case_differs(make_store: Maker) -> None:
    a = build(make_store, [CreateHandle(h("abc.1/x"), (url_value(1, "u"),))], homed=())
    b = build(make_store, [CreateHandle(h("ABC.1/x"), (url_value(1, "u"),))], homed=())
    [diff] = compare(a, b).differences
    assert diff.to_text() == "abc.1/x: handle text differs: A='abc.1/x' B='ABC.1/x'"


def test_homed_prefixes_are_compared(make_store: Maker) -> None:
    a = build(make_store, base_ops(), homed=("88.118", "88.200"))
    b = build(make_store, base_ops(), homed=("88.118", "88.300"))
    report = compare(a, b)
    assert not report.ok and report.differing == 0
    assert (report.homed_only_a, report.homed_only_b) == (("88.200",), ("88.300",))
    assert "prefix 88.300: homed in B only" in report.to_text()
    assert report.to_json()["homed"] == {"onlyA": ["88.200"], "onlyB": ["88.300"]}


def test_details_stop_at_max_report_and_the_rest_is_counted(make_store: Maker) -> None:
    a = build(make_store, [CreateHandle(h(f"88.118/n{i}"), (url_value(1, "u"),))
                           for i in range(7)])
    b = build(make_store, [])
    report = compare(a, b, max_report=3)
    assert (len(report.differences), report.differing, report.unreported) == (3, 7, 4)
    assert "… and 4 more differing handles not shown" in report.to_text()


def test_secrets_are_never_shown(make_store: Maker) -> None:
    a = build(make_store, [CreateHandle(h("88.118/s"), (HandleValue(300, "HS_SECKEY",
                                                                    b"hunter2"),))])
    b = build(make_store, [CreateHandle(h("88.118/s"), (HandleValue(300, "HS_SECKEY",
                                                                    b"swordfish"),))])
    text = compare(a, b).to_text()
    assert "value 300 (HS_SECKEY) differs: A=<secret, 7 bytes> B=<secret, 9 bytes>" in text
    assert "hunter2" not in text and "swordfish" not in text


def test_long_data_is_shown_around_the_first_difference(make_store: Maker) -> None:
    common = "http://example.com/" + "a" * 200
    a = build(make_store, [CreateHandle(h("88.118/l"), (url_value(1, common + "/one"),))])
    b = build(make_store, [CreateHandle(h("88.118/l"), (url_value(1, common + "/two"),))])
    [diff] = compare(a, b).differences
    [(_, shown_a, shown_b)] = diff.fields
    assert shown_a.endswith("/one'") and shown_b.endswith("/two'")
    assert shown_a.startswith("'…") and len(shown_a) < 70


def test_a_bucket_out_of_range_from_a_source_is_an_error(make_store: Maker) -> None:
    class Bogus(Counting):
        async def bucket_digests(self) -> list[tuple[int, bytes, int]]:
            return [(4096, bytes(16), 1)]

    store = build(make_store, base_ops())
    with pytest.raises(StorageError, match="reported bucket 4096"):
        compare(store, Bogus(LocalSource(store)))


# -- a live mirror --------------------------------------------------------------------------

def test_a_lagging_mirror_that_catches_up_is_transient(make_store: Maker) -> None:
    ops = base_ops()
    a = build(make_store, ops)
    b = build(make_store, ops[:2])
    b_source = Counting(LocalSource(b), before_recheck=lambda: b.apply(ops[2:]))
    report = compare(a, b_source, recheck_delay=0.01)
    assert report.ok and report.rechecked and report.transient == 1
    assert "1 transient differences disappeared on re-check" in report.to_text()


def test_a_difference_that_persists_through_the_recheck_is_reported(make_store: Maker) -> None:
    ops = base_ops()
    a = build(make_store, ops)
    b = build(make_store, ops[:2])
    report = compare(a, b, recheck_delay=0.01)
    assert report.rechecked and report.transient == 0
    assert [(d.handle, d.kind) for d in report.differences] == [("88.118/z", "missing")]
    assert report.lag == report.position_a - report.position_b == 1
    assert "(position 3, 1 txn ids behind A," in report.to_text()


def test_equal_positions_are_not_rechecked(make_store: Maker) -> None:
    a = build(make_store, base_ops())
    b = build(make_store, base_ops()[:2])
    b.apply([CreateHandle(h("88.118/w"), (url_value(1, "u"),))])
    assert a.position() == b.position()
    report = compare(a, b, recheck_delay=30)  # would time the test out if it waited
    assert not report.rechecked and report.differing == 2


# -- cost -----------------------------------------------------------------------------------

def test_one_difference_in_50000_handles_opens_one_bucket(tmp_path: Path) -> None:
    with open_store(f"sqlite://{tmp_path}/a.db") as store:
        for start in range(0, 50_000, 5_000):
            store.apply([CreateHandle(h(f"88.118/{i}"), (url_value(1, f"http://x/{i}"),))
                         for i in range(start, start + 5_000)])
    shutil.copy(tmp_path / "a.db", tmp_path / "b.db")
    with open_store(f"sqlite://{tmp_path}/a.db") as a, \
            open_store(f"sqlite://{tmp_path}/b.db") as b:
        b.modify_values(h("88.118/31337"), [url_value(1, "http://changed")])
        ca, cb = Counting(LocalSource(a)), Counting(LocalSource(b))
        report = compare(ca, cb)
    key = h("88.118/31337").key
    # Once, and once more on the re-check (B's position moved on with the change).
    assert report.rechecked and ca.buckets == cb.buckets == [bucket_of(key)] * 2
    assert ca.keys == cb.keys == [key]
    assert (report.handles_a, report.handles_b, report.buckets) == (50_000, 50_000, 4096)
    assert [d.to_text() for d in report.differences] == [
        "88.118/31337: value 1 (URL) differs: A='http://x/31337' B='http://changed'"]


# -- a row changed around the store (SQLite) --------------------------------------------------

def corrupt(path: Path, handle: str, value: HandleValue) -> None:
    """Rewrite one value of a record in the file, bypassing the store (and its digests)."""
    key = h(handle).key
    with sqlite3.connect(path) as conn:
        (vals,) = conn.execute("SELECT vals FROM handles WHERE key = ?", (key,)).fetchone()
        values = [value if old.index == value.index else old
                  for old in decode_value_list(key, vals)]
        assert value in values
        changed = conn.execute("UPDATE handles SET vals = ? WHERE key = ?",
                               (encode_values(values), key)).rowcount
    conn.close()
    assert changed == 1


@pytest.fixture
def corrupted(tmp_path: Path) -> tuple[Path, Path]:
    """Two copies of one store; B's value 2 of 88.118/x rewritten in the file."""
    with open_store(f"sqlite://{tmp_path}/a.db") as store:
        store.home_prefix("88.118")
        store.apply(base_ops())
    shutil.copy(tmp_path / "a.db", tmp_path / "b.db")
    corrupt(tmp_path / "b.db", "88.118/x", url_value(2, "http://evil.example/2"))
    return tmp_path / "a.db", tmp_path / "b.db"


def test_digests_cannot_see_a_row_changed_around_the_store(corrupted: tuple[Path, Path]) -> None:
    with open_store(f"sqlite://{corrupted[0]}") as a, \
            open_store(f"sqlite://{corrupted[1]}") as b:
        assert compare(a, b).ok  # documented: the stored hashes are trusted


def test_deep_mode_finds_a_row_changed_around_the_store(corrupted: tuple[Path, Path]) -> None:
    with open_store(f"sqlite://{corrupted[0]}") as a, \
            open_store(f"sqlite://{corrupted[1]}") as b:
        report = asyncio.run(verify(LocalSource(a), LocalSource(b), deep=True))
    assert report.mode == "deep" and not report.ok and report.differing == 1
    assert [d.to_text() for d in report.differences] == [
        "88.118/x: value 2 (URL) differs: A='http://a.example/2' B='http://evil.example/2'",
        "88.118/x: B's stored record hash does not match its data (changed around the store?)"]
    assert "mode: deep" in report.to_text()


def test_deep_mode_reports_stale_hashes_even_when_the_data_agree(
        corrupted: tuple[Path, Path]) -> None:
    corrupt(corrupted[0], "88.118/x", url_value(2, "http://evil.example/2"))
    with open_store(f"sqlite://{corrupted[0]}") as a, \
            open_store(f"sqlite://{corrupted[1]}") as b:
        report = asyncio.run(verify(LocalSource(a), LocalSource(b), deep=True))
    assert {(d.kind, d.side) for d in report.differences} == {("stale-hash", "A"),
                                                             ("stale-hash", "B")}


# -- the command ----------------------------------------------------------------------------

def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["verify", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_exit_codes_and_text(corrupted: tuple[Path, Path], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    a, b = (f"sqlite://{path}" for path in corrupted)
    code, out, _ = run_cli(capsys, a, a)
    assert code == 0 and out.splitlines()[-1].startswith("identical")
    code, out, _ = run_cli(capsys, a, b, "--deep")
    assert code == 1
    assert "88.118/x: value 2 (URL) differs: A='http://a.example/2' " \
           "B='http://evil.example/2'" in out
    with open_store(b) as store:
        store.delete_handle(h("88.118/y"))
    code, out, _ = run_cli(capsys, a, b, "--json", "--recheck-delay", "0")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and report["mode"] == "digest"
    assert [d["kind"] for d in report["differences"]] == ["missing"]
    assert report["differences"][0]["handle"] == "88.118/y"


@pytest.mark.parametrize(("args", "message"), [
    (["sqlite:///nonexistent/x.db", "sqlite:///nonexistent/y.db"], "no SQLite store at"),
    (["tls://127.0.0.1:2642", "sqlite:///nonexistent/y.db"], "needs --auth"),
    (["tls://127.0.0.1", "sqlite:///nonexistent/y.db"], "give the port"),
    (["sqlite:///a.db", "tls://[::1]:2642", "--auth", "300:0.NA/88.118", "--key",
      __file__], "needs --pin-b CERT"),
    (["ftp://x", "sqlite:///nonexistent/y.db"], "unsupported store URL"),
    (["sqlite:///a.db", "sqlite:///b.db", "--pin-a", "/nonexistent.pem"], "--pin-a"),
    (["sqlite:///a.db", "sqlite:///b.db", "--max-report", "-1"], "--max-report"),
    (["sqlite:///a.db", "sqlite:///b.db", "--auth", "nonsense"], "--auth"),
])
def test_cli_usage_and_open_errors_exit_2(args: list[str], message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("error: verify ") and message in err


def test_cli_pin_needs_a_tls_node(corrupted: tuple[Path, Path],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    a, b = (f"sqlite://{path}" for path in corrupted)
    code, _, err = run_cli(capsys, a, b, "--pin-b", str(corrupted[0]))
    assert code == 2 and "--pin-b goes with a tls:// node" in err


def test_cli_never_echoes_a_password(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "postgresql://u:s3cret@127.0.0.1:1/db", "tls://h")
    assert code == 2 and "s3cret" not in err and "u:***@127.0.0.1:1" in err
