from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    service: ClassVar[str] = "integration"

    database_url: str | None = Field(default=None, validation_alias="ALLSAK_INTEGRATION_DATABASE_URL")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="Per delivery attempt")
    webhook_max_attempts: int = Field(
        default=8, ge=1, description="Attempts before a delivery fails for good"
    )
    webhook_retry_base_seconds: float = Field(default=5.0, gt=0, description="Delay after the first failure")
    webhook_retry_factor: float = Field(
        default=2.0, ge=1, description="Each further delay is this much longer"
    )
    webhook_retry_max_seconds: float = Field(default=3600.0, gt=0, description="Cap on one delay")
    webhook_retry_jitter: float = Field(
        default=0.2, ge=0, lt=1, description="Delays vary by up to this fraction, so retries spread out"
    )
    webhook_poll_seconds: float = Field(default=1.0, gt=0, description="Look for due deliveries this often")
    webhook_batch_size: int = Field(default=20, ge=1, description="Deliveries sent at once by one worker")
