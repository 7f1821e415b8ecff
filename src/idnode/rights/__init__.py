"""Data rights (数据权限) of identifiers over HTTP: the enterprise node's
``/api/v1/single-handle/authorization`` (``idis.md`` §7.4).

The value type and the decisions live below the node (:mod:`idnode.identifiers.values.rights`,
:mod:`idnode.auth.permissions`); this package is the HTTP face that edits them.
"""

from idnode.rights.api import RIGHTS_PATH, RightsApi

__all__ = ["RIGHTS_PATH", "RightsApi"]
