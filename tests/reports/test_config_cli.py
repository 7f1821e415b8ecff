"""``[reports]`` in config.toml, the ``idnode reports`` command and the reporting lock."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from idnode.auth.keys import save_private_key
from idnode.cli.main import main
from idnode.config import load_config, render_config
from idnode.config_reports import STREAMS
from idnode.errors import ConfigError
from idnode.reports.files import LockBusy, Outbox
from reports.harness import ENT_ID, SERVER_KEY, SOURCE, flush, nodes

BASE = """
[node]
role = "enterprise"
prefixes = ["88.118.8"]
[listen]
udp = "127.0.0.1:2641"
tcp = "127.0.0.1:2641"
http = "off"
[storage]
url = "sqlite:handles.db"
[keys]
server_private_key = "server.key"
[log]
access_log = "logs/access.log"
"""


def home_with(tmp_path: Path, reports: str) -> Path:
    home = tmp_path / "node"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(BASE + reports)
    return home


def test_reports_section(tmp_path: Path) -> None:
    home = home_with(tmp_path, """
[reports]
to = "https://snms.example.cn:8443/idnode/"
identity = "300:88.118.8/ADMIN"
private_key = "keys/admin.key"
certificate = "keys/snms.crt"
source = "0.na/88.118.8"
streams = ["routes", "registrations"]
interval = 5
""")
    reports = load_config(home).reports
    assert reports is not None
    assert reports.to == "https://snms.example.cn:8443/idnode"
    assert reports.private_key == home / "keys" / "admin.key"
    assert reports.certificate == home / "keys" / "snms.crt"
    assert reports.secret_file is None
    assert reports.source == "88.118.8"
    assert reports.streams == ("registrations", "routes")
    assert (reports.interval, reports.batch_max) == (5.0, 5000)
    assert load_config(home_with(tmp_path, "")).reports is None


@pytest.mark.parametrize(("section", "key", "reason"), [
    ('to = "http://10.1.2.3:8000"', "reports.to", "loopback address only"),
    ('to = "ftp://x"', "reports.to", "not an https:// URL"),
    ('to = "https://u:p@x"', "reports.to", "base URL only"),
    ('private_key = "k"\nsecret_file = "s"', "reports.private_key", "exactly one"),
    ("streams = ['registrations', 'logs']", "reports.streams", "unknown stream 'logs'"),
    ("streams = []", "reports.streams", "non-empty list"),
    ("batch_max = 10001", "reports.batch_max", "outside 1…10000"),
    ("batch_max = 2.5", "reports.batch_max", "expected an integer"),
    ("interval = 0", "reports.interval", "outside"),
    ('source = "88.118.8/x"', "reports.source", "not an enterprise prefix"),
    ('identity = "ADMIN"', "reports.identity", "index:handle"),
    ("colour = 1", "reports.colour", "unknown key"),
    ('reporter = "s/1"', "reports.reporter", "is not a name"),
])
def test_bad_reports_sections_name_the_key(tmp_path: Path, section: str, key: str,
                                           reason: str) -> None:
    values = {"to": '"https://x"', "identity": '"300:88.118.8/ADMIN"',
              "private_key": '"k"', "source": '"88.118.8"'}
    lines = [line for line in section.splitlines()]
    for line in lines:
        values.pop(line.split("=")[0].strip(), None)
    if "secret_file" in section:
        values.pop("private_key", None)
    text = "\n".join(f"{k} = {v}" for k, v in values.items()) + "\n" + section
    with pytest.raises(ConfigError) as info:
        load_config(home_with(tmp_path, "[reports]\n" + text))
    assert info.value.kwargs["key"] == key
    assert reason in str(info.value)


def test_the_config_idnode_init_writes_documents_the_section(tmp_path: Path) -> None:
    text = render_config(prefixes=("88.118.8",), server_admins=("300:88.118.8/ADMIN",),
                         udp="127.0.0.1:2641", tcp="127.0.0.1:2641", http="127.0.0.1:8000",
                         storage_url="sqlite:storage/handles.db", role="enterprise")
    assert "# [reports]" in text and "数据上报配置" in text
    (tmp_path / "config.toml").write_text(text)
    assert load_config(tmp_path).reports is None  # commented out: off


def test_cli_flush_and_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with nodes(tmp_path) as (receiver, enterprise):
        enterprise.create(2)
        enterprise.log(3)
        home = enterprise.home
        save_private_key(home / "server.key", SERVER_KEY)
        (home / "config.toml").write_text(BASE.replace('"logs/access.log"',
                                                       f'"{enterprise.access_log}"')
                                          + f"""
[reports]
to = "{receiver.url}"
identity = "{ENT_ID}"
private_key = "ent.key"
source = "{SOURCE}"
""")
        assert main(["reports", "flush", str(home), "--json"]) == 0
        flushed = json.loads(capsys.readouterr().out)
        assert flushed["ok"] and flushed["sent"] == {s: [1] for s in STREAMS}
        assert main(["reports", "status", str(home), "--json"]) == 0
        status = {s["stream"]: s for s in json.loads(capsys.readouterr().out)["streams"]}
        assert status["registrations"]["acked_seq"] == 1
        assert status["registrations"]["pending"] == 0
        assert status["registrations"]["last_error"] is None
        receiver.stop()
        enterprise.create(1)
        assert main(["reports", "flush", str(home)]) == 1
        out = capsys.readouterr().out
        assert "registrations: built 1, delivered 0, pending 1" in out
        assert "error: registrations: cannot reach" in out
        assert main(["reports", "status", str(home)]) == 0
        out = capsys.readouterr().out
        assert f"reporting {SOURCE} to {receiver.url}" in out
        assert "acknowledged up to 1, 1 pending (oldest seq 2)" in out
        assert "last error" in out


def test_cli_refuses_a_home_without_reports(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    home = home_with(tmp_path, "")
    assert main(["reports", "flush", str(home)]) == 2
    assert "no [reports] section" in capsys.readouterr().err
    assert main(["reports", "status", str(home)]) == 0
    assert "reporting is off" in capsys.readouterr().out


def test_two_reporters_never_interleave(tmp_path: Path) -> None:
    with nodes(tmp_path) as (receiver, enterprise):
        enterprise.create(1)
        outbox = Outbox(enterprise.home)
        with outbox.locked(0):
            with pytest.raises(LockBusy), outbox.locked(0.1):
                pass
            reporter = enterprise.reporter(receiver.url)
            try:
                result = asyncio.run(reporter.flush(lock_wait=0.1))
            finally:
                asyncio.run(reporter.close())
            assert result.skipped and not result.ok
            assert receiver.seqs("registrations") == []
        assert asyncio.run(flush(enterprise.reporter(receiver.url))).ok
        assert receiver.seqs("registrations") == [1]
