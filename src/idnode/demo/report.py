"""What the demo prints: the table of nodes, a resolution traced through the recursive node,
where to point a browser, and commands to try.
"""

from __future__ import annotations

import json
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from idnode.demo.runner import Child
from idnode.demo.samples import ALIAS, FEATURED, GS1_ELEMENT_STRING
from idnode.demo.topology import Node, Topology

__all__ = ["commands", "data_flows", "nodes_table", "traced_resolution", "where_to_look"]

_ROLE_NAMES = {
    "root": "root 根节点",
    "top-level": "top-level 国家顶级节点",
    "secondary": "secondary 二级节点",
    "enterprise": "enterprise 企业节点",
    "recursive": "recursive 递归节点",
}
_HEADINGS = ("ROLE", "NODE", "PREFIXES", "UDP+TCP", "HTTP", "PID", "WHO")


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(_width(row[col]) for row in rows) for col in range(len(rows[0]) - 1)]
    return ["  ".join([*(_pad(cell, w) for cell, w in zip(row, widths, strict=False)),
                       row[-1]]).rstrip() for row in rows]


def _role(node: Node, topology: Topology) -> str:
    if node.site and not topology.sites[node.site].primary:
        return "disaster recovery 灾备节点" if node.role == "top-level" else "mirror 镜像站点"
    return _ROLE_NAMES.get(node.role, node.role)


def nodes_table(topology: Topology, children: Mapping[str, Child]) -> str:
    """One line per node: role, name, prefixes, addresses and pid."""
    rows: list[tuple[str, ...]] = [_HEADINGS]
    for node in topology.nodes:
        child = children.get(node.name)
        rows.append((_role(node, topology), node.name, ", ".join(node.prefixes) or "-",
                     node.address, node.http_url, str(child.pid) if child else "-",
                     node.about))
    return "\n".join(_table(rows))


def _fetch(url: str, timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as exc:  # an error answer still carries the trace
        body = exc.read()
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    return data


def _value_text(value: Mapping[str, Any]) -> str:
    data = value.get("data")
    if isinstance(data, Mapping) and data.get("format") == "string":
        text = str(data.get("value", ""))
    elif isinstance(data, Mapping):
        text = f"({data.get('format', '?')})"
    else:
        text = str(data)
    text = " ".join(text.split())
    return text if len(text) <= 90 else text[:87] + "..."


def traced_resolution(topology: Topology, handle: str = FEATURED,
                      timeout: float = 15.0) -> tuple[bool, str]:
    """Resolve ``handle`` through the recursive node's HTTP face with ``?trace=true``.

    :returns: whether it resolved, and the trace and values as text (or what went wrong).
    """
    from idnode.resolver import Trace
    url = (f"{topology.recursive.http_url}/api/handles/"
           f"{urllib.parse.quote(handle, safe='/')}?trace=true")
    try:
        answer = _fetch(url, timeout)
    except (OSError, ValueError) as exc:
        return False, f"  GET {url} failed: {exc}"
    lines = [f"  GET {url}", ""]
    try:
        trace = Trace.from_json(answer.get("trace", []))
    except Exception as exc:
        return False, "\n".join([*lines, f"  unreadable trace ({exc}): {answer}"])
    lines += [f"  {line}" for line in trace.format().splitlines()]
    if answer.get("responseCode") != 1:
        lines += ["", f"  response code {answer.get('responseCode')}: "
                  f"{answer.get('message', '')}"]
        return False, "\n".join(lines)
    lines += ["", f"  {handle}:"]
    for value in answer.get("values", []):
        lines.append(f"    {value.get('index'):>5}  {value.get('type', ''):<18} "
                     f"{_value_text(value)}")
    return True, "\n".join(lines)


def where_to_look(topology: Topology) -> str:
    rec = topology.recursive.http_url
    holder = topology.holder(FEATURED)
    bottle = "88.168.5288/BOTTLE000101"
    return "\n".join([
        f"  proxy (302 to the product page) {rec}/{FEATURED}",
        f"  record page                     {rec}/{FEATURED}?noredirect",
        f"  REST JSON                       {rec}/api/handles/{FEATURED}",
        f"  with the trace                  {rec}/api/handles/{FEATURED}?trace=true",
        f"  a bottle of liquor 瓶酒          {rec}/{bottle}?noredirect",
        f"  enterprise node 企业节点 itself  {holder.http_url}/{FEATURED}?noredirect"
        f"   ({holder.name} holds it)",
        f"  API browser                     {holder.http_url}/api/",
        f"  GS1 Digital Link (数字链接)      {rec}/01/09521234543213/21/12345"
        "   (?linkType=all: the linkset)",
    ])


def data_flows(topology: Topology, directory: Path) -> str:
    """The replication, escrow and reporting the demo runs (:mod:`idnode.demo.sync`)."""
    from idnode.demo.sync import MIRROR, PRIMARY, REPORTER, SECONDARY
    primary, mirror = topology.node(PRIMARY), topology.node(MIRROR)
    secondary = topology.node(SECONDARY)
    return "\n".join([
        f"  {mirror.name} (灾备) mirrors {primary.name}: dump, then its transaction log over "
        f"TLS :{topology.replication_port(PRIMARY)}",
        f"  {primary.name} escrows (托管) {secondary.name}'s data from TLS "
        f":{topology.replication_port(SECONDARY)}",
        f"  {REPORTER} reports (上报) to {secondary.name} at {secondary.http_url}/api/reports",
        f"  idnode replication status {directory / MIRROR}",
        f"  idnode replication status {directory / PRIMARY}    # mirrors and the escrow",
        f"  curl -s {mirror.http_url}/metrics",
    ])


def commands(topology: Topology, directory: Path) -> str:
    rec, root = topology.recursive.address, topology.root.address
    holder = topology.holder(FEATURED)
    key = directory / holder.name / "keys" / "admin.key"
    prefix = FEATURED.partition("/")[0]
    quoted = urllib.parse.quote(FEATURED, safe="/")
    return "\n".join([
        f"  idnode resolve {FEATURED} --server {rec}",
        f"  idnode resolve {ALIAS} --server {rec}          # HS_ALIAS → {FEATURED}",
        f"  idnode resolve {FEATURED} --trace --root {root}",
        f"  idnode resolve {FEATURED} --trace --http {topology.recursive.http_url}",
        f"  idnode resolve 0.NA/{prefix} --server {topology.node('sn-88.118').address}"
        "    # the secondary's delegation record",
        f"  idnode resolve '{GS1_ELEMENT_STRING}' --server {rec}"
        "    # a GS1 barcode, mapped by 88/MAP.GS1.*",
        f"  idnode carrier {FEATURED} --qr --proxy {topology.recursive.http_url} --out wrench.png"
        "   # then: idnode scan wrench.png --server " + rec,
        f"  curl -s '{topology.recursive.http_url}/api/handles/{quoted}?trace=true'",
        f"  idnode add {FEATURED} 2100:note=hello --server {holder.address} "
        f"--auth 300:{prefix}/ADMIN --key {key}",
    ])

