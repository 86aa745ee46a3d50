import pytest

from services.cases.domain.statuses import Status, parse_status, status_after_customer_mail
from services.cases.domain.threading import (
    KnownMessage,
    ThreadDecision,
    decide,
    follow_merges,
    referenced_ids,
    tagged_numbers,
)


def test_tag_found_case_insensitively_with_spaces() -> None:
    assert tagged_numbers("Re: [sak #10023] Skriveren", "Sak") == [10023]
    assert tagged_numbers("SV: [Sak#10023] og [Sak#10024]", "Sak") == [10023, 10024]
    assert tagged_numbers("Ticket#10023", "Sak") == []


def test_subject_tag_of_existing_case_wins() -> None:
    decision = decide(
        subject="SV: [Sak#10023] Skriveren",
        tag="Sak",
        existing_numbers={10023},
        in_reply_to=["<x@y>"],
        references=[],
        known_messages={"<x@y>": KnownMessage(10050, "acknowledgement")},
    )
    assert decision.case_number == 10023
    assert decision.reason == "subject tag [Sak#10023]"


def test_tag_of_unknown_case_makes_new_case_and_says_so() -> None:
    decision = decide(
        subject="[Sak#99999] hei",
        tag="Sak",
        existing_numbers=set(),
        in_reply_to=[],
        references=[],
        known_messages={},
    )
    assert decision.is_new_case
    assert "names no case" in decision.reason


def test_in_reply_to_names_our_acknowledgement() -> None:
    decision = decide(
        subject="Re: hei",
        tag="Sak",
        existing_numbers=set(),
        in_reply_to=["<ack.10023@allsak.local>"],
        references=["<orig@kunde.no>", "<ack.10023@allsak.local>"],
        known_messages={"<ack.10023@allsak.local>": KnownMessage(10023, "acknowledgement")},
    )
    assert decision.case_number == 10023
    assert decision.reason == "In-Reply-To <ack.10023@allsak.local> = acknowledgement of case 10023"


def test_references_searched_from_the_nearest() -> None:
    assert referenced_ids([], ["<a>", "<b>", "<c>"]) == ["<c>", "<b>", "<a>"]
    decision = decide(
        subject="Re: hei",
        tag="Sak",
        existing_numbers=set(),
        in_reply_to=[],
        references=["<a>", "<b>"],
        known_messages={
            "<a>": KnownMessage(1, "a message received"),
            "<b>": KnownMessage(2, "acknowledgement"),
        },
    )
    assert decision.case_number == 2
    assert decision.reason.startswith("References <b>")


def test_no_match_is_new_case() -> None:
    decision = decide(
        subject="Ny PC", tag="Sak", existing_numbers=set(), in_reply_to=[], references=[], known_messages={}
    )
    assert decision.case_number is None and decision.reason == "no match: new case"


def test_customer_mail_reopens_done_and_waiting_cases() -> None:
    assert status_after_customer_mail(Status.CLOSED) is Status.OPEN
    assert status_after_customer_mail(Status.WAITING_FOR_CUSTOMER) is Status.OPEN
    assert status_after_customer_mail(Status.NEW) is Status.NEW


def test_unknown_status_is_named() -> None:
    with pytest.raises(ValueError, match="one of: new, open"):
        parse_status("done")


def test_a_merged_case_hands_its_mail_on_to_the_survivor() -> None:
    decision = ThreadDecision(10002, "subject tag [Sak#10002]")
    assert follow_merges(decision, {}) == decision
    assert follow_merges(decision, {10002: 10001}) == ThreadDecision(
        10001, "subject tag [Sak#10002]; merged: 10002 → 10001"
    )
    assert follow_merges(decision, {10002: 10001, 10001: 10000}).case_number == 10000
    # A loop in bad data ends where it started over, not in an endless walk.
    assert follow_merges(decision, {10002: 10001, 10001: 10002}).case_number == 10002
