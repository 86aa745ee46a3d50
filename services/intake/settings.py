from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from services.intake.domain import Limits
from shared.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    service: ClassVar[str] = "intake"

    database_url: str | None = Field(default=None, validation_alias="ALLSAK_INTAKE_DATABASE_URL")
    max_message_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=1,
        validation_alias="ALLSAK_INTAKE_MAX_MESSAGE_BYTES",
        description="Larger messages are refused (413) before anything is stored",
    )
    max_parts: int = Field(default=500, ge=1, validation_alias="ALLSAK_INTAKE_MAX_PARTS")
    max_depth: int = Field(default=20, ge=1, validation_alias="ALLSAK_INTAKE_MAX_DEPTH")
    max_hops: int = Field(
        default=50,
        ge=1,
        validation_alias="ALLSAK_INTAKE_MAX_HOPS",
        description="More Received headers than this is taken for a mail loop",
    )
    max_body_chars: int = Field(
        default=100_000,
        ge=1,
        validation_alias="ALLSAK_INTAKE_MAX_BODY_CHARS",
        description="The text body on the bus is cut here; the raw message keeps all of it",
    )
    parse_timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias="ALLSAK_INTAKE_PARSE_TIMEOUT_SECONDS"
    )

    @property
    def limits(self) -> Limits:
        return Limits(
            max_parts=self.max_parts,
            max_depth=self.max_depth,
            max_hops=self.max_hops,
            max_body_chars=self.max_body_chars,
        )
