from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    service: ClassVar[str] = "gateway"

    database_url: str | None = Field(default=None, validation_alias="ALLSAK_GATEWAY_DATABASE_URL")
    admin_token: str | None = Field(
        default=None, description="When set, an admin API token with this value exists from start"
    )
    intake_url: str | None = Field(default=None, description="Base URL of intake (distributed mode)")
    cases_url: str | None = Field(default=None, description="Base URL of cases (distributed mode)")
    notify_url: str | None = Field(default=None, description="Base URL of notify (distributed mode)")
    reporting_url: str | None = Field(default=None, description="Base URL of reporting (distributed mode)")
    integration_url: str | None = Field(
        default=None, description="Base URL of integration (distributed mode)"
    )
    session_days: float = Field(default=7, gt=0, description="How long an agent stays logged in")
    proxy_timeout_seconds: float = Field(default=30, gt=0, description="Per call to a service")
    openapi_cache_seconds: float = Field(default=60, ge=0)

    def url_for(self, service: str) -> str | None:
        """The configured base URL of a downstream service (unused in the embedded mode)."""
        value = getattr(self, f"{service}_url", None)
        return value if isinstance(value, str) else None
