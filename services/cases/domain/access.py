"""Who may see which cases: the rules, free of I/O (``services.cases.access`` applies them).

- No user at all: an internal call (another service, the CLI, a test); it sees everything.
- The bootstrap admin (subject ``admin``, the gateway's ``ALLSAK_ADMIN_TOKEN``) sees everything.
- Any other subject must be the id of an **active** user of the cases service, or the caller
  sees nothing. The role that counts is the lower of the token's role and the user's current
  role: demoting a user takes effect at once, without revoking their tokens.
- Admins see every case; team leads and agents see the cases of the queues owned by their
  groups. A case whose queue has no ``queue`` row is seen by admins and internal calls only.
- Anything unexpected (no or unknown role, a role without a user) fails closed: nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The subject of the gateway's ALLSAK_ADMIN_TOKEN (services.gateway.auth.ADMIN_SUBJECT; services
# do not import each other). User ids are UUIDs, so no user can be called this.
BOOTSTRAP_ADMIN = "admin"


class Role(StrEnum):
    AGENT = "agent"
    TEAM_LEAD = "team_lead"
    ADMIN = "admin"


RANK = {Role.AGENT: 0, Role.TEAM_LEAD: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Identity:
    """Who the gateway says the caller is; ``role`` is None when the header held no known role."""

    subject: str
    role: Role | None


@dataclass(frozen=True)
class Member:
    """What this service knows of a user: current role, whether active, and their groups' queues."""

    role: Role
    active: bool
    queues: frozenset[str]


@dataclass(frozen=True)
class Access:
    """What a caller may see and do. ``queues`` None means every queue; ``known`` is False for
    an unknown or inactive user (who may read nothing at all, not even the list of users)."""

    subject: str | None
    queues: frozenset[str] | None
    administers: bool = False
    known: bool = True

    @property
    def everything(self) -> bool:
        return self.queues is None

    def sees(self, queue: str) -> bool:
        return self.queues is None or queue in self.queues


INTERNAL = Access(subject=None, queues=None, administers=True)


def stranger(subject: str) -> Access:
    return Access(subject=subject, queues=frozenset(), known=False)


def identity(user: str | None, role: str | None) -> Identity | None:
    """The caller's identity from the headers; None for an internal call (no user header)."""
    if user is None:
        # A role without a user is no internal call: nobody legitimate sends that.
        return None if role is None else Identity(subject="", role=None)
    try:
        parsed: Role | None = Role(role) if role is not None else None
    except ValueError:
        parsed = None
    return Identity(subject=user, role=parsed)


def lower(a: Role, b: Role) -> Role:
    return a if RANK[a] <= RANK[b] else b


def access_for(who: Identity | None, member: Member | None) -> Access:
    """What a caller sees, by the rules above."""
    if who is None:
        return INTERNAL
    if who.role is None:
        return stranger(who.subject)
    if who.subject == BOOTSTRAP_ADMIN and who.role is Role.ADMIN:
        return Access(subject=who.subject, queues=None, administers=True)
    if member is None or not member.active:
        return stranger(who.subject)
    if lower(who.role, member.role) is Role.ADMIN:
        return Access(subject=who.subject, queues=None, administers=True)
    return Access(subject=who.subject, queues=member.queues)
