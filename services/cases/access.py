"""The caller's access, per request: who the gateway says it is, looked up in this service.

The gateway authenticates callers and forwards who they are in ``X-Allsak-User`` (a user id,
or ``admin`` for its bootstrap token) and ``X-Allsak-Role``, after dropping any identity
headers a client sent. A request **without** ``X-Allsak-User`` is an internal call with full
access. That is safe because when ``ALLSAK_INTERNAL_TOKEN`` is set every request must carry
it (the app's middleware checks, and ``viewer`` checks again for internal calls); when it is
not set, whoever can reach the service directly is trusted, as before: in the embedded mode
only the gateway's port is served, in the distributed mode set the token.

The rules themselves are in ``services.cases.domain.access``. A case the caller may not see is
answered exactly like a case that does not exist (see ``api.py``).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, status

from services.cases import repository
from services.cases.domain.access import BOOTSTRAP_ADMIN, INTERNAL, Access, access_for, identity
from shared.app import ServiceContext, context
from shared.http import INTERNAL_TOKEN_HEADER, ROLE_HEADER, USER_HEADER


async def viewer(
    ctx: Annotated[ServiceContext, Depends(context)],
    user: Annotated[str | None, Header(alias=USER_HEADER, include_in_schema=False)] = None,
    role: Annotated[str | None, Header(alias=ROLE_HEADER, include_in_schema=False)] = None,
    internal_token: Annotated[
        str | None, Header(alias=INTERNAL_TOKEN_HEADER, include_in_schema=False)
    ] = None,
) -> Access:
    """FastAPI dependency: what the caller may see, from its identity and this service's groups."""
    who = identity(user, role)
    if who is None:
        expected = ctx.settings.internal_token
        if expected and not hmac.compare_digest((internal_token or "").encode(), expected.encode()):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "internal token required")
        return INTERNAL
    if who.role is None or who.subject == BOOTSTRAP_ADMIN:
        return access_for(who, None)
    async with ctx.db.sessions() as session:
        member = await repository.member(session, who.subject)
    return access_for(who, member)


Viewer = Annotated[Access, Depends(viewer)]


def require_admin(access: Access) -> None:
    """Users, groups and queues are changed by admins (and internal calls) only."""
    if not access.administers:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admin role required")


def require_known(access: Access) -> None:
    """Reading users, groups and queues needs a caller this service knows (not a stranger)."""
    if not access.known:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "unknown or inactive user")
