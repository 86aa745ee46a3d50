"""A case's custom field values as the case page shows them (labels from the case type's form)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def label(labels: Mapping[str, str] | None, lang: str, fallback: str) -> str:
    return (labels or {}).get(lang) or (labels or {}).get("en") or fallback


def shown_fields(
    values: Mapping[str, Any], form: Mapping[str, Any] | None, lang: str
) -> list[tuple[str, str]]:
    """(label, value) in the agent form's order, in the page's language, chosen options by their
    labels; values of fields the form does not show follow by key, so nothing set is hidden."""
    shown: list[tuple[str, str]] = []
    done: set[str] = set()
    for field in (form or {}).get("fields", []):
        key = field["key"]
        done.add(key)
        if values.get(key) in (None, "", []):
            continue
        options = {o["key"]: label(o.get("labels"), lang, o["key"]) for o in field.get("options", [])}
        chosen = values[key] if isinstance(values[key], list) else [values[key]]
        text = ", ".join(options.get(str(item), _plain(item)) for item in chosen)
        shown.append((label(field.get("labels"), lang, key), text))
    shown.extend((key, _plain(values[key])) for key in sorted(values) if key not in done)
    return shown


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "✓" if value else "–"
    if isinstance(value, list):
        return ", ".join(_plain(item) for item in value)
    return str(value)
