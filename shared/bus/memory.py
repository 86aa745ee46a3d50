"""The in-process transport of the embedded mode: RabbitMQ's contract without a broker.

It mirrors what the AMQP transport gets from quorum queues, so the same contract tests pass on
both: topic routing with one copy per matching queue, acknowledgement when the handler returns,
a failed or interrupted delivery goes back to the tail of its queue with its delivery count
raised, and a delivery that fails after ``delivery_limit`` redeliveries (the
``delivery_limit + 1``-th delivery, as ``x-delivery-limit`` counts) moves to the dead letters.

The transport object is the broker as well as the client: queues and their messages outlive
``close()``, and ``start()`` plus ``consume()`` on the same object resume delivery.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from shared.bus.topics import EXCHANGE_TYPES, topic_matches
from shared.bus.transport import (
    DEFAULT_DELIVERY_LIMIT,
    EVENTS_EXCHANGE,
    Message,
    PublishError,
    Subscription,
    dlq_name,
    redelivery_delay,
)

logger = logging.getLogger(__name__)

# The exchanges publishers and consumers use; the dead-letter exchange is the broker's own.
_EXCHANGES = frozenset(name for name, kind in EXCHANGE_TYPES.items() if kind == "topic")


@dataclass
class _Queue:
    name: str
    bindings: set[tuple[str, str]] = field(default_factory=set)
    ready: deque[Message] = field(default_factory=deque)
    dead: list[Message] = field(default_factory=list)
    unacked: int = 0
    consumers: int = 0


class _Signal:
    """Wakes every waiter on any state change; no lock needed on a single event loop."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self) -> None:
        await self._event.wait()


