"""``idnode resolve --root/--bootstrap/--http [--trace]`` against a running hierarchy."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from idnode.cli.main import main
from idnode.resolver import save_bootstrap
from resolver.cluster import Cluster, Node, site_value, text_value, url


def run(tmp_path: Path, go: Callable[[Cluster], Awaitable[None]]) -> None:
    async def main_() -> None:
        async with Cluster(tmp_path) as cluster:
            await asyncio.wait_for(go(cluster), 30)
    asyncio.run(main_())


async def cli(*args: str) -> int:
    return await asyncio.to_thread(main, list(args))


async def hierarchy(cluster: Cluster) -> tuple[Node, Node, Node]:
    root = await cluster.add_node("root", ["0.NA"])
    top = await cluster.add_node("top", ["88"])
    ent = await cluster.add_node("ent", ["88.118"], {
        "88.118/abc": [url("https://abc"), text_value(2, "EMAIL", "a@b.c")]})
    root.put("0.NA/88", [site_value(1, top.site(desc="top"), "HS_SITE.PREFIX")])
    top.put("0.NA/88.118", [site_value(1, ent.site(desc="ent"))])
    return root, top, ent


def test_trace_from_a_root_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def go(cluster: Cluster) -> None:
        root, top, ent = await hierarchy(cluster)
        assert root.udp is not None
        where = f"127.0.0.1:{root.udp[1]}"
        assert await cli("resolve", "88.118/abc", "--root", where, "--trace") == 0
        out = capsys.readouterr().out
        lines = out.splitlines()
        assert lines[0].split()[:3] == ["STEP", "HANDLE", "SERVER"]
        assert "prefix 88 " in lines[1] and root.label in lines[1]
        assert "prefix 88.118" in lines[2] and top.label in lines[2]
        assert "handle" in lines[3] and ent.label in lines[3]
        assert lines[4].startswith("total ")
        assert "https://abc" in out and "a@b.c" in out

        # --json gains the trace; --type filters locally.
        assert await cli("resolve", "88.118/abc", "--root", where, "--trace", "--json",
                         "--type", "EMAIL") == 0
        data = json.loads(capsys.readouterr().out)
        assert [v["type"] for v in data["values"]] == ["EMAIL"]
        assert [h["step"] for h in data["trace"]] == ["prefix 88", "prefix 88.118", "handle"]

        # Errors: the trace still shows where it ended; exit code 1.
        assert await cli("resolve", "88.118/none", "--root", where, "--trace") == 1
        captured = capsys.readouterr()
        assert "handle not found: 88.118/none" in captured.err
        assert "handle" in captured.out.splitlines()[-2]
    run(tmp_path, go)


def test_bootstrap_file_and_usage_errors(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    async def go(cluster: Cluster) -> None:
        root, _top, _ent = await hierarchy(cluster)
        bootstrap = tmp_path / "bootstrap.json"
        save_bootstrap(bootstrap, [root.site()])
        assert await cli("resolve", "88.118/abc", "--bootstrap", str(bootstrap),
                         "--index", "1") == 0
        out = capsys.readouterr().out
        assert "https://abc" in out and "a@b.c" not in out and "STEP" not in out
        assert await cli("resolve", "88.118/abc", "--trace") == 2
        assert "--trace needs" in capsys.readouterr().err
        assert await cli("resolve", "88.118/abc", "--bootstrap", str(tmp_path / "no")) == 2
        assert "bootstrap file" in capsys.readouterr().err
        assert await cli("resolve", "88.118/abc", "--http", "ftp://x", "--trace") == 2
        capsys.readouterr()
        assert await cli("resolve", "88.118/abc", "--root", "127.0.0.1:1",
                         "--timeout", "0.5") == 1
        assert "no root server answered" in capsys.readouterr().err
    run(tmp_path, go)


def test_trace_through_a_recursive_node(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    async def go(cluster: Cluster) -> None:
        root, _top, ent = await hierarchy(cluster)
        recursive = await cluster.add_recursive("rec", [root.site()])
        assert recursive.http is not None
        base = f"http://127.0.0.1:{recursive.http[1]}"
        assert await cli("resolve", "88.118/abc", "--http", base, "--trace") == 0
        out = capsys.readouterr().out
        assert "prefix 88.118" in out and ent.label in out and "https://abc" in out
        assert await cli("resolve", "88.118/abc", "--http", base, "--trace", "--json") == 0
        data = json.loads(capsys.readouterr().out)
        assert data["trace"][0]["server"] == "cache"  # the node cached it the first time
        assert await cli("resolve", "88.118/none", "--http", base, "--trace") == 1
        captured = capsys.readouterr()
        assert "response code 100" in captured.err and "handle" in captured.out
        assert await cli("resolve", "88.118/abc", "--http",
                         "http://127.0.0.1:1", "--timeout", "1") == 3
    run(tmp_path, go)
