"""The states of a stored message and of a quarantine entry, and why a message is quarantined."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MessageState(StrEnum):
    RECEIVED = "received"
    QUARANTINED = "quarantined"
    DISCARDED = "discarded"
    DROPPED = "dropped"


class QuarantineReason(StrEnum):
    """Why a stored message was not passed on; a closed set that metrics and the admin page rely on."""

    PARSE_ERROR = "parse_error"
    NO_SENDER = "no_sender"
    AMBIGUOUS_SENDER = "ambiguous_sender"
    TOO_LARGE = "too_large"
    TOO_MANY_PARTS = "too_many_parts"
    DEPTH_EXCEEDED = "depth_exceeded"
    TIMEOUT = "timeout"
    LOOP_SUSPECTED = "loop_suspected"
    UNKNOWN_SENDER = "unknown_sender"


class Resolution(StrEnum):
    RETRIED = "retried"
    DISCARDED = "discarded"


@dataclass(frozen=True)
class Problem:
    """Why a message cannot be passed on, in words for the person who looks at the quarantine."""

    reason: QuarantineReason
    detail: str
