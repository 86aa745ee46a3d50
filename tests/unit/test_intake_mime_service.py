"""The parts of a message are in the blob store before the event that names them goes out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.intake import service
from services.intake.app import create_app
from services.intake.domain import Parsed, parse_message
from services.intake.settings import Settings
from shared.blobs import BlobStore
from shared.bus import Message, Subscription
from shared.events import decode
from shared.runtime import Runtime
from shared.testing import running, wait_for

MAIL = Path(__file__).parents[1] / "corpus" / "mail"


async def received_events(tmp_path: Path, *names: str) -> tuple[list[dict[str, Any]], BlobStore]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    app = create_app(Settings(data_dir=tmp_path), runtime)
    events: list[dict[str, Any]] = []

    async def record(message: Message) -> None:
        envelope = decode(message.body)
        if envelope.routing_key == "intake.message_received.v1":
            events.append(envelope.payload)

    async with runtime:
        await runtime.transport.consume(
            Subscription(queue="test.parts", patterns=("intake.#",), handler=record)
        )
        async with running(app) as client:
            for name in names:
                response = await client.post(
                    "/api/v1/intake/mail",
                    content=(MAIL / name).read_bytes(),
                    headers={"Content-Type": "message/rfc822"},
                )
                assert response.status_code == 202, response.text
            await wait_for(lambda: len(events) == len(names))
    return events, runtime.blobs


async def test_the_event_names_stored_parts_and_html(tmp_path: Path) -> None:
    (event,), blobs = await received_events(tmp_path, "apple_mail_inline_image.eml")
    (image,) = event["attachments"]
    assert image["kind"] == "inline_image"
    assert image["content_id"] == "5F1E2D3C-AAAA@kunde.no"
    assert (image["filename"], image["content_type"], image["disposition"]) == (
        "Skjermbilde.png",
        "image/png",
        "inline",
    )
    assert len(await blobs.get(image["sha256"])) == image["size"]
    html = (await blobs.get(event["html_sha256"])).decode()
    assert f'src="/api/v1/attachments/{image["sha256"]}"' in html
    assert "onerror" not in html
    assert event["text_body"] == "Se skjermbildet:\n\n\nMvh Siri"


async def test_the_event_carries_reply_forward_reason_and_bounce(tmp_path: Path) -> None:
    names = ("gmail_reply_no.eml", "forward_as_attachment.eml", "bounce_postfix_dsn.eml")
    events, _ = await received_events(tmp_path, *names)
    by_subject = {event["subject"]: event for event in events}
    reply = by_subject["Re: [Sak 2026-0055] PC starter ikke"]
    assert reply["reply_text"] == "Takk, nå virker det!\n\nHilsen\nKari"
    assert "skrev Support" in reply["text_body"]  # the full text stays the full text
    forward = by_subject["VS: Kontrakt"]
    assert forward["attachments"][0]["kind"] == "forwarded_message"
    assert "Referanse K-7781" in forward["forwarded_text"]
    bounce = by_subject["Undelivered Mail Returned to Sender"]
    assert (bounce["auto_submitted"], bounce["auto_reason"]) == (True, "delivery status notification")
    assert bounce["bounce"] == {
        "original_message_id": "<case-0100.ack@firma.no>",
        "recipients": ["ukjent@kunde.no"],
        "action": "failed",
        "status": "5.1.1",
        "permanent": True,
        "diagnostic": "550 5.1.1 <ukjent@kunde.no>: Recipient address rejected: User unknown",
    }


async def test_store_parts_puts_every_part_and_the_html(tmp_path: Path) -> None:
    parsed = parse_message((MAIL / "outlook_cid_signature.eml").read_bytes())
    assert isinstance(parsed, Parsed) and parsed.html_sha256 is not None
    blobs = BlobStore(tmp_path)
    await service.store_parts(blobs, parsed)
    assert await blobs.get(parsed.parts[0].sha256) == parsed.parts[0].data
    assert await blobs.get(parsed.html_sha256) == parsed.html
