"""The RabbitMQ transport of the distributed mode, over aio-pika's robust connection.

Every consumer queue is a durable quorum queue: the broker counts deliveries
(``x-delivery-count``) and, after ``delivery_limit`` redeliveries, dead-letters the message
at-least-once through ``allsak.dlx`` into ``<queue>.dlq``. Publishes wait for publisher
confirms, so ``publish`` returning means the broker has the message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import Any, cast

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from aiormq.exceptions import AMQPError, ChannelInvalidStateError, ChannelNotFoundEntity

from shared.bus.topics import DLQ_ARGUMENTS, EXCHANGE_TYPES, queue_arguments
from shared.bus.transport import (
    DEAD_LETTER_EXCHANGE,
    DEFAULT_DELIVERY_LIMIT,
    EVENTS_EXCHANGE,
    Message,
    PublishError,
    Subscription,
    dlq_name,
    redelivery_delay,
)

logger = logging.getLogger(__name__)

# A replayed message goes to its queue through the default exchange, so the key it was first
# published with travels in this header and handlers still see the original routing key.
ORIGINAL_ROUTING_KEY = "x-allsak-routing-key"
_BROKER_HEADERS = frozenset({"x-death", "x-delivery-count", ORIGINAL_ROUTING_KEY})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# What a lost connection or channel raises; anything else is a bug and propagates as itself.
_FAILURES = (TimeoutError, ConnectionError, OSError, AMQPError, ChannelInvalidStateError)


def _user_headers(headers: dict[str, Any] | None) -> dict[str, Any]:
    return {
        k: v
        for k, v in (headers or {}).items()
        if k not in _BROKER_HEADERS and not k.startswith(("x-first-death-", "x-last-death-"))
    }


def _death(incoming: AbstractIncomingMessage) -> dict[str, Any]:
    """The broker's latest ``x-death`` record of the message, or an empty one."""
    deaths: Any = (incoming.headers or {}).get("x-death") or [{}]
    return dict(deaths[0])


def _routing_key(incoming: AbstractIncomingMessage) -> str:
    keys = _death(incoming).get("routing-keys") or [incoming.routing_key or ""]
    return str((incoming.headers or {}).get(ORIGINAL_ROUTING_KEY) or keys[0])


