"""A poison event lands in the dead-letter queue after the delivery limit while other events keep
flowing; ``allsak dlq list`` shows it and ``allsak dlq replay`` re-drives it."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from shared.bus import Message, Subscription
from shared.bus.amqp import AmqpTransport
from shared.testing import wait_for

pytestmark = pytest.mark.integration
ALLSAK = str(Path(sys.executable).parent / "allsak")
QUEUE = "test.poison_handler"


async def allsak(*args: str, amqp_url: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLSAK_")}
    env["ALLSAK_AMQP_URL"] = amqp_url
    process = await asyncio.create_subprocess_exec(
        ALLSAK, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return output.decode()


async def test_poison_event_is_dead_lettered_listed_and_replayed(amqp_url: str) -> None:
    handled: list[bytes] = []
    healthy = False

    async def handler(message: Message) -> None:
        if b"poison" in message.body and not healthy:
            raise ValueError("cannot handle this event yet")
        handled.append(message.body)

    transport = AmqpTransport(amqp_url, delivery_limit=2, service="test", retry_delay=0.01)
    await transport.start()
    try:
        await transport.consume(Subscription(queue=QUEUE, patterns=("test.#",), handler=handler))
        await transport.publish(
            routing_key="test.thing_happened.v1", body=b'{"poison": 1}', message_id="poison-1"
        )
        for i in range(3):
            await transport.publish(
                routing_key="test.thing_happened.v1", body=b'{"ok": %d}' % i, message_id=f"ok-{i}"
            )
        await wait_for(lambda: len(handled) == 3, timeout=30)
        await wait_for(lambda: _dead(transport), timeout=30)

        listed = await allsak("dlq", "list", QUEUE, amqp_url=amqp_url)
        assert "poison-1" in listed and "1 dead letter(s)" in listed

        healthy = True
        replayed = await allsak("dlq", "replay", QUEUE, amqp_url=amqp_url)
        assert "replayed 1 message(s)" in replayed
        await wait_for(lambda: b'{"poison": 1}' in handled, timeout=30)
        assert await transport.dead_letters(QUEUE) == []
    finally:
        await transport.close()


async def _dead(transport: AmqpTransport) -> bool:
    return len(await transport.dead_letters(QUEUE)) == 1
