"""The agents' pages: log in with a token, the case list, one case with its articles.

Plain HTML rendered on the server (Jinja2, autoescaped), no JavaScript, no external assets.
The data comes from the cases service with the agent's identity, as the API would get it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.gateway import service
from services.gateway.auth import SESSION_COOKIE, Principal, safe_next
from services.gateway.casefields import shown_fields
from services.gateway.i18n import language, translator
from services.gateway.proxy import DownstreamError, downstreams, identity_headers
from services.gateway.settings import Settings
from shared.app import Ctx, ServiceContext

router = APIRouter(include_in_schema=False)

CASE_NUMBER = re.compile(r"^[A-Za-z0-9-]{1,40}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# What a page shows when the cases service answers with an error: (status, message key).
DOWNSTREAM_ERRORS = {401: (403, "forbidden"), 403: (403, "forbidden"), 404: (404, "not_found")}


class LoginRequired(Exception):
    """The page needs a logged-in agent; the browser is sent to the login form."""


class PageError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
    )
    env.filters["when"] = when
    env.filters["person"] = person
    return env


def when(value: Any) -> str:
    """An ISO timestamp from the API as ``YYYY-MM-DD HH:MM`` UTC; anything else as it came."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return "" if value is None else str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M")


def person(value: Any, *, full: bool = False) -> str:
    """A requester or sender (``{"email", "name"}``) as a name, or the name with the address."""
    if isinstance(value, dict):
        name, email = value.get("name"), value.get("email")
        if name and email and full:
            return f"{name} <{email}>"
        return str(name or email or "")
    return "" if value is None else str(value)


def render(request: Request, template: str, values: dict[str, Any], status: int = 200) -> HTMLResponse:
    env: jinja2.Environment = request.app.state.ctx.state["templates"]
    lang = language(request.headers.get("accept-language"))
    html = env.get_template(template).render(lang=lang, t=translator(lang), **values)
    return HTMLResponse(html, status_code=status, headers={"Vary": "Accept-Language, Cookie"})


async def viewer(request: Request, ctx: Ctx) -> Principal:
    """The logged-in agent, from the session cookie."""
    session_id = request.cookies.get(SESSION_COOKIE)
    principal = await service.session_principal(ctx.db, session_id=session_id) if session_id else None
    if principal is None:
        raise LoginRequired
    return principal


Viewer = Annotated[Principal, Depends(viewer)]


async def from_cases(ctx: ServiceContext, principal: Principal, path: str, params: dict[str, str]) -> Any:
    """JSON from the cases service, asked as the agent; its refusals become pages."""
    headers = {**identity_headers(principal), "accept": "application/json"}
    try:
        response = await downstreams(ctx).send("cases", "GET", path, params=params, headers=headers)
    except DownstreamError as exc:
        raise PageError(exc.status, "unavailable") from exc
    if response.status_code != 200:
        raise PageError(*DOWNSTREAM_ERRORS.get(response.status_code, (502, "error")))
    return response.json()


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/cases", status_code=303)


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": safe_next(next), "failed": False})


@router.post("/login")
async def login(
    request: Request, ctx: Ctx, token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = ""
) -> Response:
    settings: Settings = ctx.settings  # type: ignore[assignment]
    opened = await service.login(ctx.db, secret=token.strip(), days=settings.session_days) if token else None
    if opened is None:
        return render(request, "login.html", {"next": safe_next(next), "failed": True}, status=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        opened[0],
        max_age=int(settings.session_days * 86400),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request, ctx: Ctx) -> RedirectResponse:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await service.logout(ctx.db, session_id=session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )
    return response


@router.get("/cases")
async def case_list(
    request: Request,
    ctx: Ctx,
    principal: Viewer,
    status: str = "",
    queue: str = "",
    q: str = "",
    cursor: str = "",
) -> Response:
    filters = {key: value for key, value in {"status": status, "queue": queue, "q": q}.items() if value}
    page = await from_cases(
        ctx, principal, "/api/v1/cases", {**filters, **({"cursor": cursor} if cursor else {})}
    )
    next_cursor = page.get("next_cursor")
    next_url = f"/cases?{urlencode({**filters, 'cursor': next_cursor})}" if next_cursor else None
    values = {
        "principal": principal,
        "cases": page.get("items", []),
        "filters": filters,
        "next_url": next_url,
    }
    return render(request, "cases.html", values)


@router.get("/cases/{number}")
async def case_detail(request: Request, ctx: Ctx, principal: Viewer, number: str) -> Response:
    if not CASE_NUMBER.match(number):
        raise PageError(404, "not_found")
    case = await from_cases(ctx, principal, f"/api/v1/cases/{quote(number, safe='')}", {})
    # The type's agent form names and orders the fields; a type without configuration has none.
    form_path = f"/api/v1/case-types/{quote(case['type'], safe='')}/forms/agent"
    try:
        form = await from_cases(ctx, principal, form_path, {})
    except PageError:
        form = None
    lang = language(request.headers.get("accept-language"))
    fields = shown_fields(case.get("fields") or {}, form, lang)
    return render(request, "case.html", {"principal": principal, "case": case, "fields": fields})


# What a download keeps of the cases service's answer: the type, the file name and the rules
# that stop a browser from running mail content.
DOWNLOAD_HEADERS = (
    "content-type",
    "content-disposition",
    "content-security-policy",
    "x-content-type-options",
)


@router.get("/attachments/{sha256}")
async def attachment(ctx: Ctx, principal: Viewer, sha256: str) -> Response:
    """An attachment of a mail on a case the agent sees, for the links on the case page."""
    if not SHA256.match(sha256):
        raise PageError(404, "not_found")
    headers = identity_headers(principal)
    try:
        answer = await downstreams(ctx).send("cases", "GET", f"/api/v1/attachments/{sha256}", headers=headers)
    except DownstreamError as exc:
        raise PageError(exc.status, "unavailable") from exc
    if answer.status_code != 200:
        raise PageError(*DOWNSTREAM_ERRORS.get(answer.status_code, (502, "error")))
    kept = {name: answer.headers[name] for name in DOWNLOAD_HEADERS if name in answer.headers}
    return Response(content=answer.content, headers={**kept, "cache-control": "private, no-store"})


async def _login_required(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


async def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    return render(request, "error.html", {"message": exc.message}, status=exc.status)


def install(app: FastAPI) -> None:
    """Send anonymous visitors to the login form, and show the services' refusals as pages."""
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageError, _page_error)