class MemoryTransport:
    """An asyncio transport inside one process, honouring the AMQP transport's contract."""

    def __init__(
        self,
        delivery_limit: int = DEFAULT_DELIVERY_LIMIT,
        prefetch: int = 10,
        *,
        retry_delay: float = 0.2,
    ) -> None:
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        self._delivery_limit = delivery_limit
        self._prefetch = prefetch
        self._retry_delay = retry_delay
        self._queues: dict[str, _Queue] = {}
        self._changed = _Signal()
        self._consumers: set[asyncio.Task[None]] = set()
        self._handlers: set[asyncio.Task[bool]] = set()
        self._started = False

    async def start(self) -> None:
        self._started = True

    async def close(self) -> None:
        """Stop delivering; cancelled handlers leave their message in the queue, as a lost channel would."""
        self._started = False
        tasks = [*self._consumers, *self._handlers]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._changed.notify()

    async def publish(
        self,
        *,
        routing_key: str,
        body: bytes,
        message_id: str,
        headers: dict[str, Any] | None = None,
        exchange: str = EVENTS_EXCHANGE,
    ) -> None:
        if not self._started:
            raise PublishError("memory transport is not started")
        if exchange not in _EXCHANGES:
            raise PublishError(f"no exchange {exchange!r}")
        message = Message(body=body, routing_key=routing_key, message_id=message_id, headers=headers or {})
        routed = 0
        for queue in self._queues.values():
            # One copy per queue however many of its bindings match, as a broker routes.
            if any(ex == exchange and topic_matches(p, routing_key) for ex, p in queue.bindings):
                queue.ready.append(replace(message, headers=dict(message.headers)))
                routed += 1
        if not routed:
            logger.debug("Dropped %s: no queue binds it", routing_key, extra={"message_id": message_id})
        self._changed.notify()

    async def declare(self, queue: str, patterns: tuple[str, ...], exchange: str = EVENTS_EXCHANGE) -> None:
        if exchange not in _EXCHANGES:
            raise ValueError(f"no exchange {exchange!r}")
        state = self._queues.setdefault(queue, _Queue(queue))
        state.bindings.update((exchange, pattern) for pattern in patterns)

    async def consume(self, subscription: Subscription) -> None:
        if not self._started:
            raise RuntimeError("memory transport is not started")
        await self.declare(subscription.queue, subscription.patterns, subscription.exchange)
        queue = self._queues[subscription.queue]
        queue.consumers += 1
        task = asyncio.create_task(self._consume(queue, subscription), name=f"consume {queue.name}")
        self._consumers.add(task)
        # A done callback, not a finally: it also runs for a task cancelled before it started.
        task.add_done_callback(lambda done: self._stopped(queue, done))

    async def dead_letters(self, queue: str) -> list[Message]:
        return list(self._queue(queue).dead)

    async def replay(self, queue: str) -> int:
        state = self._queue(queue)
        letters, state.dead = state.dead, []
        state.ready.extend(replace(letter, delivery_count=1) for letter in letters)
        self._changed.notify()
        logger.info("Replayed %d dead letters into %s", len(letters), queue, extra={"queue": queue})
        return len(letters)

    async def depth(self, queue: str) -> int:
        """Ready messages in a queue, or the dead letters when given ``<queue>.dlq``."""
        if queue not in self._queues:
            for name, state in self._queues.items():
                if dlq_name(name) == queue:
                    return len(state.dead)
        return len(self._queue(queue).ready)

    async def ping(self) -> bool:
        return self._started

    async def drain(self, timeout: float) -> None:
        """Wait until every consumed queue is empty and no handler runs; raise TimeoutError after ``timeout``.

        Queues without a consumer are not waited for: nothing could ever empty them.
        """
        async with asyncio.timeout(timeout):
            while not self._idle():
                await self._changed.wait()

    def _idle(self) -> bool:
        return all(q.unacked == 0 and (not q.ready or q.consumers == 0) for q in self._queues.values())

    def _queue(self, name: str) -> _Queue:
        try:
            return self._queues[name]
        except KeyError:
            raise KeyError(f"no queue {name!r}") from None

    def _stopped(self, queue: _Queue, task: asyncio.Task[None]) -> None:
        self._consumers.discard(task)
        queue.consumers -= 1
        self._changed.notify()

    async def _consume(self, queue: _Queue, subscription: Subscription) -> None:
        slots = asyncio.Semaphore(self._prefetch)
        while True:
            await slots.acquire()
            while not queue.ready:
                await self._changed.wait()
            message = queue.ready.popleft()
            queue.unacked += 1
            task = asyncio.create_task(self._deliver(queue.name, subscription, message))
            self._handlers.add(task)
            # Settled in a done callback, which runs even for a task cancelled before it started:
            # a message is acked or returned, never dropped.
            task.add_done_callback(functools.partial(self._settle, queue, message, slots))

    async def _deliver(self, queue: str, subscription: Subscription, message: Message) -> bool:
        """Run the handler; True acks the message, anything else (cancellation too) returns it."""
        try:
            await subscription.handler(replace(message, headers=dict(message.headers)))
            return True
        except Exception:
            last = message.delivery_count > self._delivery_limit
            logger.log(
                logging.ERROR if last else logging.WARNING,
                "Handler for %s failed on delivery %d of %s",
                queue,
                message.delivery_count,
                message.routing_key,
                exc_info=True,
                extra={"queue": queue, "message_id": message.message_id},
            )
            if not last:
                await asyncio.sleep(redelivery_delay(message.delivery_count, self._retry_delay))
            return False

    def _settle(
        self, queue: _Queue, message: Message, slots: asyncio.Semaphore, task: asyncio.Task[bool]
    ) -> None:
        self._handlers.discard(task)
        queue.unacked -= 1
        if task.cancelled() or task.exception() is not None or not task.result():
            self._return(queue, message)
        slots.release()
        self._changed.notify()

    def _return(self, queue: _Queue, message: Message) -> None:
        if message.delivery_count > self._delivery_limit:
            queue.dead.append(message)
            logger.error(
                "Dead-lettered %s from %s after %d deliveries",
                message.routing_key,
                queue.name,
                message.delivery_count,
                extra={"queue": queue.name, "message_id": message.message_id},
            )
            return
        queue.ready.append(replace(message, delivery_count=message.delivery_count + 1))
