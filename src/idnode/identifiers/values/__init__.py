"""idnode.identifiers.values."""
