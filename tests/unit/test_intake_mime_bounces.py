"""Bounces (RFC 3464 and the plain-text forms servers still send) and why mail is automatic."""

from __future__ import annotations

import pytest

from services.intake.domain import Parsed, parse_message
from shared.events.intake import Bounce


def parsed(raw: str) -> Parsed:
    result = parse_message(raw.replace("\n", "\r\n").encode())
    assert isinstance(result, Parsed), result
    return result


def bounce_of(raw: str) -> Bounce:
    result = parsed(raw)
    assert result.bounce is not None, result.text_body
    assert result.auto_submitted is True
    assert result.auto_reason == "delivery status notification"
    return result.bounce


RFC3464 = """From: MAILER-DAEMON@mx.firma.no (Mail Delivery System)
To: support@firma.no
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="r"

--r
Content-Type: text/plain

This is the mail system at host mx.firma.no. Your message could not be delivered.

--r
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.firma.no
Arrival-Date: Tue, 24 Nov 2026 10:14:58 +0100

Final-Recipient: rfc822; ukjent@kunde.no
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <ukjent@kunde.no>: Recipient address rejected:
    User unknown

Final-Recipient: rfc822; ok@kunde.no
Action: delivered
Status: 2.0.0

Final-Recipient: rfc822;Ukjent2@Kunde.NO
Action: failed
Status: 5.2.1

--r
{returned}
--r--
"""
RETURNED_MESSAGE = (
    "Content-Type: message/rfc822\n\nFrom: support@firma.no\nMessage-ID: <case-1.ack@firma.no>\n\nHei\n"
)
RETURNED_HEADERS = (
    "Content-Type: text/rfc822-headers\n\nFrom: support@firma.no\nMessage-ID: <case-2.ack@firma.no>\n"
)


@pytest.mark.parametrize(
    ("returned", "original"),
    [(RETURNED_MESSAGE, "<case-1.ack@firma.no>"), (RETURNED_HEADERS, "<case-2.ack@firma.no>")],
)
def test_an_rfc3464_report_is_read_field_by_field(returned: str, original: str) -> None:
    bounce = bounce_of(RFC3464.format(returned=returned))
    assert bounce.original_message_id == original
    assert bounce.recipients == ["ukjent@kunde.no", "Ukjent2@kunde.no"]
    assert (bounce.action, bounce.status, bounce.permanent) == ("failed", "5.1.1", True)
    assert bounce.diagnostic == "550 5.1.1 <ukjent@kunde.no>: Recipient address rejected: User unknown"


def test_a_delayed_report_is_not_permanent() -> None:
    raw = RFC3464.format(returned=RETURNED_MESSAGE).replace("Action: failed", "Action: delayed")
    raw = raw.replace("Status: 5.1.1", "Status: 4.4.1").replace("Status: 5.2.1", "Status: 4.2.2")
    bounce = bounce_of(raw)
    assert (bounce.action, bounce.status, bounce.permanent) == ("delayed", "4.4.1", False)


def test_failed_after_retries_with_a_4xx_status_is_not_permanent() -> None:
    raw = RFC3464.format(returned=RETURNED_MESSAGE).replace("Status: 5.1.1", "Status: 4.4.7")
    bounce = bounce_of(raw)
    assert (bounce.action, bounce.status, bounce.permanent) == ("failed", "4.4.7", False)


EXIM = """From: Mail Delivery System <Mailer-Daemon@mx.kunde.no>
To: support@firma.no
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  borte@kunde.no
    host mail.kunde.no [192.0.2.10]
    SMTP error from remote mail server after RCPT TO:<borte@kunde.no>:
    550 5.1.1 User unknown

------ This is a copy of the message, including all the headers. ------

From: Support <support@firma.no>
To: borte@kunde.no
Message-ID: <case-3.reply@firma.no>

Hei, 4.4.4 and other@kunde.no are in the copy, not in the report.
"""

QMAIL = """From: MAILER-DAEMON@mail.kunde.no
To: support@firma.no
Subject: failure notice

Hi. This is the qmail-send program at mail.kunde.no.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<sluttet@kunde.no>:
192.0.2.10 does not like recipient.
Remote host said: 550 5.1.1 <sluttet@kunde.no>... User unknown

--- Below this line is a copy of the message.

Message-ID: <case-4.status@firma.no>
From: support@firma.no
"""

EXCHANGE_NO = """From: postmaster@kunde.onmicrosoft.com
To: support@firma.no
Subject: Kan ikke leveres: [Sak 2026-0103] Svar
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="n"

--n
Content-Type: text/html; charset=utf-8

<p><b>Meldingen kunne ikke leveres til feil@kunde.no</b></p><p>Diagnostic information for administrators:</p>
<p>feil@kunde.no<br>Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound'</p>
--n
Content-Type: message/rfc822

From: support@firma.no
To: feil@kunde.no
Message-ID: <case-5.reply@firma.no>

Svar
--n--
"""

EXCHANGE_DE = """From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@kunde.de>
To: support@firma.no
Subject: Unzustellbar: Rechnung

Die Nachricht konnte nicht an empfaenger@kunde.de zugestellt werden.
Remote Server returned '550 5.4.1 Recipient address rejected: Access denied'
"""

SENDMAIL = """From: Mail Delivery Subsystem <MAILER-DAEMON@gammel.kunde.no>
To: <support@firma.no>
Subject: Returned mail: see transcript for details

   ----- The following addresses had permanent fatal errors -----
<fullt@gammel.kunde.no>
    (reason: 552 5.2.2 Mailbox full)

   ----- Original message follows -----
Message-ID: <case-6.reply@firma.no>
"""

