"""The property every message must have: exactly one outcome, and a sound one."""

from __future__ import annotations

import hashlib
import re

from services.intake.domain import Limits, Parsed, QuarantineReason, Rejected

_ACTIVE_HTML = re.compile(
    r"<(?:script|style|iframe|object|embed|form|svg)\b|\son\w+\s*=|javascript:|src=\"(?!/api/v1/attachments/)",
    re.IGNORECASE,
)


def check_outcome(result: object, limits: Limits = Limits()) -> Parsed | Rejected:
    """``result`` is a Parsed (a case or an article) or a Rejected with a reason from the closed set."""
    assert isinstance(result, Parsed | Rejected), result
    if isinstance(result, Rejected):
        assert isinstance(result.reason, QuarantineReason)
        assert result.reason in set(QuarantineReason)
        return result
    assert "\x00" not in result.text_body and "\x00" not in result.subject
    assert len(result.text_body) <= limits.max_body_chars
    assert len(result.forwarded_text) <= limits.max_body_chars
    assert result.reply_text is None or len(result.reply_text) <= limits.max_body_chars
    assert len(result.parts) <= limits.max_parts
    for part in result.parts:
        assert part.sha256 == hashlib.sha256(part.data).hexdigest()
        assert part.disposition in ("attachment", "inline")
        assert part.filename is None or ("/" not in part.filename and "\\" not in part.filename)
    if result.html is not None:
        html = result.html.decode("utf-8")
        assert not _ACTIVE_HTML.search(html), html[:500]
        assert result.html_sha256 == hashlib.sha256(result.html).hexdigest()
    if result.bounce is not None:
        assert result.auto_submitted and result.auto_reason == "delivery status notification"
    assert result.auto_submitted == (result.auto_reason is not None)
    # Everything must fit the event that carries it.
    from shared.events.intake import Attachment

    for part in result.parts:
        Attachment(
            sha256=part.sha256,
            filename=part.filename,
            content_type=part.content_type,
            size=part.size,
            disposition=part.disposition,
            content_id=part.content_id,
            kind=part.kind,
        )
    return result
