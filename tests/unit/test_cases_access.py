"""The access rules of the cases service, without I/O."""

from __future__ import annotations

import pytest

from services.cases.domain.access import (
    BOOTSTRAP_ADMIN,
    INTERNAL,
    Access,
    Identity,
    Member,
    Role,
    access_for,
    identity,
    lower,
)

IT = frozenset({"IT"})
HR = frozenset({"HR", "HR-lønn"})


def agent(queues: frozenset[str] = IT, *, role: Role = Role.AGENT, active: bool = True) -> Member:
    return Member(role=role, active=active, queues=queues)


def test_no_user_header_is_an_internal_call_that_sees_and_administers_everything() -> None:
    assert identity(None, None) is None
    assert access_for(None, None) == INTERNAL
    assert INTERNAL.everything and INTERNAL.administers and INTERNAL.known
    assert INTERNAL.sees("HR") and INTERNAL.sees("a queue nobody created")


@pytest.mark.parametrize(
    ("user", "role", "expected"),
    [
        ("u1", "agent", Identity("u1", Role.AGENT)),
        ("u1", "team_lead", Identity("u1", Role.TEAM_LEAD)),
        ("admin", "admin", Identity("admin", Role.ADMIN)),
        ("u1", None, Identity("u1", None)),
        ("u1", "root", Identity("u1", None)),
        ("u1", "ADMIN", Identity("u1", None)),
        ("", "agent", Identity("", Role.AGENT)),
        # A role without a user is not an internal call: it fails closed.
        (None, "admin", Identity("", None)),
    ],
)
def test_identity_from_the_headers(user: str | None, role: str | None, expected: Identity) -> None:
    assert identity(user, role) == expected


def test_agents_and_team_leads_see_the_queues_of_their_groups_only() -> None:
    for role in (Role.AGENT, Role.TEAM_LEAD):
        access = access_for(Identity("u1", role), agent(IT, role=role))
        assert access == Access(subject="u1", queues=IT)
        assert access.sees("IT") and not access.sees("HR") and not access.sees("Servicedesk")
        assert not access.administers and not access.everything and access.known


def test_an_agent_without_groups_sees_nothing_but_is_known() -> None:
    access = access_for(Identity("u1", Role.AGENT), agent(frozenset()))
    assert access.queues == frozenset() and access.known and not access.sees("IT")


def test_admins_see_everything() -> None:
    access = access_for(Identity("u9", Role.ADMIN), agent(frozenset(), role=Role.ADMIN))
    assert access.everything and access.administers and access.sees("HR")
    bootstrap = access_for(Identity(BOOTSTRAP_ADMIN, Role.ADMIN), None)
    assert bootstrap.everything and bootstrap.administers


@pytest.mark.parametrize(
    ("who", "member"),
    [
        (Identity("ghost", Role.AGENT), None),
        (Identity("ghost", Role.ADMIN), None),  # an admin token for no user of this service
        (Identity("u1", Role.AGENT), agent(active=False)),
        (Identity("u1", Role.ADMIN), agent(role=Role.ADMIN, active=False)),
        (Identity("u1", None), agent(role=Role.ADMIN)),
        (Identity(BOOTSTRAP_ADMIN, Role.AGENT), None),
        (Identity(BOOTSTRAP_ADMIN, None), None),
        (Identity("", None), None),
    ],
)
def test_unknown_inactive_or_unclear_callers_see_nothing(who: Identity, member: Member | None) -> None:
    access = access_for(who, member)
    assert access.queues == frozenset() and not access.known and not access.administers
    assert not access.sees("IT") and not access.sees("HR")


def test_the_lower_of_token_role_and_current_role_counts() -> None:
    # Demoted since the token was issued: an agent now.
    demoted = access_for(Identity("u1", Role.ADMIN), agent(IT, role=Role.AGENT))
    assert demoted == Access(subject="u1", queues=IT)
    # A token issued with less than the user's role stays at the token's role.
    limited = access_for(Identity("u1", Role.AGENT), agent(IT, role=Role.ADMIN))
    assert limited == Access(subject="u1", queues=IT)
    assert lower(Role.TEAM_LEAD, Role.ADMIN) is Role.TEAM_LEAD
    assert lower(Role.ADMIN, Role.AGENT) is Role.AGENT
    assert lower(Role.ADMIN, Role.ADMIN) is Role.ADMIN


def test_queue_names_match_exactly() -> None:
    access = access_for(Identity("u1", Role.AGENT), agent(HR))
    assert access.sees("HR-lønn") and not access.sees("hr") and not access.sees("HR ")
