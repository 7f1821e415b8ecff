"""idnode.identifiers."""
