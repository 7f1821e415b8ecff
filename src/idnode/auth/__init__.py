"""idnode.auth."""
