from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.cases.domain.calendar import BusinessCalendar

OSLO = ZoneInfo("Europe/Oslo")
H = timedelta(hours=1)


def oslo(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=OSLO)


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


OFFICE = BusinessCalendar()  # Europe/Oslo, Mon-Fri 08:00-16:00, Norwegian public holidays
LUNCH = BusinessCalendar.from_config(
    {"hours": {day: [["08:00", "11:30"], ["12:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}}
)
OSLO_2026 = BusinessCalendar.from_config(
    {
        "timezone": "Europe/Oslo",
        "hours": {day: [["08:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        "country": "NO",
        "closed": ["2026-12-24"],
        "yearly_closed": ["12-31"],
        "half_days": {"2026-04-01": [["08:00", "12:00"]]},
    }
)


def test_friday_afternoon_plus_two_hours_is_monday_nine() -> None:
    due = OFFICE.add_business_time(oslo(2026, 3, 13, 15), 2 * H)
    assert due == utc(2026, 3, 16, 8)  # Monday 09:00 CET
    assert due.tzinfo is UTC
    assert OFFICE.business_time_between(oslo(2026, 3, 13, 15), due) == 2 * H


def test_deadline_lands_on_closing_time_not_next_morning() -> None:
    assert OFFICE.add_business_time(oslo(2026, 3, 16, 14), 2 * H) == utc(2026, 3, 16, 15)  # 16:00 CET
    assert OFFICE.add_business_time(oslo(2026, 3, 16, 14), 2 * H + timedelta(seconds=1)) == datetime(
        2026, 3, 17, 7, 0, 1, tzinfo=UTC
    )


def test_start_before_opening_counts_from_opening() -> None:
    assert OFFICE.add_business_time(oslo(2026, 3, 16, 6), 30 * timedelta(minutes=1)) == utc(
        2026, 3, 16, 7, 30
    )
    assert OFFICE.add_business_time(oslo(2026, 3, 14, 12), timedelta(0)) == utc(2026, 3, 14, 11)


def test_open_boundaries_are_half_open() -> None:
    assert OFFICE.is_open(oslo(2026, 3, 16, 8))
    assert not OFFICE.is_open(oslo(2026, 3, 16, 7, 59))
    assert OFFICE.is_open(oslo(2026, 3, 16, 15, 59))
    assert not OFFICE.is_open(oslo(2026, 3, 16, 16))
    assert not OFFICE.is_open(oslo(2026, 3, 14, 10))  # Saturday


def test_next_open() -> None:
    assert OFFICE.next_open(oslo(2026, 3, 14, 10)) == utc(2026, 3, 16, 7)  # Saturday -> Monday 08:00 CET
    assert OFFICE.next_open(oslo(2026, 3, 16, 10)) == utc(2026, 3, 16, 9)  # open: itself, in UTC
    assert OFFICE.next_open(oslo(2026, 3, 16, 16)) == utc(2026, 3, 17, 7)


def test_two_intervals_a_day_skip_lunch() -> None:
    assert LUNCH.add_business_time(oslo(2026, 3, 16, 11), H) == utc(2026, 3, 16, 11, 30)  # 12:30 CET
    assert not LUNCH.is_open(oslo(2026, 3, 16, 11, 45))
    assert LUNCH.next_open(oslo(2026, 3, 16, 11, 45)) == utc(2026, 3, 16, 11)
    assert LUNCH.business_time_between(oslo(2026, 3, 16, 8), oslo(2026, 3, 16, 16)) == timedelta(hours=7.5)


def test_holidays_package_agrees_with_the_dates_we_test() -> None:
    norway = holidays.Norway(years=[2026, 2027, 2028])
    for day in [
        "2026-04-02",
        "2026-04-03",
        "2026-04-06",
        "2026-05-14",
        "2026-05-25",
        "2027-05-17",
        "2028-05-17",
    ]:
        assert day in norway
    assert date(2026, 5, 17).weekday() == 6  # a Sunday in 2026
    assert date(2027, 5, 17).weekday() == 0  # a Monday in 2027, also Whit Monday
    assert date(2028, 5, 17).weekday() == 2  # a Wednesday in 2028
    assert "2026-12-24" not in norway and "2026-12-31" not in norway


def test_easter_2026_skips_maundy_thursday_good_friday_and_easter_monday() -> None:
    for day in (2, 3, 6):
        assert not OFFICE.is_open(oslo(2026, 4, day, 10))
    assert OFFICE.is_open(oslo(2026, 4, 7, 10))
    # Wednesday 1 April 15:00 + 2h -> Tuesday 7 April 09:00 CEST
    assert OFFICE.add_business_time(oslo(2026, 4, 1, 15), 2 * H) == utc(2026, 4, 7, 7)


def test_ascension_and_whit_monday_2026() -> None:
    assert OFFICE.add_business_time(oslo(2026, 5, 13, 15), 2 * H) == utc(2026, 5, 15, 7)  # Thu 14 May closed
    assert OFFICE.add_business_time(oslo(2026, 5, 22, 15), 2 * H) == utc(2026, 5, 26, 7)  # Mon 25 May closed


def test_17_may_on_weekdays() -> None:
    # 2028: Tuesday 16 May 15:00 + 2h -> Thursday 18 May 09:00 CEST
    assert OFFICE.add_business_time(oslo(2028, 5, 16, 15), 2 * H) == utc(2028, 5, 18, 7)
    # 2027: Friday 14 May 15:00 + 2h -> Tuesday 18 May 09:00 CEST (Monday is 17 May and Whit Monday)
    assert OFFICE.add_business_time(oslo(2027, 5, 14, 15), 2 * H) == utc(2027, 5, 18, 7)


def test_christmas_eve_and_new_years_eve_extra_closed_days() -> None:
    assert OFFICE.is_open(oslo(2026, 12, 24, 10))  # not a public holiday
    assert not OSLO_2026.is_open(oslo(2026, 12, 24, 10))
    # Wed 23 Dec 15:00 + 2h: 24 closed, 25/26 holidays, weekend -> Monday 28 Dec 09:00 CET
    assert OSLO_2026.add_business_time(oslo(2026, 12, 23, 15), 2 * H) == utc(2026, 12, 28, 8)
    # Wed 30 Dec 15:00 + 2h: 31 Dec yearly closed, 1 Jan holiday, weekend -> Monday 4 Jan 2027 09:00 CET
    assert OSLO_2026.add_business_time(oslo(2026, 12, 30, 15), 2 * H) == utc(2027, 1, 4, 8)
    assert not OSLO_2026.is_open(oslo(2027, 12, 31, 10))  # yearly: a Friday in 2027 too
    assert OSLO_2026.is_open(oslo(2027, 12, 24, 10))  # the dated closure was only for 2026


def test_half_day() -> None:
    assert OSLO_2026.is_open(oslo(2026, 4, 1, 11, 59))
    assert not OSLO_2026.is_open(oslo(2026, 4, 1, 12))
    # Wed 1 April 11:00 + 2h: one hour until 12:00, then Easter -> Tuesday 7 April 09:00 CEST
    assert OSLO_2026.add_business_time(oslo(2026, 4, 1, 11), 2 * H) == utc(2026, 4, 7, 7)


def test_dated_override_wins_over_a_public_holiday() -> None:
    calendar = BusinessCalendar.from_config({"half_days": {"2026-05-14": [["10:00", "12:00"]]}})
    assert calendar.business_time_between(oslo(2026, 5, 14), oslo(2026, 5, 15)) == 2 * H


def test_yearly_half_day_is_clipped_to_the_weekdays_hours() -> None:
    calendar = BusinessCalendar.from_config(
        {
            "hours": {
                day: [["08:00", "11:30"], ["12:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri")
            },
            "yearly_half_days": {"12-23": [["08:00", "13:00"]]},
        }
    )
    assert calendar.hours_on(date(2026, 12, 23)) == ((480, 690), (720, 780))  # Wed: 08:00-11:30, 12:00-13:00
    assert calendar.hours_on(date(2028, 12, 23)) == ()  # a Saturday stays closed


def test_dst_spring_weekend_last_sunday_of_march() -> None:
    # Friday 27 March 15:00 CET + 2h -> Monday 30 March 09:00 CEST
    assert OFFICE.add_business_time(oslo(2026, 3, 27, 15), 2 * H) == utc(2026, 3, 30, 7)
    assert OFFICE.business_time_between(oslo(2026, 3, 23, 8), oslo(2026, 3, 30, 8)) == 40 * H


def test_dst_autumn_weekend_last_sunday_of_october() -> None:
    # Friday 23 October 15:00 CEST + 2h -> Monday 26 October 09:00 CET
    assert OFFICE.add_business_time(oslo(2026, 10, 23, 15), 2 * H) == utc(2026, 10, 26, 8)
    assert OFFICE.business_time_between(oslo(2026, 10, 19, 8), oslo(2026, 10, 26, 8)) == 40 * H


def test_sunday_night_shift_is_as_long_as_it_really_is_on_dst_days() -> None:
    night = BusinessCalendar.from_config({"hours": {"sun": [["00:00", "06:00"]]}, "country": None})
    assert night.business_time_between(oslo(2026, 3, 29), oslo(2026, 3, 30)) == 5 * H
    assert night.business_time_between(oslo(2026, 10, 25), oslo(2026, 10, 26)) == 7 * H
    assert night.business_time_between(oslo(2026, 3, 22), oslo(2026, 3, 23)) == 6 * H
    # 00:00 CEST Sunday 25 Oct + 6h -> 05:00 CET (22:00Z + 6h = 04:00Z)
    assert night.add_business_time(oslo(2026, 10, 25), 6 * H) == utc(2026, 10, 25, 4)


def test_interval_bounds_inside_the_spring_gap() -> None:
    split = BusinessCalendar.from_config(
        {"hours": {"sun": [["01:00", "02:30"], ["02:30", "04:00"]]}, "country": None}
    )
    # 01:00 CET to 04:00 CEST is two real hours; the halves do not overlap
    assert split.business_time_between(oslo(2026, 3, 29), oslo(2026, 3, 30)) == 2 * H
    assert split.business_time_between(oslo(2026, 3, 22), oslo(2026, 3, 23)) == 3 * H
    # 02:00-02:30 does not exist on 29 March: that interval is empty, not moved onto 03:00-03:30
    gap = BusinessCalendar.from_config(
        {"hours": {"sun": [["02:00", "02:30"], ["03:00", "04:00"]]}, "country": None}
    )
    assert gap.business_time_between(oslo(2026, 3, 29), oslo(2026, 3, 30)) == H
    assert gap.next_open(oslo(2026, 3, 29)) == utc(2026, 3, 29, 1)  # 03:00 CEST
    assert gap.business_time_between(oslo(2026, 3, 22), oslo(2026, 3, 23)) == timedelta(hours=1.5)


def test_always_open_counts_every_hour_across_dst_and_holidays() -> None:
    always = BusinessCalendar.always_open()
    # Saturday 28 March 23:00 CET + 4h -> Sunday 29 March 04:00 CEST
    assert always.add_business_time(oslo(2026, 3, 28, 23), 4 * H) == utc(2026, 3, 29, 2)
    assert always.business_time_between(oslo(2026, 3, 29), oslo(2026, 3, 30)) == 23 * H
    assert always.business_time_between(oslo(2026, 10, 25), oslo(2026, 10, 26)) == 25 * H
    assert always.is_open(oslo(2026, 12, 25, 3))
    assert BusinessCalendar.from_config({"hours": "24/7", "country": None}) == always


def test_between_is_antisymmetric() -> None:
    assert OFFICE.business_time_between(oslo(2026, 3, 17, 9), oslo(2026, 3, 16, 15)) == -2 * H


def test_holidays_are_computed_lazily_per_year() -> None:
    calendar = BusinessCalendar()
    assert calendar._holidays == {}
    calendar.is_open(oslo(2026, 5, 14, 10))
    assert set(calendar._holidays) == {2026}


def test_naive_datetimes_and_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        OFFICE.is_open(datetime(2026, 3, 16, 10))
    with pytest.raises(ValueError, match="negative"):
        OFFICE.add_business_time(oslo(2026, 3, 16, 10), -H)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"timezone": "Europe/Olso"}, r"timezone: 'Europe/Olso'"),
        ({"hours": {"mon": [["08:00"]]}}, r"hours\.mon\[0\]: expected a \[start, end\] pair"),
        ({"hours": {"mon": [["8am", "16:00"]]}}, r"hours\.mon\[0\]: '8am' is not a time"),
        ({"hours": {"mon": [["16:00", "08:00"]]}}, r"hours\.mon: interval 16:00-08:00"),
        ({"hours": {"mon": [["08:00", "12:00"], ["11:00", "16:00"]]}}, r"hours\.mon: .*overlap"),
        ({"hours": {"mon": [["08:00", "24:30"]]}}, r"hours\.mon\[0\]: '24:30'"),
        ({"hours": {"man": [["08:00", "16:00"]]}}, r"hours: unknown weekday\(s\) man"),
        ({"hours": {}}, r"hours: at least one weekday"),
        ({"hours": "always"}, r"hours: expected a mapping"),
        ({"closed": ["2026-13-01"]}, r"closed\[0\]: '2026-13-01'"),
        ({"closed": "2026-12-24"}, r"closed: expected a list"),
        ({"yearly_closed": ["24-12"]}, r"yearly_closed\[0\]: '24-12'"),
        ({"half_days": {"2026-04-01": [["08:00", "25:00"]]}}, r"half_days\.2026-04-01\[0\]"),
        ({"half_days": {"1 April": [["08:00", "12:00"]]}}, r"half_days\.1 April: '1 April' is not a date"),
        (
            {"closed": ["2026-04-01"], "half_days": {"2026-04-01": [["08:00", "12:00"]]}},
            r"both name 2026-04-01",
        ),
        ({"country": "XX"}, r"country: 'XX'"),
        ({"colsed": ["2026-12-24"]}, r"unknown calendar field\(s\): colsed"),
    ],
)
def test_bad_config_names_the_field(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.from_config(config)


# --- properties -------------------------------------------------------------------------

ZONES = ["Europe/Oslo", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]


@st.composite
def random_calendars(draw: st.DrawFn) -> BusinessCalendar:
    weekly = []
    for _ in range(7):
        points = sorted(draw(st.sets(st.integers(0, 1440), max_size=6)))
        weekly.append(tuple(zip(points[0::2], points[1::2], strict=False)))
    assume(sum(end - start for hours in weekly for start, end in hours) >= 240)
    return BusinessCalendar(
        timezone=ZoneInfo(draw(st.sampled_from(ZONES))),
        weekly=tuple(weekly),
        country=draw(st.sampled_from([None, "NO"])),
        closed=draw(st.frozensets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=30)),
    )


calendars = st.one_of(
    st.sampled_from([OFFICE, LUNCH, OSLO_2026, BusinessCalendar.always_open()]), random_calendars()
)
# Half the starts fall within a few days of an Oslo/New York DST switch, where the bugs live.
near_switch = st.sampled_from([datetime(2026, 3, 8), datetime(2026, 3, 29), datetime(2026, 10, 25)]).flatmap(
    lambda switch: st.datetimes(
        switch - timedelta(days=3), switch + timedelta(days=3), timezones=st.just(UTC)
    )
)
starts = st.one_of(
    near_switch, st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC))
)
durations = st.timedeltas(timedelta(0), timedelta(hours=120))


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, start=starts, duration=durations)
def test_adding_then_measuring_gives_the_duration_back(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    end = calendar.add_business_time(start, duration)
    assert end >= start
    assert calendar.business_time_between(start, end) == duration
    if duration:  # lands inside an open interval or exactly on an interval's end
        assert calendar.is_open(end) or calendar.is_open(end - timedelta(microseconds=1))


@settings(max_examples=200, deadline=None)
@given(calendar=calendars, a=starts, b=starts, c=starts)
def test_between_is_additive_and_next_open_is_open(
    calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    total = calendar.business_time_between(a, b) + calendar.business_time_between(b, c)
    assert total == calendar.business_time_between(a, c)
    opens = calendar.next_open(a)
    assert calendar.is_open(opens)
    assert calendar.business_time_between(a, opens) == timedelta(0)
