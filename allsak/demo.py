"""Demo data for ``allsak up --demo``: a few mails from customers, taken through intake like any mail."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import httpx

from shared.clock import utcnow
from shared.http import service_client

logger = logging.getLogger(__name__)

DEMO_MAILS = [
    (
        "Kari Nordmann",
        "kari.nordmann@bergen.kommune.no",
        "Skriveren på 3. etasje virker ikke",
        "Hei!\n\nSkriveren ved kantina skriver ikke ut. Den viser «Papirstopp», men det er ikke papir i den.\n\nHilsen Kari",
    ),
    (
        "Ola Hansen",
        "ola.hansen@fjordkraft-demo.no",
        "Feil på faktura 2026-1142",
        "Hei,\n\nFakturaen for oktober har feil beløp: vi er belastet for 12 lisenser, men har 10.\n\nMvh Ola",
    ),
    (
        "Ingrid Berg",
        "ingrid.berg@bergen.kommune.no",
        "Søknad om permisjon i desember",
        "Jeg søker om to ukers permisjon fra 14. desember. Leder er informert.\n\nIngrid",
    ),
    (
        "Per Olsen",
        "per.olsen@bergen.kommune.no",
        "Lysrør blinker i møterom Fløyen",
        "Lysrøret i taket i møterom Fløyen blinker og bør skiftes.",
    ),
    (
        "Emma Smith",
        "emma.smith@example.com",
        "Cannot log in to the portal",
        "Hello,\n\nSince this morning I get 'invalid password' when I log in, although I reset it.\n\nEmma",
    ),
    (
        "Nils Johansen",
        "nils.johansen@fjordkraft-demo.no",
        "Forespørsel om tilbud på 50 nye PC-er",
        "Vi ønsker et tilbud på 50 bærbare PC-er med dokking, levering i januar.",
    ),
]


def demo_mail(name: str, address: str, subject: str, body: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"{name} <{address}>"
    message["To"] = "support@allsak.local"
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=address.split("@", 1)[1])
    message.set_content(body)
    return bytes(message)


async def load_demo(apps: dict[str, Any], *, internal_token: str | None = None) -> int:
    """Send the demo mails through intake, the same path as real mail; return how many."""
    async with service_client(
        base_url="http://intake",
        transport=httpx.ASGITransport(app=apps["intake"]),
        internal_token=internal_token,
    ) as client:
        for name, address, subject, body in DEMO_MAILS:
            response = await client.post(
                "/api/v1/intake/mail",
                content=demo_mail(name, address, subject, body),
                headers={"Content-Type": "message/rfc822"},
            )
            response.raise_for_status()
    logger.info("demo: %d mails sent through intake", len(DEMO_MAILS))
    return len(DEMO_MAILS)
