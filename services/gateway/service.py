"""Use cases of the gateway: tokens, authentication and agent sessions. Each owns one unit of work."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from services.gateway import repository
from services.gateway.auth import (
    ADMIN_SUBJECT,
    ADMIN_TOKEN_NAME,
    MIN_TOKEN_LENGTH,
    Principal,
    Role,
    hash_token,
    new_session_id,
    new_token,
    session_expiry,
    touch_due,
)
from services.gateway.models import ApiToken, Session
from shared.db import Database

logger = logging.getLogger(__name__)


class TokenNotFound(Exception):
    """No token with that id."""


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


async def ensure_admin_token(db: Database, *, secret: str) -> None:
    """ALLSAK_ADMIN_TOKEN is an admin token from start; a changed value revokes the one it replaced."""
    if len(secret) < MIN_TOKEN_LENGTH:
        logger.warning(
            "ALLSAK_ADMIN_TOKEN is shorter than %d characters; choose a long random one", MIN_TOKEN_LENGTH
        )
    token_hash = hash_token(secret)
    async with db.uow() as uow:
        now = uow.now()
        existing = await repository.token_by_hash(uow.session, token_hash)
        for old in await repository.active_tokens_named(uow.session, ADMIN_TOKEN_NAME):
            if old.token_hash != token_hash:
                old.revoked_at = now
                await repository.delete_sessions_of(uow.session, old.id)
        if existing is None:
            uow.session.add(
                ApiToken(
                    id=str(db.ids()),
                    token_hash=token_hash,
                    name=ADMIN_TOKEN_NAME,
                    subject=ADMIN_SUBJECT,
                    role=Role.ADMIN.value,
                    created_at=now,
                )
            )
        elif existing.revoked_at is not None:
            logger.warning("the token in ALLSAK_ADMIN_TOKEN was revoked and stays revoked; set a new one")
        try:
            await uow.commit()
        except IntegrityError:
            # Another replica starting at the same moment inserted the same token first.
            logger.info("admin token already created by another gateway")


async def create_token(db: Database, *, name: str, subject: str, role: Role) -> IssuedToken:
    """A new token is shown once, to its creator; only its hash is kept."""
    secret = new_token()
    async with db.uow() as uow:
        token = ApiToken(
            id=str(db.ids()),
            token_hash=hash_token(secret),
            name=name,
            subject=subject,
            role=role.value,
            created_at=uow.now(),
        )
        uow.session.add(token)
        await uow.commit()
    return IssuedToken(token=token, secret=secret)


async def list_tokens(db: Database) -> Sequence[ApiToken]:
    async with db.sessions() as session:
        return await repository.list_tokens(session)


async def revoke_token(db: Database, *, token_id: str) -> ApiToken:
    """Revoking is final and ends the token's browser sessions; revoking twice keeps the first time."""
    async with db.uow() as uow:
        token = await repository.token_by_id(uow.session, token_id)
        if token is None:
            raise TokenNotFound(token_id)
        if token.revoked_at is None:
            token.revoked_at = uow.now()
        await repository.delete_sessions_of(uow.session, token.id)
        await uow.commit()
    return token


async def authenticate(db: Database, *, secret: str) -> Principal | None:
    """A token authenticates while it is not revoked."""
    async with db.uow() as uow:
        token = await repository.token_by_hash(uow.session, hash_token(secret))
        if token is None or token.revoked_at is not None:
            return None
        now = uow.now()
        if touch_due(token.last_used_at, now):
            await repository.touch_token(uow.session, token.id, now)
            await uow.commit()
        return Principal(subject=token.subject, role=Role(token.role), token_id=token.id)


async def login(db: Database, *, secret: str, days: float) -> tuple[str, Principal] | None:
    """A valid token opens a browser session for its subject and role; expired sessions are swept."""
    principal = await authenticate(db, secret=secret)
    if principal is None:
        return None
    session_id = new_session_id()
    async with db.uow() as uow:
        now = uow.now()
        await repository.delete_expired_sessions(uow.session, now)
        uow.session.add(
            Session(
                id=session_id,
                token_id=principal.token_id,
                subject=principal.subject,
                role=principal.role.value,
                created_at=now,
                expires_at=session_expiry(now, days),
            )
        )
        await uow.commit()
    return session_id, principal


async def session_principal(db: Database, *, session_id: str) -> Principal | None:
    """A session counts until it expires or its token is revoked."""
    async with db.sessions() as session:
        row = await repository.live_session(session, session_id, db.clock())
        if row is None:
            return None
        return Principal(subject=row.subject, role=Role(row.role), token_id=row.token_id)


async def logout(db: Database, *, session_id: str) -> None:
    async with db.uow() as uow:
        await repository.delete_session(uow.session, session_id)
        await uow.commit()
