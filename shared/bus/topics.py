"""The bus's routing topology, shared by both transports: which exchanges, queues and bindings
exist (pinned by a contract snapshot) and how a topic binding matches a routing key.

Routing keys and patterns are dot-separated words. In a pattern ``*`` stands for exactly one
word and ``#`` for zero or more words. An empty key has no words (RabbitMQ splits it so), which
``#`` matches and ``*`` does not; an empty word between two dots is still a word.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from shared.bus.transport import COMMANDS_EXCHANGE, DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE, dlq_name

EXCHANGE_TYPES = {EVENTS_EXCHANGE: "topic", COMMANDS_EXCHANGE: "topic", DEAD_LETTER_EXCHANGE: "direct"}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split(".")) if text else ()


def topic_matches(pattern: str, routing_key: str) -> bool:
    """Whether a binding with ``pattern`` routes a message published with ``routing_key``."""
    return _match(_words(pattern), _words(routing_key))


@lru_cache(maxsize=4096)
def _match(pattern: tuple[str, ...], key: tuple[str, ...]) -> bool:
    # Dynamic programming over (pattern prefix, key prefix) rather than naive backtracking:
    # patterns such as "#.#.#.x" would otherwise be exponential in the key length.
    reachable = [True] + [False] * len(key)
    for word in pattern:
        if word == "#":
            # "#" extends any reachable prefix by zero or more words.
            for i in range(1, len(key) + 1):
                reachable[i] = reachable[i] or reachable[i - 1]
            continue
        step = [False] * (len(key) + 1)
        for i in range(1, len(key) + 1):
            step[i] = reachable[i - 1] and (word == "*" or word == key[i - 1])
        reachable = step
    return reachable[len(key)]


def queue_arguments(queue: str, delivery_limit: int) -> dict[str, Any]:
    """The arguments of a consumer queue: quorum, counted deliveries, dead letters to ``<queue>.dlq``."""
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": queue,
        # at-least-once dead-lettering only holds with reject-publish overflow.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


# No delivery limit on a dead-letter queue: peeking returns letters unacked, which the broker
# counts as a delivery, and there is nowhere further to dead-letter them to.
DLQ_ARGUMENTS: dict[str, Any] = {"x-queue-type": "quorum"}


def topology(
    queue: str, patterns: Iterable[str], delivery_limit: int, exchange: str = EVENTS_EXCHANGE
) -> dict[str, Any]:
    """The exchanges, queues, arguments and bindings declared for one consumer queue."""
    return {
        "exchanges": {name: {"type": kind, "durable": True} for name, kind in EXCHANGE_TYPES.items()},
        "queue": {
            "name": queue,
            "durable": True,
            "arguments": queue_arguments(queue, delivery_limit),
            "bindings": [{"exchange": exchange, "routing_key": p} for p in sorted(set(patterns))],
        },
        "dead_letter_queue": {
            "name": dlq_name(queue),
            "durable": True,
            "arguments": DLQ_ARGUMENTS,
            "bindings": [{"exchange": DEAD_LETTER_EXCHANGE, "routing_key": queue}],
        },
    }
