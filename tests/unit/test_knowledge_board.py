"""Info board: validity windows in any time zone, audiences and organisations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.cases.knowledge.domain import (
    Audience,
    BoardEntry,
    BoardQuery,
    InvalidInput,
    board_audience_for,
    board_shows,
    check_window,
    valid_at,
)

OSLO = ZoneInfo("Europe/Oslo")
START = datetime(2026, 3, 2, 8, 0, tzinfo=OSLO)  # 07:00 UTC
END = datetime(2026, 3, 2, 16, 0, tzinfo=OSLO)  # 15:00 UTC


def test_window_includes_its_start_and_excludes_its_end() -> None:
    assert valid_at(START, END, START)
    assert valid_at(START, END, END - timedelta(microseconds=1))
    assert not valid_at(START, END, END)
    assert not valid_at(START, END, START - timedelta(microseconds=1))


def test_the_same_instant_in_any_time_zone_gives_the_same_answer() -> None:
    assert valid_at(START, END, datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
    assert not valid_at(START, END, datetime(2026, 3, 2, 6, 59, tzinfo=UTC))
    assert not valid_at(START, END, datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    new_york = timezone(timedelta(hours=-5))
    assert valid_at(START, END, datetime(2026, 3, 2, 9, 59, tzinfo=new_york))
    assert not valid_at(START, END, datetime(2026, 3, 2, 10, 0, tzinfo=new_york))


def test_windows_across_the_daylight_saving_change() -> None:
    # Oslo moves from +01:00 to +02:00 at 02:00 on 29 March 2026: the night is an hour shorter.
    start = datetime(2026, 3, 29, 0, 0, tzinfo=OSLO)  # 23:00 UTC the day before
    end = datetime(2026, 3, 29, 6, 0, tzinfo=OSLO)  # 04:00 UTC: five hours, not six
    assert valid_at(start, end, datetime(2026, 3, 28, 23, 0, tzinfo=UTC))
    assert valid_at(start, end, datetime(2026, 3, 29, 3, 59, tzinfo=UTC))
    assert not valid_at(start, end, datetime(2026, 3, 29, 4, 0, tzinfo=UTC))


def test_no_end_means_until_further_notice() -> None:
    assert valid_at(START, None, START + timedelta(days=3650))
    assert not valid_at(START, None, START - timedelta(seconds=1))


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError):
        valid_at(START, END, datetime(2026, 3, 2, 12, 0))


@pytest.mark.parametrize("end", [START, START - timedelta(minutes=1), datetime(2026, 3, 2, 7, 0, tzinfo=UTC)])
def test_an_empty_or_reversed_window_names_valid_to(end: datetime) -> None:
    # 07:00 UTC is START itself, written in another zone.
    with pytest.raises(InvalidInput) as caught:
        check_window(START, end)
    assert caught.value.field == "valid_to"
    assert str(caught.value) == "must be after valid_from"


def test_a_window_is_fine_when_it_ends_later_in_another_zone() -> None:
    check_window(START, datetime(2026, 3, 2, 7, 1, tzinfo=UTC))
    check_window(START, None)


def test_naive_bounds_are_refused_by_name() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_window(datetime(2026, 3, 2, 8, 0), None)
    assert caught.value.field == "valid_from"
    with pytest.raises(InvalidInput) as caught:
        check_window(START, datetime(2026, 3, 3, 8, 0))
    assert caught.value.field == "valid_to"


def entry(audience: Audience, organisations: frozenset[str] = frozenset()) -> BoardEntry:
    return BoardEntry(valid_from=START, valid_to=END, audience=audience, organisation_ids=organisations)


@pytest.mark.parametrize(
    ("asked", "shown"),
    [
        (None, {Audience.EVERYONE, Audience.CUSTOMERS, Audience.AGENTS}),
        (Audience.EVERYONE, {Audience.EVERYONE}),
        (Audience.CUSTOMERS, {Audience.EVERYONE, Audience.CUSTOMERS}),
        (Audience.AGENTS, {Audience.EVERYONE, Audience.CUSTOMERS, Audience.AGENTS}),
    ],
)
def test_audiences(asked: Audience | None, shown: set[Audience]) -> None:
    assert {a for a in Audience if board_shows(entry(a), BoardQuery(audience=asked))} == shown


def test_the_board_at_a_time_shows_what_is_valid_then() -> None:
    news = entry(Audience.EVERYONE)
    assert board_shows(news, BoardQuery(at=START))
    assert not board_shows(news, BoardQuery(at=END))
    assert board_shows(news, BoardQuery())  # no time: the admin's list of everything


def test_entries_for_named_organisations() -> None:
    targeted = entry(Audience.CUSTOMERS, frozenset({"org-a"}))
    assert board_shows(targeted, BoardQuery(audience=Audience.CUSTOMERS, organisation_id="org-a"))
    assert not board_shows(targeted, BoardQuery(audience=Audience.CUSTOMERS, organisation_id="org-b"))
    assert not board_shows(targeted, BoardQuery(audience=Audience.CUSTOMERS))  # anonymous portal visitor
    assert board_shows(targeted, BoardQuery(audience=Audience.AGENTS))
    assert board_shows(targeted, BoardQuery())
    untargeted = entry(Audience.CUSTOMERS)
    assert board_shows(untargeted, BoardQuery(audience=Audience.CUSTOMERS, organisation_id="org-b"))


def test_customers_get_the_customers_board_whatever_they_ask() -> None:
    assert board_audience_for("customer", Audience.AGENTS) is Audience.CUSTOMERS
    assert board_audience_for("customer", None) is Audience.CUSTOMERS
    assert board_audience_for("agent", Audience.AGENTS) is Audience.AGENTS
    assert board_audience_for(None, None) is None
