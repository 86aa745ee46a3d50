"""Intake routes each message to its mailbox and applies the mailbox's policies and the loop
rules; then it records what the cases service made of the message. Through the app, on SQLite
and the in-process bus."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.intake import models, service
from services.intake.app import create_app
from services.intake.domain import QuarantineReason, Rejected
from services.intake.settings import Settings
from shared.bus import Message, Subscription
from shared.events import Envelope, decode
from shared.events.cases import ArticleAdded, MailRejected
from shared.runtime import Runtime
from shared.testing import publish, running, wait_for

MAIL = "/api/v1/intake/mail"
MAILBOXES = "/api/v1/mailboxes"
RFC822 = {"Content-Type": "message/rfc822"}
RECEIVED = "intake.message_received.v1"
QUARANTINED = "intake.message_quarantined.v1"


def mail(*headers: str, body: str = "Skriveren virker ikke.") -> bytes:
    """A message with a fresh Message-ID (so that no two are the same bytes) unless one is given."""
    fields = list(headers)
    if not any(h.lower().startswith("from:") for h in fields):
        fields.insert(0, "From: Kari Nordmann <kari@kunde.no>")
    if not any(h.lower().startswith("message-id:") for h in fields):
        fields.append(f"Message-ID: <{uuid.uuid4()}@kunde.no>")
    return ("\r\n".join([*fields, "Content-Type: text/plain; charset=utf-8"]) + "\r\n\r\n" + body).encode()


class Desk:
    def __init__(self, client: httpx.AsyncClient, runtime: Runtime, app: Any, events: list[Envelope]):
        self.client = client
        self.runtime = runtime
        self.app = app
        self.events = events

    @property
    def ctx(self) -> Any:
        return self.app.state.ctx

    def named(self, routing_key: str) -> list[dict[str, Any]]:
        return [e.payload for e in self.events if e.routing_key == routing_key]

    async def mailbox(self, name: str, *addresses: str, **fields: Any) -> dict[str, Any]:
        body = {"name": name, "addresses": list(addresses), "channel": "smtp", **fields}
        response = await self.client.post(MAILBOXES, json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def post(self, raw: bytes) -> dict[str, Any]:
        response = await self.client.post(MAIL, content=raw, headers=RFC822)
        assert response.status_code == 202, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def receive(self, raw: bytes, **channel: Any) -> service.Receipt:
        """As the SMTP or IMAP channel calls intake: with what it knows of the recipient."""
        settings: Settings = self.ctx.settings
        return await service.receive_message(
            self.ctx.db,
            self.ctx.blobs,
            raw=raw,
            channel="smtp",
            limits=settings.limits,
            timeout=settings.parse_timeout_seconds,
            loops=settings.loops,
            **channel,
        )

    async def received(self, message_id: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = await wait_for(
            lambda: [p for p in self.named(RECEIVED) if p["id"] == message_id]
        )
        return found[0]

    async def message(self, message_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/intake/messages/{message_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def handled(self, envelope: Envelope, handler: str) -> None:
        """Wait until intake's ``handler`` has committed its work on the published event."""
        inbox = self.ctx.db.metadata.tables["inbox"]

        async def done() -> bool:
            async with self.ctx.db.sessions() as session:
                row = await session.execute(
                    select(inbox).where(
                        inbox.c.queue == f"intake.{handler}", inbox.c.message_id == str(envelope.message_id)
                    )
                )
                return row.first() is not None

        await wait_for(done)

    async def not_announced(self, message_id: str) -> None:
        """The relay publishes in order: once a later message's event is here, one for
        ``message_id`` would have been too."""
        marker = await self.post(mail("To: support@firma.no", "Subject: marker"))
        await self.received(marker["id"])
        assert message_id not in [p["id"] for p in self.named(RECEIVED)]


