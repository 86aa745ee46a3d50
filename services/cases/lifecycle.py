"""The order in which the configured rules act on a case, on every path that registers or
changes one (API, agent pages, mail, bulk update, templates, rules, integrations).

Registering: the routing rules (which may set type, queue, group, assignee, priority and
fields) → the case type completes the case (its first status, field defaults, priority from the
impact × urgency matrix) and checks the fields mandatory at creation → assignment picks an agent
where the group assigns automatically → the SLA policy sets the due times.

Changing: the case type checks a change before it is applied (the transition is allowed, the
fields mandatory at the stage the case enters are there, the priority follows the matrix);
after it is applied, the SLA clocks follow the case. Nothing else changes a case, so there is
one gate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.cases.casetypes import gate
from services.cases.models import Article, Case
from services.cases.rules import assignment, engine
from services.cases.sla import clocks
from shared.db import UnitOfWork
from shared.events.cases import FieldChange


@dataclass(frozen=True)
class Registration:
    """What a new case came with, beyond the row: the facts routing rules look at and the field
    values given."""

    channel: str
    requester_email: str
    organisation_id: str | None = None
    mailbox_id: str | None = None
    body_text: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)
    # A mail is never refused for a missing field: nobody could answer the sender's 422. Its
    # case is registered, and the fields are asked for when an agent moves it on.
    enforce_create_gate: bool = True


async def registering(uow: UnitOfWork, case: Case, registration: Registration) -> None:
    await engine.route(uow, case, registration)
    await gate.complete(uow, case, registration)
    await gate.refresh_search_text(uow, case)
    await assignment.assign(uow, case)
    await clocks.start(uow, case)


async def changing(uow: UnitOfWork, case: Case, changes: Mapping[str, Any], *, origin: str) -> dict[str, Any]:
    """The change as it will be applied, or ``gate.ChangeRefused`` naming what is missing."""
    return await gate.check_change(uow, case, changes, origin=origin)


async def changed(uow: UnitOfWork, case: Case, diff: Mapping[str, FieldChange]) -> None:
    if any(name == "type" or name.startswith("fields") for name in diff):
        await gate.refresh_search_text(uow, case)
    await clocks.case_changed(uow, case, diff)


async def article_added(uow: UnitOfWork, case: Case, article: Article) -> None:
    await clocks.article_added(uow, case, article)
