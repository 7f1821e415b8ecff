"""Building the streams' items: access-log lines counted across rotation and truncation,
registrations with gaps and restarts, the HS_SITE merge of a routes report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.node.accesslog import AccessLog
from idnode.reports.registrations import build_registrations
from idnode.reports.resolutions import GAP_ROOM, AccessLogTail, parse_line
from idnode.reports.routes import merged_sites, record_with_sites, sites_of
from idnode.storage import open_store
from reports.harness import MIRROR_SITE, NEW_SITE, OLD_SITE, site

SOURCE = "88.118.8"


def counts(items: list[dict[str, Any]]) -> dict[tuple[str, str, int], int]:
    out: dict[tuple[str, str, int], int] = {}
    for item in items:
        if item["kind"] == "count":
            key = (item["prefix"], item["op"], item["code"])
            out[key] = out.get(key, 0) + item["count"]
    return out


def write(log: AccessLog, n: int, handle: str = f"{SOURCE}/A") -> None:
    for _ in range(n):
        log.write(("::1", 4000), "tcp", (2, 10), 1, 1, 0.001, "300:88.118.8/ADMIN", handle)
    log.flush()


def test_parse_line_reads_both_formats() -> None:
    native = ('::1:4000 TCP:HDL(2.10) "2026-11-24 13:23:54.019Z" RESOLUTION 1 0.052ms '
              "[adm=300:88.118.8/ADMIN] 88.118.8.1/x y")
    assert parse_line(native, SOURCE) == ("2026-11-24T13:23Z", "88.118.8.1", "RESOLUTION", 1)
    web = '127.0.0.1:1 HTTPS "2026-11-24 13:23:54.019Z" GET 200 0.1ms 0.na/88.118.8'
    assert parse_line(web, SOURCE) == ("2026-11-24T13:23Z", "0.NA/88.118.8", "HTTP:GET", 200)
    other = '127.0.0.1:1 HTTP "2026-11-24 13:23:54.019Z" GET 404 0.1ms 88.1181/x'
    assert parse_line(other, SOURCE)[1] == "-"  # type: ignore[index]
    assert parse_line("garbage", SOURCE) is None
    assert parse_line('a b "c d" e f g', SOURCE) is None


def test_rename_rotation_is_followed_while_the_writer_keeps_the_old_file(
        tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    tail = AccessLogTail(path, SOURCE)
    writer = AccessLog(str(path))
    write(writer, 3)
    items, cursor = tail.build(None, 100)
    assert counts(items) == {(SOURCE, "RESOLUTION", 1): 3}
    os.rename(path, tmp_path / "access.log.1")
    path.touch()  # logrotate's "create": the node still writes to the renamed file
    write(writer, 2)
    items, cursor = tail.build(cursor, 100)
    assert counts(items) == {(SOURCE, "RESOLUTION", 1): 2}
    assert cursor["inode"] == os.stat(tmp_path / "access.log.1").st_ino
    writer.close()
    fresh = AccessLog(str(path))  # the node reopened its log (restart)
    write(fresh, 4, handle="88.200.1/x")
    items, cursor = tail.build(cursor, 100)
    assert counts(items) == {("-", "RESOLUTION", 1): 4}
    assert (cursor["inode"], cursor["offset"]) == (os.stat(path).st_ino, path.stat().st_size)
    fresh.close()


def test_truncation_and_lost_rotated_files_are_reported_as_gaps(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    tail = AccessLogTail(path, SOURCE)
    log = AccessLog(str(path))
    write(log, 5)
    _, cursor = tail.build(None, 100)
    os.truncate(path, 0)  # copytruncate
    write(log, 1)
    items, cursor = tail.build(cursor, 100)
    assert "truncated" in items[0]["reason"] and counts(items) == {
        (SOURCE, "RESOLUTION", 1): 1}
    log.close()
    os.rename(path, tmp_path / "access.log.1")
    os.unlink(tmp_path / "access.log.1")  # rotated and deleted (or compressed) unread
    log = AccessLog(str(path))
    write(log, 2, handle=f"{SOURCE}/another")  # its first line differs from the old file's
    log.close()
    items, cursor = tail.build(cursor, 100)
    # Whether the new file got the old inode number is up to the file system; either way
    # the lost lines are reported and the new file is counted from its start.
    assert items[0]["kind"] == "gap"
    assert "is gone" in items[0]["reason"] or "replaced" in items[0]["reason"]
    assert counts(items) == {(SOURCE, "RESOLUTION", 1): 2}


def test_partial_lines_wait_and_batches_are_bounded_in_keys(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    tail = AccessLogTail(path, SOURCE)
    line = ('127.0.0.1:1 UDP:HDL(2.11) "2026-11-24 13:23:54.019Z" RESOLUTION 1 0.1ms '
            "[adm=-] 88.118.8.{n}/x\n")
    keys = 2 + GAP_ROOM  # a batch's items: at most two counts (and room for gaps)
    path.write_text("".join(line.format(n=n) for n in range(5)) + line.format(n=9)[:20])
    items, cursor = tail.build(None, keys)
    assert [i["prefix"] for i in items] == ["88.118.8.0", "88.118.8.1"]
    items, cursor = tail.build(cursor, keys)
    assert [i["prefix"] for i in items] == ["88.118.8.2", "88.118.8.3"]
    items, cursor = tail.build(cursor, keys)
    assert [i["prefix"] for i in items] == ["88.118.8.4"]
    assert tail.build(cursor, keys) == ([], cursor)  # the half-written line is not consumed
    with path.open("a") as out:
        out.write(line.format(n=9)[20:])
    items, _ = tail.build(cursor, keys)
    assert [i["prefix"] for i in items] == ["88.118.8.9"]


def test_registrations_filter_bound_and_restart(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'h.db'}")
    try:
        for n in range(6):
            prefix = SOURCE if n % 2 else "88.1181"  # a lookalike prefix is not the source
            store.create_handle(Handle.parse(f"{prefix}/{n}"), [HandleValue(1, "URL", b"x")])
        items, cursor = build_registrations(store, SOURCE, 0, max_items=2, max_bytes=10**6)
        assert [i["handle"] for i in items] == [f"{SOURCE}/1", f"{SOURCE}/3"]
        assert cursor == 4
        items, cursor = build_registrations(store, SOURCE, cursor, max_items=2,
                                            max_bytes=1)  # one oversized item still goes
        assert [i["handle"] for i in items] == [f"{SOURCE}/5"] and cursor == 6
        assert build_registrations(store, SOURCE, 6, max_items=2, max_bytes=10**6) == ([], 6)
        # The database was replaced: the newest id is below the cursor.
        items, cursor = build_registrations(store, SOURCE, 50, max_items=10,
                                            max_bytes=10**6)
        assert items[0]["kind"] == "reset" and cursor == 6
        assert [i["handle"] for i in items[1:]] == [f"{SOURCE}/1", f"{SOURCE}/3",
                                                    f"{SOURCE}/5"]
    finally:
        store.close()


def test_route_merge_keeps_mirrors_and_positions() -> None:
    other_mirror = site("second mirror", primary=False, ip="10.0.0.3")
    assert merged_sites([OLD_SITE, MIRROR_SITE], [NEW_SITE]) == [NEW_SITE, MIRROR_SITE]
    assert merged_sites([MIRROR_SITE, OLD_SITE], [NEW_SITE]) == [MIRROR_SITE, NEW_SITE]
    assert merged_sites([OLD_SITE, MIRROR_SITE], [other_mirror]) == [OLD_SITE, other_mirror]
    assert merged_sites([MIRROR_SITE], [NEW_SITE, other_mirror]) == [other_mirror, NEW_SITE]
    values = (HandleValue(1, "HS_SITE", OLD_SITE.to_bytes(), ttl=600, permissions=0x0E),
              HandleValue(3, "HS_SITE.PREFIX", b"kept"),
              HandleValue(100, "HS_ADMIN", b"admin"))
    new = record_with_sites(values, [NEW_SITE, MIRROR_SITE], now=5)
    assert [(v.index, v.type) for v in new] == [(1, "HS_SITE"), (2, "HS_SITE"),
                                                (3, "HS_SITE.PREFIX"), (100, "HS_ADMIN")]
    assert new[0].ttl == 600 and new[0].timestamp == 5
    assert sites_of(new) == [NEW_SITE, MIRROR_SITE]
    assert sites_of(record_with_sites(new, [NEW_SITE])) == [NEW_SITE]
