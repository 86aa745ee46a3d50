"""Where a new case from mail goes: type, queue, group, assignee and priority.

Three layers, the later winning field by field: the settings' defaults, the routing of the
mailbox the mail came in through, and the ``X-Allsak-*`` headers of a trusted channel (intake
passes those only for mailboxes marked trusted). A value that does not fit is ignored and
named in ``ignored``, so that the caller can log it; the layer below then stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

PRIORITIES = ("low", "normal", "high", "critical")

# Longest value each field takes (the case table's columns).
MAX_LENGTH = {"type": 60, "queue": 100, "group": 100, "assignee": 200, "priority": 20}

TRUSTED_HEADERS = {
    "x-allsak-type": "type",
    "x-allsak-queue": "queue",
    "x-allsak-group": "group",
    "x-allsak-assignee": "assignee",
    "x-allsak-priority": "priority",
}


@dataclass(frozen=True)
class Route:
    type: str | None = None
    queue: str | None = None
    group: str | None = None
    assignee: str | None = None
    priority: str | None = None


@dataclass(frozen=True)
class Routed:
    route: Route
    ignored: list[str] = field(default_factory=list)


def _problem(name: str, value: str) -> str | None:
    if len(value) > MAX_LENGTH[name]:
        return f"{name} longer than {MAX_LENGTH[name]} characters"
    if name == "priority" and value not in PRIORITIES:
        return f"priority {value!r} is not one of {', '.join(PRIORITIES)}"
    return None


def _layer(route: Route, values: Mapping[str, str | None], origin: str, ignored: list[str]) -> Route:
    changes: dict[str, str] = {}
    for name, raw in values.items():
        value = " ".join((raw or "").split())
        if not value:
            continue
        if name == "priority":
            value = value.lower()
        problem = _problem(name, value)
        if problem:
            ignored.append(f"{origin}: {problem}")
        else:
            changes[name] = value
    return replace(route, **changes)


def trusted_values(headers: Mapping[str, str]) -> dict[str, str]:
    """The routing fields named by ``X-Allsak-*`` headers, header names compared case-insensitively."""
    return {TRUSTED_HEADERS[k.lower()]: v for k, v in headers.items() if k.lower() in TRUSTED_HEADERS}


def route(*, defaults: Route, mailbox: Route | None, trusted_headers: Mapping[str, str]) -> Routed:
    """Defaults, overridden by the mailbox's routing, overridden by trusted headers."""
    ignored: list[str] = []
    routed = defaults
    if mailbox is not None:
        routed = _layer(routed, {f.name: getattr(mailbox, f.name) for f in fields(Route)}, "mailbox", ignored)
    routed = _layer(routed, trusted_values(trusted_headers), "trusted header", ignored)
    return Routed(routed, ignored)
