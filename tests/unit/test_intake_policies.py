"""Intake's mailbox rules, pure: routing, loop flags, partner references, trusted headers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.intake.domain import Parsed, parse_message
from services.intake.mailboxes import policies, routing
from services.intake.mailboxes.headers import (
    allsak_headers,
    delivery_addresses,
    envelope_addresses,
    header_block,
)
from services.intake.mailboxes.policies import LoopPolicy
from services.intake.mailboxes.routing import MailboxConfig
from services.intake.schemas import fate

SUPPORT = MailboxConfig(
    id="m-support", name="Support", addresses=("support@firma.no", "hjelp@firma.no"), channel="smtp"
)
PARTNER = MailboxConfig(
    id="m-partner", name="Partner", addresses=("partner@firma.no",), channel="imap", trusted=True
)
OLD = MailboxConfig(id="m-old", name="Old", addresses=("gammel@firma.no",), channel="smtp", active=False)
ALL = [SUPPORT, PARTNER, OLD]


def mail(*headers: str, body: str = "Hei\r\n") -> bytes:
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


def parsed(raw: bytes) -> Parsed:
    result = parse_message(raw)
    assert isinstance(result, Parsed), result
    return result


# Routing


def test_the_channels_mailbox_id_wins_even_for_a_deactivated_mailbox() -> None:
    found = routing.route(ALL, mailbox_id="m-old", envelope=["support@firma.no"], to=["partner@firma.no"])
    assert found == routing.Route(OLD, by_channel=True)


def test_an_unknown_id_falls_back_to_the_addresses() -> None:
    assert routing.route(ALL, mailbox_id="gone", to=["support@firma.no"]).mailbox == SUPPORT


def test_the_envelope_comes_before_delivery_headers_and_to() -> None:
    found = routing.route(
        ALL, envelope=["Hjelp@Firma.no"], delivered_to=["partner@firma.no"], to=["partner@firma.no"]
    )
    assert found == routing.Route(SUPPORT, by_channel=True)


@pytest.mark.parametrize(
    ("delivered_to", "to", "cc", "expected"),
    [
        (["partner@firma.no"], ["support@firma.no"], [], PARTNER),
        ([], ["kari@kunde.no", "hjelp@firma.no"], [], SUPPORT),
        ([], ["kari@kunde.no"], ["partner@firma.no"], PARTNER),
        ([], ["gammel@firma.no"], [], None),  # a deactivated mailbox takes no mail by address
        ([], ["kari@kunde.no"], [], None),
    ],
)
def test_headers_route_in_order_delivery_to_cc(
    delivered_to: list[str], to: list[str], cc: list[str], expected: MailboxConfig | None
) -> None:
    found = routing.route(ALL, delivered_to=delivered_to, to=to, cc=cc)
    assert found == routing.Route(expected, by_channel=False)


def test_a_display_name_that_looks_like_our_address_does_not_route() -> None:
    message = parsed(
        mail("From: kari@kunde.no", 'To: "support@firma.no" <evil@x.com>', 'Cc: "hjelp@firma.no" <e@x.com>')
    )
    assert message.to == ["evil@x.com"]
    assert routing.route(ALL, to=message.to, cc=message.cc).mailbox is None


def test_own_addresses_are_every_address_of_every_mailbox() -> None:
    assert routing.own_addresses(ALL) == {
        "support@firma.no",
        "hjelp@firma.no",
        "partner@firma.no",
        "gammel@firma.no",
    }


# Header extraction


def test_header_block_reads_the_header_only() -> None:
    raw = mail(
        "From: kari@kunde.no",
        "Delivered-To: partner@firma.no",
        "X-Allsak-Queue: HR",
        body="X-Allsak-Priority: critical\r\nDelivered-To: support@firma.no\r\n",
    )
    headers = header_block(raw)
    assert delivery_addresses(headers) == ["partner@firma.no"]
    assert allsak_headers(headers) == {"queue": "HR"}


def test_delivery_addresses_come_from_delivered_to_and_x_original_to_once_each() -> None:
    headers = header_block(
        mail(
            "Delivered-To: <Support@Firma.NO>",
            "Delivered-To: intern@mx.firma.no",
            "X-Original-To: support@firma.no, hjelp@firma.no",
            "Delivered-To: not an address",
        )
    )
    assert delivery_addresses(headers) == [
        "Support@firma.no",
        "intern@mx.firma.no",
        "support@firma.no",
        "hjelp@firma.no",
    ]


def test_allsak_headers_are_the_five_routing_fields_decoded_first_of_each() -> None:
    headers = header_block(
        mail(
            "X-Allsak-Queue: =?utf-8?q?Bygg_og_eiendom?=",
            "X-Allsak-Queue: IT",
            "X-Allsak-Type: incident",
            "X-ALLSAK-PRIORITY: high",
            "x-allsak-assignee: ola@firma.no",
            "X-Allsak-Group:\r\n  Drift",
            "X-Allsak-Internal-Token: secret",
            "X-Allsak-Status: closed",
            "X-Allsak-Type-Extra: no",
        )
    )
    assert allsak_headers(headers) == {
        "queue": "Bygg og eiendom",
        "type": "incident",
        "priority": "high",
        "assignee": "ola@firma.no",
        "group": "Drift",
    }


def test_empty_allsak_headers_and_garbage_give_nothing() -> None:
    assert allsak_headers(header_block(mail("X-Allsak-Queue:   ", "From: a@b.no"))) == {}
    assert len(header_block(b"\x00\xff not a header at all")) == 0
    assert len(header_block(b"")) == 0


def test_a_header_without_a_body_is_read_whole() -> None:
    assert allsak_headers(header_block(b"From: a@b.no\r\nX-Allsak-Type: request")) == {"type": "request"}


def test_envelope_addresses_are_bare_lower_case_once_each() -> None:
    assert envelope_addresses([" <Support@Firma.no> ", "support@firma.no", "", "  ", "hjelp@firma.no"]) == [
        "support@firma.no",
        "hjelp@firma.no",
    ]


# Loops


LOOPS = LoopPolicy(message_id_domain="allsak.example", sender_cap=10, sender_cap_minutes=10)
OWN = routing.own_addresses(ALL)


def reason(
    sender: str = "kari@kunde.no", message_id: str | None = "<m1@kunde.no>", recent: int = 0
) -> str | None:
    return policies.loop_reason(
        sender=sender, message_id=message_id, own_addresses=OWN, recent_from_sender=recent, policy=LOOPS
    )


def test_an_ordinary_message_is_not_a_loop() -> None:
    assert reason() is None
    assert reason(message_id=None) is None


def test_mail_from_one_of_our_own_addresses_is_automatic() -> None:
    assert reason(sender="Hjelp@Firma.no") == "sent from our own address hjelp@firma.no"
    assert reason(sender="gammel@firma.no") == "sent from our own address gammel@firma.no"


@pytest.mark.parametrize("message_id", ["<abc.123@allsak.example>", "<x@ALLSAK.Example>", "x@allsak.example"])
def test_a_message_id_of_ours_is_automatic(message_id: str) -> None:
    assert reason(message_id=message_id) == f"Message-ID {message_id} is one of ours"


@pytest.mark.parametrize(
    "message_id", ["<x@mail.allsak.example>", "<x@allsak.example.evil>", "<allsak.example>"]
)
def test_other_message_id_domains_are_not(message_id: str) -> None:
    assert reason(message_id=message_id) is None


def test_the_sender_cap_counts_earlier_messages_within_the_window() -> None:
    assert reason(recent=9) is None  # this is the 10th: at the cap, not over it
    assert reason(recent=10) == "more than 10 mails from kari@kunde.no in 10 minutes"
    assert LOOPS.window == timedelta(minutes=10)
    small = LoopPolicy(sender_cap=2, sender_cap_minutes=0.5)
    found = policies.loop_reason(
        sender="Kari@kunde.no", message_id=None, own_addresses=(), recent_from_sender=2, policy=small
    )
    assert found == "more than 2 mails from kari@kunde.no in 0.5 minutes"


def test_the_default_loop_policy_matches_notify() -> None:
    assert LoopPolicy() == LoopPolicy(message_id_domain="allsak.local", sender_cap=10, sender_cap_minutes=10)


# Partner references, customers, automatic mail, trusted headers


@pytest.mark.parametrize(
    ("pattern", "subject", "body", "expected"),
    [
        (r"INC\d{7}", "Re: INC0012345 printer", "INC0099999", "INC0012345"),
        (r"INC\d{7}", "Printer", "see INC0099999 please", "INC0099999"),
        (r"\[Ref:(\w+)\]", "Your case [Ref:AB12]", "", "AB12"),
        (r"Ref:(\w+)?", "Ref:", "Ref:CD34", "CD34"),  # an empty group is no reference
        (r"INC\d{7}", "Printer", "nothing here", None),
        (None, "INC0012345", "", None),
        ("", "INC0012345", "", None),
        ("(unclosed", "(unclosed", "", None),
    ],
)
def test_partner_reference(pattern: str | None, subject: str, body: str, expected: str | None) -> None:
    assert policies.partner_reference(pattern, subject, body) == expected


def test_unknown_senders_become_customers_unless_the_mailbox_quarantines_them() -> None:
    assert policies.create_customer(None) is True
    assert policies.create_customer(SUPPORT) is True
    assert (
        policies.create_customer(
            MailboxConfig("q", "Q", ("q@firma.no",), "smtp", unknown_senders="quarantine")
        )
        is False
    )


def test_only_a_drop_mailbox_drops_automatic_mail() -> None:
    assert policies.drops_automatic(None) is False
    assert policies.drops_automatic(SUPPORT) is False
    assert policies.drops_automatic(MailboxConfig("d", "D", ("d@firma.no",), "smtp", automatic_mail="drop"))


FOUND = {"queue": "HR", "priority": "high"}


@pytest.mark.parametrize(
    ("mailbox", "by_channel", "channel_named", "kept"),
    [
        (PARTNER, True, True, FOUND),  # IMAP id or RCPT TO named the trusted mailbox
        (PARTNER, False, False, FOUND),  # the channel named nothing (a plain API post): To decides
        (PARTNER, False, True, {}),  # the channel named another address; To/Delivered-To are forgeable
        (SUPPORT, True, True, {}),
        (SUPPORT, False, False, {}),
        (None, False, False, {}),
    ],
)
def test_x_allsak_headers_are_honoured_from_a_trusted_mailbox_only(
    mailbox: MailboxConfig | None, by_channel: bool, channel_named: bool, kept: dict[str, str]
) -> None:
    found = policies.honoured_headers(
        FOUND, mailbox=mailbox, by_channel=by_channel, channel_named=channel_named
    )
    assert found == kept


# What became of a message


@pytest.mark.parametrize(
    ("state", "has_case", "expected"),
    [
        ("received", False, "in_progress"),
        ("received", True, "case"),
        ("quarantined", False, "quarantined"),
        ("quarantined", True, "case"),
        ("dropped", False, "dropped"),
        ("discarded", False, "discarded"),
    ],
)
def test_the_fate_of_a_message(state: str, has_case: bool, expected: str) -> None:
    assert fate(state, has_case=has_case) == expected
