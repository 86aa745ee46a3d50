"""What the ``X-Allsak-*`` headers of a trusted mail ask of its case (intake passes them only
for mailboxes marked trusted): ``X-Allsak-Status`` a status of the case type, and
``X-Allsak-Field-<key>`` a custom field's value. Both go through the gate like any change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STATUS_HEADER = "x-allsak-status"
FIELD_PREFIX = "x-allsak-field-"


def case_fields(headers: Mapping[str, str]) -> dict[str, Any]:
    """Field values by key (header names compare case-insensitively; field keys are lower case)."""
    found: dict[str, Any] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith(FIELD_PREFIX) and len(lowered) > len(FIELD_PREFIX):
            found[lowered.removeprefix(FIELD_PREFIX).replace("-", "_")] = value.strip()
    return found


def case_changes(headers: Mapping[str, str]) -> dict[str, Any]:
    """The change a trusted mail asks of the case it threads to; {} when it asks none."""
    changes: dict[str, Any] = {}
    status = next((v.strip() for k, v in headers.items() if k.lower() == STATUS_HEADER and v.strip()), None)
    if status:
        changes["status"] = status.lower()
    fields = case_fields(headers)
    if fields:
        changes["fields"] = fields
    return changes
