"""HTTP models of the integration API. The secret appears in the create response only."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from services.integration import domain


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl = Field(description="http or https endpoint that receives the POSTs")
    events: list[str] = Field(
        min_length=1,
        max_length=50,
        description="Event names or topic patterns: cases.case_created.v1, cases.*, *.case_updated.v1, #",
    )
    secret: str | None = Field(
        default=None, description="whsec_ + base64 of 24-64 bytes; generated and returned once when omitted"
    )
    description: str = Field(default="", max_length=500)
    active: bool = True

    @field_validator("url")
    @classmethod
    def _short_url(cls, url: HttpUrl) -> HttpUrl:
        if len(str(url)) > 2000:
            raise ValueError("url must be at most 2000 characters")
        return url

    @field_validator("events")
    @classmethod
    def _patterns(cls, events: list[str]) -> list[str]:
        return list(dict.fromkeys(domain.check_pattern(p) for p in events))

    @field_validator("secret")
    @classmethod
    def _secret(cls, secret: str | None) -> str | None:
        return None if secret is None else domain.check_secret(secret)


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="Shown only in this response: store it to verify signatures")


class WebhookPage(BaseModel):
    items: list[WebhookRead]
    next_cursor: str | None


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="The webhook-id header, the same on every attempt")
    event_id: str
    event_name: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None
