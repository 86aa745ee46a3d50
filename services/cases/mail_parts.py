"""What a mail adds to its article beyond the text: words for search and rows for its stored parts."""

from __future__ import annotations

from services.cases.models import ArticleBlob
from shared.events.intake import MessageReceived


def search_text(source: MessageReceived | None) -> str | None:
    """What search finds in a mail besides its body: forwarded messages and attachment names."""
    if source is None:
        return None
    names = [a.filename for a in source.attachments if a.filename]
    text = "\n".join(part for part in [source.forwarded_text.strip(), *names] if part)
    return text or None


def article_blobs(article_id: str, source: MessageReceived | None) -> list[ArticleBlob]:
    """One row per stored part of a mail (HTML body, attachments), for access-checked download."""
    if source is None:
        return []
    blobs: dict[str, ArticleBlob] = {}
    if source.html_sha256:
        blobs[source.html_sha256] = ArticleBlob(
            article_id=article_id,
            sha256=source.html_sha256,
            role="html",
            filename=None,
            content_type="text/html; charset=utf-8",
            disposition="inline",
        )
    for part in source.attachments:
        blobs.setdefault(
            part.sha256,
            ArticleBlob(
                article_id=article_id,
                sha256=part.sha256,
                role="attachment",
                filename=part.filename,
                content_type=part.content_type,
                disposition=part.disposition,
            ),
        )
    return list(blobs.values())
