"""The gate of a case type, free of I/O: what a new case becomes and whether a change may be made.

Stages. A case in category new, open or waiting_* is at stage ``create``; resolved, at
``resolve``; closed, at ``close`` (it has passed resolving too).

- Fields mandatory at ``create`` must be there from registration on. A mail's registration is
  not refused for them (nobody could answer the sender), so they are required by the first
  change of the case, by anyone.
- When the status changes (or the type does), every field mandatory at the stage the case then
  is in, or at an earlier one, must be there: resolving needs the ``resolve`` fields, closing
  the ``resolve`` and ``close`` fields.
- Clearing a field mandatory at a stage the case is in or past is refused.
- **Merge**: a change that marks the case merged into another (``merged_into``) closes it as a
  duplicate *without* its mandatory fields. A duplicate carries nothing of its own (its articles
  move to the survivor, which still needs every field when it is closed), and asking for, say,
  a corrected invoice number on a duplicate would only invent one. The rule follows from what
  the change is; no caller can ask for it on another change. Transitions still apply.

A no-op (nothing differs from the case) is never refused. Every refusal names each missing
field, each wrong value, or the statuses a refused transition could have gone to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.cases.casetypes import values
from services.cases.casetypes.domain import (
    CATEGORY_FALLBACK,
    ChangeRefused,
    FieldDef,
    Problem,
    Stage,
    TypeDef,
    invalid,
    naming,
    present,
    stage_of,
)
from services.cases.domain.statuses import Category

# What the case type decides; any other key of a change (assignee, queue, ...) passes through.
MANAGED = frozenset({"status", "status_category", "type", "fields", "impact", "urgency", "priority"})


@dataclass(frozen=True)
class CaseState:
    """The case as it is, before the change. ``others`` holds the current values of the other
    keys the change names (assignee, queue, ...)."""

    type: str
    status: str
    status_category: str
    priority: str
    impact: str | None = None
    urgency: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    others: Mapping[str, Any] = field(default_factory=dict)


def is_merge(changes: Mapping[str, Any]) -> bool:
    """The change closes the case as a duplicate of another (see the merge rule above)."""
    return changes.get("merged_into") is not None


def plan_registration(
    type_def: TypeDef,
    *,
    fields: Mapping[str, Any],
    impact: str | None,
    urgency: str | None,
    priority: str,
    enforce: bool,
) -> dict[str, Any]:
    """A new case's status (the type's first ``new`` one), fields, impact and urgency (the
    type's defaults when not given) and priority (from the matrix where the type has one and
    both are known). ``enforce``: refuse a case that lacks a field mandatory at creation."""
    if enforce and type_def.configured and not type_def.active:
        raise invalid([Problem("type", f"case type {type_def.key!r} is not active")])
    impact = impact or type_def.default_impact
    urgency = urgency or type_def.default_urgency
    missing = [
        f for f in type_def.fields if f.mandatory_at is Stage.CREATE and not present(fields.get(f.key))
    ]
    if enforce and missing:
        raise ChangeRefused(
            f"registering a case of type {type_def.label!r} needs {naming(missing)}", fields=missing
        )
    return {
        "status": type_def.first_status(Category.NEW.value) or Category.NEW.value,
        "status_category": Category.NEW.value,
        "fields": dict(fields),
        "impact": impact,
        "urgency": urgency,
        "priority": type_def.priority_for(impact, urgency) or priority,
    }


def plan_change(
    state: CaseState, changes: Mapping[str, Any], *, current: TypeDef, target: TypeDef
) -> dict[str, Any]:
    """The change as it will be applied (only what differs, ``status_category`` with
    ``status``), or ``ChangeRefused``. ``changes["fields"]``, if given, is a partial map already
    coerced for ``target`` (None removes a field); ``target`` is the type after the change."""
    retyped = target.key != state.type
    if retyped and not (target.configured and target.active):
        raise invalid([Problem("type", f"{target.key!r} is no active, configured case type")])
    fields, cleared, problems = _next_fields(state, changes.get("fields"), target, retyped=retyped)
    base = _mapped_status(state, target) if retyped else state.status
    status = changes.get("status", base)
    if target.status(status) is None and (retyped or status != state.status):
        problems.append(
            Problem("status", f"no such status of case type {target.key!r}; its statuses: {_keys(target)}")
        )
    if problems:
        raise invalid(problems)
    if status != base and not target.allows(base, status):
        allowed = target.allowed_after(base)
        raise ChangeRefused(
            f"case type {target.key!r} does not allow status {base!r} to change to {status!r}; "
            f"allowed: {', '.join(allowed) or 'none'}",
            problems=[Problem("status", f"not allowed after {base!r}")],
            allowed=allowed,
        )
    known = target.status(status)
    category = known.category if known is not None else state.status_category
    impact, urgency, priority = _priority(state, changes, target, retyped=retyped)
    after = {
        "type": target.key,
        "status": status,
        "status_category": category,
        "fields": fields,
        "impact": impact,
        "urgency": urgency,
        "priority": priority,
    }
    before = {
        "type": state.type,
        "status": state.status,
        "status_category": state.status_category,
        "fields": dict(state.fields),
        "impact": state.impact,
        "urgency": state.urgency,
        "priority": state.priority,
    }
    changed = {key: value for key, value in after.items() if before[key] != value}
    if "status" in changed:
        changed["status_category"] = category
    others = {k: v for k, v in changes.items() if k not in MANAGED and state.others.get(k) != v}
    if not changed and not others:
        return {}
    if not is_merge(changes):
        _gate(state, target, fields, cleared, category, entering="status" in changed or retyped)
    return {**others, **changed}


def _gate(
    state: CaseState,
    target: TypeDef,
    fields: Mapping[str, Any],
    cleared: set[str],
    category: str,
    *,
    entering: bool,
) -> None:
    stage = stage_of(category)
    reached = target.mandatory_up_to(stage)
    required = {f.key for f in target.fields if f.mandatory_at is Stage.CREATE}
    if entering:
        required |= {f.key for f in reached}
    required |= {f.key for f in reached if f.key in cleared}
    missing = [f for f in target.fields if f.key in required and not present(fields.get(f.key))]
    if missing:
        raise ChangeRefused(
            f"{_doing(state, target, category, entering)} needs {naming(missing)}", fields=missing
        )


def _doing(state: CaseState, target: TypeDef, category: str, entering: bool) -> str:
    kind = f"a case of type {target.label!r}"
    if target.key != state.type:
        return f"changing the type to {target.label!r}"
    if entering and category == Category.CLOSED.value:
        return f"closing {kind}"
    if entering and category == Category.RESOLVED.value:
        return f"resolving {kind}"
    return f"changing {kind}"


def _next_fields(
    state: CaseState, partial: Mapping[str, Any] | None, target: TypeDef, *, retyped: bool
) -> tuple[dict[str, Any], set[str], list[Problem]]:
    """The fields after the change, the keys it clears, and the kept values that no longer fit.
    A new type keeps the values of the fields it has too (if they fit it) and drops the rest."""
    partial = partial or {}
    fields = dict(state.fields)
    problems: list[Problem] = []
    if retyped:
        fields = {}
        for key, value in state.fields.items():
            definition = target.field(key)
            if definition is None or key in partial:
                continue
            kept = _kept(definition, value, target, problems)
            if kept is not None:
                fields[key] = kept
    cleared = set()
    for key, value in partial.items():
        if value is None:
            if present(fields.pop(key, None)):
                cleared.add(key)
        else:
            fields[key] = value
    return fields, cleared, problems


def _kept(definition: FieldDef, value: Any, target: TypeDef, problems: list[Problem]) -> Any:
    try:
        return values.coerce(definition, value)
    except values.InvalidValue as exc:
        problems.append(
            Problem(
                definition.key,
                f"the value does not fit case type {target.key!r} ({exc.message}): give a new one, or null",
            )
        )
        return None


def _mapped_status(state: CaseState, target: TypeDef) -> str:
    """A case changing type keeps its category: the new type's first status of it."""
    category = state.status_category
    if target.first_status(category) is None:
        category = CATEGORY_FALLBACK.get(category, Category.OPEN.value)
    return target.first_status(category) or category


def _priority(
    state: CaseState, changes: Mapping[str, Any], target: TypeDef, *, retyped: bool
) -> tuple[str | None, str | None, str]:
    impact = changes["impact"] if "impact" in changes else state.impact
    urgency = changes["urgency"] if "urgency" in changes else state.urgency
    if retyped:
        impact = impact or target.default_impact
        urgency = urgency or target.default_urgency
    if target.matrix is None:
        return impact, urgency, changes.get("priority") or state.priority
    if "priority" in changes and changes["priority"] != state.priority:
        raise invalid(
            [
                Problem(
                    "priority",
                    f"case type {target.key!r} derives the priority from impact × urgency: "
                    "set impact and urgency instead",
                )
            ]
        )
    derived = target.priority_for(impact, urgency)
    moved = retyped or impact != state.impact or urgency != state.urgency
    return impact, urgency, derived if derived is not None and moved else state.priority


def _keys(type_def: TypeDef) -> str:
    return ", ".join(type_def.status_keys())
