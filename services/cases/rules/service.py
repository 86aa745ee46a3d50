"""Use cases of routing configuration: write and read rules, try them, set a group's assignment method.

Each owns one unit of work. A rule is checked against what exists when it is written (queues,
groups, case types, users, organisations), so that a typo answers 422 at once instead of
sending cases nowhere; what it says is then applied as it stands (see ``engine``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import repository as cases_repository
from services.cases.directory import NotFound, Rejected
from services.cases.domain.customers import organisation_for
from services.cases.models import Group
from services.cases.rules import domain, repository, turns
from services.cases.rules.models import GroupAssignment, RoutingRule
from services.cases.rules.schemas import RuleActions, RuleConditions, TryFacts
from services.cases.settings import Settings
from shared.db import Database

logger = logging.getLogger(__name__)


async def create_rule(
    db: Database,
    *,
    settings: Settings,
    actor: str | None,
    name: str,
    active: bool,
    position: int | None,
    conditions: RuleConditions,
    actions: RuleActions,
    stop: bool,
) -> RoutingRule:
    """A new rule, after the last one unless a position is given; what it names must exist."""
    async with db.uow() as uow:
        stored_conditions = await _checked_conditions(uow.session, conditions)
        stored_actions = await _checked_actions(uow.session, settings, actions)
        if position is None:
            last = await repository.last_position(uow.session)
            position = 0 if last is None else last + 1
        now = uow.now()
        rule = RoutingRule(
            id=str(db.ids()),
            position=position,
            name=name.strip(),
            active=active,
            conditions=stored_conditions,
            actions=stored_actions,
            stop=stop,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(rule)
        await uow.commit()
    logger.info("routing rule %s (%s) created by %s", rule.id, rule.name, actor)
    return rule


async def update_rule(
    db: Database, *, settings: Settings, actor: str | None, rule_id: str, changes: dict[str, Any]
) -> RoutingRule:
    """Change a rule; conditions and actions given replace the old ones whole, and are checked."""
    async with db.uow() as uow:
        rule = await uow.session.get(RoutingRule, rule_id)
        if rule is None:
            raise NotFound(rule_id)
        if (conditions := changes.pop("conditions", None)) is not None:
            rule.conditions = await _checked_conditions(
                uow.session, RuleConditions.model_validate(conditions)
            )
        if (actions := changes.pop("actions", None)) is not None:
            rule.actions = await _checked_actions(uow.session, settings, RuleActions.model_validate(actions))
        for name, value in changes.items():
            if value is not None:
                setattr(rule, name, value.strip() if name == "name" else value)
        rule.updated_at = uow.now()
        await uow.commit()
    logger.info("routing rule %s changed by %s", rule_id, actor)
    return rule


async def delete_rule(db: Database, *, actor: str | None, rule_id: str) -> None:
    """Remove a rule; the cases it routed keep the record of it."""
    async with db.uow() as uow:
        rule = await uow.session.get(RoutingRule, rule_id)
        if rule is None:
            raise NotFound(rule_id)
        await uow.session.delete(rule)
        await uow.commit()
    logger.info("routing rule %s deleted by %s", rule_id, actor)


async def get_rule(db: Database, *, rule_id: str) -> RoutingRule:
    async with db.sessions() as session:
        rule = await session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(rule_id)
    return rule


async def list_rules(db: Database) -> list[RoutingRule]:
    async with db.sessions() as session:
        return await repository.rules(session, include_inactive=True)


@dataclass(frozen=True)
class Tried:
    hits: list[domain.Hit]
    result: domain.Values


async def try_rules(db: Database, *, settings: Settings, facts: TryFacts) -> Tried:
    """What the rules would do with a case like this one; nothing is stored."""
    async with db.sessions() as session:
        rows = await repository.rules(session, include_inactive=facts.include_inactive)
        organisation_id = facts.organisation_id or await _organisation_of(session, facts.requester_email)
    type_ = facts.type or settings.default_type
    hits = domain.evaluate(
        [repository.as_rule(row) for row in rows],
        domain.Facts(
            channel=facts.channel,
            requester_email=facts.requester_email.lower(),
            subject=facts.subject,
            body=facts.body_text,
            type=type_,
            mailbox_id=facts.mailbox_id,
            organisation_id=organisation_id,
            fields=facts.fields,
        ),
    )
    start = domain.Values(
        type=type_,
        queue=facts.queue or settings.default_queue,
        group=facts.group,
        assignee=facts.assignee,
        priority=facts.priority or settings.default_priority,
        impact=facts.impact,
        urgency=facts.urgency,
        fields=facts.fields,
    )
    return Tried(hits, domain.apply(start, hits))


@dataclass(frozen=True)
class AssignmentView:
    group: Group
    state: GroupAssignment | None

    @property
    def method(self) -> turns.Method:
        return turns.Method(self.state.method) if self.state else turns.Method.MANUAL


async def get_assignment(db: Database, *, group_id: str) -> AssignmentView:
    async with db.sessions() as session:
        group = await session.get(Group, group_id)
        if group is None:
            raise NotFound(group_id)
        return AssignmentView(group, await repository.assignment(session, group_id))


async def set_assignment(
    db: Database, *, actor: str | None, group_id: str, method: turns.Method
) -> AssignmentView:
    """Set how the group's new cases get an agent; the round-robin turn is kept across changes."""
    async with db.uow() as uow:
        group = await uow.session.get(Group, group_id)
        if group is None:
            raise NotFound(group_id)
        state = await repository.assignment(uow.session, group_id, lock=True)
        if state is None:
            state = GroupAssignment(group_id=group_id, method=method.value, updated_at=uow.now())
            uow.session.add(state)
        else:
            state.method = method.value
            state.updated_at = uow.now()
        await uow.commit()
    logger.info("group %s assigns %s, set by %s", group.key, method.value, actor)
    return AssignmentView(group, state)


