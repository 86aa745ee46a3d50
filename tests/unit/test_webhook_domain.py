"""Webhook rules: topic patterns, secrets, the signed Standard Webhooks message, retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.integration import domain
from shared.events.base import Envelope
from shared.events.cases import CaseUpdated, FieldChange
from shared.events.integration import DeliveryFailed
from shared.testing import make_envelope

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("cases.case_created.v1", "cases.case_created.v1", True),
        ("cases.case_created.v1", "cases.case_created.v2", False),
        ("cases.*", "cases.case_created.v1", True),  # producer + trailing * = every event of it
        ("cases.*", "cases.article_added.v1", True),
        ("cases.*", "intake.message_received.v1", False),
        ("cases.#", "cases.case_updated.v1", True),
        ("cases.*.v1", "cases.case_updated.v1", True),
        ("cases.*.v1", "cases.case_updated.v2", False),
        ("cases.case_created.*", "cases.case_created.v2", True),
        ("*.case_created.v1", "cases.case_created.v1", True),
        ("*.*.*", "notify.mail_sent.v1", True),
        ("*.*", "notify.mail_sent.v1", True),
        ("#", "integration.delivery_failed.v1", True),
        ("#.v2", "cases.case_created.v1", False),
        ("cases.*.*.*", "cases.case_created.v1", False),  # * is exactly one word elsewhere
        ("cases.case_created", "cases.case_created.v1", False),
    ],
)
def test_pattern_matching(pattern: str, name: str, expected: bool) -> None:
    assert domain.matches(pattern, name) is expected


@pytest.mark.parametrize(
    "pattern", ["#", "cases.*", "*.*", "cases.#", "*.case_created.v1", "cases.*.v1", "#.v2"]
)
def test_good_patterns_are_accepted(pattern: str) -> None:
    assert domain.check_pattern(pattern) == pattern


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "1 to 200 characters"),
        ("Cases.case_created.v1", "lowercase"),
        ("cases..v1", "lowercase"),
        ("cases.case-created.v1", "lowercase"),
        ("cases.case_created", "can never match"),
        ("cases", "can never match"),
        ("cases.case_created.v1.extra", "can never match"),
    ],
)
def test_bad_patterns_are_rejected(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        domain.check_pattern(pattern)


def test_a_webhook_is_not_sent_the_failure_of_its_own_delivery() -> None:
    failed = make_envelope(
        DeliveryFailed(
            webhook_id="wh_a",
            delivery_id="msg_1",
            event_name="cases.case_created.v1",
            url="https://a.example/hook",
            attempts=8,
            reason="HTTP 500",
            failed_at=datetime.now(UTC),
        )
    )
    assert not domain.wants("wh_a", ["#"], failed)
    assert domain.wants("wh_b", ["integration.*"], failed)
    assert not domain.reports_failure("integration.delivery_failed.v1")
    assert domain.reports_failure("cases.case_created.v1")


@pytest.mark.parametrize("size", [24, 32, 64])
def test_good_secrets(size: int) -> None:
    encoded = base64.b64encode(b"k" * size).decode()
    assert domain.check_secret("whsec_" + encoded)
    assert domain.check_secret("whsec_" + encoded.rstrip("="))  # padding is optional


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (base64.b64encode(b"k" * 32).decode(), "start with"),
        ("whsec_" + base64.b64encode(b"k" * 23).decode(), "24 to 64 bytes, not 23"),
        ("whsec_" + base64.b64encode(b"k" * 65).decode(), "not 65"),
        ("whsec_not*base64!", "standard base64"),
        ("whsec_", "not 0"),
    ],
)
def test_bad_secrets(secret: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        domain.check_secret(secret)


def test_generated_secret_is_valid() -> None:
    assert domain.check_secret(domain.new_secret(b"\xff" * 32)).startswith("whsec_")


def test_delivery_id_is_stable_per_event_and_webhook() -> None:
    event = uuid.uuid4()
    first = domain.delivery_id(event, "wh_a")
    assert first == domain.delivery_id(event, "wh_a")
    assert first != domain.delivery_id(event, "wh_b")
    assert first != domain.delivery_id(uuid.uuid4(), "wh_a")
    assert first.startswith("msg_") and len(first) == 36


def envelope() -> Envelope:
    return make_envelope(
        CaseUpdated(
            number="10001",
            changes={"status": FieldChange(old="new", new="open")},
            origin="user",
            status="open",
            queue="IT",
            updated_at=datetime(2026, 11, 26, 9, tzinfo=UTC),
        )
    )


def test_message_body_has_the_standard_webhooks_shape() -> None:
    env = envelope()
    body = json.loads(domain.message_body(env))
    assert body["type"] == "cases.case_updated.v1"
    assert datetime.fromisoformat(body["timestamp"]) == env.occurred_at
    assert body["timestamp"].endswith("Z")
    assert body["data"] == env.payload


def test_signature_verifies_with_the_standardwebhooks_library() -> None:
    body = domain.message_body(envelope())
    now = datetime.now(UTC)
    headers = domain.signed_headers(SECRET, msg_id="msg_abc", body=body, now=now)
    assert headers["webhook-id"] == "msg_abc"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers["content-type"] == "application/json"
    assert Webhook(SECRET).verify(body, headers) == json.loads(body)

    # The same bytes by hand: HMAC-SHA256 over "id.timestamp.body" with the decoded secret.
    signed = f"msg_abc.{headers['webhook-timestamp']}.{body}".encode()
    expected = hmac.new(bytes(range(32)), signed, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()

    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace("open", "shut"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(domain.new_secret(b"x" * 32)).verify(body, headers)


def test_backoff_schedule_doubles_from_the_base() -> None:
    policy = domain.RetryPolicy()
    delays = [policy.delay(n, rand=0.5).total_seconds() for n in range(1, 8)]
    assert delays == [5, 10, 20, 40, 80, 160, 320]


def test_backoff_is_capped_and_jittered() -> None:
    policy = domain.RetryPolicy(base_seconds=5, factor=2, max_seconds=60, jitter=0.2)
    assert policy.delay(10, rand=0.5) == timedelta(seconds=60)
    assert policy.delay(1, rand=0.0) == timedelta(seconds=4)
    assert policy.delay(1, rand=1.0) == timedelta(seconds=6)
    assert domain.RetryPolicy(jitter=0).delay(3, rand=0.9) == timedelta(seconds=20)


@pytest.mark.parametrize(
    ("status_code", "attempts", "expected"),
    [
        (200, 1, domain.Outcome.DELIVERED),
        (204, 8, domain.Outcome.DELIVERED),
        (500, 1, domain.Outcome.RETRY),
        (302, 1, domain.Outcome.RETRY),  # redirects are not followed
        (None, 7, domain.Outcome.RETRY),
        (410, 8, domain.Outcome.FAILED),
        (None, 8, domain.Outcome.FAILED),
    ],
)
def test_outcome_of_an_attempt(status_code: int | None, attempts: int, expected: domain.Outcome) -> None:
    result = domain.AttemptResult(status_code, None if status_code else "ConnectError: refused")
    assert domain.outcome(result, attempts=attempts, policy=domain.RetryPolicy(max_attempts=8)) is expected


def test_cursor_round_trip_and_rejection() -> None:
    at = datetime(2026, 11, 26, 9, 30, 1, 5, tzinfo=UTC)
    assert domain.decode_cursor(domain.encode_cursor(at, "wh_1")) == (at, "wh_1")
    with pytest.raises(domain.CursorError):
        domain.decode_cursor("bm9wZQ==")
