"""Upward reporting (数据上报), enterprise node (企业节点) → secondary node (二级节点).

Four streams, each numbered by a strictly increasing ``seq`` and delivered exactly once:
``registrations`` (标识注册日志上报: transaction-log entries), ``resolutions`` (标识解析日志
上报: per-minute request counts from the access log), ``metadata`` (元数据上报: a snapshot
when it changed) and ``routes`` (解析路由上报: the node's HS_SITE when it changed).

Sender: :class:`Reporter` (``reporter``) runs cycles of :class:`~.sender.Sender` that
persist each batch with its cursor (``files``) before :class:`~.client.ReportClient` posts
it. Receiver: :class:`~.receiver.ReportsApi` on the web face stores batches and marks in
one transaction of an :class:`~.inbox.Inbox`; routes are written through ``write_site``
(:func:`~.routes.site_writer`). The wire format is in ``docs/reports.md``.
"""

from idnode.reports.client import ReceiverUnreachable, Reply, ReportClient
from idnode.reports.inbox import Inbox, open_inbox
from idnode.reports.receiver import ReceiveLimits, ReportsApi
from idnode.reports.reporter import Reporter, client_for
from idnode.reports.routes import WriteSite, site_writer
from idnode.reports.sender import ReportResult

__all__ = [
    "Inbox",
    "ReceiveLimits",
    "ReceiverUnreachable",
    "Reply",
    "ReportClient",
    "ReportResult",
    "Reporter",
    "ReportsApi",
    "WriteSite",
    "client_for",
    "open_inbox",
    "site_writer",
]
