"""The prefix API as a real node mounts it: a secondary node process answers
``/api/prefix-applications`` on its web face (credentials refused over plain HTTP unless
allowed, operators only)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from integration.nodeproc import NodeProcess, free_port_pair, init_node

pytestmark = pytest.mark.integration


def test_a_running_node_serves_prefix_applications(tmp_path: Path) -> None:
    home = tmp_path / "sn"
    init_node(home, "88.130", "--role", "secondary", secret="s3cret-for-tests")
    http = free_port_pair()
    text = (home / "config.toml").read_text().replace('http = "off"',
                                                      f'http = "127.0.0.1:{http}"')
    (home / "config.toml").write_text(text.replace("allow_credentials_over_http = false",
                                                   "allow_credentials_over_http = true"))
    node = NodeProcess.start(home)
    try:
        url = f"http://127.0.0.1:{http}/api/prefix-applications"
        with pytest.raises(urllib.error.HTTPError) as anonymous:
            urllib.request.urlopen(url, timeout=5)
        assert anonymous.value.code == 401
        anonymous.value.close()
        token = base64.b64encode(b"301%3A88.130%2FADMIN:s3cret-for-tests").decode()
        request = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            listed = json.loads(answer.read())
        assert isinstance(listed, dict | list)
    finally:
        node.stop()
