"""HTML to PDF through WeasyPrint, for every PDF the portal makes (service summaries, statements,
proposals).

WeasyPrint fetches nothing: its URL fetcher refuses every URL (including ``file:``), so text a customer or a
prospect typed can never make the server fetch or read a file; stylesheets and charts are inline. Chinese
text uses the WenQuanYi Micro Hei font (Debian's fonts-wqy-microhei), which WeasyPrint embeds.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)
PDF_FONT = "WenQuanYi Micro Hei"


class FetchRefused(Exception):
    """WeasyPrint asked for a URL; the portal's PDFs fetch nothing."""


def _no_fetching() -> Any:
    from weasyprint.urls import URLFetcher

    class NoFetching(URLFetcher):  # type: ignore[misc]
        """Refuses every URL — http(s), file, data — before any handler sees it."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            log.warning("PDF: refused to fetch %s", url[:200])
            raise FetchRefused(url[:200])

    return NoFetching(allowed_protocols=())


def html_to_pdf(html: str) -> bytes:
    """WeasyPrint with every URL refused."""
    from weasyprint import HTML

    return HTML(string=html, url_fetcher=_no_fetching(), base_url=None).write_pdf()  # type: ignore[no-any-return]
