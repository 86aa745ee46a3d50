"""Routing rules acting on a new case, first in the lifecycle (see ``services.cases.lifecycle``).

The mailbox's routing and the values the caller gave are on the case already; the rules may
change them. The case type completes and checks the case after this, so a type or fields that a
rule sets are validated there. Rules are read afresh for every registration (one indexed query):
a cache could go stale between replicas.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from services.cases.relations import audit
from services.cases.rules import domain, repository
from shared.db import UnitOfWork

if TYPE_CHECKING:
    from services.cases.lifecycle import Registration
    from services.cases.models import Case

logger = logging.getLogger(__name__)


async def route(uow: UnitOfWork, case: Case, registration: Registration) -> None:
    """Apply the actions of the rules that fire to ``case`` and record which fired and why."""
    # The new case is in the session, not yet complete: reading the rules must not flush it.
    with uow.session.no_autoflush:
        rows = await repository.rules(uow.session)
    if not rows:
        return
    fields = {**registration.values, **(case.fields or {})}
    facts = domain.Facts(
        channel=registration.channel,
        requester_email=registration.requester_email,
        subject=case.subject,
        body=registration.body_text,
        type=case.type,
        mailbox_id=registration.mailbox_id,
        organisation_id=registration.organisation_id,
        fields=fields,
    )
    hits = domain.evaluate([repository.as_rule(row) for row in rows], facts)
    if not hits:
        return
    start = _values(case, fields)
    after = domain.apply(start, hits)
    _set(case, after, fields_changed=any("fields" in hit.actions for hit in hits))
    case.routing = [hit.as_record() for hit in hits]
    _record(uow, case, start, hits)
    logger.info(
        "case %s routed by %s",
        case.number,
        ", ".join(h.rule for h in hits),
        extra={"case_number": case.number},
    )


def _record(uow: UnitOfWork, case: Case, start: domain.Values, hits: list[domain.Hit]) -> None:
    """One audit entry per hit: what its actions replaced (old) and the hit itself (new)."""
    values = start
    for hit in hits:
        audit.record(
            uow,
            case,
            action="routing_rule",
            origin="rule",
            actor=f"rule:{hit.rule}",
            old=_replaced(values, hit),
            new=hit.as_record(),
        )
        values = domain.apply(values, [hit])


def _values(case: Case, fields: dict[str, Any]) -> domain.Values:
    return domain.Values(**{name: getattr(case, name) for name in domain.SETTABLE}, fields=fields)


def _replaced(values: domain.Values, hit: domain.Hit) -> dict[str, Any]:
    """What the hit's actions replace, for the audit trail's old → new."""
    old: dict[str, Any] = {name: getattr(values, name) for name in domain.SETTABLE if name in hit.actions}
    if "fields" in hit.actions:
        old["fields"] = {key: values.fields.get(key) for key in hit.actions["fields"]}
    return old


def _set(case: Case, values: domain.Values, *, fields_changed: bool) -> None:
    for name in domain.SETTABLE:
        value = getattr(values, name)
        if value != getattr(case, name):
            setattr(case, name, value)
    if fields_changed:
        case.fields = dict(values.fields)
