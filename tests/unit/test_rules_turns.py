"""Who gets a new case, pure: round-robin turns and fewest open cases among available agents."""

from __future__ import annotations

from services.cases.rules.turns import Member, candidates, fewest_open, next_in_turn

ANNE = Member("u-anne", "anne@firma.no", active=True, available=True)
BJORN = Member("u-bjorn", "bjorn@firma.no", active=True, available=True)
CARL = Member("u-carl", "carl@firma.no", active=True, available=True)
AWAY = Member("u-away", "away@firma.no", active=True, available=False)
GONE = Member("u-gone", "gone@firma.no", active=False, available=True)
GROUP = [CARL, GONE, ANNE, AWAY, BJORN]  # any order: candidates are ordered by email


def test_candidates_are_active_and_available_members_by_email() -> None:
    assert candidates(GROUP) == [ANNE, BJORN, CARL]


def test_round_robin_goes_round_in_turn() -> None:
    given: list[str] = []
    last = None
    for _ in range(5):
        chosen = next_in_turn(GROUP, last_email=last)
        assert chosen is not None
        given.append(chosen.email)
        last = chosen.email
    assert given == ["anne@firma.no", "bjorn@firma.no", "carl@firma.no", "anne@firma.no", "bjorn@firma.no"]


def test_round_robin_goes_on_from_where_a_missing_last_one_stood() -> None:
    # bjorn had the last case, then became unavailable (or left the group): carl is next.
    without_bjorn = [m for m in GROUP if m is not BJORN]
    assert next_in_turn(without_bjorn, last_email="bjorn@firma.no") == CARL
    assert next_in_turn(GROUP, last_email="zed@firma.no") == ANNE


def test_nobody_available_means_nobody() -> None:
    assert next_in_turn([AWAY, GONE], last_email=None) is None
    assert fewest_open([AWAY, GONE], open_cases={}) is None


def test_fewest_open_cases_wins_and_a_tie_goes_to_the_first_in_order() -> None:
    counts = {"anne@firma.no": 3, "bjorn@firma.no": 1, "carl@firma.no": 1, "away@firma.no": 0}
    assert fewest_open(GROUP, open_cases=counts) == BJORN
    assert fewest_open(GROUP, open_cases={"anne@firma.no": 2}) == BJORN  # no open cases at all
    assert fewest_open(GROUP, open_cases={}) == ANNE
