"""Storage conformance suite (run against every backend) and backend-specific tests."""
