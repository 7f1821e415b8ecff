"""idnode.protocol."""
