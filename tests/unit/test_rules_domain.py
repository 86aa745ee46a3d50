"""Routing rules, pure: each condition kind, reasons, order, stop, and what the actions leave."""

from __future__ import annotations

from typing import Any

import pytest

from services.cases.rules.domain import (
    Conditions,
    Facts,
    Rule,
    Values,
    Words,
    apply,
    conditions_from,
    evaluate,
    match,
)


def facts(**given: Any) -> Facts:
    base: dict[str, Any] = {
        "channel": "mail",
        "requester_email": "kari@avd.kunde.no",
        "subject": "Feil på fakturaen",
        "body": "Hei, beløpet på faktura 123 er feil.",
        "type": "incident",
        "mailbox_id": "mb-1",
        "organisation_id": "org-1",
        "fields": {"kategori": "nett", "moduler": ["lønn", "regnskap"], "haster": True},
    }
    return Facts(**{**base, **given})


def rule(rule_id: str, conditions: Conditions | None = None, stop: bool = False, **actions: Any) -> Rule:
    return Rule(rule_id, f"Rule {rule_id}", conditions or Conditions(), actions or {"queue": "Q"}, stop)


@pytest.mark.parametrize(
    ("conditions", "reason"),
    [
        (Conditions(channel=("mail", "phone")), "channel is mail"),
        (Conditions(mailbox=("mb-1",)), "mailbox is mb-1"),
        (Conditions(organisation=("org-2", "org-1")), "organisation is org-1"),
        (Conditions(type=("incident",)), "type is incident"),
        (Conditions(requester_domain=("avd.kunde.no",)), "requester domain is avd.kunde.no"),
        (Conditions(requester_domain=("kunde.no",)), "requester domain avd.kunde.no is under kunde.no"),
        (Conditions(fields={"kategori": ("nett", "wifi")}), "field kategori is 'nett'"),
        (Conditions(fields={"moduler": ("regnskap",)}), "field moduler is 'regnskap'"),
        (Conditions(fields={"haster": (True,)}), "field haster is True"),
        (Conditions(words=Words(("beløpet",))), "body has 'beløpet'"),
        (Conditions(words=Words(("FAKTURAEN",))), "subject has 'FAKTURAEN'"),
        (Conditions(words=Words(("faktura 123",))), "body has 'faktura 123'"),
        (Conditions(), None),
    ],
)
def test_each_condition_kind_matches_and_says_why(conditions: Conditions, reason: str | None) -> None:
    assert match(conditions, facts()) == ([reason] if reason else [])


@pytest.mark.parametrize(
    "conditions",
    [
        Conditions(channel=("api", "portal")),
        Conditions(mailbox=("mb-2",)),
        Conditions(organisation=("org-2",)),
        Conditions(type=("request",)),
        # A domain matches itself and its subdomains, never a domain that merely ends alike.
        Conditions(requester_domain=("unde.no",)),
        Conditions(requester_domain=("annen.kunde.no",)),
        Conditions(fields={"kategori": ("wifi",)}),
        Conditions(fields={"mangler": ("nett",)}),
        Conditions(fields={"moduler": ("lager",)}),
        # A yes/no field does not equal the number 1.
        Conditions(fields={"haster": (1,)}),
        # Whole words only: "faktura" is not in "fakturaen" of the subject.
        Conditions(words=Words(("faktura",), subject_only=True)),
        Conditions(words=Words(("beløp",))),
        Conditions(words=Words(("beløpet",), subject_only=True)),
    ],
)
def test_a_condition_that_does_not_hold_stops_the_rule(conditions: Conditions) -> None:
    assert match(conditions, facts()) is None


def test_without_mailbox_or_organisation_those_conditions_do_not_hold() -> None:
    bare = facts(mailbox_id=None, organisation_id=None)
    assert match(Conditions(mailbox=("mb-1",)), bare) is None
    assert match(Conditions(organisation=("org-1",)), bare) is None


