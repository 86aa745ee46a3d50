"""The one gate of case types: it completes every new case (``complete``, from
``lifecycle.registering``) and checks every change before it is applied (``check_change``, from
``service.change_case``, which every path that changes a case goes through: API, bulk update,
templates, mail, merge, rules, integrations). The rules are in ``changes``; this module loads
what they need and checks that referenced users, customers and assets exist.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from services.cases.casetypes import changes as rules
from services.cases.casetypes import service, values
from services.cases.casetypes.domain import ChangeRefused, Problem, TypeDef, invalid
from shared.db import UnitOfWork

if TYPE_CHECKING:
    from services.cases.lifecycle import Registration
    from services.cases.models import Case

__all__ = ["ChangeRefused", "check_change", "check_given_priority", "complete", "first_status"]

logger = logging.getLogger(__name__)


async def complete(uow: UnitOfWork, case: Case, registration: Registration) -> None:
    """Give a new case its type's first status, its field values (the caller's, then what routing
    rules set) coerced, defaults and the priority from the matrix; refuse it when a value is wrong
    or a field mandatory at creation is missing, unless the registration is not to be refused
    (mail), when wrong values are dropped (and logged) and missing fields are asked for later."""
    enforce = registration.enforce_create_gate
    raw = {**registration.values, **(case.fields or {})}
    # The new case is in the session, not complete yet: reading must not flush it half done.
    with uow.session.no_autoflush:
        type_def = await service.load_type(uow.session, case.type)
        fields, problems = values.coerce_values(type_def, raw)
        fields, found = await service.check_references(uow.session, type_def, fields)
    problems += found
    if problems and enforce:
        raise invalid(problems)
    for problem in problems:
        fields.pop(problem.field, None)
        logger.warning("case %s: field %s dropped: %s", case.number, problem.field, problem.message)
    plan = rules.plan_registration(
        type_def,
        fields=fields,
        impact=case.impact,
        urgency=case.urgency,
        priority=case.priority,
        enforce=enforce,
    )
    for name, value in plan.items():
        setattr(case, name, value)


async def refresh_search_text(uow: UnitOfWork, case: Case) -> None:
    """The words of the case's field values, kept on the case for full-text search."""
    with uow.session.no_autoflush:
        type_def = await service.load_type(uow.session, case.type)
    case.fields_text = values.search_text(type_def, case.fields or {})


async def check_change(
    uow: UnitOfWork, case: Case, changes: Mapping[str, Any], *, origin: str
) -> dict[str, Any]:
    """The change as it will be applied (``status_category`` follows ``status``; the priority
    follows the matrix), or ``ChangeRefused`` naming each missing field, wrong value, or the
    statuses a refused transition could go to."""
    requested = {k: v for k, v in changes.items() if k != "status_category"}
    current = await service.load_type(uow.session, case.type)
    target = current
    if "type" in requested and requested["type"] != case.type:
        target = await service.load_type(uow.session, requested["type"])
    if "fields" in requested:
        requested["fields"] = await _partial_fields(uow, target, requested["fields"] or {})
    state = rules.CaseState(
        type=case.type,
        status=case.status,
        status_category=case.status_category,
        priority=case.priority,
        impact=case.impact,
        urgency=case.urgency,
        fields=dict(case.fields or {}),
        others={k: getattr(case, k) for k in requested if k not in rules.MANAGED},
    )
    return rules.plan_change(state, requested, current=current, target=target)


async def _partial_fields(uow: UnitOfWork, target: TypeDef, partial: Mapping[str, Any]) -> dict[str, Any]:
    clean, problems = values.coerce_values(target, partial, keep_absent=True)
    present = {k: v for k, v in clean.items() if v is not None}
    resolved, found = await service.check_references(uow.session, target, present)
    if problems or found:
        raise invalid(problems + found)
    return {**clean, **resolved}


async def first_status(uow: UnitOfWork, case: Case, category: str) -> str | None:
    """For automatic moves (a customer's mail, the first reply, a merge): the case type's first
    status of ``category`` that the case's status may change to; None when there is none."""
    type_def = await service.load_type(uow.session, case.type)
    return type_def.first_status(category, after=case.status)


async def check_given_priority(uow: UnitOfWork, case: Case) -> None:
    """A priority the caller gave a new case is refused where its type derives the priority from
    impact × urgency (registration cannot tell a given priority from the default, so the
    registering use case asks)."""
    type_def = await service.load_type(uow.session, case.type)
    if type_def.matrix is not None:
        raise invalid(
            [
                Problem(
                    "priority",
                    f"case type {type_def.key!r} derives the priority from impact × urgency: "
                    "set impact and urgency instead",
                )
            ]
        )
