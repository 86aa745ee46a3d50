"""One bus contract, two transports: every test here runs on the in-process transport and on
RabbitMQ (a fresh vhost per test), so the embedded mode behaves as the distributed one does.

Tests wait for conditions (``eventually``), never for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aio_pika
import pytest
from yarl import URL

from shared.bus import (
    COMMANDS_EXCHANGE,
    DEFAULT_DELIVERY_LIMIT,
    Message,
    PublishError,
    Subscription,
    dlq_name,
)
from shared.bus.amqp import AmqpTransport
from shared.bus.memory import MemoryTransport
from shared.bus.topics import topology
from shared.bus.transport import Transport
from tests.contracts.snapshot import assert_snapshot
from tests.support.tcpproxy import TcpProxy

QUEUE = "test.on_case_event"
PATTERNS = ("cases.case_created.v1", "cases.#")


class Broker:
    """Connects transports of one kind that share one broker: a RabbitMQ vhost, or for the
    in-process transport the transport object itself (it is broker and client at once)."""

    def __init__(self, kind: str, url: str | None) -> None:
        self.kind = kind
        self.url = url
        self._opened: list[Transport] = []
        self._memory: MemoryTransport | None = None

    async def connect(self, *, delivery_limit: int = DEFAULT_DELIVERY_LIMIT, prefetch: int = 10) -> Transport:
        transport: Transport
        if self.kind == "memory":
            # A reconnect is a new start() on the same object, whose queues kept their messages.
            self._memory = self._memory or MemoryTransport(delivery_limit, prefetch, retry_delay=0.01)
            transport = self._memory
        else:
            assert self.url is not None
            transport = AmqpTransport(self.url, delivery_limit, prefetch, "contract-test", retry_delay=0.01)
        await transport.start()
        self._opened.append(transport)
        return transport

    async def close(self) -> None:
        for transport in self._opened:
            await transport.close()


@pytest.fixture(params=["memory", "amqp"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    url = request.getfixturevalue("amqp_url") if request.param == "amqp" else None
    made = Broker(request.param, url)
    yield made
    await made.close()


class Recorder:
    """A handler that records every delivery, and fails it while ``fails(message)`` is true."""

    def __init__(self, fails: Callable[[Message], bool] = lambda _: False) -> None:
        self.fails = fails
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)
        if self.fails(message):
            raise RuntimeError(f"handler fails on {message.message_id} (test)")

    def ids(self) -> list[str]:
        return [m.message_id for m in self.messages]


async def eventually(condition: Callable[[], Any], *, timeout: float = 10.0, what: str = "") -> None:
    """Wait until ``condition()`` (plain or async) is true, polling every 20 ms."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        await asyncio.sleep(0.02)


async def publish(bus: Transport, message_id: str, key: str = "cases.case_created.v1", **kw: Any) -> None:
    await bus.publish(routing_key=key, body=f'{{"id": "{message_id}"}}'.encode(), message_id=message_id, **kw)


async def depth_is(bus: Transport, queue: str, expected: int) -> bool:
    return await bus.depth(queue) == expected


async def test_ping_tells_whether_the_transport_is_connected(broker: Broker) -> None:
    bus = await broker.connect()
    assert await bus.ping()
    await bus.close()
    assert not await bus.ping()


async def test_topic_routing_gives_each_matching_queue_one_copy(broker: Broker) -> None:
    bus = await broker.connect()
    await bus.declare("test.one_word", ("cases.*.v1",))
    await bus.declare("test.any_words", ("cases.#",))
    await bus.declare("test.two_patterns", ("intake.message_received.v1", "*.case_created.*"))
    await bus.declare("test.commands", ("cases.#",), exchange=COMMANDS_EXCHANGE)
    for key in ("cases.case_created.v1", "cases.case.created.v1", "cases", "intake.message_received.v1"):
        await publish(bus, key, key)
    await publish(bus, "nobody", "reporting.report_ready.v1")  # no binding: dropped, no error
    await publish(bus, "command", "cases.apply_external_update.v1", exchange=COMMANDS_EXCHANGE)

    depths = {q: await bus.depth(q) for q in ("test.one_word", "test.any_words", "test.two_patterns")}
    assert depths == {"test.one_word": 1, "test.any_words": 3, "test.two_patterns": 2}
    assert await bus.depth("test.commands") == 1


