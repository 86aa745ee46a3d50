"""Threading of inbound mail: the partner rule and the closed-case rule (reopen or follow up)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.cases.domain.threading import CaseState, ThreadDecision, after_close, closed_ago, decide

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FORTNIGHT = timedelta(days=14)


def partner_decision(**changes: object) -> ThreadDecision:
    fields: dict = dict(
        subject="INC0012345: printer",
        tag="Sak",
        existing_numbers=set(),
        in_reply_to=[],
        references=[],
        known_messages={},
        partner_reference="INC0012345",
        known_references={"INC0012345": 10023},
    )
    fields.update(changes)
    return decide(**fields)


def test_partner_reference_names_its_case() -> None:
    decision = partner_decision()
    assert decision.case_number == 10023
    assert decision.reason == "partner reference INC0012345"


def test_unknown_partner_reference_is_a_new_case() -> None:
    decision = partner_decision(known_references={})
    assert decision.is_new_case and decision.reason == "no match: new case"


def test_our_own_markers_win_over_the_partner_reference() -> None:
    decision = partner_decision(subject="RE: [Sak#10050] INC0012345", existing_numbers={10050})
    assert decision.case_number == 10050 and decision.reason == "subject tag [Sak#10050]"


def closed(days: float, **changes: object) -> CaseState:
    fields: dict = dict(number=10023, status="closed", closed_at=NOW - timedelta(days=days))
    fields.update(changes)
    return CaseState(**fields)


def test_reply_to_recently_closed_case_reopens_it_and_says_so() -> None:
    decision = after_close(
        ThreadDecision(10023, "subject tag [Sak#10023]"), case=closed(3), now=NOW, reopen_within=FORTNIGHT
    )
    assert decision.case_number == 10023
    assert decision.reason == "subject tag [Sak#10023]; case 10023 closed 3 days ago: reopened"


def test_reply_to_long_closed_case_starts_a_follow_up() -> None:
    decision = after_close(
        ThreadDecision(10023, "subject tag [Sak#10023]"), case=closed(30), now=NOW, reopen_within=FORTNIGHT
    )
    assert decision.is_new_case and decision.follow_up_of == 10023
    assert decision.reason == "reply to case 10023, closed 30 days ago: follow-up case"


def test_the_window_is_fewer_than_n_days() -> None:
    just_inside = after_close(
        ThreadDecision(10023, "x"), case=closed(13.99), now=NOW, reopen_within=FORTNIGHT
    )
    on_the_day = after_close(ThreadDecision(10023, "x"), case=closed(14), now=NOW, reopen_within=FORTNIGHT)
    assert just_inside.case_number == 10023
    assert on_the_day.follow_up_of == 10023
    never = after_close(ThreadDecision(10023, "x"), case=closed(0), now=NOW, reopen_within=timedelta(0))
    assert never.follow_up_of == 10023


def test_a_second_late_reply_joins_the_open_follow_up() -> None:
    decision = after_close(
        ThreadDecision(10023, "x"), case=closed(30, open_follow_up=10077), now=NOW, reopen_within=FORTNIGHT
    )
    assert decision.case_number == 10077
    assert decision.reason == "reply to case 10023, closed 30 days ago: joins its follow-up case 10077"


def test_resolved_and_open_cases_are_left_to_the_status_rule() -> None:
    decision = ThreadDecision(10023, "subject tag [Sak#10023]")
    for status in ("resolved", "open", "waiting_for_customer"):
        state = CaseState(10023, status, closed_at=None)
        assert after_close(decision, case=state, now=NOW, reopen_within=FORTNIGHT) == decision


def test_automatic_mail_joins_a_closed_case_without_reopening_it() -> None:
    decision = after_close(
        ThreadDecision(10023, "subject tag [Sak#10023]"),
        case=closed(30),
        now=NOW,
        reopen_within=FORTNIGHT,
        automatic=True,
    )
    assert decision.case_number == 10023 and decision.follow_up_of is None
    assert decision.reason.endswith("closed 30 days ago: automatic mail, not reopened")


def test_case_closed_before_closed_at_existed_counts_as_just_closed() -> None:
    decision = after_close(
        ThreadDecision(10023, "x"), case=closed(0, closed_at=None), now=NOW, reopen_within=FORTNIGHT
    )
    assert decision.case_number == 10023


def test_closed_ago_reads_well() -> None:
    assert closed_ago(timedelta(hours=5)) == "less than a day ago"
    assert closed_ago(timedelta(days=1, hours=2)) == "1 day ago"
    assert closed_ago(timedelta(days=30)) == "30 days ago"
