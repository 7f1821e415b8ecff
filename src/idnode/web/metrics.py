"""``GET /metrics``: the node's replication figures in the Prometheus text format.

The first worker writes ``run/replication.json`` (and ``run/escrow-<name>.json``) every
second; any worker serves them here, so the figures are the same whichever worker answers.
A file older than ``_STALE`` seconds is reported as stale rather than as current.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from idnode.http.messages import Response

__all__ = ["metrics_response", "render_metrics"]

_STALE = 10.0
_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _label(text: object) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def render_metrics(run_dir: Path, escrows: list[str]) -> str:
    """The metrics text for the node whose run directory is ``run_dir``."""
    lines: list[str] = []
    now = time.time()

    def gauge(name: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP idnode_{name} {help_text}")
        lines.append(f"# TYPE idnode_{name} gauge")
        lines.extend(f"idnode_{name}{labels} {value:g}" for labels, value in samples)

    own = _read(run_dir / "replication.json")
    copies: list[tuple[str, dict[str, Any] | None]] = (
        [("mirror", own)] if own is not None and own.get("state") != "primary" else [])
    copies += [(f"escrow {name}", _read(run_dir / f"escrow-{name}.json")) for name in escrows]
    live = [(name, data) for name, data in copies if data is not None]
    if own is not None:
        gauge("replication_is_primary", "1 when this node is the primary of its group",
              [("", 1.0 if own.get("state") == "primary" else 0.0)])
        gauge("replication_status_age_seconds", "age of the replication status "
              f"(stale after {_STALE:g} s: is the node running?)",
              [("", now - float(own.get("updated", 0)))])
    if own is not None and own.get("state") == "primary":
        gauge("replication_position", "newest transaction id",
              [("", float(own.get("position", 0)))])
        mirrors = own.get("mirrors", [])
        gauge("replication_mirror_lag_transactions", "transactions a mirror has not applied",
              [(f'{{mirror="{_label(m["identity"])}"}}', float(m["lag_txns"]))
               for m in mirrors])
    if live:
        def each(key: str) -> list[tuple[str, float]]:
            return [(f'{{copy="{_label(name)}",source="{_label(data.get("source", ""))}"}}',
                     float(data.get(key) or 0)) for name, data in live]
        gauge("replication_lag_transactions", "transactions this copy is behind its source",
              each("lag_txns"))
        gauge("replication_lag_seconds", "how long ago the oldest unapplied transaction was "
              "written at the source", each("lag_seconds"))
        gauge("replication_applied_transactions", "transactions applied since start",
              each("applied"))
        gauge("replication_connected", "1 while following the source",
              [(labels, 1.0 if data.get("state") == "following" else 0.0)
               for (labels, _), (_, data) in zip(each("applied"), live, strict=True)])
    return "\n".join(lines) + "\n"


def metrics_response(run_dir: Path, escrows: list[str]) -> Response:
    return Response(200, render_metrics(run_dir, escrows).encode(), _CONTENT_TYPE)
