"""Against real nodes on loopback: a secondary node (二级节点) ``88.118`` and an enterprise
node (企业节点) ``88.118.9``, with ``idnode prefix`` run on the secondary's home while it
serves."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from idnode.auth.identity import Identity
from idnode.cli.main import main
from idnode.client import HandleClient
from idnode.client.auth import SecretKeyAuth
from idnode.errors import RemoteError
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import SiteData
from integration.nodeproc import NodeProcess, init_node

from .forms import ORGANISATION, PHONE, SECRET, VALID_CODES, delegated_form, hosted_form


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["prefix", *args, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    result: dict[str, Any] = json.loads(out.out)
    return result


async def _resolve(server: tuple[str, int], handle: str) -> list[HandleValue] | int:
    async with HandleClient(server) as client:
        try:
            return list((await client.resolve(handle)).values)
        except RemoteError as exc:
            return exc.response_code


def _status(server: tuple[str, int], handle: str) -> list[HandleValue] | int:
    return asyncio.run(_resolve(server, handle))


def test_prefix_lifecycle_on_real_nodes(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    home, ent_home = tmp_path / "secondary", tmp_path / "enterprise"
    init_node(home, "88.118")
    init_node(ent_home, "88.118.9")
    secondary = NodeProcess.start(home)
    enterprise = NodeProcess.start(ent_home)
    try:
        sn = secondary.tcp
        form = tmp_path / "hosted.json"
        form.write_text(json.dumps(hosted_form()), encoding="utf-8")
        hosted = _cli(capsys, "apply", str(home), str(form))["application"]["id"]
        assert _status(sn, "0.NA/88.118.77") == 100  # nothing before approval
        assert _cli(capsys, "approve", str(home), str(hosted))["application"]["status"] == \
            "approved"

        # the enterprise admin creates an identifier under its hosted prefix
        async def create() -> None:
            auth = SecretKeyAuth(Identity.parse("301:88.118.77/ADMIN"), SECRET.encode())
            async with HandleClient(sn, transport="tcp", auth=auth) as client:
                await client.create_handle("88.118.77/P1", [
                    HandleValue(1, "URL", b"https://example.cn/p1")])
        asyncio.run(create())
        values = _status(sn, "88.118.77/P1")
        assert isinstance(values, list) and values[0].data == b"https://example.cn/p1"

        # anonymous resolution shows no real-name data and no secret
        for handle in ("0.NA/88.118.77", "88.118.77/ADMIN"):
            found = _status(sn, handle)
            assert isinstance(found, list)
            assert "HS_SECKEY" not in {v.type for v in found}
            blob = b"".join(v.data for v in found)
            for text in (ORGANISATION, VALID_CODES[0], PHONE, "王小明"):
                assert text.encode() not in blob

        _cli(capsys, "suspend", str(home), str(hosted), "--reason", "年检未通过")
        assert _status(sn, "88.118.77/P1") == 301  # not served while suspended
        prefix = _status(sn, "0.NA/88.118.77")
        assert isinstance(prefix, list) and "HS_SITE" not in {v.type for v in prefix}
        _cli(capsys, "reinstate", str(home), str(hosted))
        assert isinstance(_status(sn, "88.118.77/P1"), list)

        # delegated: the secondary points 0.NA/88.118.9 at the enterprise node's site
        form.write_text(json.dumps(delegated_form(
            "9", [f"127.0.0.1:{enterprise.udp[1]}"])), encoding="utf-8")
        delegated = _cli(capsys, "apply", str(home), str(form))["application"]["id"]
        _cli(capsys, "approve", str(home), str(delegated))
        record = _status(sn, "0.NA/88.118.9")
        assert isinstance(record, list)
        sites = [SiteData.from_bytes(v.data) for v in record if v.type == "HS_SITE"]

        async def own_site() -> SiteData:
            async with HandleClient(enterprise.udp) as client:
                return await client.get_site_info()
        assert sites == [asyncio.run(own_site())]
        assert "HS_SITE.PREFIX" in {v.type for v in record}

        _cli(capsys, "revoke", str(home), str(hosted), "--reason", "企业注销")
        assert _status(sn, "88.118.77/P1") == 301
        assert _status(sn, "0.NA/88.118.77") == 100

        listed = _cli(capsys, "list", str(home))["applications"]
        assert [(a["prefix"], a["status"]) for a in listed] == [
            ("88.118.77", "revoked"), ("88.118.9", "approved")]
        shown = _cli(capsys, "show", str(home), str(hosted))
        assert [e["action"] for e in shown["audit"]] == [
            "apply", "approve", "suspend", "reinstate", "revoke"]
        assert shown["audit"][2]["detail"].endswith("年检未通过")
        assert all(e["actor"] == "300:88.118/ADMIN" for e in shown["audit"][1:])
    finally:
        secondary.stop()
        enterprise.stop()


def test_cli_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "secondary"
    init_node(home, "88.118")
    form = tmp_path / "form.json"
    form.write_text(json.dumps(hosted_form(creditCode="91110108MA01C8D91X")), encoding="utf-8")
    assert main(["prefix", "apply", str(home), str(form)]) == 2
    assert "call for 'R'" in capsys.readouterr().err
    form.write_text(json.dumps(hosted_form()), encoding="utf-8")
    assert main(["prefix", "apply", str(home), str(form)]) == 0
    assert main(["prefix", "approve", str(home), "1", "--operator", "300:88.118.77/ADMIN"]) == 2
    assert "not one of node.server_admins" in capsys.readouterr().err
    assert main(["prefix", "reject", str(home), "1"]) == 2  # --reason is required
