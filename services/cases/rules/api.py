"""PLACEHOLDER being replaced: routes of services.cases.rules."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["rules"])
