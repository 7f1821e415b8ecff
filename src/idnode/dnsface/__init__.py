"""The DNS face: a node's records over DNS (``docs/identifiers.md``, "The DNS face").

OIDs resolve as in the OID resolution system (ITU-T X.672: NAPTR records under the ORS
zone), identifiers as DNS names under a handle zone (TXT, URI, NAPTR, CNAME for HS_ALIAS).
The worker binds ``[dns] listen`` for UDP and TCP and serves :func:`build_face` with
:class:`DnsDatagrams` and :func:`stream_factory`.
"""

from __future__ import annotations

from collections.abc import Callable

from idnode.config_dns import DnsConfig
from idnode.dnsface.answer import DnsFace
from idnode.dnsface.service import DnsDatagrams, DnsStream
from idnode.dnsface.sources import LocalSource, ResolverSource, Source
from idnode.node.records import Records
from idnode.resolver import Resolver

__all__ = ["DnsDatagrams", "DnsFace", "DnsStream", "build_face", "stream_factory"]


def build_face(config: DnsConfig, records: Records, resolver: Resolver | None) -> DnsFace:
    """The face of one worker: through the resolver on a recursive node, else from the
    worker's own records."""
    source: Source = ResolverSource(resolver) if resolver is not None else LocalSource(records)
    return DnsFace(config, source)


def stream_factory(face: DnsFace, idle_timeout: float) -> Callable[
        [tuple[str, int], Callable[[bytes], None], Callable[[], None], Callable[[], None],
         Callable[[], None]], DnsStream]:
    """A ``transport.tcp.SessionFactory`` for DNS over TCP."""
    def session(peer: tuple[str, int], send: Callable[[bytes], None],
                close: Callable[[], None], pause: Callable[[], None],
                resume: Callable[[], None]) -> DnsStream:
        return DnsStream(face, send, close, pause, resume, idle_timeout)
    return session
