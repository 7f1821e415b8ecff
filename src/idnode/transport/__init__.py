"""idnode.transport."""
