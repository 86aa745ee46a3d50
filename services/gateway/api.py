"""The gateway's own API (tokens, who am I, the OpenAPI document) and the proxy to the services."""

from __future__ import annotations

from collections.abc import Awaitable
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response, status
from fastapi.openapi.utils import get_openapi

from services.gateway import openapi, proxy, service, users
from services.gateway.auth import ADMIN_SUBJECT, Principal, bearer_token
from services.gateway.schemas import Me, TokenCreate, TokenCreated, TokenList, TokenRead, UserTokenCreate
from shared.app import Ctx

router = APIRouter(prefix="/api/v1")
TITLE = "Allsak API"
T = TypeVar("T")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


async def caller(
    ctx: Ctx, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Principal:
    """The caller of an API route, by the bearer token it sent."""
    token = bearer_token(authorization)
    if token is None:
        raise _unauthorized("bearer token required")
    principal = await service.authenticate(ctx.db, secret=token)
    if principal is None:
        raise _unauthorized("unknown or revoked token")
    return principal


Caller = Annotated[Principal, Depends(caller)]


async def admin(principal: Caller, ctx: Ctx) -> Principal:
    """An admin token: the bootstrap one, or one of a user who is an active admin still."""
    if not principal.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admin role required")
    if principal.subject != ADMIN_SUBJECT and not await _ask(
        users.is_active_admin(proxy.downstreams(ctx), principal.subject)
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admin role required")
    return principal


Admin = Annotated[Principal, Depends(admin)]


@router.get("/openapi.json", include_in_schema=False)
async def openapi_document(request: Request, ctx: Ctx) -> dict[str, Any]:
    async def build() -> dict[str, Any]:
        own = get_openapi(title=TITLE, version=_version(), routes=request.app.routes)
        docs = await openapi.fetch_documents(proxy.downstreams(ctx))
        return openapi.merge(own, docs, title=TITLE, version=_version())

    cache: openapi.OpenApiCache = ctx.state["openapi"]
    return await cache.get(build)


@router.get("/me", response_model=Me, tags=["tokens"])
async def me(principal: Caller) -> Me:
    return Me(subject=principal.subject, role=principal.role, token_id=principal.token_id)


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED, tags=["tokens"])
async def create_token(body: TokenCreate, ctx: Ctx, _: Admin) -> TokenCreated:
    issued = await service.create_token(ctx.db, name=body.name, subject=body.subject, role=body.role)
    return TokenCreated(**TokenRead.model_validate(issued.token).model_dump(), token=issued.secret)


@router.post(
    "/users/{user_id}/tokens",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    tags=["tokens"],
)
async def create_user_token(user_id: str, body: UserTokenCreate, ctx: Ctx, _: Admin) -> TokenCreated:
    """A token for a user of the cases service, with their current role; shown once."""
    user = await _ask(users.lookup(proxy.downstreams(ctx), user_id))
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "user not found")
    if not user.active:
        raise HTTPException(status.HTTP_409_CONFLICT, "user is not active")
    issued = await service.create_token(ctx.db, name=body.name, subject=user.id, role=user.role)
    return TokenCreated(**TokenRead.model_validate(issued.token).model_dump(), token=issued.secret)


@router.get("/tokens", response_model=TokenList, tags=["tokens"])
async def list_tokens(ctx: Ctx, _: Admin) -> TokenList:
    return TokenList(items=[TokenRead.model_validate(t) for t in await service.list_tokens(ctx.db)])


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["tokens"])
async def revoke_token(token_id: str, ctx: Ctx, _: Admin) -> Response:
    try:
        await service.revoke_token(ctx.db, token_id=token_id)
    except service.TokenNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "token not found") from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Last: everything under /api/v1/ that is not the gateway's own goes to the service that owns it.
@router.api_route("/{path:path}", methods=proxy.METHODS, include_in_schema=False)
async def forward(request: Request, ctx: Ctx, principal: Caller) -> Response:
    return await proxy.forward(request, principal=principal, services=proxy.downstreams(ctx))


async def _ask(call: Awaitable[T]) -> T:
    """A call to a service; one that fails answers the caller as the proxy would."""
    try:
        return await call
    except proxy.DownstreamError as exc:
        raise HTTPException(exc.status, exc.detail) from None


def _version() -> str:
    try:
        return version("allsak")
    except PackageNotFoundError:
        return "0.0.0"
