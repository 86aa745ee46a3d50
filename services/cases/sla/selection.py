"""Which SLA policy a case falls under.

A policy names up to three criteria: the case's priority, its type and the SLA level of an
agreement the requester has (their own or their organisation's, valid when the case was
registered); a criterion left empty matches anything. Of the policies that match, the most
specific (most criteria given) wins; among equally specific ones the lowest position, then the
order given. A requester with several valid agreements has several levels, and a policy
naming any of them matches: the policies' specificity and positions decide between them, so
the admin who orders "gold" before "silver" decides what a customer with both gets.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from typing import Protocol, TypeVar


class PolicyCriteria(Protocol):
    @property
    def priority(self) -> str | None: ...

    @property
    def case_type(self) -> str | None: ...

    @property
    def agreement_sla(self) -> str | None: ...

    @property
    def position(self) -> int: ...


P = TypeVar("P", bound=PolicyCriteria)


def specificity(policy: PolicyCriteria) -> int:
    """How many criteria the policy names."""
    return sum(value is not None for value in (policy.priority, policy.case_type, policy.agreement_sla))


def matches(policy: PolicyCriteria, *, priority: str, case_type: str, agreement_levels: Set[str]) -> bool:
    return (
        policy.priority in (None, priority)
        and policy.case_type in (None, case_type)
        and (policy.agreement_sla is None or policy.agreement_sla in agreement_levels)
    )


def select_policy(
    policies: Iterable[P], *, priority: str, case_type: str, agreement_levels: Set[str]
) -> P | None:
    """The most specific matching policy; ties go to the lowest position, then to the first given."""
    best: P | None = None
    for policy in policies:
        if not matches(policy, priority=priority, case_type=case_type, agreement_levels=agreement_levels):
            continue
        if best is None or (-specificity(policy), policy.position) < (-specificity(best), best.position):
            best = policy
    return best
