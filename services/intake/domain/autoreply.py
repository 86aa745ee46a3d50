"""Machine-sent and bulk mail: intake marks it so that nothing answers it automatically."""

from __future__ import annotations

import re

from services.intake.domain.headers import RawHeaders

BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
LIST_FIELDS = ("list-id", "list-unsubscribe")
AUTOREPLY_FIELDS = ("x-autoreply", "x-autorespond")
SYSTEM_SENDERS = frozenset({"mailer-daemon", "postmaster"})

_FIRST_WORD = re.compile(r"[^\s;(]+")


def _first_word(value: str) -> str:
    found = _FIRST_WORD.search(value)
    return found.group().lower() if found else ""


def is_auto_submitted(headers: RawHeaders, sender_email: str | None) -> bool:
    """RFC 3834 Auto-Submitted other than "no", bulk Precedence, list mail, autoresponder
    marks, a null Return-Path (bounces) or a mailer-daemon/postmaster sender."""
    if any(_first_word(value) != "no" for value in headers.all("auto-submitted")):
        return True
    if any(_first_word(value) in BULK_PRECEDENCE for value in headers.all("precedence")):
        return True
    if any(field in headers for field in (*LIST_FIELDS, *AUTOREPLY_FIELDS)):
        return True
    if any(value.strip() == "<>" for value in headers.all("return-path")):
        return True
    if sender_email:
        local = sender_email.rpartition("@")[0].strip('"').lower()
        return local in SYSTEM_SENDERS
    return False
