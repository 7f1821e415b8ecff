"""idnode.node."""
