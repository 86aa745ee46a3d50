"""Whether a case type's configuration holds together; each problem names where and what to fix.

The shape (kinds, categories, label languages, priority names) is the schema's; this checks what
spans the parts: unique keys, options where a kind needs them, a status of each required
category, transitions and forms that name existing statuses and fields, a complete matrix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from services.cases.casetypes.domain import (
    CHANNELS,
    LEVELS,
    PRIORITIES,
    REQUIRED_CATEGORIES,
    WITH_OPTIONS,
    Problem,
    Stage,
    TypeDef,
)


def problems(type_def: TypeDef) -> list[Problem]:
    """Every problem of the configuration; [] when it holds together."""
    return [
        *_field_problems(type_def),
        *_status_problems(type_def),
        *_transition_problems(type_def),
        *_matrix_problems(type_def),
        *_form_problems(type_def),
    ]


def _twice(keys: Iterable[str]) -> list[str]:
    return [key for key, count in Counter(keys).items() if count > 1]


def _field_problems(type_def: TypeDef) -> list[Problem]:
    found = [
        Problem("fields", f"key {key!r} is used twice") for key in _twice(f.key for f in type_def.fields)
    ]
    for f in type_def.fields:
        where = f"fields.{f.key}"
        if f.kind in WITH_OPTIONS and not f.options:
            found.append(Problem(where, f"a {f.kind.value} field needs options"))
        if f.kind not in WITH_OPTIONS and f.options:
            found.append(Problem(where, f"a {f.kind.value} field has no options; remove them"))
        found += [Problem(where, f"option {key!r} is given twice") for key in _twice(f.option_keys())]
    return found


def _status_problems(type_def: TypeDef) -> list[Problem]:
    found = [Problem("statuses", f"key {key!r} is used twice") for key in _twice(type_def.status_keys())]
    categories = {s.category for s in type_def.statuses}
    for category in REQUIRED_CATEGORIES:
        if category.value not in categories:
            found.append(
                Problem(
                    "statuses",
                    f"no status of category {category.value!r}: a case type needs at least one status "
                    f"of each of {', '.join(c.value for c in REQUIRED_CATEGORIES)}",
                )
            )
    return found


def _transition_problems(type_def: TypeDef) -> list[Problem]:
    known = set(type_def.status_keys())
    found = []
    for source, targets in type_def.transitions.items():
        if source not in known:
            found.append(Problem("transitions", f"{source!r} is no status of this type"))
        for target in targets:
            if target not in known:
                found.append(Problem(f"transitions.{source}", f"{target!r} is no status of this type"))
    return found


def _matrix_problems(type_def: TypeDef) -> list[Problem]:
    if type_def.matrix is None:
        return []
    found = []
    for impact in LEVELS:
        for urgency in LEVELS:
            priority = type_def.matrix.get(impact, {}).get(urgency)
            if priority not in PRIORITIES:
                found.append(
                    Problem(
                        f"priority_matrix.{impact}.{urgency}",
                        f"impact {impact} × urgency {urgency} needs a priority, one of {', '.join(PRIORITIES)}",
                    )
                )
    return found


def _form_problems(type_def: TypeDef) -> list[Problem]:
    found = []
    known = {f.key for f in type_def.fields}
    for channel, keys in type_def.forms.items():
        where = f"forms.{channel}"
        if channel not in CHANNELS:
            found.append(Problem("forms", f"no such channel {channel!r}; channels: {', '.join(CHANNELS)}"))
        found += [Problem(where, f"{key!r} is no field of this type") for key in keys if key not in known]
        found += [Problem(where, f"{key!r} is on the form twice") for key in _twice(keys)]
    portal = type_def.forms.get("portal")
    if portal is not None:
        for f in type_def.fields:
            if f.mandatory_at is Stage.CREATE and f.key not in portal:
                found.append(
                    Problem(
                        "forms.portal", f"{f.key!r} is mandatory at create, so the portal form must show it"
                    )
                )
    return found