def test_norwegian_letters_are_letters_of_the_word() -> None:
    text = facts(subject="Søknad om foreldrepermisjon", body="Gjelder også påske; ærlig talt.")
    assert match(Conditions(words=Words(("SØKNAD",))), text) == ["subject has 'SØKNAD'"]
    assert match(Conditions(words=Words(("påske",))), text) == ["body has 'påske'"]
    assert match(Conditions(words=Words(("ærlig",))), text) == ["body has 'ærlig'"]
    # "ske" is inside "påske": å is a letter, so it is no word boundary.
    assert match(Conditions(words=Words(("ske",))), text) is None
    assert match(Conditions(words=Words(("rlig",))), text) is None


def test_all_conditions_must_hold_and_the_reason_names_each() -> None:
    both = Conditions(channel=("mail",), words=Words(("faktura",)))
    assert match(both, facts()) == ["channel is mail", "body has 'faktura'"]
    assert match(Conditions(channel=("phone",), words=Words(("faktura",))), facts()) is None
    [hit] = evaluate([rule("r1", both)], facts())
    assert hit.reason == "channel is mail; body has 'faktura'"


def test_rules_fire_in_order_and_stop_ends_the_evaluation() -> None:
    rules = [
        rule("first", Conditions(channel=("mail",)), priority="high"),
        rule("not-mail", Conditions(channel=("phone",)), priority="low"),
        rule("stopper", Conditions(words=Words(("faktura",))), stop=True, queue="Økonomi"),
        rule("after-stop", queue="Never"),
    ]
    hits = evaluate(rules, facts())
    assert [h.rule for h in hits] == ["first", "stopper"]
    assert hits[1].stop and hits[1].as_record() == {
        "rule": "stopper",
        "name": "Rule stopper",
        "reason": "body has 'faktura'",
        "actions": {"queue": "Økonomi"},
    }
    # Without the stop, the catch-all fires too.
    unstopped = [*rules[:2], rule("no-stop", Conditions(words=Words(("faktura",))), queue="Ø"), rules[3]]
    assert [h.rule for h in evaluate(unstopped, facts())] == ["first", "no-stop", "after-stop"]


def test_a_rule_without_conditions_always_fires() -> None:
    [hit] = evaluate([rule("all")], facts())
    assert hit.reason == "always (no conditions)"


def test_later_hits_override_earlier_ones_and_fields_merge() -> None:
    hits = evaluate(
        [
            rule("a", queue="A", priority="high", fields={"kategori": "faktura", "kilde": "regel"}),
            rule("b", queue="B", assignee="ola@firma.no", fields={"kategori": "lønn"}),
        ],
        facts(),
    )
    start = Values(
        type="incident", queue="Servicedesk", priority="normal", fields={"kategori": "nett", "x": 1}
    )
    assert apply(start, hits) == Values(
        type="incident",
        queue="B",
        priority="high",
        assignee="ola@firma.no",
        fields={"kategori": "lønn", "x": 1, "kilde": "regel"},
    )
    assert apply(start, []) == start


def test_rules_see_the_case_as_registered_not_as_earlier_rules_changed_it() -> None:
    sets_type = rule("sets", type="request")
    on_type = rule("on", Conditions(type=("request",)), priority="high")
    assert [h.rule for h in evaluate([sets_type, on_type], facts())] == ["sets"]


def test_stored_conditions_read_back_as_written() -> None:
    stored = {
        "channel": ["mail"],
        "requester_domain": ["kunde.no"],
        "fields": {"kategori": ["nett"]},
        "words": {"any": ["faktura"], "subject_only": True},
    }
    assert conditions_from(stored) == Conditions(
        channel=("mail",),
        requester_domain=("kunde.no",),
        fields={"kategori": ("nett",)},
        words=Words(("faktura",), subject_only=True),
    )
    assert conditions_from({}) == Conditions()