GMAIL_TEXT = """From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: support@firma.no
Subject: Delivery Status Notification (Failure)

Address not found

Your message wasn't delivered to mangler@kunde.no because the address couldn't be found.

The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist.
"""


@pytest.mark.parametrize(
    ("raw", "recipients", "status", "original"),
    [
        (EXIM, ["borte@kunde.no"], "5.1.1", "<case-3.reply@firma.no>"),
        (QMAIL, ["sluttet@kunde.no"], "5.1.1", "<case-4.status@firma.no>"),
        (EXCHANGE_NO, ["feil@kunde.no"], "5.1.10", "<case-5.reply@firma.no>"),
        (EXCHANGE_DE, ["empfaenger@kunde.de"], "5.4.1", None),
        (SENDMAIL, ["fullt@gammel.kunde.no"], "5.2.2", "<case-6.reply@firma.no>"),
        (GMAIL_TEXT, ["mangler@kunde.no"], "5.1.1", None),
    ],
    ids=["exim", "qmail", "exchange-no", "exchange-de", "sendmail", "gmail-text"],
)
def test_plain_text_bounces(raw: str, recipients: list[str], status: str, original: str | None) -> None:
    bounce = bounce_of(raw)
    assert bounce.recipients == recipients
    assert bounce.status == status
    assert bounce.original_message_id == original
    assert (bounce.action, bounce.permanent) == ("failed", True)
    assert status in bounce.diagnostic


def test_a_plain_text_delay_warning() -> None:
    raw = """From: MAILER-DAEMON@mx.kunde.no
To: support@firma.no
Subject: Warning: could not send message for past 4 hours

    **********************************************
    **      THIS IS A WARNING MESSAGE ONLY      **
    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **
    **********************************************

The original message was received at Tue, 24 Nov 2026 06:00:00 +0100
   ----- Transcript of session follows -----
<treg@kunde.no>... Deferred: Connection timed out with mail.kunde.no.
451 4.4.1 reply: read error from mail.kunde.no.
Warning: message still undelivered after 4 hours
Will keep trying until message is 5 days old
"""
    bounce = bounce_of(raw)
    assert (bounce.action, bounce.status, bounce.permanent) == ("delayed", "4.4.1", False)
    assert bounce.recipients == ["treg@kunde.no"]


def test_an_smtp_code_without_an_enhanced_one_gives_its_class() -> None:
    raw = """From: MAILER-DAEMON@old.kunde.no
To: support@firma.no
Subject: Undeliverable mail

<x@kunde.no>: 550 No such user here
"""
    bounce = bounce_of(raw)
    assert (bounce.status, bounce.permanent, bounce.recipients) == ("5.0.0", True, ["x@kunde.no"])


@pytest.mark.parametrize(
    "raw",
    [
        # A person forwarding a bounce to the service desk is not a bounce.
        "From: kari@kunde.no\nSubject: Fwd: Undelivered Mail Returned to Sender\n\n"
        "Hvorfor kom denne? Your message could not be delivered.\n",
        # Nor is a person writing about undeliverable parcels.
        "From: kari@kunde.no\nSubject: Undeliverable parcel\n\nPakken kunne ikke leveres i dag.\n",
        "From: postmaster@kunde.no\nSubject: Ny postkasse\n\nVi har fått ny postkasse.\n",
    ],
)
def test_not_every_mention_of_delivery_is_a_bounce(raw: str) -> None:
    assert parsed(raw).bounce is None


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
        ("Auto-Submitted: auto-generated (failure)", "Auto-Submitted: auto-generated"),
        ("Precedence: bulk", "Precedence: bulk"),
        ("Precedence: list\nList-Id: <x>", "Precedence: list"),
        ("List-Id: <nyheter.firma.no>", "List-Id"),
        ("List-Unsubscribe: <mailto:u@firma.no>", "List-Unsubscribe"),
        ("X-Autoreply: yes", "X-Autoreply"),
        ("X-Auto-Response-Suppress: DR, All", "X-Auto-Response-Suppress: All"),
        ("Return-Path: <>", "null Return-Path"),
        ("Subject: Automatisk svar: Skriver", "Subject: Automatisk svar"),
        ("Subject: Automatic reply: Printer", "Subject: Automatic reply"),
    ],
)
def test_the_first_rule_that_makes_mail_automatic_is_named(headers: str, reason: str) -> None:
    result = parsed(f"From: kari@kunde.no\n{headers}\n\nTekst\n")
    assert (result.auto_submitted, result.auto_reason) == (True, reason)


@pytest.mark.parametrize(
    ("sender", "reason"),
    [("MAILER-DAEMON@kunde.no", "MAILER-DAEMON sender"), ("postmaster@kunde.no", "postmaster sender")],
)
def test_system_senders_are_named(sender: str, reason: str) -> None:
    assert parsed(f"From: {sender}\nSubject: Hei\n\nTekst\n").auto_reason == reason


@pytest.mark.parametrize(
    "subject", ["Fraværsmelding for uke 12", "Fraværsmelding: syk i dag", "Out of office question"]
)
def test_people_writing_about_absence_are_not_automatic(subject: str) -> None:
    result = parsed(f"From: ansatt@firma.no\nSubject: {subject}\n\nJeg er syk.\n")
    assert (result.auto_submitted, result.auto_reason) == (False, None)