async def test_fan_out_delivers_the_same_message_to_each_queue(broker: Broker) -> None:
    bus = await broker.connect()
    first, second = Recorder(), Recorder()
    await bus.consume(Subscription("test.first", ("cases.case_created.v1",), first))
    await bus.consume(Subscription("test.second", ("cases.#",), second))
    await publish(bus, "m-1", headers={"correlation_id": "c-1"})

    await eventually(lambda: first.messages and second.messages)
    expected = Message(b'{"id": "m-1"}', "cases.case_created.v1", "m-1", {"correlation_id": "c-1"}, 1)
    assert first.messages == second.messages == [expected]


async def test_messages_published_before_consume_wait_in_the_queue(broker: Broker) -> None:
    bus = await broker.connect()
    await bus.declare(QUEUE, ("cases.#",))
    for n in range(3):
        await publish(bus, f"m-{n}")
    assert await bus.depth(QUEUE) == 3

    recorder = Recorder()
    await bus.consume(Subscription(QUEUE, ("cases.#",), recorder))
    await eventually(lambda: len(recorder.messages) == 3)
    assert recorder.ids() == ["m-0", "m-1", "m-2"]
    assert await bus.depth(QUEUE) == 0


async def test_a_failed_delivery_comes_again_with_a_higher_count(broker: Broker) -> None:
    bus = await broker.connect()
    recorder = Recorder(fails=lambda m: m.delivery_count == 1)
    await bus.consume(Subscription(QUEUE, ("cases.#",), recorder))
    await publish(bus, "m-1")

    await eventually(lambda: len(recorder.messages) == 2)
    assert [(m.message_id, m.delivery_count) for m in recorder.messages] == [("m-1", 1), ("m-1", 2)]
    assert await bus.dead_letters(QUEUE) == []


async def test_a_delivery_is_acknowledged_only_after_its_handler_returned(broker: Broker) -> None:
    bus = await broker.connect()
    started = asyncio.Event()

    async def handler(message: Message) -> None:
        if message.message_id == "stuck":
            started.set()
            await asyncio.Event().wait()  # still running when the transport closes

    await bus.consume(Subscription(QUEUE, ("cases.#",), handler))
    await publish(bus, "done")
    await publish(bus, "stuck")
    await asyncio.wait_for(started.wait(), 10)
    await asyncio.wait_for(bus.close(), 10)

    recorder = Recorder()
    again = await broker.connect()
    await again.consume(Subscription(QUEUE, ("cases.#",), recorder))
    await eventually(lambda: "stuck" in recorder.ids())
    await publish(again, "marker")  # behind anything that was put back, so "done" would show first
    await eventually(lambda: "marker" in recorder.ids())
    assert recorder.ids() == ["stuck", "marker"]
    assert recorder.messages[0].delivery_count == 2


