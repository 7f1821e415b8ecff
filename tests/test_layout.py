"""The house rules of the layout (style.md §5), checked mechanically."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "idnode"
STDLIB = set(sys.stdlib_module_names)

#: package -> idnode packages it may import (besides itself and idnode.errors)
ALLOWED: dict[str, set[str]] = {
    "identifiers": {"protocol"},
    "protocol": {"identifiers"},
    "transport": {"protocol"},
    "storage": {"identifiers", "protocol"},
    "auth": {"identifiers", "protocol"},
    "http": set(),
    # The client resolver: never the node or the web face.
    "resolver": {"identifiers", "protocol", "transport", "client"},
    # Identifier schemes: parsing needs the data model; mapping reads records from a client,
    # a resolver or a store, never from the node itself.
    "schemes": {"identifiers", "client", "resolver", "storage"},
    # Carriers draw and read codes; they know identifiers and schemes, nothing of the node.
    "carriers": {"identifiers", "schemes"},
    "dnsface": {"identifiers", "node", "resolver", "schemes", "config_dns"},
    # Metadata templates (元数据模板): the data model only.
    "templates": {"identifiers"},
    # Trusted resolution: signatures over values, certificates read through any lookup.
    "trust": {"identifiers", "auth", "schemes"},
    # The bulk import writes a store directly (a bulk job), validated by templates; it
    # shares the protocol's limits (handle length).
    "bulk": {"identifiers", "protocol", "storage", "templates"},
    # The SNMS API sits on the web face's parts and writes through the node's chain; its
    # unique-item check (snms/unique.py) searches the store's reverse index by its rules.
    "snms": {"identifiers", "protocol", "auth", "http", "node", "templates", "storage"},
    # Enterprise prefixes: an application-level package (its ledger, HTTP handlers, and the
    # CLI's direct access to a node home).
    "prefixes": {"identifiers", "auth", "client", "config", "http", "node", "reports",
                 "storage", "transport", "web"},
    # Data rights over HTTP: the web face's parts, writes through the chain as SNMS does.
    "rights": {"identifiers", "auth", "http", "node", "snms"},
}
#: third-party packages a layer may use
THIRD_PARTY: dict[str, set[str]] = {
    "identifiers": set(),
    "protocol": set(),
    "transport": set(),
    "storage": {"psycopg", "psycopg_pool"},
    "auth": {"cryptography", "gmalg"},
    "http": {"httptools", "OpenSSL"},
    "resolver": set(),
    "schemes": {"biip", "stdnum"},
    "carriers": {"PIL", "ndef", "ppf", "segno", "zxingcpp"},
    "dnsface": {"dns"},
    "templates": set(),
    "trust": {"cryptography"},
    "bulk": set(),
    "snms": set(),
    "prefixes": {"cryptography", "psycopg", "stdnum"},
    "rights": set(),
}


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_layer_imports(package: str) -> None:
    problems = []
    for path in sorted((SRC / package).rglob("*.py")):
        for name in imports(path):
            top = name.split(".")[0]
            if top == "idnode":
                layer = name.split(".")[1] if name.count(".") else ""
                if layer not in {package, "errors", *ALLOWED[package]}:
                    problems.append(f"{path.relative_to(SRC)} imports {name}")
            elif top not in STDLIB and top != "__future__" and \
                    top not in THIRD_PARTY[package]:
                problems.append(f"{path.relative_to(SRC)} imports {name}")
    assert not problems, "\n".join(problems)


def test_sockets_only_in_transport() -> None:
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                 if "socket" in {n.split(".")[0] for n in imports(p)}
                 and p.parts[-2] != "transport" and p.name != "worker.py"]
    assert not offenders


def test_modules_stay_well_under_1000_lines() -> None:
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 800}
    assert not long
