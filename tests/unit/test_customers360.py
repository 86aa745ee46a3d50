"""Rules of customers 360: when an agreement holds, what a mail domain is, list cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.cases.customers import repository, service
from services.cases.customers.models import Agreement

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def agreement(valid_from: datetime, valid_to: datetime | None) -> Agreement:
    return Agreement(valid_from=valid_from, valid_to=valid_to)


def test_an_agreement_holds_from_its_start_up_to_its_end() -> None:
    assert service.valid_at(agreement(NOW, None), NOW)
    assert service.valid_at(agreement(NOW - timedelta(days=1), NOW + timedelta(seconds=1)), NOW)
    assert not service.valid_at(agreement(NOW - timedelta(days=1), NOW), NOW)  # the end is exclusive
    assert not service.valid_at(agreement(NOW + timedelta(seconds=1), None), NOW)


def test_instants_compare_whatever_the_time_zone() -> None:
    oslo = timezone(timedelta(hours=2))
    starts = datetime(2026, 6, 15, 12, 0, tzinfo=oslo)  # 10:00 UTC
    assert service.valid_at(agreement(starts, None), NOW)
    assert not service.valid_at(agreement(starts + timedelta(minutes=1), None), NOW)


def test_domains_are_normalised_and_checked() -> None:
    assert service.domain_list(["@Oslo.Kommune.NO.", "oslo.kommune.no", " skole.no "]) == [
        "oslo.kommune.no",
        "skole.no",
    ]
    for bad in ("kommune", "a@b.no", "oslo kommune.no", ""):
        with pytest.raises(service.Rejected) as refused:
            service.domain_list([bad])
        assert refused.value.field == "domains"


def test_cursors_round_trip_and_refuse_garbage() -> None:
    cursor = repository.encode_cursor(["Oslo kommune", "id-1"])
    assert repository.decode_cursor(cursor, 2) == ["Oslo kommune", "id-1"]
    for bad in ("zz", repository.encode_cursor(["a"]), "bnVsbA=="):
        with pytest.raises(repository.BadCursor):
            repository.decode_cursor(bad, 2)


def test_blank_text_is_none() -> None:
    assert service.clean("  ") is None and service.clean(None) is None and service.clean(" a ") == "a"
