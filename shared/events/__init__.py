"""Event schemas, one module per producer. Importing this package registers all of them."""

from shared.events import cases, intake, integration, notify, sla
from shared.events.base import Envelope, Event, decode, encode, envelope_for, event_class, registered_events

__all__ = [
    "Envelope",
    "Event",
    "cases",
    "decode",
    "encode",
    "envelope_for",
    "event_class",
    "intake",
    "integration",
    "notify",
    "registered_events",
    "sla",
]
