"""What can stop the demo: a directory it must not touch, a port in use, a node that fails."""

from __future__ import annotations

from idnode.errors import RegistryError

__all__ = ["DemoError", "Interrupted", "NodeFailed", "PortInUse"]


class DemoError(RegistryError):
    """The demo cannot go on; the message says why and what to do."""


class PortInUse(DemoError):
    fmt = ("port {port} ({what} of {node}) is in use on 127.0.0.1; stop whatever holds it, "
           "or choose other ports with --base-port N")


class NodeFailed(DemoError):
    """A node process exited (or never became ready); ``output`` is its last lines."""

    fmt = "{node} {reason}{output}"


class Interrupted(DemoError):
    """SIGINT or SIGTERM came while the nodes were starting."""

    fmt = "interrupted while the nodes were starting"
