"""Assemble a worker's web face from the node's configuration and request-handling parts."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from idnode.auth.keys import PrivateKey
from idnode.auth.permissions import Authorizer
from idnode.config import NodeConfig
from idnode.config_roles import ROLES
from idnode.identifiers.values.site import SiteData
from idnode.node.accesslog import AccessLog
from idnode.node.edge import Edge
from idnode.node.records import Records
from idnode.node.throttle import FailureThrottle
from idnode.prefixes.api import PrefixApi
from idnode.reports import ReportsApi, WriteSite, open_inbox
from idnode.resolver import Resolver
from idnode.rights import RightsApi
from idnode.snms import SnmsApi, TokenIssuer
from idnode.snms.chainwrites import ChainWriter
from idnode.storage.ops import WriteOp, WriteResult
from idnode.templates.claims import CLAIMS_FILE, SharedClaims
from idnode.web.app import WebApp, WebSettings
from idnode.web.authn import Authenticator
from idnode.web.recursive import RecursiveApi
from idnode.web.rest import RestApi, RestLimits
from idnode.web.search import ReverseLookup, SearchSettings
from idnode.web.sessions import Sessions

__all__ = ["build_web_app"]


def session_key(server_key: PrivateKey) -> bytes:
    """Secret bytes every worker of the node derives alike (and again after a restart)."""
    der = server_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    return hashlib.sha256(b"idnode session key\x00" + der).digest()


def build_web_app(config: NodeConfig, records: Records, authorizer: Authorizer, edge: Edge,
                  access_log: AccessLog, server_key: PrivateKey, site: SiteData,
                  resolver: Resolver | None = None, *,
                  write_site: WriteSite | None = None,
                  submit: Callable[[WriteOp], Awaitable[WriteResult]] | None = None) -> WebApp:
    """The web face; with a ``resolver`` (the recursive role) reads go through it.

    Authoritative nodes also receive reports (``/api/reports``) into an inbox in their
    storage database, applying reported routes with ``write_site``, and, given ``submit``
    (the worker's write queue), take enterprise prefix applications
    (``/api/prefix-applications``); call :meth:`WebApp.close` when the worker stops.
    """
    limits, web = config.limits, config.web
    sessions = Sessions(session_key(server_key), config.home / "run" / "http-sessions",
                        lifetime=web.session_lifetime)
    authn = Authenticator(records, sessions, FailureThrottle(limits.auth_failures_per_minute),
                          allow_plain_http=web.allow_credentials_over_http,
                          pbkdf2_max_iterations=limits.pbkdf2_max_iterations)
    rest_limits = RestLimits(max_handle_bytes=limits.max_handle_bytes,
                             max_values=limits.max_values_per_handle,
                             list_page_size=limits.list_page_size)
    rest: RestApi
    search: ReverseLookup | None = None
    reports: ReportsApi | None = None
    snms: SnmsApi | None = None
    prefixes: PrefixApi | None = None
    rights: RightsApi | None = None
    if resolver is not None:
        rest = RecursiveApi(resolver, records, authorizer, edge.chain, authn.identify,
                            lambda: site, rest_limits)
        name = f"idnode {ROLES['recursive']}"
    else:
        rest = RestApi(records, authorizer, edge.chain, authn.identify, lambda: site,
                       rest_limits)
        search = ReverseLookup(records, authn.identify,
                               SearchSettings(require_auth=web.search_requires_auth))
        name = f"idnode {', '.join(config.prefixes)}"
        reports = ReportsApi(open_inbox(config.storage_url), authn.identify, authorizer,
                             records.values_of, write_site)
        # The secondary-node (SNMS) API: tokens keyed like the sessions, writes via the chain.
        snms = SnmsApi(records, authorizer, edge.chain, TokenIssuer(session_key(server_key)),
                       authn.throttle, allow_plain_http=web.allow_credentials_over_http,
                       max_handle_bytes=limits.max_handle_bytes,
                       claims=SharedClaims(config.home / CLAIMS_FILE))
        # Data rights (数据权限) of single identifiers, rewritten through the chain.
        rights = RightsApi(records, authorizer, ChainWriter(edge.chain), authn.identify,
                           max_handle_bytes=limits.max_handle_bytes)
        if submit is not None:  # enterprise prefixes (企业前缀): applications and review
            prefixes = PrefixApi.for_node(config.storage_url, config.prefixes, records.get,
                                          submit, authn.identify, authorizer)
    return WebApp(rest, authn, search, edge, access_log, lambda: records.homed,
                  WebSettings(node_name=name, max_message_bytes=limits.max_message_bytes,
                              run_dir=config.home / "run",
                              escrows=tuple(e.name for e in config.escrow)),
                  reports, snms, prefixes, rights)
