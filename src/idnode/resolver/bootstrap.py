"""The bootstrap file: the root sites a resolver starts from (``handle-protocol.md`` §10.1).

A JSON list of sites in the CNRI ``siteinfo.json`` shape (§6.5), or an object
``{"sites": [...]}``. :func:`save_bootstrap` writes the list form, for example after
:meth:`Resolver.prime <idnode.resolver.Resolver.prime>` learned the current root sites.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from idnode.errors import ConfigError, InvalidValue
from idnode.identifiers.jsonvalue import site_from_json, site_to_json
from idnode.identifiers.values.site import SiteData

__all__ = ["load_bootstrap", "parse_bootstrap", "save_bootstrap"]

#: Bootstrap files are a few kilobytes; anything much larger is not one.
_MAX_BYTES = 1024 * 1024


def _bad(path: Path | str, problem: str) -> ConfigError:
    return ConfigError(f"bootstrap file {path}: {problem}", key=str(path), reason=problem)


def parse_bootstrap(obj: Any, where: str = "bootstrap") -> list[SiteData]:
    """The sites of a decoded bootstrap document.

    :raises InvalidValue: not a list of sites (or ``{"sites": [...]}``), an empty list, or a
        malformed site; the message names the item.
    """
    if isinstance(obj, dict):
        if set(obj) != {"sites"}:
            raise InvalidValue(reason=f"{where}: an object must have exactly one member, "
                                      "'sites'")
        obj = obj["sites"]
        where = f"{where}.sites"
    if not isinstance(obj, list):
        raise InvalidValue(reason=f"{where}: expected a list of sites, got "
                                  f"{type(obj).__name__}")
    if not obj:
        raise InvalidValue(reason=f"{where}: the list of sites is empty")
    sites = [site_from_json(item, f"{where}[{i}]:") for i, item in enumerate(obj)]
    for i, site in enumerate(sites):
        if not site.servers:
            raise InvalidValue(reason=f"{where}[{i}]: the site has no servers")
    return sites


def load_bootstrap(path: Path) -> list[SiteData]:
    """Read the root sites from ``path``.

    :raises ConfigError: the file cannot be read, is not JSON, or is not a non-empty list of
        well-formed sites with servers; the message names the file and the problem.
    """
    try:
        with open(path, "rb") as file:
            raw = file.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise _bad(path, f"cannot be read: {exc.strerror or exc}") from None
    if len(raw) > _MAX_BYTES:
        raise _bad(path, f"larger than {_MAX_BYTES} bytes")
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _bad(path, "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _bad(path, f"not valid JSON ({exc.msg} at line {exc.lineno}, column "
                         f"{exc.colno})") from None
    try:
        return parse_bootstrap(obj)
    except InvalidValue as exc:
        raise _bad(path, exc.kwargs.get("reason", str(exc))) from None


def save_bootstrap(path: Path, sites: Sequence[SiteData]) -> None:
    """Write ``sites`` to ``path`` as a JSON list (atomically: a reader never sees half).

    :raises ConfigError: no sites, or the file cannot be written.
    """
    if not sites:
        raise _bad(path, "refusing to write an empty list of sites")
    text = json.dumps([site_to_json(site) for site in sites], indent=2) + "\n"
    directory = Path(path).resolve().parent
    try:
        fd, temporary = tempfile.mkstemp(prefix=".bootstrap-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise _bad(path, f"cannot be written: {exc.strerror or exc}") from None
