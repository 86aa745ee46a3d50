"""Demo data for ``allsak up --demo``: every department pack with months of cases (``allsak.seed``),
and a few mails from customers, taken through intake like any mail."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import httpx

from allsak import packs, seed
from shared.clock import utcnow
from shared.http import service_client

logger = logging.getLogger(__name__)

# Six mails to the departments' mailboxes (the packs create them): the mail path, end to end.
DEMO_MAILS = [
    (
        "Kari Nordmann",
        "kari.nordmann@fjordvik.kommune.example",
        "it@fjordvik.kommune.example",
        "Skriveren på 3. etasje virker ikke",
        "Hei!\n\nSkriveren ved kantina skriver ikke ut. Den viser «Papirstopp», men det er ikke papir i den.\n\nHilsen Kari",
    ),
    (
        "Geir Mathisen",
        "geir.mathisen@epost.example",
        "okonomi@fjordvik.kommune.example",
        "Feil på faktura 2026-11420",
        "Hei,\n\nFakturaen for SFO i oktober har feil beløp: vi er belastet for hel plass, men har halv.\n\nMvh Geir",
    ),
    (
        "Ingrid Berg",
        "ingrid.berg@fjordvik.kommune.example",
        "hr@fjordvik.kommune.example",
        "Søknad om permisjon i desember",
        "Jeg søker om to ukers permisjon fra 14. desember. Leder er informert.\n\nIngrid",
    ),
    (
        "Per Olsen",
        "per.olsen@fjordvik.kommune.example",
        "fasiliteter@fjordvik.kommune.example",
        "Lysrør blinker i møterom Fløyen",
        "Lysrøret i taket i møterom Fløyen blinker og bør skiftes.",
    ),
    (
        "Emma Smith",
        "emma.smith@fjordvik.kommune.example",
        "it@fjordvik.kommune.example",
        "Cannot log in to the portal",
        "Hello,\n\nSince this morning I get 'invalid password' when I log in, although I reset it.\n\nEmma",
    ),
    (
        "Knut Brekke",
        "knut.brekke@nordlysbygg.example",
        "salg@fjordvikenergi.example",
        "Forespørsel om tilbud på solcelleanlegg",
        "Vi ønsker et tilbud på solcelleanlegg på lagerbygget vårt, ca. 60 kWp, med montering i mars.",
    ),
]


def demo_mail(name: str, address: str, to: str, subject: str, body: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"{name} <{address}>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=address.split("@", 1)[1])
    message.set_content(body)
    return bytes(message)


async def load_demo(apps: dict[str, Any], *, internal_token: str | None = None) -> int:
    """Load every department pack with its months of demo cases, then send the demo mails through
    intake, the same path as real mail; return how many mails."""
    async with seed.in_process(apps) as api:
        await seed.seed(api, packs.keys(), now=utcnow(), say=lambda line: logger.info("demo: %s", line))
    async with service_client(
        base_url="http://intake",
        transport=httpx.ASGITransport(app=apps["intake"]),
        internal_token=internal_token or apps["intake"].state.ctx.settings.internal_token,
    ) as client:
        for name, address, to, subject, body in DEMO_MAILS:
            response = await client.post(
                "/api/v1/intake/mail",
                content=demo_mail(name, address, to, subject, body),
                headers={"Content-Type": "message/rfc822"},
            )
            response.raise_for_status()
    logger.info("demo: %d mails sent through intake", len(DEMO_MAILS))
    return len(DEMO_MAILS)
