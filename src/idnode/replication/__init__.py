"""Replication between nodes: mirrors, escrow copies and checking that they agree."""
