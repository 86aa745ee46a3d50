"""Routing of new cases from mail, organisations by domain, and the delivery-failure note."""

from __future__ import annotations

import typing

from services.cases.domain.bounces import (
    BounceFacts,
    candidate_ids,
    delivery_failure_note,
    marks_undeliverable,
    undeliverable_reason,
)
from services.cases.domain.customers import OrganisationDomains, address_domain, organisation_for
from services.cases.domain.routing import PRIORITIES, Route, route, trusted_values
from services.cases.schemas import Priority

DEFAULTS = Route(type="incident", queue="Servicedesk", priority="normal")


def test_mailbox_routing_overrides_defaults_field_by_field() -> None:
    routed = route(defaults=DEFAULTS, mailbox=Route(queue="HR", group="HR-1"), trusted_headers={})
    assert routed.route == Route(type="incident", queue="HR", group="HR-1", priority="normal")
    assert routed.ignored == []


def test_trusted_headers_override_the_mailbox() -> None:
    headers = {
        "X-Allsak-Queue": "Drift",
        "x-allsak-priority": "High",
        "X-Allsak-Assignee": "ola",
        "X-Other": "1",
    }
    routed = route(defaults=DEFAULTS, mailbox=Route(queue="HR", type="request"), trusted_headers=headers)
    assert routed.route == Route(type="request", queue="Drift", assignee="ola", priority="high")


def test_invalid_values_are_ignored_and_named() -> None:
    headers = {"X-Allsak-Priority": "urgent", "X-Allsak-Queue": "Q" * 101, "X-Allsak-Type": "  "}
    routed = route(defaults=DEFAULTS, mailbox=Route(priority="critical"), trusted_headers=headers)
    assert routed.route.priority == "critical" and routed.route.queue == "Servicedesk"
    assert routed.route.type == "incident"
    assert any("priority 'urgent' is not one of" in problem for problem in routed.ignored)
    assert any("queue longer than 100" in problem for problem in routed.ignored)
    assert len(routed.ignored) == 2


def test_trusted_header_names_are_case_insensitive() -> None:
    assert trusted_values({"X-ALLSAK-GROUP": "Drift"}) == {"group": "Drift"}


def test_priorities_match_the_api() -> None:
    assert set(PRIORITIES) == set(typing.get_args(Priority))


def test_organisation_by_domain_most_specific_wins() -> None:
    organisations = [
        OrganisationDomains("kommune", ["Kommune.no"]),
        OrganisationDomains("skole", ["skole.kommune.no"]),
        OrganisationDomains("empty", []),
    ]
    assert organisation_for("kari@kommune.no", organisations) == "kommune"
    assert organisation_for("per@it.kommune.no", organisations) == "kommune"
    assert organisation_for("ola@skole.kommune.no", organisations) == "skole"
    assert organisation_for("eva@annenkommune.no", organisations) is None
    assert organisation_for("no-at-sign", organisations) is None
    assert address_domain("Kari@Kunde.NO.") == "kunde.no"


FAILED = BounceFacts(
    recipients=["kari@kunde.no"],
    action="failed",
    status="5.1.1",
    permanent=True,
    diagnostic="550 5.1.1 User unknown",
)


def test_note_is_bokmal_then_english_and_names_what_happened() -> None:
    note = delivery_failure_note(FAILED, concerning="acknowledgement <ack.1@allsak.local>")
    bokmal, english = note.split("----------------------------------------")
    assert "E-posten til kari@kunde.no kunne ikke leveres (status 5.1.1, permanent feil)" in bokmal
    assert "ikke leverbar" in bokmal and "550 5.1.1 User unknown" in bokmal
    assert "The mail to kari@kunde.no could not be delivered (status 5.1.1, permanent failure)" in english
    assert "Concerns: acknowledgement <ack.1@allsak.local>." in english


def test_only_a_permanent_failure_marks_the_address() -> None:
    assert marks_undeliverable(FAILED)
    delayed = BounceFacts(["kari@kunde.no"], "delayed", "4.2.2", False, "mailbox full")
    assert not marks_undeliverable(delayed)
    assert "forsinket" in delivery_failure_note(delayed, concerning="x")
    assert undeliverable_reason(FAILED) == "5.1.1 550 5.1.1 User unknown"


def test_bounce_candidates_surest_first() -> None:
    assert candidate_ids("ack.1@allsak.local", ["<a@x>"], ["<b@x>", "<a@x>"]) == [
        "<ack.1@allsak.local>",
        "<a@x>",
        "<b@x>",
    ]
    assert candidate_ids(None, [], []) == []
