"""The protocol core stays sans-I/O, and its package imports without cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import idnode.protocol

PROTOCOL_DIR = Path(idnode.protocol.__file__).parent
ALLOWED_IDNODE = ("idnode.errors", "idnode.identifiers.value", "idnode.identifiers.handle",
                  "idnode.protocol")
FORBIDDEN_STDLIB = {"socket", "asyncio", "selectors", "ssl", "sqlite3", "http", "urllib",
                    "subprocess", "dbm"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(PROTOCOL_DIR.glob("*.py")), ids=lambda p: p.name)
def test_protocol_imports_only_stdlib_and_allowed_idnode_modules(path: Path) -> None:
    for name in imported_modules(path):
        top = name.partition(".")[0]
        if top == "idnode":
            assert name.startswith(ALLOWED_IDNODE), f"{path.name} imports {name}"
        else:
            assert top in sys.stdlib_module_names or top == "__future__", \
                f"{path.name} imports non-stdlib {name}"
            assert top not in FORBIDDEN_STDLIB, f"{path.name} imports I/O module {name}"


@pytest.mark.parametrize("first", ["idnode.identifiers.value", "idnode.identifiers.handle",
                                   "idnode.protocol.wire", "idnode.protocol.bodies",
                                   "idnode.protocol"])
def test_no_import_cycle(first: str) -> None:
    code = f"import {first}; import idnode.protocol as p; p.ResolutionRequest; p.Reassembler"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def test_lazy_names_resolve() -> None:
    for name in idnode.protocol.__all__:
        assert getattr(idnode.protocol, name) is not None
    with pytest.raises(AttributeError):
        getattr(idnode.protocol, "NoSuchName")  # noqa: B009