@contextlib.asynccontextmanager
async def desk(tmp_path: Path, **settings: Any) -> AsyncIterator[Desk]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    app = create_app(Settings(data_dir=tmp_path, outbox_poll_seconds=0.05, **settings), runtime)
    events: list[Envelope] = []

    async def record(message: Message) -> None:
        events.append(decode(message.body))

    async with runtime:
        # Bound before anything is posted, so no event can pass unseen.
        await runtime.transport.consume(
            Subscription(queue="test.intake", patterns=("intake.#",), handler=record)
        )
        async with running(app) as client:
            yield Desk(client, runtime, app, events)


# Routing


async def test_a_message_to_a_mailbox_carries_its_routing(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        box = await d.mailbox(
            "Support",
            "support@firma.no",
            "hjelp@firma.no",
            routing={"queue": "IT", "type": "incident", "priority": "high"},
        )
        answer = await d.post(mail("To: Servicedesk <support@firma.no>", "Subject: Printer"))
        event = await d.received(answer["id"])
        assert event["mailbox"] == "support@firma.no"
        assert event["mailbox_id"] == box["id"]
        assert event["routing"] == {
            "type": "incident",
            "queue": "IT",
            "group": None,
            "assignee": None,
            "priority": "high",
        }
        assert event["create_customer"] is True
        assert event["partner_reference"] is None
        assert event["trusted_headers"] == {}
        assert event["auto_submitted"] is False
        status = await d.message(answer["id"])
        assert status["status"] == "in_progress"
        assert status["mailbox"] == "support@firma.no"
        assert status["mailbox_id"] == box["id"]
        assert status["case"] is None


@pytest.mark.parametrize(
    "headers",
    [
        ("To: kari@kunde.no", "Cc: Support <support@firma.no>"),
        ("To: Hjelp <HJELP@firma.no>",),
        ("Delivered-To: hjelp@firma.no", "X-Original-To: alle@firma.no", "To: alle@firma.no"),
        ("X-Original-To: support@firma.no", "To: undisclosed-recipients:;"),
    ],
    ids=["cc", "alias", "delivered-to", "x-original-to"],
)
async def test_routing_by_cc_alias_and_delivery_headers(tmp_path: Path, headers: tuple[str, ...]) -> None:
    async with desk(tmp_path) as d:
        box = await d.mailbox("Support", "support@firma.no", "hjelp@firma.no", routing={"queue": "IT"})
        await d.mailbox("Salg", "salg@firma.no", routing={"queue": "Salg"})
        answer = await d.post(mail(*headers))
        event = await d.received(answer["id"])
        assert (event["mailbox"], event["mailbox_id"]) == ("support@firma.no", box["id"])
        assert event["routing"]["queue"] == "IT"


async def test_delivered_to_comes_before_to(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        await d.mailbox("Support", "support@firma.no")
        salg = await d.mailbox("Salg", "salg@firma.no")
        answer = await d.post(mail("Delivered-To: salg@firma.no", "To: support@firma.no, salg@firma.no"))
        assert (await d.received(answer["id"]))["mailbox_id"] == salg["id"]


async def test_a_display_name_with_our_address_does_not_route(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        await d.mailbox("Support", "support@firma.no", routing={"queue": "IT"})
        answer = await d.post(mail('To: "support@firma.no" <evil@x.com>', 'Cc: "support@firma.no" <e@x.com>'))
        event = await d.received(answer["id"])
        assert event["mailbox"] is None
        assert event["mailbox_id"] is None
        assert event["routing"] is None
        assert event["create_customer"] is True


async def test_what_the_channel_knows_routes_before_the_headers(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        support = await d.mailbox("Support", "support@firma.no", "hjelp@firma.no")
        salg = await d.mailbox("Salg", "salg@firma.no")
        by_envelope = await d.receive(mail("To: salg@firma.no"), envelope=["<Hjelp@Firma.no>"])
        by_id = await d.receive(mail("To: support@firma.no"), mailbox_id=salg["id"])
        by_address = await d.receive(mail("To: kari@kunde.no"), mailbox="salg@firma.no")
        unknown = await d.receive(mail("To: kari@kunde.no"), mailbox="annen@firma.no")
        assert (await d.received(by_envelope.message_id))["mailbox_id"] == support["id"]
        assert (await d.received(by_id.message_id))["mailbox_id"] == salg["id"]
        assert (await d.received(by_address.message_id))["mailbox"] == "salg@firma.no"
        event = await d.received(unknown.message_id)
        assert (event["mailbox"], event["mailbox_id"]) == ("annen@firma.no", None)


async def test_a_deactivated_mailbox_takes_no_mail_by_address(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        box = await d.mailbox("Support", "support@firma.no", active=False)
        answer = await d.post(mail("To: support@firma.no"))
        assert (await d.received(answer["id"]))["mailbox_id"] is None
        polled = await d.receive(mail("To: support@firma.no"), mailbox_id=box["id"])
        assert (await d.received(polled.message_id))["mailbox_id"] == box["id"]


async def test_the_partner_pattern_finds_the_external_number_in_subject_then_body(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        await d.mailbox("Partner", "partner@firma.no", partner_pattern=r"INC(\d{7})")
        await d.mailbox("Leverandor", "lev@firma.no", partner_pattern=r"SR-\d+")
        in_subject = await d.post(
            mail("To: partner@firma.no", "Subject: Re: INC0012345 printer", body="INC0099999")
        )
        in_body = await d.post(mail("To: partner@firma.no", "Subject: Printer", body="Ref INC0099999."))
        whole = await d.post(mail("To: lev@firma.no", "Subject: Din sak SR-42 er oppdatert"))
        none = await d.post(mail("To: partner@firma.no", "Subject: Printer", body="no number"))
        assert (await d.received(in_subject["id"]))["partner_reference"] == "0012345"
        assert (await d.received(in_body["id"]))["partner_reference"] == "0099999"
        assert (await d.received(whole["id"]))["partner_reference"] == "SR-42"
        assert (await d.received(none["id"]))["partner_reference"] is None


async def test_unknown_senders_policy_travels_as_create_customer(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        await d.mailbox("Styre", "styret@firma.no", unknown_senders="quarantine")
        answer = await d.post(mail("To: styret@firma.no"))
        assert (await d.received(answer["id"]))["create_customer"] is False


# Trusted headers


ALLSAK = ("X-Allsak-Queue: HR", "X-Allsak-Priority: critical", "X-Allsak-Assignee: ola@firma.no")


async def test_x_allsak_headers_count_from_a_trusted_mailbox_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="services.intake.mailboxes.arrival")
    async with desk(tmp_path) as d:
        await d.mailbox("Overvaking", "alarm@firma.no", trusted=True)
        await d.mailbox("Support", "support@firma.no")
        trusted = await d.post(mail("To: alarm@firma.no", *ALLSAK))
        untrusted = await d.post(mail("To: support@firma.no", *ALLSAK))
        nobody = await d.post(mail("To: kari@kunde.no", *ALLSAK))
        assert (await d.received(trusted["id"]))["trusted_headers"] == {
            "queue": "HR",
            "priority": "critical",
            "assignee": "ola@firma.no",
        }
        assert (await d.received(untrusted["id"]))["trusted_headers"] == {}
        assert (await d.received(nobody["id"]))["trusted_headers"] == {}
    dropped = [r for r in caplog.records if "X-Allsak headers" in r.getMessage()]
    assert [(r.levelno, r.message_id) for r in dropped] == [  # type: ignore[attr-defined]
        (logging.INFO, untrusted["id"]),
        (logging.INFO, nobody["id"]),
    ]
    assert "not trusted" in dropped[0].getMessage()


async def test_a_forged_to_does_not_borrow_a_trusted_mailbox_when_the_channel_named_another(
    tmp_path: Path,
) -> None:
    async with desk(tmp_path) as d:
        await d.mailbox("Overvaking", "alarm@firma.no", trusted=True)
        # RCPT TO an address no mailbox has; the headers claim the trusted one.
        receipt = await d.receive(
            mail("To: alarm@firma.no", "Delivered-To: alarm@firma.no", *ALLSAK), envelope=["x@firma.no"]
        )
        event = await d.received(receipt.message_id)
        assert event["mailbox"] == "alarm@firma.no"
        assert event["trusted_headers"] == {}
        named = await d.receive(mail("To: kari@kunde.no", *ALLSAK), envelope=["alarm@firma.no"])
        assert (await d.received(named.message_id))["trusted_headers"]["queue"] == "HR"


# Loops


async def test_mail_from_our_own_address_is_automatic(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        await d.mailbox("Support", "support@firma.no", "hjelp@firma.no")
        answer = await d.post(mail("From: Servicedesk <Hjelp@firma.no>", "To: support@firma.no"))
        event = await d.received(answer["id"])
        assert event["auto_submitted"] is True
        assert event["auto_reason"] == "sent from our own address hjelp@firma.no"
        assert (await d.message(answer["id"]))["auto_reason"] == event["auto_reason"]


async def test_a_message_id_of_our_own_domain_is_automatic(tmp_path: Path) -> None:
    async with desk(tmp_path, message_id_domain="desk.firma.no") as d:
        ours = await d.post(mail("To: support@firma.no", "Message-ID: <abc.1@desk.firma.no>"))
        theirs = await d.post(mail("To: support@firma.no", "Message-ID: <abc.1@allsak.local>"))
        event = await d.received(ours["id"])
        assert event["auto_submitted"] is True
        assert event["auto_reason"] == "Message-ID <abc.1@desk.firma.no> is one of ours"
        assert (await d.received(theirs["id"]))["auto_submitted"] is False


async def test_a_sender_over_the_cap_is_automatic(tmp_path: Path) -> None:
    async with desk(tmp_path, sender_cap=2, sender_cap_minutes=10) as d:
        kari = [await d.post(mail("To: support@firma.no")) for _ in range(3)]
        ola = await d.post(mail("From: ola@kunde.no", "To: support@firma.no"))
        flags = [(await d.received(a["id"]))["auto_reason"] for a in kari]
        assert flags == [None, None, "more than 2 mails from kari@kunde.no in 10 minutes"]
        assert (await d.received(ola["id"]))["auto_submitted"] is False


async def test_the_cap_counts_only_the_window(tmp_path: Path) -> None:
    async with desk(tmp_path, sender_cap=1, sender_cap_minutes=5) as d:
        first = await d.post(mail("To: support@firma.no"))
        await d.received(first["id"])
        # Move the first message out of the window, as if it came six minutes ago.
        async with d.ctx.db.uow() as uow:
            stored = await uow.session.get(models.Message, first["id"])
            stored.received_at = datetime.now(UTC) - timedelta(minutes=6)
            await uow.commit()
        second = await d.post(mail("To: support@firma.no"))
        third = await d.post(mail("To: support@firma.no"))
        assert (await d.received(second["id"]))["auto_submitted"] is False
        assert (await d.received(third["id"]))[
            "auto_reason"
        ] == "more than 1 mails from kari@kunde.no in 5 minutes"


# Automatic mail: register (flagged) or drop (kept as a record)


async def test_a_drop_mailbox_keeps_automatic_mail_as_a_record_and_announces_nothing(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        await d.mailbox("Support", "support@firma.no", automatic_mail="drop")
        await d.mailbox("Salg", "salg@firma.no")
        auto = mail("To: support@firma.no", "Auto-Submitted: auto-replied", "Subject: Out of office")
        answer = await d.post(auto)
        assert answer["status"] == "dropped"
        assert answer["reason"].startswith("automatic mail: ")
        own = await d.post(mail("From: support@firma.no", "To: support@firma.no"))
        assert own["reason"] == "automatic mail: sent from our own address support@firma.no"
        registered = await d.post(mail("To: salg@firma.no", "Auto-Submitted: auto-replied"))
        assert (await d.received(registered["id"]))["auto_submitted"] is True
        await d.not_announced(answer["id"])
        await d.not_announced(own["id"])

        status = await d.message(answer["id"])
        assert status["status"] == "dropped"
        assert status["state"] == "dropped"
        assert status["reason"] == answer["reason"]
        assert status["subject"] == "Out of office"
        assert status["case"] is None and status["quarantine"] is None
        assert await d.runtime.blobs.get(status["raw_sha256"]) == auto
        again = await d.post(auto)
        assert again == {**answer, "duplicate": True}


# What became of the message


async def test_article_added_tells_which_case_and_why(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        answer = await d.post(mail("To: support@firma.no"))
        event = await d.received(answer["id"])
        at = datetime.now(UTC)
        await publish(d.runtime.transport, article(answer["id"], "10023", "a-2", "subject tag", at))
        await publish(d.runtime.transport, article(None, "10023", "a-3", None, at))

        async def in_case() -> dict[str, Any] | None:
            status = await d.message(answer["id"])
            return status if status["status"] == "case" else None

        status = await wait_for(in_case)
        assert status["case"] == {"number": "10023", "article_id": "a-2", "threaded_by": "subject tag"}
        assert status["state"] == "received"
        assert status["received_at"] == event["received_at"]

        # Out of order: a later article of the same message does not move it; an earlier one does.
        await publish(
            d.runtime.transport, article(answer["id"], "10099", "a-9", "new case", at + timedelta(1))
        )
        await publish(
            d.runtime.transport, article(answer["id"], "10001", "a-1", "In-Reply-To", at - timedelta(1))
        )
        first = await wait_for(lambda: _case_is(d, answer["id"], "10001"))
        assert first["case"]["threaded_by"] == "In-Reply-To"


async def _case_is(d: Desk, message_id: str, number: str) -> dict[str, Any] | None:
    status = await d.message(message_id)
    return status if (status["case"] or {}).get("number") == number else None


def article(
    message_id: str | None, number: str, article_id: str, why: str | None, at: datetime
) -> ArticleAdded:
    return ArticleAdded(
        number=number,
        article_id=article_id,
        kind="mail_in",
        channel="mail",
        threaded_by=why,
        created_at=at,
        intake_message_id=message_id,
    )


def rejected(message_id: str, action: str, reason: str = "unknown_sender", detail: str = "") -> MailRejected:
    return MailRejected(
        intake_message_id=message_id,
        reason=reason,
        action=action,
        detail=detail,
        rejected_at=datetime.now(UTC),
    )


async def test_mail_rejected_to_quarantine_waits_as_unknown_sender_and_a_retry_takes_the_sender(
    tmp_path: Path,
) -> None:
    async with desk(tmp_path) as d:
        box = await d.mailbox(
            "Styre", "styret@firma.no", unknown_senders="quarantine", routing={"queue": "Styre"}
        )
        answer = await d.post(mail("To: styret@firma.no", "Subject: Søknad"))
        assert (await d.received(answer["id"]))["create_customer"] is False
        await publish(
            d.runtime.transport, rejected(answer["id"], "quarantine", detail="kari@kunde.no is unknown")
        )

        async def waiting() -> dict[str, Any] | None:
            status = await d.message(answer["id"])
            return status if status["status"] == "quarantined" else None

        status = await wait_for(waiting)
        assert status["reason"] == "unknown_sender"
        entry = status["quarantine"]
        assert (entry["reason"], entry["detail"], entry["resolved_at"]) == (
            "unknown_sender",
            "kari@kunde.no is unknown",
            None,
        )
        detail = (await d.client.get(f"/api/v1/intake/quarantine/{entry['id']}")).json()
        assert {"name": "Subject", "value": "Søknad"} in detail["headers"]
        announced = await wait_for(lambda: [p for p in d.named(QUARANTINED) if p["id"] == answer["id"]])
        assert announced[0]["reason"] == "unknown_sender"
        assert (await d.client.get("/readyz")).json()["checks"]["quarantine_waiting"] == 1

        retry = await d.client.post(f"/api/v1/intake/quarantine/{entry['id']}/retry")
        assert retry.status_code == 200, retry.text
        again = await wait_for(lambda: [p for p in d.named(RECEIVED) if p["id"] == answer["id"]][1:])
        assert again[0]["create_customer"] is True  # a person let the sender in
        assert (again[0]["mailbox_id"], again[0]["routing"]["queue"]) == (box["id"], "Styre")
        assert (await d.message(answer["id"]))["status"] == "in_progress"


async def test_mail_rejected_to_drop_keeps_the_record_with_the_reason(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        answer = await d.post(mail("To: support@firma.no"))
        await d.received(answer["id"])
        await publish(
            d.runtime.transport, rejected(answer["id"], "drop", "bounce_unmatched", "no mail of ours")
        )

        async def dropped() -> dict[str, Any] | None:
            status = await d.message(answer["id"])
            return status if status["status"] == "dropped" else None

        status = await wait_for(dropped)
        assert status["reason"] == "bounce_unmatched: no mail of ours"
        assert status["quarantine"] is None
        # A rejection after the message became a case changes nothing.
        other = await d.post(mail("To: support@firma.no"))
        await d.received(other["id"])
        await publish(
            d.runtime.transport, article(other["id"], "10024", "a-1", "new case", datetime.now(UTC))
        )
        await wait_for(lambda: _case_is(d, other["id"], "10024"))
        late = await publish(d.runtime.transport, rejected(other["id"], "quarantine"))
        await d.handled(late, "on_mail_rejected")
        status = await d.message(other["id"])
        assert (status["status"], status["state"], status["quarantine"]) == ("case", "received", None)


# Quarantine retry takes the same path


async def test_a_retry_routes_by_the_stored_envelope_and_applies_the_policies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = service.parse_message

    def unreadable(raw: bytes, **kwargs: Any) -> Rejected:
        return Rejected(QuarantineReason.PARSE_ERROR, "not today")

    async with desk(tmp_path) as d:
        support = await d.mailbox("Support", "support@firma.no", "hjelp@firma.no", routing={"queue": "IT"})
        await d.mailbox("Salg", "salg@firma.no", automatic_mail="drop")
        monkeypatch.setattr(service, "parse_message", unreadable)
        routed = await d.receive(mail("To: salg@firma.no", *ALLSAK), envelope=["hjelp@firma.no"])
        looped = await d.receive(mail("From: salg@firma.no", "To: salg@firma.no"))
        assert (routed.state, looped.state) == ("quarantined", "quarantined")
        monkeypatch.setattr(service, "parse_message", real)

        retry = await d.client.post(f"/api/v1/intake/quarantine/{routed.quarantine_id}/retry")
        assert retry.status_code == 200, retry.text
        event = await d.received(routed.message_id)
        assert (event["mailbox"], event["mailbox_id"]) == ("support@firma.no", support["id"])
        assert event["routing"]["queue"] == "IT"
        assert event["trusted_headers"] == {}
        assert event["create_customer"] is True

        retry = await d.client.post(f"/api/v1/intake/quarantine/{looped.quarantine_id}/retry")
        assert retry.status_code == 200, retry.text
        status = await d.message(looped.message_id)
        assert status["status"] == "dropped"
        assert status["reason"] == "automatic mail: sent from our own address salg@firma.no"
        assert status["quarantine"]["resolution"] == "retried"
        await d.not_announced(looped.message_id)
