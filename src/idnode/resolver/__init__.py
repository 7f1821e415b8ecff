"""The client resolver: iterative resolution from the root sites (Handle §10, the IDIS
hierarchy root → national top-level → secondary → enterprise), with a TTL cache, referral and
alias following, per-server health and a trace of every hop.

::

    resolver = Resolver(load_bootstrap(Path("bootstrap.json")))
    trace = Trace()
    answer = await resolver.resolve("88.118.8/abc", trace=trace)
    print(trace.format())

The resolver may use identifiers, protocol, transport, client and errors; never the node or
the web face (enforced by ``tests/test_layout.py``).
"""

from idnode.resolver.bootstrap import load_bootstrap, parse_bootstrap, save_bootstrap
from idnode.resolver.cache import CacheEntry, ResolverCache, record_ttl
from idnode.resolver.resolver import Resolver, root_sites
from idnode.resolver.settings import ResolverSettings
from idnode.resolver.sync import SyncResolver
from idnode.resolver.trace import Hop, Trace
from idnode.resolver.walk import Resolved

__all__ = [
    "CacheEntry",
    "Hop",
    "Resolved",
    "Resolver",
    "ResolverCache",
    "ResolverSettings",
    "SyncResolver",
    "Trace",
    "load_bootstrap",
    "parse_bootstrap",
    "record_ttl",
    "root_sites",
    "save_bootstrap",
]
