"""Events published by the integration service."""

from __future__ import annotations

from pydantic import AwareDatetime

from shared.events.base import Event


class DeliveryFailed(Event):
    """A webhook delivery failed for good after its last retry."""

    producer = "integration"
    event = "delivery_failed"

    webhook_id: str
    delivery_id: str
    event_name: str
    url: str
    attempts: int
    reason: str
    failed_at: AwareDatetime
