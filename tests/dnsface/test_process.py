"""A real ``idnode serve`` with two workers sharing the DNS port, asked with dnspython and
with ``dig`` (Debian's dnsutils, which scripts/setup.sh installs when it can)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from idnode.config import load_config
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.storage import open_store
from integration.nodeproc import NodeProcess, init_node, set_limit

OID = "3001.156.2.1.oid.example.cn."
IDENTIFIER = "jxdy2106023._.1.100.88.hdl.example.cn."


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, int]]:
    home = tmp_path_factory.mktemp("dnsnode") / "node"
    init_node(home, "88.100.1")
    set_limit(home, "workers", "2")
    with (home / "config.toml").open("a") as f:
        f.write('\n[dns]\nlisten = "127.0.0.1:0"\nzone = "oid.example.cn."\n'
                'handle_zone = "hdl.example.cn"\nttl = 120\n'
                '[dns.oids]\n"1.2.156.3001" = "88.100.1"\n')
    store = open_store(load_config(home).storage_url)
    naptr = {"order": 1, "preference": 1, "flags": "U", "service": "CINF",
             "regexp": "!^.*$!https://example.cn/cinf.xml!", "replacement": "."}
    store.add_values(Handle.parse("0.NA/88.100.1"),
                     [HandleValue(2, "OID.NAPTR", json.dumps(naptr).encode()).with_timestamp()])
    store.create_handle(Handle.parse("88.100.1/JXDY2106023"), [
        HandleValue(1, "URL", b"https://example.cn/p/JXDY2106023").with_timestamp()])
    store.close()
    proc = NodeProcess.start(home)
    try:
        match = re.search(r"listening dns udp 127\.0\.0\.1:(\d+)", proc.text)
        assert match, proc.text
        assert f"listening dns tcp 127.0.0.1:{match.group(1)}" in proc.text
        yield proc, int(match.group(1))
    finally:
        assert proc.stop() == 0, proc.text


def test_both_workers_answer_over_udp_and_tcp(node: tuple[NodeProcess, int]) -> None:
    _, port = node
    for i in range(20):  # SO_REUSEPORT spreads these over both workers
        query = dns.message.make_query(OID if i % 2 else IDENTIFIER,
                                       "NAPTR" if i % 2 else "URI")
        ask = dns.query.tcp if i % 3 == 0 else dns.query.udp
        reply = ask(query, "127.0.0.1", port=port, timeout=5)
        assert reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA
        assert reply.answer, reply
    services = {r.service for r in dns.query.udp(dns.message.make_query(OID, "NAPTR"),
                                                 "127.0.0.1", port=port, timeout=5).answer[0]}
    assert services == {b"CINF"}  # the prefix record has HS_SITE and HS_ADMIN, no URL


def test_dig(node: tuple[NodeProcess, int]) -> None:
    dig = shutil.which("dig")
    if dig is None:
        pytest.skip("dig is not installed (scripts/setup.sh installs dnsutils as root)")
    _, port = node

    def run(*args: str) -> str:
        return subprocess.run([dig, "@127.0.0.1", "-p", str(port), "+norec", "+time=3",
                               "+tries=1", *args], capture_output=True, text=True,
                              timeout=20, check=True).stdout

    out = run("NAPTR", OID)
    assert "status: NOERROR" in out and re.search(r"flags: qr aa", out)
    assert '"CINF" "!^.*$!https://example.cn/cinf.xml!"' in out
    out = run("+tcp", "TXT", IDENTIFIER)
    assert '"handle=88.100.1/JXDY2106023"' in out
    assert '"1=URL:https://example.cn/p/JXDY2106023"' in out
    out = run("TXT", "nope._.1.100.88.hdl.example.cn")
    assert "status: NXDOMAIN" in out and "SOA" in out
    assert "status: REFUSED" in run("A", "example.com")
