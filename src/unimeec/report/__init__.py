"""A static, self-contained report of predictions: one page per conversation with emotion
chips and cause -> emotion arrows, a searchable index, and (with gold) an evaluation page.

``unimeec report PREDICTIONS [--gold GOLD] --out DIR`` builds it; :func:`build_report` is the
same from Python, and :func:`conversation_html` is what a notebook shows for a
:class:`~unimeec.data.schema.Conversation`. Needs the ``report`` extra (Jinja2, matplotlib),
imported only when a page is rendered.
"""

from unimeec.report.render import conversation_html
from unimeec.report.site import ReportSite, build_report
from unimeec.report.view import ConversationView, build_view

__all__ = ["ConversationView", "ReportSite", "build_report", "build_view", "conversation_html"]