class AmqpTransport:
    """Publishes with confirms and consumes quorum queues; survives broker outages.

    ``retry_delay`` paces a failing message: it is held ``retry_delay`` × its delivery count
    (at most 2 s) before the nack. ``publish_timeout`` bounds a publish and the first connect;
    ``reconnect_interval`` is the pause between reconnection attempts.
    """

    def __init__(
        self,
        url: str,
        delivery_limit: int = DEFAULT_DELIVERY_LIMIT,
        prefetch: int = 10,
        service: str = "",
        *,
        retry_delay: float = 0.2,
        publish_timeout: float = 10.0,
        reconnect_interval: float = 2.0,
    ) -> None:
        self._url = url
        self._delivery_limit = delivery_limit
        self._prefetch = prefetch
        self._service = service
        self._retry_delay = retry_delay
        self._publish_timeout = publish_timeout
        self._reconnect_interval = reconnect_interval
        self._connection: AbstractRobustConnection | None = None
        self._publisher: AbstractChannel | None = None
        # The declared topology, re-declared after every reconnect: a broker that lost its
        # definitions gets exchanges, dead-letter queues and bindings back, not just consumers.
        self._declared: dict[str, set[tuple[str, str]]] = {}
        self._inflight: set[asyncio.Task[Any]] = set()
        self._closing = False

    async def start(self) -> None:
        if self._connection is not None:
            return
        self._closing = False
        self._connection = await aio_pika.connect_robust(
            self._url,
            timeout=self._publish_timeout,
            reconnect_interval=self._reconnect_interval,
            client_properties={"connection_name": f"allsak {self._service}".strip()},
        )
        self._connection.reconnect_callbacks.add(self._on_reconnect)
        try:
            self._publisher = await self._connection.channel(publisher_confirms=True)
            await self._declare_topology()
        except BaseException:
            await self.close()
            raise
        logger.info("Connected to the broker", extra={"service": self._service})

    async def close(self) -> None:
        """Cancel running handlers and disconnect; their unacked messages go back to their queues."""
        self._closing = True
        tasks = list(self._inflight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        connection, self._connection, self._publisher = self._connection, None, None
        if connection is not None:
            await connection.close()

    async def publish(
        self,
        *,
        routing_key: str,
        body: bytes,
        message_id: str,
        headers: dict[str, Any] | None = None,
        exchange: str = EVENTS_EXCHANGE,
    ) -> None:
        connection, channel = self._connection, self._publisher
        # Fail at once while reconnecting: the caller (the outbox relay) keeps the message and
        # retries, which beats holding it for a publish timeout per message.
        if connection is None or channel is None or not connection.connected.is_set():
            raise PublishError(f"not connected to the broker; {routing_key} {message_id} not published")
        message = self._message(body, message_id, headers or {})
        try:
            async with asyncio.timeout(self._publish_timeout):
                target = await channel.get_exchange(exchange, ensure=False)
                # Not mandatory: an event nobody subscribes to is dropped, as designed.
                confirm = await target.publish(message, routing_key, mandatory=False)
        except _FAILURES as exc:
            raise PublishError(f"{routing_key} {message_id} not confirmed: {exc!r}") from exc
        if not isinstance(confirm, aiormq.spec.Basic.Ack):
            raise PublishError(f"{routing_key} {message_id} not confirmed: {confirm!r}")

    async def declare(self, queue: str, patterns: tuple[str, ...], exchange: str = EVENTS_EXCHANGE) -> None:
        bindings = self._declared.get(queue, set()) | {(exchange, pattern) for pattern in patterns}
        async with self._channel() as channel:
            await self._declare_queue(channel, queue, bindings)
        # Recorded only once the broker accepted it, so a rejected declaration is not retried
        # after every reconnect.
        self._declared[queue] = bindings

    async def consume(self, subscription: Subscription) -> None:
        await self.declare(subscription.queue, subscription.patterns, subscription.exchange)
        # One channel per subscription: its own prefetch window, and aio-pika restores the
        # queue, QoS and consumer on it after a reconnect.
        channel = await self._connected().channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=self._prefetch)
        arguments = queue_arguments(subscription.queue, self._delivery_limit)
        queue = await channel.declare_queue(subscription.queue, durable=True, arguments=arguments)

        async def on_message(incoming: AbstractIncomingMessage) -> None:
            await self._on_message(subscription, incoming)

        await queue.consume(on_message)
        logger.info("Consuming %s", subscription.queue, extra={"queue": subscription.queue})

    async def dead_letters(self, queue: str) -> list[Message]:
        """Every dead letter of the queue, oldest death first (ties by message id)."""
        letters: list[tuple[datetime, str, Message]] = []
        async with self._channel() as channel:
            dlq = await self._passive(channel, dlq_name(queue))
            fetched: list[AbstractIncomingMessage] = []
            while (incoming := await dlq.get(no_ack=False, fail=False)) is not None:
                fetched.append(incoming)
                death = _death(incoming)
                letter = self._dead_letter(incoming, death)
                letters.append((death.get("time") or _EPOCH, letter.message_id, letter))
            if fetched:
                await fetched[-1].nack(multiple=True, requeue=True)
                await self._until_ready(channel, dlq.name, len(fetched))
        # The broker does not keep the letters' order across returns, hence the sort.
        letters.sort(key=lambda item: (item[0], item[1]))
        return [letter for _, _, letter in letters]

    async def replay(self, queue: str) -> int:
        moved = 0
        async with self._channel(confirms=True) as channel:
            dlq = await self._passive(channel, dlq_name(queue))
            # Bounded by the count at the start: a letter that dies again during the replay
            # waits for the next one instead of looping here.
            for _ in range(dlq.declaration_result.message_count or 0):
                incoming = await dlq.get(no_ack=False, fail=False)
                if incoming is None:
                    break
                headers = {**_user_headers(incoming.headers), ORIGINAL_ROUTING_KEY: _routing_key(incoming)}
                message = self._message(incoming.body, incoming.message_id or "", headers)
                confirm = await channel.default_exchange.publish(
                    message, queue, mandatory=True, timeout=self._publish_timeout
                )
                if not isinstance(confirm, aiormq.spec.Basic.Ack):
                    raise PublishError(f"replay into {queue} not confirmed: {confirm!r}")
                # Acked only after the confirm: a crash in between duplicates, never loses.
                await incoming.ack()
                moved += 1
        logger.info("Replayed %d dead letters into %s", moved, queue, extra={"queue": queue})
        return moved

    async def depth(self, queue: str) -> int:
        async with self._channel() as channel:
            declared = await self._passive(channel, queue)
            return declared.declaration_result.message_count or 0

    async def ping(self) -> bool:
        """Whether the connection and the publishing channel are up; no round trip, as the
        robust connection notices a lost socket (or a missed heartbeat) by itself."""
        connection, channel = self._connection, self._publisher
        return bool(
            connection is not None
            and connection.connected.is_set()
            and not connection.is_closed
            and channel is not None
            and not channel.is_closed
        )

    def _message(self, body: bytes, message_id: str, headers: dict[str, Any]) -> aio_pika.Message:
        return aio_pika.Message(
            body,
            message_id=message_id,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers=headers,
            app_id=self._service or None,
        )

    def _dead_letter(self, incoming: AbstractIncomingMessage, death: dict[str, Any]) -> Message:
        # The broker dead-letters for "delivery_limit" after exactly delivery_limit + 1 deliveries.
        deliveries = self._delivery_limit + 1 if death.get("reason") == "delivery_limit" else 1
        return Message(
            body=incoming.body,
            routing_key=_routing_key(incoming),
            message_id=incoming.message_id or "",
            headers=_user_headers(incoming.headers),
            delivery_count=deliveries,
        )

    async def _on_message(self, subscription: Subscription, incoming: AbstractIncomingMessage) -> None:
        if self._closing:
            return  # left unacked: the broker redelivers it once this connection is closed
        # Tracked so that close() can cancel it; aio-pika runs each delivery in its own task.
        task = cast("asyncio.Task[None]", asyncio.current_task())
        self._inflight.add(task)
        try:
            await self._handle(subscription, incoming)
        finally:
            self._inflight.discard(task)

    async def _handle(self, subscription: Subscription, incoming: AbstractIncomingMessage) -> None:
        headers: dict[str, Any] = dict(incoming.headers or {})
        message = Message(
            body=incoming.body,
            routing_key=_routing_key(incoming),
            message_id=incoming.message_id or "",
            headers=_user_headers(headers),
            delivery_count=int(headers.get("x-delivery-count") or 0) + 1,
        )
        log_extra = {"queue": subscription.queue, "message_id": message.message_id}
        try:
            await subscription.handler(message)
        except Exception:
            last = message.delivery_count > self._delivery_limit
            logger.log(
                logging.ERROR if last else logging.WARNING,
                "Handler for %s failed on delivery %d of %s%s",
                subscription.queue,
                message.delivery_count,
                message.routing_key,
                "; dead-lettering it" if last else "",
                exc_info=True,
                extra=log_extra,
            )
            if not last:
                await asyncio.sleep(redelivery_delay(message.delivery_count, self._retry_delay))
            settle = incoming.nack(requeue=True)
        else:
            settle = incoming.ack()
        try:
            await settle
        except _FAILURES:
            # The channel went away; the broker redelivers the message, so nothing is lost.
            logger.warning("Could not settle a delivery on %s", subscription.queue, extra=log_extra)

    async def _on_reconnect(self, _connection: Any) -> None:
        logger.warning("Reconnected to the broker; re-declaring %d queues", len(self._declared))
        try:
            await self._declare_topology()
        except _FAILURES:
            logger.exception("Re-declaring the topology after a reconnect failed")

    async def _declare_topology(self) -> None:
        async with self._channel() as channel:
            for name, kind in EXCHANGE_TYPES.items():
                await channel.declare_exchange(name, kind, durable=True)
            for queue, bindings in list(self._declared.items()):
                await self._declare_queue(channel, queue, bindings)

    async def _declare_queue(
        self, channel: AbstractChannel, queue: str, bindings: set[tuple[str, str]]
    ) -> None:
        # The dead-letter queue first, so nothing can be dead-lettered into a void.
        dlq = await channel.declare_queue(dlq_name(queue), durable=True, arguments=DLQ_ARGUMENTS)
        await dlq.bind(DEAD_LETTER_EXCHANGE, queue)
        arguments = queue_arguments(queue, self._delivery_limit)
        declared = await channel.declare_queue(queue, durable=True, arguments=arguments)
        for exchange, pattern in sorted(bindings):
            await declared.bind(exchange, pattern)

    def _connected(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise RuntimeError("AmqpTransport is not started")
        return self._connection

    @asynccontextmanager
    async def _channel(self, confirms: bool = False) -> AsyncIterator[AbstractChannel]:
        # A plain, short-lived channel: a failed passive declare closes it, and a robust one
        # would then reopen itself and replay what it had declared.
        channel = aio_pika.Channel(self._connected(), publisher_confirms=confirms)
        await channel.initialize()
        try:
            yield channel
        finally:
            with suppress(*_FAILURES):
                await channel.close()

    @staticmethod
    async def _until_ready(channel: AbstractChannel, queue: str, count: int) -> None:
        # A quorum queue applies returns asynchronously; without this wait a depth() or replay()
        # right after a listing would miss the letters that are still on their way back.
        for _ in range(500):
            declared = await channel.declare_queue(queue, passive=True)
            if (declared.declaration_result.message_count or 0) >= count:
                return
            await asyncio.sleep(0.01)
        logger.warning("%s did not show its %d returned messages in time", queue, count)

    @staticmethod
    async def _passive(channel: AbstractChannel, name: str) -> AbstractQueue:
        try:
            return await channel.declare_queue(name, passive=True)
        except ChannelNotFoundEntity:
            raise KeyError(f"no queue {name!r}") from None
