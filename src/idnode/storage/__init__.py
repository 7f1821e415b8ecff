"""idnode.storage."""
