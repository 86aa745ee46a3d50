"""Event base class, envelope and registry.

Every event is a frozen pydantic model owned by its producer (``shared/events/<producer>.py``)
and registered under its routing key ``<producer>.<event>.v<N>``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

_REGISTRY: dict[str, type[Event]] = {}


class Event(BaseModel):
    """Base of every event payload. Consumers ignore fields they do not know."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    producer: ClassVar[str]
    event: ClassVar[str]
    version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "event" in cls.__dict__:
            key = cls.routing_key()
            if key in _REGISTRY:
                raise RuntimeError(f"event {key} defined twice")
            _REGISTRY[key] = cls

    @classmethod
    def routing_key(cls) -> str:
        return f"{cls.producer}.{cls.event}.v{cls.version}"


class Envelope(BaseModel):
    """What travels on the bus: metadata plus the payload of one event."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    message_id: uuid.UUID
    name: str
    version: int
    occurred_at: AwareDatetime
    producer: str
    correlation_id: str
    causation_id: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)

    @property
    def routing_key(self) -> str:
        return f"{self.name}.v{self.version}"

    def event(self) -> Event:
        """The typed payload, for a registered routing key."""
        return event_class(self.routing_key).model_validate(self.payload)


def envelope_for(
    event: Event,
    *,
    message_id: uuid.UUID,
    occurred_at: datetime,
    correlation_id: str,
    causation_id: str | None = None,
) -> Envelope:
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    return Envelope(
        message_id=message_id,
        name=f"{event.producer}.{event.event}",
        version=event.version,
        occurred_at=occurred_at.astimezone(UTC),
        producer=event.producer,
        correlation_id=correlation_id,
        causation_id=causation_id,
        payload=event.model_dump(mode="json"),
    )


def encode(envelope: Envelope) -> bytes:
    return envelope.model_dump_json().encode()


def decode(body: bytes) -> Envelope:
    return Envelope.model_validate_json(body)


def event_class(routing_key: str) -> type[Event]:
    try:
        return _REGISTRY[routing_key]
    except KeyError:
        raise LookupError(f"unknown event {routing_key}") from None


def registered_events() -> dict[str, type[Event]]:
    return dict(sorted(_REGISTRY.items()))