async def _organisation_of(session: AsyncSession, email: str) -> str | None:
    """The organisation registration would give this requester: theirs if known, else by domain."""
    customer = await cases_repository.customer_by_email(session, email)
    if customer is not None:
        return customer.organisation_id
    return organisation_for(email, await cases_repository.organisation_domains(session))


async def _checked_conditions(session: AsyncSession, conditions: RuleConditions) -> dict[str, Any]:
    if conditions.organisation:
        known = await repository.organisation_ids(session, conditions.organisation)
        for missing in (o for o in conditions.organisation if o not in known):
            raise Rejected(
                "conditions.organisation",
                f"no organisation with id {missing!r}: use an id from GET /api/v1/organisations",
                missing,
            )
    return conditions.model_dump(exclude_none=True)


async def _checked_actions(session: AsyncSession, settings: Settings, actions: RuleActions) -> dict[str, Any]:
    if actions.queue is not None:
        queues = await repository.queue_keys(session, [actions.queue])
        if actions.queue not in queues:
            raise Rejected(
                "actions.queue",
                f"no queue {actions.queue!r}: create it (POST /api/v1/queues) or name an existing queue",
                actions.queue,
            )
        if not queues[actions.queue]:
            raise Rejected(
                "actions.queue", f"queue {actions.queue!r} is retired: name an active queue", actions.queue
            )
    if actions.group is not None and not await repository.group_keys(session, [actions.group]):
        raise Rejected(
            "actions.group",
            f"no group {actions.group!r}: create it (POST /api/v1/groups) or name an existing group's key",
            actions.group,
        )
    if actions.type is not None and actions.type != settings.default_type:
        # The default type works without configuration; any other must be configured and active.
        active = await repository.case_type_active(session, actions.type)
        if active is None:
            raise Rejected(
                "actions.type",
                f"no case type {actions.type!r}: configure it (POST /api/v1/case-types) or name an existing one",
                actions.type,
            )
        if not active:
            raise Rejected(
                "actions.type", f"case type {actions.type!r} is inactive: name an active type", actions.type
            )
    stored = actions.model_dump(exclude_none=True)
    if actions.assignee is not None:
        email = actions.assignee.strip().lower()
        if await repository.active_user(session, email) is None:
            raise Rejected("actions.assignee", f"no active user with email {email!r}", actions.assignee)
        stored["assignee"] = email
    return stored