async def test_a_poison_message_is_dead_lettered_while_others_flow(broker: Broker) -> None:
    limit = 2
    bus = await broker.connect(delivery_limit=limit)
    recorder = Recorder()
    goods_done = asyncio.Event()

    async def handler(message: Message) -> None:
        await recorder(message)
        if message.message_id != "poison":
            if len(set(recorder.ids()) - {"poison"}) == 5:
                goods_done.set()
            return
        if message.delivery_count == 2:
            # Still in flight while the others must get through: a blocked queue times out here.
            await asyncio.wait_for(goods_done.wait(), 10)
        raise RuntimeError("poison (test)")

    await bus.consume(Subscription(QUEUE, ("cases.#",), handler))
    await publish(bus, "poison", "cases.case_updated.v1", headers={"correlation_id": "c-9"})
    for n in range(5):
        await publish(bus, f"good-{n}")

    await eventually(lambda: depth_is(bus, dlq_name(QUEUE), 1), what="a dead letter")
    assert sorted(recorder.ids()) == ["good-0", "good-1", "good-2", "good-3", "good-4", *["poison"] * 3]
    assert [m.delivery_count for m in recorder.messages if m.message_id == "poison"] == [1, 2, 3]
    letter = Message(
        b'{"id": "poison"}', "cases.case_updated.v1", "poison", {"correlation_id": "c-9"}, limit + 1
    )
    assert await bus.dead_letters(QUEUE) == [letter]
    assert await bus.depth(dlq_name(QUEUE)) == 1  # listing left it there
    assert await bus.depth(QUEUE) == 0


async def test_publishing_to_a_missing_exchange_fails_and_publishing_goes_on(broker: Broker) -> None:
    bus = await broker.connect()
    await bus.declare(QUEUE, ("cases.#",))
    with pytest.raises(PublishError):
        await publish(bus, "lost", exchange="allsak.nonexistent")

    async def published() -> bool:
        # AMQP: the broker closed the publishing channel, which reopens on its own.
        with contextlib.suppress(PublishError):
            await publish(bus, "m-1")
            return True
        return False

    await eventually(published, what="publishing to work again")
    assert await bus.depth(QUEUE) == 1


async def test_dead_letters_are_listed_completely_in_a_stable_order(broker: Broker) -> None:
    bus = await broker.connect(delivery_limit=0)
    await bus.consume(Subscription(QUEUE, ("cases.#",), Recorder(fails=lambda _: True)))
    ids = [f"m-{n}" for n in range(8)]
    for message_id in ids:
        await publish(bus, message_id)
    await eventually(lambda: depth_is(bus, dlq_name(QUEUE), len(ids)), what="every dead letter")

    listed = await bus.dead_letters(QUEUE)
    assert sorted(m.message_id for m in listed) == ids
    assert await bus.dead_letters(QUEUE) == listed


async def test_replay_redrives_dead_letters_into_a_healthy_handler(broker: Broker) -> None:
    bus = await broker.connect(delivery_limit=0)
    healthy = False
    recorder = Recorder(fails=lambda _: not healthy)
    await bus.consume(Subscription(QUEUE, ("cases.#",), recorder))
    await publish(bus, "m-1", "cases.case_assigned.v1", headers={"correlation_id": "c-1"})
    await publish(bus, "m-2", "cases.status_changed.v1", headers={"correlation_id": "c-2"})
    await eventually(lambda: depth_is(bus, dlq_name(QUEUE), 2), what="two dead letters")

    healthy = True
    assert await bus.replay(QUEUE) == 2
    await eventually(lambda: len(recorder.messages) == 4)
    replayed = sorted(recorder.messages[2:], key=lambda m: m.message_id)
    assert replayed == [
        Message(b'{"id": "m-1"}', "cases.case_assigned.v1", "m-1", {"correlation_id": "c-1"}, 1),
        Message(b'{"id": "m-2"}', "cases.status_changed.v1", "m-2", {"correlation_id": "c-2"}, 1),
    ]
    assert await bus.dead_letters(QUEUE) == []
    assert await bus.replay(QUEUE) == 0


async def test_depth_counts_ready_messages_not_those_being_handled(broker: Broker) -> None:
    bus = await broker.connect(prefetch=1)
    release = asyncio.Event()
    recorder = Recorder()

    async def handler(message: Message) -> None:
        await recorder(message)
        await release.wait()

    await bus.consume(Subscription(QUEUE, ("cases.#",), handler))
    for n in range(3):
        await publish(bus, f"m-{n}")
    await eventually(lambda: recorder.messages)
    await eventually(lambda: depth_is(bus, QUEUE, 2), what="two ready, one in its handler")
    release.set()
    await eventually(lambda: len(recorder.messages) == 3)
    await eventually(lambda: depth_is(bus, QUEUE, 0))
    with pytest.raises(KeyError):
        await bus.depth("test.never_declared")


