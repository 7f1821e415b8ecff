"""schemathesis against the node's own OpenAPI document, over HTTPS with real credentials.

Checks: no 5xx, every status and content type documented, every JSON body and header
conforming to its schema. A fixed seed keeps CI reproducible; ``IDNODE_SCHEMATHESIS_SEED``
and ``IDNODE_SCHEMATHESIS_EXAMPLES`` explore further by hand.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from integration.nodeproc import NodeProcess, init_node

pytestmark = pytest.mark.integration

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,response_headers_conformance")


def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    home = tmp_path / "node"
    init_node(home, "TEST", "--https", "127.0.0.1:0", secret="st-secret")
    node = NodeProcess.start(home)
    try:
        token = base64.b64encode(b"301%3ATEST/ADMIN:st-secret").decode()
        schemathesis = Path(sys.executable).with_name("schemathesis")
        proc = subprocess.run(
            [str(schemathesis), "run", f"https://127.0.0.1:{node.https[1]}/openapi.json",
             "--tls-verify", str(home / "keys" / "tls.crt"),
             "-H", f"Authorization: Basic {token}", "-c", CHECKS,
             "-n", os.environ.get("IDNODE_SCHEMATHESIS_EXAMPLES", "25"),
             "--seed", os.environ.get("IDNODE_SCHEMATHESIS_SEED", "1"),
             "--max-failures", "5"],
            cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
        summary = proc.stdout[-6000:]
        assert proc.returncode == 0, summary
        assert " passed" in proc.stdout and "failure" not in proc.stdout.split("SUMMARY")[-1]
    finally:
        node.stop()
    assert node.proc.returncode == 0
