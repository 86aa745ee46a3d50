"""End to end in the distributed mode: six OS processes, RabbitMQ, PostgreSQL and real SMTP.

Halfway through 200 mails the cases process is killed with SIGKILL and started again:
every mail must still become exactly one case and one acknowledgement.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from allsak.services import NAMES
from shared.testing import wait_for
from tests.support.cluster import Cluster
from tests.support.mail import KINDS, make_mail
from tests.support.receiver import receiver
from tests.support.smtp_sink import SmtpSink

ADMIN = "distributed-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
MAILS = 200

pytestmark = pytest.mark.integration


@pytest.fixture
async def cluster(
    tmp_path: Path, amqp_url: str, pg_url_factory: Callable[[str], str]
) -> AsyncIterator[tuple[Cluster, SmtpSink]]:
    databases = {name: pg_url_factory(name) for name in NAMES}
    with SmtpSink() as smtp:
        system = Cluster(
            tmp_path, amqp_url=amqp_url, database_urls=databases, admin_token=ADMIN, smtp_url=smtp.url
        )
        try:
            await asyncio.to_thread(system.start_all)
            yield system, smtp
        finally:
            await asyncio.to_thread(system.stop_all)


async def all_cases(api: httpx.AsyncClient) -> list[dict]:
    items: list[dict] = []
    cursor = None
    while True:
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/api/v1/cases", params=params, headers=AUTH)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


async def test_mails_survive_a_killed_cases_process(cluster: tuple[Cluster, SmtpSink]) -> None:
    system, smtp = cluster
    async with receiver() as hook, httpx.AsyncClient(base_url=system.url("gateway"), timeout=30) as api:
        created = await api.post(
            "/api/v1/webhooks", json={"url": hook.url, "events": ["cases.case_created.v1"]}, headers=AUTH
        )
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]

        mails = [make_mail(i, kind=KINDS[i % len(KINDS)]) for i in range(MAILS)]
        semaphore = asyncio.Semaphore(8)

        async def post(raw: bytes) -> None:
            async with semaphore:
                response = await api.post(
                    "/api/v1/intake/mail", content=raw, headers={**AUTH, "Content-Type": "message/rfc822"}
                )
                assert response.status_code == 202, response.text

        await asyncio.gather(*(post(raw) for raw, _ in mails[: MAILS // 2]))
        await asyncio.to_thread(system.kill, "cases")
        await asyncio.gather(*(post(raw) for raw, _ in mails[MAILS // 2 :]))
        await asyncio.to_thread(system.start, "cases")
        await asyncio.to_thread(system.wait_ready, "cases")

        cases = await wait_for(
            lambda: _when(all_cases(api), lambda items: len(items) >= MAILS), timeout=180, interval=0.5
        )
        assert len(cases) == MAILS
        requesters = Counter(c["requester"]["email"] for c in cases)
        assert set(requesters) == {f"kunde{i}@example.no" for i in range(MAILS)}
        assert max(requesters.values()) == 1

        await wait_for(lambda: len(smtp.messages) >= MAILS, timeout=120, interval=0.2)
        answered = Counter(m["In-Reply-To"] for m in smtp.messages)
        assert set(answered) == {message_id for _, message_id in mails}
        assert max(answered.values()) == 1, "an acknowledgement was sent twice"

        # A reply with the tag lands on the same case; the KPI counts what the cases service has.
        ack = next(m for m in smtp.messages if m["In-Reply-To"] == mails[0][1])
        reply, _ = make_mail(0, subject=f"SV: {ack['Subject']}", in_reply_to=ack["Message-ID"])
        await post(reply)
        number = ack["Subject"].split("#", 1)[1].split("]", 1)[0]

        async def replied() -> bool:
            detail = (await api.get(f"/api/v1/cases/{number}", headers=AUTH)).json()
            return len(detail["articles"]) == 2

        await wait_for(replied, timeout=60)
        assert len(await all_cases(api)) == MAILS

        async def kpis() -> dict | None:
            body = (await api.get("/api/v1/reports/kpis", headers=AUTH)).json()
            return body if body["totals"]["created"] == MAILS else None

        await wait_for(kpis, timeout=60, interval=0.3)

        delivery = await wait_for(lambda: hook.requests[0] if hook.requests else None, timeout=60)
        assert Webhook(secret).verify(delivery.body, delivery.headers)["type"] == "cases.case_created.v1"


async def _when(items_coro: object, ok: Callable[[list[dict]], bool]) -> list[dict] | None:
    items = await items_coro  # type: ignore[misc]
    return items if ok(items) else None
