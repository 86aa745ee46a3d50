"""Mail into cases at production grade, through the bus and the API, on SQLite and PostgreSQL:
routing, aliases and organisations, unknown senders, partner references, closed cases,
bounces, and what an article keeps of a mail."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from services.cases.models import Case, Customer, CustomerAddress, Organisation
from shared.db import Database
from shared.events import Envelope
from shared.events.intake import Attachment, Bounce, MessageReceived, Routing
from shared.events.notify import MailSent
from shared.runtime import Runtime
from shared.testing import publish, wait_for
from tests.support.cases import publish_mail, running_cases

ACK_ID = "<ack.10001.abc@allsak.local>"


class Harness:
    def __init__(self, client: httpx.AsyncClient, runtime: Runtime, db: Database, events: list[Envelope]):
        self.client = client
        self.runtime = runtime
        self.db = db
        self.events = events

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e.payload for e in self.events if e.routing_key == f"cases.{name}.v1"]

    async def mail(self, **fields: Any) -> MessageReceived:
        return await publish_mail(self.runtime.transport, **fields)

    async def case(self, number: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/cases/{number}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def numbers(self, **params: str) -> list[str]:
        response = await self.client.get("/api/v1/cases", params=params)
        return [c["number"] for c in response.json()["items"]]

    async def insert(self, *rows: Any) -> None:
        async with self.db.uow() as uow:
            for row in rows:
                uow.session.add(row)
                await uow.session.flush()
            await uow.commit()

    async def execute(self, statement: Any) -> None:
        async with self.db.uow() as uow:
            await uow.session.execute(statement)
            await uow.commit()

    async def ack_sent(self, number: str = "10001", message_id: str = ACK_ID) -> None:
        """Notify sent the acknowledgement: its Message-ID becomes known to cases."""
        sent = MailSent(
            mail_id=str(uuid.uuid4()),
            kind="acknowledgement",
            case_number=number,
            to=["kari@kunde.no"],
            subject=f"[Sak#{number}] Skriveren virker ikke",
            rfc_message_id=message_id,
            sent_at=datetime.now(UTC),
        )
        await publish(self.runtime.transport, sent)
        await self.runtime.transport.drain(timeout=10)  # type: ignore[attr-defined]


@pytest.fixture
async def cases(tmp_path: Path, database_url: str | None) -> AsyncIterator[Harness]:
    async with running_cases(tmp_path, database_url) as c:
        yield Harness(c.client, c.runtime, c.db, c.events)


def now() -> datetime:
    return datetime.now(UTC)


# Routing


async def test_new_case_takes_mailbox_routing_then_trusted_headers(
    cases: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    routing = Routing(type="request", queue="HR", group="HR-team", assignee="ola", priority="high")
    headers = {"X-Allsak-Queue": "Drift", "x-allsak-priority": "urgent", "X-Allsak-Group": "Drift-1"}
    # One at a time: the consumer may take concurrent mails in any order.
    variants: list[dict[str, Any]] = [
        {"routing": routing},
        {"routing": routing, "trusted_headers": headers},
        {},
    ]
    for count, fields in enumerate(variants, start=1):
        await cases.mail(**fields)
        await wait_for(lambda count=count: len(cases.named("case_created")) == count)  # type: ignore[misc]
    first, second, third = [await cases.case(n) for n in ("10001", "10002", "10003")]
    assert {k: first[k] for k in ("type", "queue", "group", "assignee", "priority")} == {
        "type": "request",
        "queue": "HR",
        "group": "HR-team",
        "assignee": "ola",
        "priority": "high",
    }
    # Trusted headers win; the invalid priority is ignored, so the mailbox's stands.
    assert (second["queue"], second["group"], second["priority"]) == ("Drift", "Drift-1", "high")
    assert (third["queue"], third["type"], third["priority"], third["group"]) == (
        "Servicedesk",
        "incident",
        "normal",
        None,
    )
    [ignored] = [r.getMessage() for r in caplog.records if "routing value ignored" in r.getMessage()]
    assert "trusted header: priority 'urgent' is not one of low, normal, high, critical" in ignored


# Requester: aliases, organisations, unknown senders


async def test_alias_finds_the_customer_and_the_ack_goes_to_the_alias(cases: Harness) -> None:
    await cases.insert(
        Customer(id="c1", email="kari@kunde.no", name="Kari", created_at=now()),
        CustomerAddress(email="kari@kunde.no", customer_id="c1", created_at=now()),
        CustomerAddress(email="kari.privat@epost.no", customer_id="c1", created_at=now()),
    )
    await cases.mail(sender_email="Kari.Privat@Epost.no")
    await wait_for(lambda: cases.named("case_created"))
    assert cases.named("case_created")[0]["requester"]["email"] == "kari.privat@epost.no"
    case = await cases.case("10001")
    assert case["requester"]["email"] == "kari@kunde.no"
    assert await cases.numbers(requester="KARI.PRIVAT@epost.no") == ["10001"]
    assert await cases.numbers(requester="kari@kunde.no") == ["10001"]


async def test_new_customer_joins_the_organisation_of_their_domain(cases: Harness) -> None:
    await cases.insert(Organisation(id="o1", name="Kommunen", domains=["kommune.no"], created_at=now()))
    await cases.mail(sender_email="per@it.kommune.no")
    await cases.mail(sender_email="eva@annet.no", subject="other")
    await wait_for(lambda: len(cases.named("case_created")) == 2)
    async with cases.db.sessions() as session:
        rows = dict((await session.execute(select(Customer.email, Customer.organisation_id))).all())
    assert rows == {"per@it.kommune.no": "o1", "eva@annet.no": None}


async def test_unknown_sender_where_mailbox_creates_no_customers_is_rejected(cases: Harness) -> None:
    await cases.insert(
        Customer(id="c1", email="kari@kunde.no", name="Kari", created_at=now()),
        CustomerAddress(email="kari@kunde.no", customer_id="c1", created_at=now()),
    )
    stranger = await cases.mail(sender_email="ukjent@spam.example", create_customer=False)
    await cases.mail(create_customer=False, subject="known")
    await wait_for(lambda: cases.named("mail_rejected") and cases.named("case_created"))
    [rejected] = cases.named("mail_rejected")
    assert rejected["intake_message_id"] == stranger.id
    assert (rejected["reason"], rejected["action"]) == ("unknown_sender", "quarantine")
    assert await cases.numbers() == ["10001"]
    assert (await cases.case("10001"))["subject"] == "known"


# Threading: partner references and closed cases


async def test_partner_reference_threads_within_its_mailbox(cases: Harness) -> None:
    await cases.mail(mailbox_id="mb-partner", partner_reference="INC0012345", subject="INC0012345 opened")
    await wait_for(lambda: cases.named("case_created"))
    await cases.mail(mailbox_id="mb-partner", partner_reference="INC0012345", subject="INC0012345 updated")
    await wait_for(lambda: len(cases.named("article_added")) == 2)
    await cases.mail(mailbox_id="mb-other", partner_reference="INC0012345", subject="another partner")
    await wait_for(lambda: len(cases.named("case_created")) == 2)
    case = await cases.case("10001")
    assert [a["subject"] for a in case["articles"]] == ["INC0012345 opened", "INC0012345 updated"]
    assert case["articles"][1]["threaded_by"] == "partner reference INC0012345"


async def test_reply_reopens_a_recently_closed_case_and_follows_up_an_old_one(cases: Harness) -> None:
    await cases.mail()
    await wait_for(lambda: cases.named("case_created"))
    assert (await cases.client.patch("/api/v1/cases/10001", json={"status": "closed"})).status_code == 200
    await cases.execute(
        update(Case).where(Case.number == 10001).values(closed_at=now() - timedelta(days=3, hours=1))
    )
    await cases.mail(subject="SV: [Sak#10001] Skriveren virker ikke", text_body="Fortsatt feil")
    await wait_for(lambda: len(cases.named("article_added")) == 2)
    reopened = await cases.case("10001")
    assert reopened["status"] == "open"
    assert reopened["articles"][1]["threaded_by"] == (
        "subject tag [Sak#10001]; case 10001 closed 3 days ago: reopened"
    )

    assert (await cases.client.patch("/api/v1/cases/10001", json={"status": "closed"})).status_code == 200
    await cases.execute(update(Case).where(Case.number == 10001).values(closed_at=now() - timedelta(days=30)))
    await cases.mail(subject="SV: [Sak#10001] Skriveren virker ikke", text_body="Igjen")
    await wait_for(lambda: len(cases.named("case_created")) == 2)
    follow_up = await cases.case("10002")
    assert follow_up["follow_up_of"] == "10001"
    assert (
        follow_up["articles"][0]["threaded_by"] == "reply to case 10001, closed 30 days ago: follow-up case"
    )
    assert (await cases.case("10001"))["status"] == "closed"

    # Another answer on the old thread joins the follow-up instead of starting a third case.
    await cases.mail(subject="SV: [Sak#10001] Skriveren virker ikke", text_body="Og igjen")
    await wait_for(lambda: len(cases.named("article_added")) == 4)
    assert len((await cases.case("10002"))["articles"]) == 2
    assert await cases.numbers() == ["10002", "10001"]


# Bounces


def dsn(original: str | None, *, permanent: bool = True, **fields: Any) -> dict[str, Any]:
    return dict(
        sender_email="mailer-daemon@mx.kunde.no",
        sender_name="Mail Delivery System",
        subject="Undelivered Mail Returned to Sender",
        text_body="This is the mail system at host mx.kunde.no.",
        auto_submitted=True,
        bounce=Bounce(
            original_message_id=original,
            recipients=["kari@kunde.no"],
            action="failed",
            status="5.1.1" if permanent else "4.2.2",
            permanent=permanent,
            diagnostic="550 5.1.1 <kari@kunde.no>: Recipient address rejected: User unknown",
        ),
        **fields,
    )


async def test_bounce_of_our_ack_is_a_note_on_the_case_and_stops_later_acks(cases: Harness) -> None:
    await cases.mail()
    await wait_for(lambda: cases.named("case_created"))
    await cases.ack_sent()
    await cases.mail(**dsn(ACK_ID))
    await wait_for(lambda: len(cases.named("article_added")) == 2)
    case = await cases.case("10001")
    note = case["articles"][1]
    assert (note["kind"], note["internal"]) == ("delivery_failure", True)
    assert "kunne ikke leveres (status 5.1.1, permanent feil)" in note["body_text"]
    assert "could not be delivered (status 5.1.1, permanent failure)" in note["body_text"]
    assert "User unknown" in note["body_text"]
    assert note["threaded_by"] == f"bounce of {ACK_ID} = acknowledgement of case 10001"
    assert case["status"] == "new" and len(cases.named("case_created")) == 1
    assert cases.named("article_added")[1]["kind"] == "delivery_failure"
    async with cases.db.sessions() as session:
        address = await session.get(CustomerAddress, "kari@kunde.no")
    assert address is not None and address.undeliverable_at is not None
    assert address.undeliverable_reason and address.undeliverable_reason.startswith("5.1.1 550")

    await cases.mail(subject="Ny sak fra samme adresse")
    await wait_for(lambda: len(cases.named("case_created")) == 2)
    assert cases.named("case_created")[1]["suppress_auto_reply"] is True


async def test_temporary_bounce_is_noted_but_marks_nothing(cases: Harness) -> None:
    await cases.mail()
    await wait_for(lambda: cases.named("case_created"))
    await cases.ack_sent()
    await cases.mail(**dsn(ACK_ID.strip("<>"), permanent=False))
    await wait_for(lambda: len(cases.named("article_added")) == 2)
    async with cases.db.sessions() as session:
        address = await session.get(CustomerAddress, "kari@kunde.no")
    assert address is not None and address.undeliverable_at is None


async def test_bounce_of_nothing_we_sent_is_dropped(cases: Harness) -> None:
    bounce = await cases.mail(**dsn("<never-sent@allsak.local>"))
    await wait_for(lambda: cases.named("mail_rejected"))
    [rejected] = cases.named("mail_rejected")
    assert (rejected["reason"], rejected["action"]) == ("bounce_unmatched", "drop")
    assert rejected["intake_message_id"] == bounce.id
    assert await cases.numbers() == [] and cases.named("case_created") == []


# What an article keeps of a mail


async def test_article_keeps_reply_text_html_attachments_and_forwarded_text(cases: Harness) -> None:
    attachment = Attachment(
        sha256="a" * 64,
        filename="faktura-2026.pdf",
        content_type="application/pdf",
        size=12345,
        disposition="attachment",
        kind="file",
    )
    inline = Attachment(
        sha256="b" * 64,
        content_type="image/png",
        size=99,
        disposition="inline",
        content_id="logo@kunde.no",
        kind="inline_image",
    )
    await cases.mail(
        text_body="Se vedlegg.\n\n> gammel tekst",
        reply_text="Se vedlegg.",
        html_sha256="c" * 64,
        attachments=[attachment, inline],
        forwarded_text="---------- Videresendt melding ----------\nLeverandøren skriver om kabelbrudd",
    )
    await wait_for(lambda: cases.named("case_created"))
    [article] = (await cases.case("10001"))["articles"]
    assert article["reply_text"] == "Se vedlegg."
    assert article["html_sha256"] == "c" * 64
    assert article["attachments"] == [attachment.model_dump(), inline.model_dump()]
    assert await cases.numbers(q="kabelbrudd") == ["10001"]
    assert await cases.numbers(q="faktura-2026") == ["10001"]
    assert await cases.numbers(q="finnes ikke") == []


# The same mail twice


async def test_a_mail_taken_twice_is_dropped_and_a_rerun_is_not(cases: Harness) -> None:
    first = await cases.mail()
    await wait_for(lambda: cases.named("case_created"))
    await cases.ack_sent()
    await cases.mail(id=str(uuid.uuid4()), rfc_message_id=first.rfc_message_id)  # another channel
    await cases.mail(id=first.id, rfc_message_id=first.rfc_message_id)  # intake re-ran the message
    await cases.mail(rfc_message_id=ACK_ID, subject="our own acknowledgement, back in a mailbox")
    await wait_for(lambda: len(cases.named("mail_rejected")) == 2)
    await cases.runtime.transport.drain(timeout=10)  # type: ignore[attr-defined]
    details = {r["detail"] for r in cases.named("mail_rejected")}
    assert {(r["reason"], r["action"]) for r in cases.named("mail_rejected")} == {("duplicate", "drop")}
    assert details == {
        f"Message-ID {ACK_ID} known already: acknowledgement of case 10001",
        f"Message-ID {first.rfc_message_id} known already: a message received of case 10001",
    }
    assert first.id not in {r["intake_message_id"] for r in cases.named("mail_rejected")}
    assert len((await cases.case("10001"))["articles"]) == 1


async def test_subject_tag_of_a_merged_case_threads_to_the_survivor(cases: Harness) -> None:
    await cases.mail(subject="Skriveren virker ikke")
    await cases.mail(subject="Skriveren virker fortsatt ikke", sender_email="ola@kunde.no")
    await wait_for(lambda: len(cases.named("case_created")) == 2)
    merged = await cases.client.post("/api/v1/cases/10002/merge", json={"into": "10001"})
    assert merged.status_code == 200, merged.text
    await cases.mail(subject="SV: [Sak#10002] Skriveren virker fortsatt ikke", sender_email="ola@kunde.no")
    await wait_for(lambda: len(cases.named("article_added")) == 3)
    survivor = await cases.case("10001")
    assert survivor["articles"][-1]["subject"] == "SV: [Sak#10002] Skriveren virker fortsatt ikke"
    assert survivor["articles"][-1]["threaded_by"].endswith("merged: 10002 → 10001")
    assert (await cases.case("10002"))["status_category"] == "closed"
