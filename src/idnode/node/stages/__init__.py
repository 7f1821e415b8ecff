"""idnode.node.stages."""
