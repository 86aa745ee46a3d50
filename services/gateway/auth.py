"""Credentials and who a caller is: pure rules, no I/O.

API tokens are 32 random bytes, so a fast hash (SHA-256) is enough to store them: there is
nothing to brute-force that a slow password hash would protect. Only a short, hand-chosen
``ALLSAK_ADMIN_TOKEN`` would be weak, which is why the gateway warns about one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

TOKEN_PREFIX = "allsak_"
MIN_TOKEN_LENGTH = 32
TOUCH_INTERVAL = timedelta(minutes=5)
SESSION_COOKIE = "allsak_session"
ADMIN_TOKEN_NAME = "ALLSAK_ADMIN_TOKEN"
ADMIN_SUBJECT = "admin"


class Role(StrEnum):
    AGENT = "agent"
    TEAM_LEAD = "team_lead"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, as forwarded to the services."""

    subject: str
    role: Role
    token_id: str

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None for anything else."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or " " in value:
        return None
    return value


def touch_due(last_used_at: datetime | None, now: datetime) -> bool:
    """Record a token's last use at most every few minutes: a write per request would serialise them."""
    return last_used_at is None or now - last_used_at >= TOUCH_INTERVAL


def session_expiry(now: datetime, days: float) -> datetime:
    return now + timedelta(days=days)


def safe_next(target: str | None, default: str = "/cases") -> str:
    """Where to go after login: only a path on this site, never another host (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return default
    return target
