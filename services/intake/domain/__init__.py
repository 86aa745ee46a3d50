"""Intake's rules, pure and without I/O: reading a raw message (text, HTML, parts, replies,
bounces), the sender, auto-replies, and the closed set of reasons a message goes to quarantine."""

from services.intake.domain.addresses import Mailbox
from services.intake.domain.parsing import Limits, Parsed, Rejected, Summary, parse_message
from services.intake.domain.parts import Kind, Part
from services.intake.domain.states import MessageState, QuarantineReason, Resolution

__all__ = [
    "Kind",
    "Limits",
    "Mailbox",
    "MessageState",
    "Parsed",
    "Part",
    "QuarantineReason",
    "Rejected",
    "Resolution",
    "Summary",
    "parse_message",
]
