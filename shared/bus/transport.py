"""The transport contract that both the AMQP and the in-process transport honour.

Semantics (tested by the same contract tests against both):
- topic routing: a published message reaches every declared queue with a matching binding
  pattern (AMQP topic syntax: ``*`` one word, ``#`` zero or more words);
- at-least-once: a delivery is acknowledged only after its handler returned; a handler that
  raises gets the message redelivered;
- after ``delivery_limit`` failed deliveries the message moves to the queue's dead-letter
  queue ``<queue>.dlq``, where it can be listed and replayed into its queue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

EVENTS_EXCHANGE = "allsak.events"
COMMANDS_EXCHANGE = "allsak.commands"
DEAD_LETTER_EXCHANGE = "allsak.dlx"
DEFAULT_DELIVERY_LIMIT = 5


def dlq_name(queue: str) -> str:
    return f"{queue}.dlq"


def redelivery_delay(delivery_count: int, base: float) -> float:
    """How long a failed delivery is held before it goes back, so a poison message cannot spin."""
    return min(base * delivery_count, 2.0)


@dataclass(frozen=True)
class Message:
    """One delivery of a message as a handler sees it."""

    body: bytes
    routing_key: str
    message_id: str
    headers: dict[str, Any] = field(default_factory=dict)
    delivery_count: int = 1


Handler = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """A durable consumer queue ``<service>.<handler>`` bound to routing-key patterns."""

    queue: str
    patterns: tuple[str, ...]
    handler: Handler
    exchange: str = EVENTS_EXCHANGE


class PublishError(Exception):
    """The broker did not confirm a publish; the caller keeps the message and retries."""


class Transport(Protocol):
    async def start(self) -> None:
        """Connect and declare the exchanges."""

    async def close(self) -> None:
        """Stop consuming (in-flight handlers finish or are redelivered later) and disconnect."""

    async def publish(
        self,
        *,
        routing_key: str,
        body: bytes,
        message_id: str,
        headers: dict[str, Any] | None = None,
        exchange: str = EVENTS_EXCHANGE,
    ) -> None:
        """Publish and return once the broker confirmed; raise PublishError otherwise."""

    async def declare(self, queue: str, patterns: tuple[str, ...], exchange: str = EVENTS_EXCHANGE) -> None:
        """Declare the queue, its dead-letter queue and its bindings (idempotent)."""

    async def consume(self, subscription: Subscription) -> None:
        """Declare the subscription's queue and start delivering to its handler."""

    async def dead_letters(self, queue: str) -> list[Message]:
        """The messages waiting in the queue's dead-letter queue, without removing them."""

    async def replay(self, queue: str) -> int:
        """Move every dead letter of the queue back into the queue; return how many."""

    async def depth(self, queue: str) -> int:
        """Messages ready in the queue (not counting unacknowledged ones)."""

    async def ping(self) -> bool:
        """True while the broker is reachable (for ``/readyz``)."""
