"""The HTTP/1.1 server (with TLS) that the node's web API and console run on.

* :mod:`idnode.http.messages`: :class:`Request`, :class:`Response` and the :class:`HttpApp`
  interface the application implements (no sockets, tested in memory).
* :mod:`idnode.http.server`: :class:`HttpServer` turns sockets into requests with
  ``httptools`` on an ``asyncio.Protocol``; :class:`HttpSettings` holds its limits.
* :mod:`idnode.http.wire`: response serialisation (precomputed status lines, cached Date).
* :mod:`idnode.http.tls`: :class:`TlsSettings` and a sans-I/O pyOpenSSL layer that accepts
  self-signed client certificates (the application matches their keys to HS_PUBKEY).
"""

from idnode.http.messages import HttpApp, Request, Response
from idnode.http.server import HttpServer, HttpSettings
from idnode.http.tls import TlsSettings

__all__ = ["HttpApp", "HttpServer", "HttpSettings", "Request", "Response", "TlsSettings"]
