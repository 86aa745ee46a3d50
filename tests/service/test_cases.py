"""The cases service through its API and the bus, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from shared.events.intake import MessageReceived
from shared.events.notify import MailSent
from shared.runtime import Runtime
from shared.testing import publish, wait_for
from tests.support.cases import publish_mail, running_cases


class Harness:
    def __init__(self, client: httpx.AsyncClient, runtime: Runtime, events: list) -> None:
        self.client = client
        self.runtime = runtime
        self.events = events

    def names(self) -> list[str]:
        return [e.routing_key for e in self.events]

    async def mail(self, **fields: object) -> MessageReceived:
        defaults = {"channel": "api", "subject": "Skriveren på 3. etasje virker ikke"}
        return await publish_mail(self.runtime.transport, **{**defaults, **fields})


@pytest.fixture
async def cases(tmp_path: Path, database_url: str | None) -> AsyncIterator[Harness]:
    async with running_cases(tmp_path, database_url) as c:
        yield Harness(c.client, c.runtime, c.events)


async def case_count(h: Harness, **params: str) -> int:
    response = await h.client.get("/api/v1/cases", params=params)
    return len(response.json()["items"])


async def test_mail_becomes_case_with_first_article_and_events(cases: Harness) -> None:
    mail = await cases.mail()
    await wait_for(lambda: "cases.case_created.v1" in cases.names())
    created = next(e for e in cases.events if e.routing_key == "cases.case_created.v1")
    assert created.payload["number"] == "10001"
    assert created.payload["source_message_id"] == mail.rfc_message_id
    assert created.payload["suppress_auto_reply"] is False
    case = (await cases.client.get("/api/v1/cases/10001")).json()
    assert case["requester"] == {"email": "kari@kunde.no", "name": "Kari Nordmann"}
    assert case["subject"] == mail.subject
    [article] = case["articles"]
    assert article["kind"] == "mail_in"
    assert article["from"]["email"] == "kari@kunde.no"
    assert article["body_text"] == mail.text_body
    assert article["threaded_by"] == "no match: new case"


async def test_reply_with_tag_joins_case_and_reopens_it(cases: Harness) -> None:
    await cases.mail()
    await wait_for(lambda: cases.names().count("cases.case_created.v1") == 1)
    closed = await cases.client.patch("/api/v1/cases/10001", json={"status": "closed"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    await cases.mail(subject="SV: [Sak#10001] Skriveren på 3. etasje virker ikke", text_body="Fortsatt feil")
    await wait_for(lambda: cases.names().count("cases.article_added.v1") == 2)
    case = (await cases.client.get("/api/v1/cases/10001")).json()
    assert [a["kind"] for a in case["articles"]] == ["mail_in", "mail_in"]
    assert case["articles"][1]["threaded_by"] == (
        "subject tag [Sak#10001]; case 10001 closed less than a day ago: reopened"
    )
    assert case["status"] == "open"
    assert await case_count(cases) == 1


async def test_reply_to_our_acknowledgement_threads_by_in_reply_to(cases: Harness) -> None:
    first = await cases.mail()
    await wait_for(lambda: "cases.case_created.v1" in cases.names())
    ack_id = "<ack.10001.abc@allsak.local>"
    await publish(
        cases.runtime.transport,
        MailSent(
            mail_id="m1",
            kind="acknowledgement",
            case_number="10001",
            to=["kari@kunde.no"],
            subject="[Sak#10001] ...",
            rfc_message_id=ack_id,
            sent_at=datetime.now(UTC),
        ),
    )

    # The acknowledgement's Message-ID is known once its MailSent event was handled.
    await cases.runtime.transport.drain(timeout=10)  # type: ignore[attr-defined]
    await cases.mail(subject="Re: uten tag", in_reply_to=[ack_id], references=[first.rfc_message_id, ack_id])
    await wait_for(lambda: cases.names().count("cases.article_added.v1") == 2)
    case = (await cases.client.get("/api/v1/cases/10001")).json()
    assert case["articles"][1]["threaded_by"] == f"In-Reply-To {ack_id} = acknowledgement of case 10001"
    assert await case_count(cases) == 1


async def test_auto_submitted_mail_is_registered_but_flagged(cases: Harness) -> None:
    await cases.mail(auto_submitted=True, sender_email="noreply@leverandor.no")
    await wait_for(lambda: "cases.case_created.v1" in cases.names())
    created = next(e for e in cases.events if e.routing_key == "cases.case_created.v1")
    assert created.payload["suppress_auto_reply"] is True


async def test_same_mail_twice_is_one_case(cases: Harness) -> None:
    mail = await cases.mail()
    await cases.mail(id=str(uuid.uuid4()), rfc_message_id=mail.rfc_message_id)
    await wait_for(lambda: "cases.case_created.v1" in cases.names())
    await cases.mail(subject="marker")
    await wait_for(lambda: cases.names().count("cases.case_created.v1") == 2)
    assert await case_count(cases) == 2
    assert await case_count(cases, q="marker") == 1


async def test_api_create_update_article_and_list_filters(cases: Harness) -> None:
    created = await cases.client.post(
        "/api/v1/cases",
        json={
            "subject": "Bytte lysrør",
            "requester": {"email": "Per@Kommune.no"},
            "body_text": "Lysrøret i gangen blinker",
            "channel": "phone",
            "queue": "Drift",
        },
    )
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    # The actor is the user the gateway names; an identity must be a user of the service.
    ola = await cases.client.post(
        "/api/v1/users", json={"email": "ola@example.no", "name": "Ola", "role": "admin"}
    )
    ola_id = ola.json()["id"]
    patched = await cases.client.patch(
        f"/api/v1/cases/{number}",
        json={"priority": "high", "assignee": "ola"},
        headers={"X-Allsak-User": ola_id, "X-Allsak-Role": "admin"},
    )
    assert patched.json()["priority"] == "high"
    note = await cases.client.post(
        f"/api/v1/cases/{number}/articles", json={"kind": "note", "body_text": "Bestilt"}
    )
    assert note.status_code == 201 and note.json()["internal"] is True
    await wait_for(lambda: "cases.case_updated.v1" in cases.names())
    updated = next(e for e in cases.events if e.routing_key == "cases.case_updated.v1")
    assert updated.payload["changes"]["priority"] == {"old": "normal", "new": "high"}
    assert updated.payload["actor"] == ola_id
    assert await case_count(cases, queue="Drift") == 1
    assert await case_count(cases, queue="Annet") == 0
    assert await case_count(cases, requester="per@kommune.no") == 1
    assert await case_count(cases, q="lysrøret") == 1
    # Full text: a shorter form of the word, words in any order, and no match for a stranger word.
    assert await case_count(cases, q="lysrør") == 1
    assert await case_count(cases, q="blinker gangen") == 1
    assert await case_count(cases, q="gangen kantina") == 0


async def test_cursor_pagination_visits_every_case_once(cases: Harness) -> None:
    for i in range(5):
        response = await cases.client.post(
            "/api/v1/cases", json={"subject": f"Sak {i}", "requester": {"email": "a@b.no"}}
        )
        assert response.status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await cases.client.get("/api/v1/cases", params=params)).json()
        seen += [c["number"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["10005", "10004", "10003", "10002", "10001"]


async def test_bad_input_is_answered_with_the_field_named(cases: Harness) -> None:
    missing = await cases.client.post("/api/v1/cases", json={"subject": "x"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "requester"]
    bad_email = await cases.client.post(
        "/api/v1/cases", json={"subject": "x", "requester": {"email": "nope"}}
    )
    assert bad_email.status_code == 422 and bad_email.json()["detail"][0]["loc"][-1] == "email"
    not_json = await cases.client.post(
        "/api/v1/cases", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 422
    assert (await cases.client.get("/api/v1/cases/99999")).status_code == 404
    assert (await cases.client.get("/api/v1/cases/abc")).status_code == 404
    assert (await cases.client.get("/api/v1/cases", params={"cursor": "x"})).status_code == 422


async def test_cases_registered_at_once_for_a_new_requester_share_one_customer(cases: Harness) -> None:
    async def register(i: int) -> httpx.Response:
        body = {"subject": f"Telefon {i}", "requester": {"email": "ny@kunde.no"}, "channel": "phone"}
        return await cases.client.post("/api/v1/cases", json=body)

    answers = await asyncio.gather(*(register(i) for i in range(4)))
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert await case_count(cases, requester="ny@kunde.no") == 4
    found = await cases.client.get("/api/v1/customers", params={"email": "ny@kunde.no"})
    assert found.status_code == 200, found.text
    assert len(found.json()["items"]) == 1
