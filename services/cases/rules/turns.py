"""Which agent of a group gets a new case, free of I/O.

A group assigns in one of three methods. ``manual``: nobody is picked; an agent or team lead hands
the case on. ``round_robin``: the next candidate after the one the group last gave a case to.
``least_open``: the candidate with the fewest cases assigned to them that are not resolved or
closed. Candidates are the members who are active and available, in a stable order: by email
address. The order decides both whose turn is next and who wins a tie.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Method(StrEnum):
    MANUAL = "manual"
    ROUND_ROBIN = "round_robin"
    LEAST_OPEN = "least_open"


LABELS: dict[Method, dict[str, str]] = {
    Method.MANUAL: {"en": "Manual", "nb": "Manuell"},
    Method.ROUND_ROBIN: {"en": "Round robin", "nb": "Rundgang"},
    Method.LEAST_OPEN: {"en": "Fewest open cases", "nb": "Færrest åpne saker"},
}


@dataclass(frozen=True)
class Member:
    user_id: str
    email: str
    active: bool
    available: bool

    @property
    def candidate(self) -> bool:
        return self.active and self.available


def candidates(members: Sequence[Member]) -> list[Member]:
    """The members automatic assignment may pick, in the stable order."""
    return sorted((m for m in members if m.candidate), key=lambda m: (m.email, m.user_id))


def next_in_turn(members: Sequence[Member], *, last_email: str | None) -> Member | None:
    """The first candidate after ``last_email`` in the order, wrapping round; the last one
    need not be a candidate any more (unavailable, left the group): the turn goes on from where
    they stood."""
    eligible = candidates(members)
    if not eligible:
        return None
    if last_email is not None:
        for member in eligible:
            if member.email > last_email:
                return member
    return eligible[0]


def fewest_open(members: Sequence[Member], *, open_cases: Mapping[str, int]) -> Member | None:
    """The candidate with the fewest open cases (by email); the first in the order on a tie."""
    eligible = candidates(members)
    if not eligible:
        return None
    return min(eligible, key=lambda m: open_cases.get(m.email, 0))
