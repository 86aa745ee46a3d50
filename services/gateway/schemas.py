"""HTTP models of the gateway's own API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.gateway.auth import Role

# Subjects travel in an HTTP header to the services: printable ASCII, no spaces.
SUBJECT_PATTERN = r"^[\x21-\x7e]+$"


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="What the token is for")
    subject: str = Field(
        min_length=1, max_length=320, pattern=SUBJECT_PATTERN, description="User id or email it acts as"
    )
    role: Role


class UserTokenCreate(BaseModel):
    """A token for a user of the cases service: subject and role come from the user."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="What the token is for")


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    subject: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class TokenCreated(TokenRead):
    token: str = Field(description="The secret; shown this once and never again")


class TokenList(BaseModel):
    items: list[TokenRead]


class Me(BaseModel):
    subject: str
    role: Role
    token_id: str
