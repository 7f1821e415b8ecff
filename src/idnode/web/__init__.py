"""The web face of a node: REST API, proxy resolution, reverse lookup, API docs."""
