"""Which SLA policy a case falls under: the most specific match, ties by position."""

from __future__ import annotations

from dataclasses import dataclass

from services.cases.sla.selection import matches, select_policy, specificity


@dataclass(frozen=True)
class P:
    name: str
    priority: str | None = None
    case_type: str | None = None
    agreement_sla: str | None = None
    position: int = 0


def pick(
    policies: list[P], priority: str = "normal", case_type: str = "incident", levels: set[str] | None = None
) -> str | None:
    chosen = select_policy(policies, priority=priority, case_type=case_type, agreement_levels=levels or set())
    return chosen.name if chosen else None


def test_a_policy_without_criteria_matches_every_case() -> None:
    assert pick([P("any")]) == "any"
    assert specificity(P("any")) == 0


def test_no_matching_policy_means_none() -> None:
    assert pick([P("high only", priority="high")]) is None
    assert pick([]) is None


def test_each_criterion_must_match_when_given() -> None:
    policy = P("p", priority="high", case_type="incident", agreement_sla="gold")
    assert matches(policy, priority="high", case_type="incident", agreement_levels={"gold"})
    assert not matches(policy, priority="normal", case_type="incident", agreement_levels={"gold"})
    assert not matches(policy, priority="high", case_type="request", agreement_levels={"gold"})
    assert not matches(policy, priority="high", case_type="incident", agreement_levels={"silver"})
    assert not matches(policy, priority="high", case_type="incident", agreement_levels=set())


def test_more_criteria_win_over_position() -> None:
    policies = [
        P("any", position=0),
        P("high", priority="high", position=1),
        P("high incident", priority="high", case_type="incident", position=2),
        P("high incident gold", priority="high", case_type="incident", agreement_sla="gold", position=3),
    ]
    assert pick(policies, priority="high", levels={"gold"}) == "high incident gold"
    assert pick(policies, priority="high") == "high incident"
    assert pick(policies, priority="high", case_type="request") == "high"
    assert pick(policies, priority="low", case_type="request") == "any"


def test_equally_specific_policies_go_to_the_lowest_position_then_the_first_given() -> None:
    by_priority = P("by priority", priority="high", position=5)
    by_type = P("by type", case_type="incident", position=2)
    assert pick([by_priority, by_type], priority="high") == "by type"
    assert pick([P("first", position=1), P("second", position=1)]) == "first"
    assert pick([P("second", position=1), P("first", position=1)]) == "second"


def test_any_valid_agreement_level_matches_and_position_orders_them() -> None:
    gold = P("gold", agreement_sla="gold", position=0)
    silver = P("silver", agreement_sla="silver", position=1)
    assert pick([silver, gold], levels={"gold", "silver"}) == "gold"
    assert pick([silver, gold], levels={"silver"}) == "silver"
    assert pick([silver, gold, P("fallback", position=9)], levels={"bronze"}) == "fallback"
