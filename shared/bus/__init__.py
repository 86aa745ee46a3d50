"""The bus: one interface, two transports (AMQP over aio-pika, in-process)."""

from shared.bus.transport import (
    COMMANDS_EXCHANGE,
    DEAD_LETTER_EXCHANGE,
    DEFAULT_DELIVERY_LIMIT,
    EVENTS_EXCHANGE,
    Handler,
    Message,
    PublishError,
    Subscription,
    Transport,
    dlq_name,
)

__all__ = [
    "COMMANDS_EXCHANGE",
    "DEAD_LETTER_EXCHANGE",
    "DEFAULT_DELIVERY_LIMIT",
    "EVENTS_EXCHANGE",
    "Handler",
    "Message",
    "PublishError",
    "Subscription",
    "Transport",
    "dlq_name",
]
