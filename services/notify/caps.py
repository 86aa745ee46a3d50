"""The per-recipient cap on automatic mail, pure: no I/O, ``now`` passed in.

However well loops and auto-replies are detected upstream, one address never gets more than
``cap`` automatic mails (acknowledgements, later automatic notifications) in ``window``: a mail
loop that slips through costs ten mails, not ten thousand. Replies written by people are
never capped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from services.notify.compose import ACKNOWLEDGEMENT

AUTOMATIC_KINDS = frozenset({ACKNOWLEDGEMENT})


def is_automatic(kind: str) -> bool:
    return kind in AUTOMATIC_KINDS


def recipient_key(address: str) -> str:
    """The address the cap counts by: lower case, so that Kari@ and kari@ share one cap."""
    return address.strip().lower()


def cap_refusal(
    *, recipient: str, earlier: Iterable[datetime], now: datetime, cap: int, window: timedelta
) -> str | None:
    """Why one more automatic mail to ``recipient`` must not go, or None when it may.

    ``earlier`` are the times of automatic mails already registered for the recipient (not the
    suppressed ones); those after ``now - window`` count. A time later than ``now`` counts too:
    a competing consumer that took ``now`` before waiting for the recipient's lock must still
    see the mail registered while it waited.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    recent = sum(1 for moment in earlier if moment > now - window)
    if recent < cap:
        return None
    minutes = f"{window.total_seconds() / 60:g}"
    return (
        f"cap reached: {recent} automatic mails to {recipient} in the last {minutes} minutes (at most {cap})"
    )
