"""``idnode demo``: a whole identifier resolution hierarchy on 127.0.0.1.

- :mod:`.topology`: the nodes, their roles, prefixes, sites and ports;
- :mod:`.samples`: the sample identifiers loaded into the enterprise nodes;
- :mod:`.homes`: creating the node homes and loading their records, in process;
- :mod:`.runner`: the node processes (start, wait until ready, watch, stop);
- :mod:`.report`: what the demo prints;
- :mod:`.errors`: what stops it.

The command is :mod:`idnode.cli.commands.demo`. Nothing is imported here: the command loads
the modules when it runs, so that every other ``idnode`` command (each of the demo's node
processes among them) starts without them.
"""

__all__: list[str] = []
