"""idnode: an industrial-internet identifier (Handle / IDIS) registration and resolution node."""

__all__ = ["__version__"]

__version__ = "0.1.0"
