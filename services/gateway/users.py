"""The users the cases service keeps, as the gateway needs them: whom a token is issued to, and
whether an admin token still belongs to an active admin.

The gateway asks as itself (an internal call, no identity headers): it has checked the caller
already, and the answer decides what the gateway does, not what the caller sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from services.gateway.auth import Role
from services.gateway.proxy import DownstreamError, Downstreams

# User ids are UUIDs; anything else (an email, a service name) is no user of the cases service.
USER_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


@dataclass(frozen=True)
class User:
    id: str
    role: Role
    active: bool


async def lookup(services: Downstreams, user_id: str) -> User | None:
    """The user with this id, or None; a failing cases service raises DownstreamError."""
    if not USER_ID.match(user_id):
        return None
    response = await services.send(
        "cases", "GET", f"/api/v1/users/{quote(user_id, safe='')}", headers={"accept": "application/json"}
    )
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise DownstreamError(502, f"cases answered {response.status_code} for a user")
    try:
        body = response.json()
        return User(id=str(body["id"]), role=Role(body["role"]), active=body["active"] is True)
    except (KeyError, TypeError, ValueError) as exc:
        raise DownstreamError(502, "cases sent an unreadable user") from exc


async def is_active_admin(services: Downstreams, subject: str) -> bool:
    """Whether ``subject`` is an active admin user now (their role may have changed since the
    token was issued: a demoted admin keeps their token, not their admin rights)."""
    user = await lookup(services, subject)
    return user is not None and user.active and user.role is Role.ADMIN