async def test_amqp_transport_rides_out_a_broker_outage(amqp_url: str) -> None:
    broker_url = URL(amqp_url)
    assert broker_url.host is not None and broker_url.port is not None
    proxy = TcpProxy(broker_url.host, broker_url.port)
    await proxy.start()
    bus = AmqpTransport(str(broker_url.with_port(proxy.port)), publish_timeout=5, reconnect_interval=0.2)
    try:
        await bus.start()
        recorder = Recorder()
        await bus.consume(Subscription(QUEUE, ("cases.#",), recorder))
        await publish(bus, "before")
        await eventually(lambda: recorder.ids() == ["before"])

        await proxy.stop()
        await eventually(lambda: _not(bus.ping()), what="ping to report the outage")
        loop = asyncio.get_running_loop()
        for attempt in ("during-1", "during-2"):
            began = loop.time()
            with pytest.raises(PublishError):
                await publish(bus, attempt)
            assert loop.time() - began < 5.5, "a publish during an outage must fail, not hang"

        # The broker also loses the queues meanwhile: the transport must declare them again,
        # bindings included, not merely resume its consumer.
        await _delete_queues(amqp_url, QUEUE, dlq_name(QUEUE))
        await proxy.start()

        async def delivered_after_outage() -> bool:
            with contextlib.suppress(PublishError):
                await publish(bus, "after")
            return "after" in recorder.ids()

        await eventually(delivered_after_outage, timeout=20, what="publishing and consuming to resume")
        assert await bus.ping()
        assert await bus.depth(dlq_name(QUEUE)) == 0
    finally:
        await bus.close()
        await proxy.stop()


async def _not(result: Awaitable[bool]) -> bool:
    return not await result


async def _delete_queues(amqp_url: str, *names: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection, connection.channel() as channel:
        for name in names:
            await channel.queue_delete(name)


def test_queue_topology_matches_the_snapshot() -> None:
    # Not a code-only change when it fails: RabbitMQ refuses to redeclare an existing queue with
    # other arguments, so running brokers need a migration plan before the snapshot is refreshed.
    assert_snapshot("topology.json", topology("notify.on_case_created", PATTERNS, DEFAULT_DELIVERY_LIMIT))


async def test_the_broker_holds_the_declared_topology(amqp_url: str) -> None:
    bus = AmqpTransport(amqp_url)
    await bus.start()
    try:
        await bus.declare("notify.on_case_created", PATTERNS)
    finally:
        await bus.close()
    expected = topology("notify.on_case_created", PATTERNS, DEFAULT_DELIVERY_LIMIT)
    vhost = URL(amqp_url).path.lstrip("/")
    queues = {
        q["name"]: q for q in _rabbitmqctl("list_queues", "-p", vhost, "name", "type", "durable", "arguments")
    }
    bindings = _rabbitmqctl("list_bindings", "-p", vhost, "source_name", "destination_name", "routing_key")
    for part in ("queue", "dead_letter_queue"):
        spec = expected[part]
        queue = queues[spec["name"]]
        assert (queue["type"], queue["durable"]) == ("quorum", True)
        assert {key: value for key, _, value in queue["arguments"]} == spec["arguments"]
        bound = {
            (b["source_name"], b["routing_key"]) for b in bindings if b["destination_name"] == spec["name"]
        }
        assert bound - {("", spec["name"])} == {(b["exchange"], b["routing_key"]) for b in spec["bindings"]}


def _rabbitmqctl(*args: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        ["rabbitmqctl", "-q", *args, "--formatter", "json"], check=True, capture_output=True, timeout=60
    )
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows
