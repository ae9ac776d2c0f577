"""Log in once: a token becomes a session held in an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import (
    AUTH_RESPONSES,
    BAD_BODY,
    Auth,
    Caller,
    check_not_locked,
    client_address,
    log,
    token_failed,
)
from api.schemas import ErrorBody, LoginIn, SessionOut

router = APIRouter(prefix="/api/v1/session", tags=["session"])


@router.post(
    "",
    summary="Log in with a token; sets the session cookie",
    responses={
        401: {"model": ErrorBody, "description": "not a valid token"},
        429: AUTH_RESPONSES[429],
        **BAD_BODY,
    },
)
async def login(body: LoginIn, request: Request, response: Response, state: Auth) -> SessionOut:
    client = client_address(request)
    check_not_locked(state, client)
    principal = state.tokens.authenticate(body.token)
    if principal is None:
        raise token_failed(state, client)
    session_id = state.sessions.create(principal, state.now_s(), body.token)
    await state.save_sessions()
    cfg = state.config
    response.set_cookie(
        cfg.cookie_name,
        session_id,
        max_age=int(cfg.session_ttl_s),
        httponly=True,
        samesite="strict",
        secure=cfg.cookie_secure,
        path="/",
    )
    log.info("api.logged_in", name=principal.name, role=principal.role.value, client=client)
    return SessionOut(name=principal.name, role=principal.role)


@router.get("", summary="Who is logged in", responses=AUTH_RESPONSES)
async def whoami(principal: Caller) -> SessionOut:
    return SessionOut(name=principal.name, role=principal.role)


@router.delete(
    "",
    summary="Log out: forget the session and clear the cookie",
    status_code=204,
    response_class=Response,
)
async def logout(request: Request, state: Auth) -> Response:
    session_id = request.cookies.get(state.config.cookie_name)
    if session_id:
        state.sessions.drop(session_id)
        await state.save_sessions()
    response = Response(status_code=204)
    response.delete_cookie(state.config.cookie_name, path="/", httponly=True, samesite="strict")
    return response
