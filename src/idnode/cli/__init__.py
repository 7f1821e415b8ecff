"""idnode.cli."""
