"""Where each service's app, settings, tables and migrations are, by the layout's convention."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData

from shared.settings import BaseServiceSettings

# Start order matters in the embedded mode: the gateway calls the others in-process.
NAMES = ("intake", "cases", "notify", "reporting", "integration", "gateway")
DEFAULT_PORTS = {
    "gateway": 8000,
    "intake": 8001,
    "cases": 8002,
    "notify": 8003,
    "reporting": 8004,
    "integration": 8005,
}


@dataclass(frozen=True)
class ServiceModule:
    name: str

    @property
    def package(self) -> str:
        return f"services.{self.name}"

    def settings_class(self) -> type[BaseServiceSettings]:
        return importlib.import_module(f"{self.package}.settings").Settings

    def create_app(self, settings: BaseServiceSettings, runtime: Any) -> Any:
        return importlib.import_module(f"{self.package}.app").create_app(settings, runtime)

    def metadata(self) -> MetaData:
        return importlib.import_module(f"{self.package}.models").Base.metadata

    @property
    def migrations(self) -> Path:
        return Path(importlib.import_module(self.package).__file__ or "").parent / "migrations" / "versions"


def service(name: str) -> ServiceModule:
    if name not in NAMES:
        raise SystemExit(f"unknown service {name!r}; one of: {', '.join(NAMES)}")
    return ServiceModule(name)
