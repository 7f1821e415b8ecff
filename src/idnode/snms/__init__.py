"""The secondary-node HTTP API (二级节点, "SNMS API", ``idis.md`` §6) on idnode's web face.

Bearer tokens (:mod:`.tokens`), metadata templates stored as handle records
(:mod:`.templatestore`), registration bodies checked against them (:mod:`.registration`),
grants and copies of templates and the template a registration names (:mod:`.grants`), the
unique-item check over the reverse index (:mod:`.unique`), and the routes (:mod:`.api`).
Every write runs through the node's stage chain (:mod:`.chainwrites`), so authorization
(HS_ADMIN), compare-and-set and group commit are those of the native protocol. See
``docs/secondary-node.md``.
"""

from __future__ import annotations

from idnode.snms.api import SNMS_PATHS, SnmsApi
from idnode.snms.tokens import TokenIssuer

__all__ = ["SNMS_PATHS", "SnmsApi", "TokenIssuer"]
