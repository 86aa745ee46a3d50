"""Case statuses and their categories (a later issue makes them configurable per case type)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING_FOR_CUSTOMER = "waiting_for_customer"
    WAITING_FOR_THIRD_PARTY = "waiting_for_third_party"
    RESOLVED = "resolved"
    CLOSED = "closed"


DONE = frozenset({Status.RESOLVED, Status.CLOSED})


def status_after_customer_mail(current: Status) -> Status:
    """A customer's mail wakes a case up: waiting or done cases open again; new stays new."""
    if current is Status.NEW:
        return current
    return Status.OPEN


def parse_status(value: str) -> Status:
    try:
        return Status(value)
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise ValueError(f"unknown status {value!r}; one of: {allowed}") from None
