"""Settings shared by every service. Each service subclasses with its own fields.

Only environment variables (``ALLSAK_*``) and the arguments of the ``allsak`` command feed
these; nothing else in the code reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BaseServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALLSAK_", extra="ignore", populate_by_name=True)

    service: ClassVar[str]

    database_url: str | None = Field(
        default=None,
        description="Unset: the embedded mode keeps a SQLite file per service in the data folder",
    )
    amqp_url: str | None = Field(default=None, description="RabbitMQ; unset means the in-process bus")
    data_dir: Path = Path("data")
    blob_dir: Path | None = Field(default=None, description="Blob store root; default <data_dir>/blobs")
    internal_token: str | None = Field(
        default=None, description="Shared secret the services require from each other over HTTP"
    )
    log_level: str = "INFO"
    log_json: bool = True
    delivery_limit: int = Field(default=5, ge=1)
    prefetch: int = Field(default=10, ge=1)
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    migrate_on_start: bool = True

    @property
    def blob_root(self) -> Path:
        return self.blob_dir or self.data_dir / "blobs"
