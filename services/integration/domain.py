"""Webhook rules: event patterns, secrets, the Standard Webhooks 1.0 message, retries. No I/O.

Patterns use the bus's topic syntax over event names ``<producer>.<event>.v<N>``: ``*`` is
exactly one word and ``#`` zero or more. As a convenience a two-word pattern ending in ``*``
(``cases.*``) means every event of that producer, i.e. ``cases.#``: taken literally it could
never match a three-word name.

Loops: a delivery of an ``integration.*`` event that fails for good emits no further
``integration.delivery_failed``, and a webhook is never sent the failure report of its own
delivery, so two failing endpoints cannot feed each other forever.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from standardwebhooks import Webhook as Signer

from shared.bus.topics import topic_matches
from shared.events.base import Envelope
from shared.events.integration import DeliveryFailed

SECRET_PREFIX = "whsec_"
SECRET_MIN_BYTES, SECRET_MAX_BYTES = 24, 64
PATTERN_MAX_LENGTH = 200
EVENT_NAME_WORDS = 3
_WORD = re.compile(r"[a-z0-9_]+")


class Status(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


# --- patterns -------------------------------------------------------------------------------


def normalize_pattern(pattern: str) -> str:
    """``cases.*`` means every cases event: a trailing ``*`` after the producer becomes ``#``."""
    words = pattern.split(".")
    if len(words) == 2 and words[1] == "*":
        return f"{words[0]}.#"
    return pattern


def check_pattern(pattern: str) -> str:
    """The pattern if it is well formed and can match some event name; ValueError otherwise."""
    if not pattern or len(pattern) > PATTERN_MAX_LENGTH:
        raise ValueError(f"event pattern must have 1 to {PATTERN_MAX_LENGTH} characters: {pattern!r}")
    words = normalize_pattern(pattern).split(".")
    bad = [w for w in words if w not in ("*", "#") and not _WORD.fullmatch(w)]
    if bad:
        raise ValueError(
            f"event pattern {pattern!r}: words are lowercase letters, digits and '_', or '*' or '#'"
        )
    fixed = sum(1 for w in words if w != "#")
    if fixed > EVENT_NAME_WORDS or ("#" not in words and fixed < EVENT_NAME_WORDS):
        raise ValueError(
            f"event pattern {pattern!r} can never match an event name <producer>.<event>.v<N>,"
            " e.g. cases.case_created.v1, cases.* or #"
        )
    return pattern


def matches(pattern: str, event_name: str) -> bool:
    return topic_matches(normalize_pattern(pattern), event_name)


def wants(webhook_id: str, patterns: Iterable[str], envelope: Envelope) -> bool:
    """Whether a webhook gets this event: a pattern matches and it is not its own failure report."""
    if (
        envelope.routing_key == DeliveryFailed.routing_key()
        and envelope.payload.get("webhook_id") == webhook_id
    ):
        return False
    return any(matches(p, envelope.routing_key) for p in patterns)


def reports_failure(event_name: str) -> bool:
    """Failing deliveries of integration's own events are not reported again (no loops)."""
    return not event_name.startswith(f"{DeliveryFailed.producer}.")


# --- secrets, ids, messages -----------------------------------------------------------------


def check_secret(secret: str) -> str:
    """``whsec_`` and the standard base64 of 24 to 64 random bytes; ValueError otherwise."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"secret must start with {SECRET_PREFIX!r}")
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"secret must be {SECRET_PREFIX!r} followed by standard base64") from None
    if not SECRET_MIN_BYTES <= len(raw) <= SECRET_MAX_BYTES:
        raise ValueError(f"secret must encode {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes, not {len(raw)}")
    return secret


def new_secret(random_bytes: bytes) -> str:
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode()


def delivery_id(event_id: uuid.UUID, webhook_id: str) -> str:
    """Stable per (event, webhook): the ``webhook-id`` receivers deduplicate by, on every retry."""
    return f"msg_{uuid.uuid5(event_id, webhook_id).hex}"


def message_body(envelope: Envelope) -> str:
    """The Standard Webhooks payload: ``type``, ``timestamp`` (ISO 8601) and ``data``."""
    timestamp = envelope.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {"type": envelope.routing_key, "timestamp": timestamp, "data": envelope.payload},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def signed_headers(secret: str, *, msg_id: str, body: str, now: datetime) -> dict[str, str]:
    """Headers of one attempt: the timestamp is the send time, so each attempt is signed anew."""
    sent_at = datetime.fromtimestamp(int(now.timestamp()), UTC)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Signer(secret).sign(msg_id=msg_id, timestamp=sent_at, data=body),
    }


# --- retries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 5.0
    factor: float = 2.0
    max_seconds: float = 3600.0
    jitter: float = 0.2

    def delay(self, attempt: int, *, rand: float) -> timedelta:
        """Wait after failed attempt ``attempt`` (1-based): base·factor^(n-1), capped, ±jitter."""
        nominal = min(self.max_seconds, self.base_seconds * self.factor ** (attempt - 1))
        return timedelta(seconds=nominal * (1 + self.jitter * (2 * rand - 1)))


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def reason(self) -> str:
        return self.error or f"HTTP {self.status_code}"


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


def outcome(result: AttemptResult, *, attempts: int, policy: RetryPolicy) -> Outcome:
    """2xx delivers; anything else retries until ``max_attempts`` attempts were made."""
    if result.ok:
        return Outcome.DELIVERED
    return Outcome.FAILED if attempts >= policy.max_attempts else Outcome.RETRY


# --- cursors --------------------------------------------------------------------------------


def encode_cursor(created_at: datetime, item_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{item_id}".encode()).decode()


class CursorError(ValueError):
    """A page cursor that this service did not hand out."""


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, item_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        created_at = datetime.fromisoformat(at)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise CursorError("invalid cursor") from None
    if created_at.tzinfo is None:
        raise CursorError("invalid cursor")
    return created_at, item_id
