"""Enterprise prefixes (企业前缀) at a secondary node (二级节点): applications with real-name
review (实名审核), approval into ``0.NA/88.<sn>.<ent>``, suspension, reinstatement and
revocation, each audited. See ``docs/secondary-node.md``."""

from idnode.prefixes.api import PrefixApi
from idnode.prefixes.application import Application, Form, parse_form
from idnode.prefixes.credit import check_credit_code
from idnode.prefixes.ledger import Ledger, open_ledger
from idnode.prefixes.registry import Namespace, PrefixRegistry

__all__ = ["Application", "Form", "Ledger", "Namespace", "PrefixApi", "PrefixRegistry",
           "check_credit_code", "open_ledger", "parse_form"]
