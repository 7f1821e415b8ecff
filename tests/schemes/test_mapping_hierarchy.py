"""Mapping end to end: the top-level node holds the mapping records, a recursive node
resolves a GS1 element string and an OID to the enterprise record; ``idnode resolve`` does
the same with --root, --server and --http."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from idnode.cli.main import main
from idnode.schemes import find_mapping, parse
from idnode.schemes.lookups import resolver_lookup
from resolver.cluster import Cluster
from schemes.hierarchy import (
    DEFAULT_URL,
    GTIN_HANDLE,
    OID,
    OID_HANDLE,
    SERIAL_HANDLE,
    Hierarchy,
    build,
)


def run(tmp_path: Path, go: Callable[[Hierarchy], Awaitable[None]]) -> None:
    async def main_() -> None:
        async with Cluster(tmp_path) as cluster:
            await asyncio.wait_for(go(await build(cluster)), 30)
    asyncio.run(main_())


async def cli(*args: str) -> int:
    return await asyncio.to_thread(main, list(args))


def test_recursive_node_resolves_gs1_and_oid(tmp_path: Path) -> None:
    async def go(h: Hierarchy) -> None:
        resolver = h.recursive.worker.resolver
        assert resolver is not None
        lookup = resolver_lookup(resolver)
        hit = await find_mapping(parse("(01)09521234543213(21)12345"), lookup)
        assert (hit.handle, hit.record) == (SERIAL_HANDLE, "88/MAP.GS1.9521234")
        values = (await resolver.resolve(hit.handle)).values
        assert values[0].text() == DEFAULT_URL
        # The same key in another form, without a serial: value 2 of the record.
        plain = await find_mapping(parse("https://id.example/01/9521234543213"), lookup)
        assert plain.handle == GTIN_HANDLE and plain.index == 2
        # The OID: its enterprise arc wins over China's arc (longest key first).
        oid = await find_mapping(parse(OID), lookup)
        assert (oid.handle, oid.key) == (OID_HANDLE, "1.2.156.20009")
        assert (await resolver.resolve(oid.handle)).values[0].text() == \
            "https://example.com/device/7/1"
        other = await find_mapping(parse("1.2.156.99.1"), lookup)
        assert other.handle == "88.118/1.2.156.99.1"
        # The mapping records came from the top-level node (国家顶级节点).
        assert h.top.requests("88/MAP.GS1.9521234") >= 1
    run(tmp_path, go)


def test_cli_resolve_maps_foreign_identifiers(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    async def go(h: Hierarchy) -> None:
        element = "(01)09521234543213(21)12345"
        assert await cli("resolve", element, "--root", h.root_address) == 0
        out = capsys.readouterr().out
        lines = out.splitlines()
        assert lines[0] == f"identifier  GS1 GTIN-13 {element}"
        assert lines[1].startswith("mapping     88/MAP.GS1.9521234")
        assert lines[2] == f"handle      {SERIAL_HANDLE}"
        assert DEFAULT_URL in out

        # Through the recursive node, with --json (over TCP: in the cluster UDP and TCP have
        # different ports, and this record is too large for UDP).
        assert await cli("resolve", element, "--server", h.recursive_tcp, "--tcp",
                         "--json") == 0
        data = json.loads(capsys.readouterr().out)
        assert data["handle"] == SERIAL_HANDLE
        assert data["identifier"] == {"text": element, "scheme": "gs1", "kind": "GS1 GTIN-13",
                                      "canonical": element,
                                      "mappingRecord": "88/MAP.GS1.9521234",
                                      "handle": SERIAL_HANDLE}
        assert data["values"][0]["data"]["value"] == DEFAULT_URL

        # Through the recursive node's web face, the OID forced with --scheme, with a trace.
        host, port = h.recursive_http
        assert await cli("resolve", OID, "--scheme", "oid", "--http",
                         f"http://{host}:{port}", "--trace", "--type", "URL") == 0
        out = capsys.readouterr().out
        assert f"handle      {OID_HANDLE}" in out and "STEP" in out
        assert "https://example.com/device/7/1" in out

        # --root with a trace shows the mapping lookups as hops too.
        assert await cli("resolve", "urn:epc:id:sgtin:9521234.054321.12345", "--root",
                         h.root_address, "--trace") == 0
        out = capsys.readouterr().out
        assert "88/MAP.GS1.9521234" in out and SERIAL_HANDLE in out

        # A handle resolves as before, without any mapping line.
        assert await cli("resolve", GTIN_HANDLE, "--server", h.recursive_address) == 0
        out = capsys.readouterr().out
        assert not out.startswith("identifier") and "https://example.com/p/" in out

        # Unknown company prefix: RC 100 naming the records looked up; exit 1.
        assert await cli("resolve", "6901234567892", "--root", h.root_address) == 1
        err = capsys.readouterr().err
        assert "no mapping record (映射记录) maps GS1 GTIN-13 (01)06901234567892" in err
        assert "88/MAP.GS1.690123456789" in err
        assert await cli("resolve", "6901234567892", "--server", h.recursive_address,
                         "--json") == 1
        assert json.loads(capsys.readouterr().out)["responseCode"] == 100

        # Invalid identifiers are usage errors (exit 2) that say what is wrong.
        assert await cli("resolve", "(01)09521234543210", "--root", h.root_address) == 2
        assert "GTIN check digit should be 3, not 0" in capsys.readouterr().err
        assert await cli("resolve", "88.118.8/x", "--scheme", "oid",
                         "--root", h.root_address) == 2
        assert "invalid OID" in capsys.readouterr().err
    run(tmp_path, go)
