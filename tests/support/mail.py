"""Generated mails for tests and benchmarks: plain, HTML, with an attachment, with æøå."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

KINDS = ("plain", "html", "attachment", "nordic")


def make_mail(
    i: int,
    *,
    kind: str = "plain",
    sender: str | None = None,
    subject: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    extra_headers: dict[str, str] | None = None,
) -> tuple[bytes, str]:
    """Return the raw bytes and the Message-ID of a test mail."""
    message = EmailMessage()
    message["From"] = f"Kunde {i} <{sender or f'kunde{i}@example.no'}>"
    message["To"] = "support@allsak.local"
    message["Subject"] = subject or f"Henvendelse {i}: {kind}"
    message["Date"] = format_datetime(datetime.now(UTC))
    message_id = make_msgid(idstring=uuid.uuid4().hex[:12], domain="example.no")
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = " ".join(references)
    for name, value in (extra_headers or {}).items():
        message[name] = value
    text = f"Hei,\n\ndette er henvendelse nummer {i}.\n\nHilsen kunde {i}"
    if kind == "nordic":
        message.replace_header("Subject", f"Blåbærsyltetøy og ærfugl {i}: øl på Ærø")
        text = f"Hei! Søknad nr. {i} gjelder æøå ÆØÅ – «sitat» og €.\n"
    message.set_content(text)
    if kind == "html":
        message.add_alternative(
            f"<html><body><p>Hei,</p><p>henvendelse <b>{i}</b></p></body></html>", subtype="html"
        )
    elif kind == "attachment":
        message.add_attachment(
            b"%PDF-1.4 test " * 200, maintype="application", subtype="pdf", filename="vedlegg.pdf"
        )
    return bytes(message), message_id
