"""Status categories of cases. Every case type names its own statuses, each in one of these
categories; a type with no configuration uses the categories themselves as its statuses."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING_FOR_CUSTOMER = "waiting_for_customer"
    WAITING_FOR_THIRD_PARTY = "waiting_for_third_party"
    RESOLVED = "resolved"
    CLOSED = "closed"


# The categories are the built-in statuses; the rules that ask "which kind of status" say so.
Category = Status

DONE = frozenset({Status.RESOLVED, Status.CLOSED})


def category_after_customer_mail(current: str) -> str:
    """A customer's mail wakes a case up: waiting or done cases open again; new stays new."""
    if current == Status.NEW.value:
        return current
    return Status.OPEN.value


def status_after_customer_mail(current: Status) -> Status:
    """The built-in statuses' form of ``category_after_customer_mail``."""
    return Status(category_after_customer_mail(current.value))


def parse_status(value: str) -> Status:
    try:
        return Status(value)
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise ValueError(f"unknown status {value!r}; one of: {allowed}") from None
