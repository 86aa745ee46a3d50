"""Values of custom fields: what a caller sends, coerced to what a case stores, or the reason not.

Stored forms: text as the stripped string; numbers as int (when whole) or float; dates as
``YYYY-MM-DD``; booleans as bool; a select as its option key; a multi-select as a list of option
keys in the order given, without repeats; a user, customer or asset as the id of the row (the
service checks the row exists and turns a user's email into their id). An absent value (null,
a blank string, an empty list) removes the field from the case.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from services.cases.casetypes.domain import FieldDef, FieldKind, Problem, TypeDef

MAX_TEXT = 500
MAX_LONG_TEXT = 20_000
MAX_REFERENCE = 320
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NUMBER_PATTERN = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
TRUE_WORDS = frozenset({"true", "yes", "ja"})
FALSE_WORDS = frozenset({"false", "no", "nei"})


class InvalidValue(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def coerce(field: FieldDef, raw: Any) -> Any:
    """The stored form of ``raw`` for ``field``; None when it is absent. Raises ``InvalidValue``."""
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = raw.strip()
        if not raw:
            return None
    if field.kind in (FieldKind.TEXT, FieldKind.LONG_TEXT):
        return _text(raw, MAX_TEXT if field.kind is FieldKind.TEXT else MAX_LONG_TEXT)
    if field.kind is FieldKind.NUMBER:
        return _number(raw)
    if field.kind is FieldKind.DATE:
        return _date(raw)
    if field.kind is FieldKind.BOOLEAN:
        return _boolean(raw)
    if field.kind is FieldKind.SELECT:
        return _option(field, raw)
    if field.kind is FieldKind.MULTI_SELECT:
        return _options(field, raw)
    return _reference(field, raw)


def coerce_values(
    type_def: TypeDef, raw: Mapping[str, Any], *, keep_absent: bool = False
) -> tuple[dict[str, Any], list[Problem]]:
    """Each value coerced for the type's field of that key. Unknown keys and wrong values are
    problems, each naming its field. ``keep_absent`` keeps absent values as None (a partial
    change: None removes the field); otherwise they are left out."""
    clean: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in raw.items():
        field = type_def.field(key)
        if field is None:
            problems.append(Problem(key, unknown_field(type_def)))
            continue
        try:
            coerced = coerce(field, value)
        except InvalidValue as exc:
            problems.append(Problem(key, exc.message))
            continue
        if coerced is not None or keep_absent:
            clean[key] = coerced
    return clean, problems


def unknown_field(type_def: TypeDef) -> str:
    if not type_def.fields:
        return f"no such field: case type {type_def.key!r} has no custom fields"
    return f"no such field of case type {type_def.key!r}; its fields: {', '.join(f.key for f in type_def.fields)}"


def _text(raw: Any, limit: int) -> str:
    if not isinstance(raw, str):
        raise InvalidValue(f"text expected, got {_shown(raw)}")
    if len(raw) > limit:
        raise InvalidValue(f"at most {limit} characters, got {len(raw)}")
    return raw


def _number(raw: Any) -> int | float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InvalidValue(f"a number expected, got {_shown(raw)}")
    if isinstance(raw, str):
        text = raw.replace(" ", "").replace("\u00a0", "")
        if not NUMBER_PATTERN.match(text):
            raise InvalidValue(f"a number expected, got {_shown(raw)}")
        raw = float(text.replace(",", "."))
    if not math.isfinite(raw):
        raise InvalidValue(f"a finite number expected, got {_shown(raw)}")
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < 2**53:
        return int(raw)
    return raw


def _date(raw: Any) -> str:
    if isinstance(raw, date):
        return raw.isoformat()
    if not isinstance(raw, str) or not DATE_PATTERN.match(raw):
        raise InvalidValue(f"a date YYYY-MM-DD expected, got {_shown(raw)}")
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        raise InvalidValue(f"no such date: {raw}") from None


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in TRUE_WORDS | FALSE_WORDS:
        return raw.lower() in TRUE_WORDS
    raise InvalidValue(f"true or false expected, got {_shown(raw)}")


def _option(field: FieldDef, raw: Any) -> str:
    keys = field.option_keys()
    if not isinstance(raw, str) or raw not in keys:
        raise InvalidValue(f"one of {', '.join(keys)} expected, got {_shown(raw)}")
    return raw


def _options(field: FieldDef, raw: Any) -> list[str] | None:
    # A string is one option or several separated by commas (a mail header): keys have no commas.
    items = [item.strip() for item in raw.split(",") if item.strip()] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise InvalidValue(f"a list of options expected, got {_shown(raw)}")
    keys = field.option_keys()
    unknown = [item for item in items if not isinstance(item, str) or item not in keys]
    if unknown:
        shown = ", ".join(_shown(item) for item in unknown)
        raise InvalidValue(f"options of {', '.join(keys)} expected, got {shown}")
    chosen = list(dict.fromkeys(items))
    return chosen or None


def _reference(field: FieldDef, raw: Any) -> str:
    what = {FieldKind.USER: "a user's id or email", FieldKind.CUSTOMER: "a customer's id"}.get(
        field.kind, "an asset's id"
    )
    if not isinstance(raw, str) or len(raw) > MAX_REFERENCE:
        raise InvalidValue(f"{what} expected, got {_shown(raw)}")
    return raw


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# Kinds whose values are words someone would search for; references and flags are not.
SEARCHED_KINDS = frozenset(
    {FieldKind.TEXT, FieldKind.LONG_TEXT, FieldKind.NUMBER, FieldKind.SELECT, FieldKind.MULTI_SELECT}
)


def search_text(type_def: TypeDef, fields: Mapping[str, Any]) -> str | None:
    """The words of a case's field values for full-text search: texts and numbers as they are,
    chosen options by their labels in both languages (an agent searches "skriver", not "printer_2")."""
    words: list[str] = []
    for definition in type_def.fields:
        value = fields.get(definition.key)
        if definition.kind not in SEARCHED_KINDS or value is None:
            continue
        chosen = value if isinstance(value, list) else [value]
        if definition.options:
            labels = {option.key: option.labels for option in definition.options}
            for key in chosen:
                words.extend(dict.fromkeys(labels.get(str(key), {}).values() or [str(key)]))
        else:
            words.extend(str(item) for item in chosen)
    return "\n".join(words) or None
