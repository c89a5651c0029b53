"""The workbench's ASGI app (Starlette): routes, cookies, CSRF checks, rendering.

Handlers are thin: they authenticate, check the CSRF token and the role, call the library
(`jobs.review.record_decision` for every decision, `views` for what a page shows) and render a
Jinja2 template with autoescaping on. Database work runs in Starlette's thread pool (the
library is synchronous); each request uses its own connection and each write one transaction.

Pages: `/login` is the only page served without a session; every other page redirects there.
`/static/keys.js` (the keyboard shortcuts, not a page) is public.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import evidence.web.auth as auth
import evidence.web.views as views
from evidence.errors import EvidenceError, InputError, NotFound
from evidence.grading import reviews as review
from evidence.grading.rules import GRADING_VERSION
from evidence.jobs.review import record_decision
from evidence.outputs.flow import reason_label
from evidence.store.db import connect
from evidence.vocab import EXCLUSION_REASONS, STANCES
from evidence.web.auth import User

__all__ = ["create_app"]

SESSION_COOKIE = "evidence_session"
LOGIN_CSRF_COOKIE = "evidence_login_csrf"
FLASH_COOKIE = "evidence_flash"
STATIC = Path(__file__).resolve().parent / "static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class SecurityHeaders:
    """Adds the headers every response needs (CSP, no sniffing, no framing, no caching)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"cache-control", b"no-store"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("evidence", "web/templates"),
                PackageLoader("evidence.outputs", "templates/report"),
            ]
        ),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        grading_version=GRADING_VERSION,
        stances=STANCES,
        reasons=[(r, reason_label(r)) for r in EXCLUSION_REASONS],
        reason_label=reason_label,
    )
    env.filters["when"] = lambda d: d.strftime("%Y-%m-%d %H:%M UTC") if d else "never"
    env.filters["kappa"] = lambda a: (
        "—" if a is None else (f"{a.kappa:.3f}" if a.kappa is not None else "undefined")
    )
    return env


def _safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to (never another site: no scheme, no host, no `//`)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


class Workbench:
    def __init__(self, engine: Engine, secret: str, *, secure_cookies: bool = False) -> None:
        self.engine = engine
        self.secure = secure_cookies
        self.signer = URLSafeSerializer(secret, salt="evidence.web.session")
        self.flash_signer = URLSafeSerializer(secret, salt="evidence.web.flash")
        self.env = _environment()

    # --- plumbing ---------------------------------------------------------------------------

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status)

    def _cookie(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
            secure=self.secure,
        )  # fmt: skip

    def _token(self, request: Request) -> str | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            token = self.signer.loads(raw)
        except BadSignature:
            return None
        return token if isinstance(token, str) else None

    def current(self, request: Request) -> tuple[User, str] | None:
        token = self._token(request)
        if token is None:
            return None
        with connect(self.engine) as conn:
            return auth.session_user(conn, token)

    def to_login(self, request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    def take_flash(self, request: Request, response: Response) -> None:
        if FLASH_COOKIE in request.cookies:
            response.delete_cookie(FLASH_COOKIE, path="/")

    def flash(self, request: Request) -> list[str]:
        raw = request.cookies.get(FLASH_COOKIE)
        if not raw:
            return []
        try:
            value = self.flash_signer.loads(raw)
        except BadSignature:
            return []
        return [str(v) for v in value] if isinstance(value, list) else []

    def redirect_with_flash(self, target: str, messages: list[str]) -> RedirectResponse:
        response = RedirectResponse(target, status_code=303)
        self._cookie(response, FLASH_COOKIE, self.flash_signer.dumps(messages), 120)
        return response

    def page(
        self, request: Request, user: User, csrf: str, name: str, status: int = 200, **ctx: Any
    ) -> HTMLResponse:
        with connect(self.engine) as conn:
            blind = review.blind_mode(conn)
        response = self.render(
            name, status, user=user, csrf=csrf, flashes=self.flash(request), blind=blind,
            path=request.url.path, **ctx,
        )  # fmt: skip
        self.take_flash(request, response)
        return response

    # --- login ------------------------------------------------------------------------------

    def login_form(self, request: Request, error: str | None = None, status: int = 200) -> Response:
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or auth.new_token()
        response = self.render(
            "login.html.j2", status, csrf=token, error=error,
            next=_safe_next(request.query_params.get("next")), user=None, flashes=[],
        )  # fmt: skip
        self._cookie(response, LOGIN_CSRF_COOKIE, token, 3600)
        return response

    def login(self, request: Request, form: FormData) -> Response:
        if not auth.same_token(
            str(form.get("csrf", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
        ):
            return self.render("error.html.j2", 403, user=None, flashes=[],
                               message="The form expired or did not come from this site; "
                               "reload the login page and try again.")  # fmt: skip
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        address = request.client.host if request.client else "unknown"
        with connect(self.engine) as conn, conn.begin():
            result = auth.check_login(conn, name, password, address)
            token = auth.start_session(conn, result.user) if result.user else None
        if token is None:
            if result.wait:
                message = f"Too many failed logins; try again in {result.wait} s."
                response = self.login_form(request, message, 429)
                response.headers["retry-after"] = str(result.wait)
                return response
            return self.login_form(request, "Wrong user name or password.", 401)
        target = _safe_next(str(form.get("next", "")))
        response = RedirectResponse(target, status_code=303)
        self._cookie(response, SESSION_COOKIE, self.signer.dumps(token), auth.SESSION_HOURS * 3600)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response

    def logout(self, request: Request, user: User, csrf: str, form: FormData) -> Response:
        token = self._token(request)
        if token is not None:
            with connect(self.engine) as conn, conn.begin():
                auth.end_session(conn, token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # --- pages ------------------------------------------------------------------------------

    def home(self, request: Request, user: User, csrf: str) -> Response:
        try:
            page_no = int(request.query_params.get("page", "1"))
        except ValueError:
            page_no = 1
        with connect(self.engine) as conn:
            rows, page_no, pages = views.claim_rows(conn, user, page=page_no)
        return self.page(
            request, user, csrf, "claims.html.j2", rows=rows, page_no=page_no, pages=pages
        )

    def claim(self, request: Request, user: User, csrf: str) -> Response:
        claim_id = request.path_params["claim_id"]
        show = "all" if request.query_params.get("show") == "all" else "awaiting"
        try:
            page_no = int(request.query_params.get("page", "1"))
        except ValueError:
            page_no = 1
        with connect(self.engine) as conn:
            data = views.claim_page(
                conn, user, claim_id, page=page_no, show=show,
                all_evidence=request.query_params.get("evidence") == "all",
            )  # fmt: skip
        return self.page(request, user, csrf, "claim.html.j2", view=data)

    def conflicts(self, request: Request, user: User, csrf: str) -> Response:
        if not user.adjudicates:
            return self.forbidden(request, user, csrf, "Only adjudicators resolve conflicts.")
        with connect(self.engine) as conn:
            found = review.conflicts(conn)
        return self.page(request, user, csrf, "conflicts.html.j2", conflicts=found)

    def agreement(self, request: Request, user: User, csrf: str) -> Response:
        with connect(self.engine) as conn:
            rows = review.agreement(conn)
        return self.page(request, user, csrf, "agreement.html.j2", rows=rows)

    def next_link(self, request: Request, user: User, csrf: str) -> Response:
        with connect(self.engine) as conn:
            items = review.queue(conn, reviewer=user.name, limit=1)
        if not items:
            return self.redirect_with_flash("/", ["Nothing left to review. Thank you."])
        item = items[0]
        return RedirectResponse(f"/claims/{quote(item.claim_id)}#link-{item.link_id}", 303)

    def settings(self, request: Request, user: User, csrf: str) -> Response:
        if not user.is_admin:
            return self.forbidden(request, user, csrf, "Only admins change review settings.")
        return self.page(request, user, csrf, "settings.html.j2")

    def forbidden(self, request: Request, user: User, csrf: str, message: str) -> Response:
        return self.page(request, user, csrf, "error.html.j2", 403, message=message)

    # --- actions ----------------------------------------------------------------------------

    def decide(
        self, request: Request, user: User, csrf: str, form: FormData, *, adjudicate: bool
    ) -> Response:
        if adjudicate and not user.adjudicates:
            return self.forbidden(request, user, csrf, "Only adjudicators resolve conflicts.")
        link_id = int(request.path_params["link_id"])
        action = str(form.get("action", ""))
        stance = str(form.get("stance", "")) or None
        reason = str(form.get("reason", "")) or None
        note = str(form.get("note", "")).strip() or None
        back = _safe_next(str(form.get("back", "")), "/")
        decision = {"accept": "accept", "reject": "reject", "correct": "correct"}.get(action)
        try:
            if decision is None:
                raise InputError("choose accept, reject or correct")
            if decision == "reject" and reason is None:
                raise InputError("a reject needs an exclusion reason from the list")
            if decision != "correct":
                stance = None
            if decision != "reject":
                reason = None
            with connect(self.engine) as conn, conn.begin():
                # The reviewer is the signed-in user, never a form field.
                done = record_decision(
                    conn, link_id, user.name, decision, stance, note,
                    reason=reason, adjudication=adjudicate,
                )  # fmt: skip
        except NotFound as exc:
            return self.page(request, user, csrf, "error.html.j2", 404, message=str(exc))
        except EvidenceError as exc:
            return self.redirect_with_flash(back, [f"Not recorded: {exc}"])
        made = done.decision
        what = {"accept": "accepted", "reject": "rejected", "correct": "corrected"}[made.decision]
        detail = f" as {made.stance}" if made.stance else ""
        detail += f" ({reason_label(made.exclusion_reason)})" if made.exclusion_reason else ""
        verb = "resolved" if adjudicate else what
        message = (
            f"Link {link_id} {verb}{detail}. Verdict: {done.before_label} → {done.after_label}"
        )
        g = done.grade
        certainty_after = (g.assessment.certainty or "none").replace("_", " ")
        certainty_before = (
            (done.before.certainty or "none").replace("_", " ") if done.before else "none"
        )
        message += f"; certainty {certainty_before} → {certainty_after}"
        message += " (changed)." if g.changed else " (unchanged)."
        return self.redirect_with_flash(back, [message])

    def set_blind(self, request: Request, user: User, csrf: str, form: FormData) -> Response:
        if not user.is_admin:
            return self.forbidden(request, user, csrf, "Only admins change review settings.")
        blind = str(form.get("blind", "")) == "on"
        with connect(self.engine) as conn, conn.begin():
            review.set_blind_mode(conn, blind, user.name)
        state = "on" if blind else "off"
        return self.redirect_with_flash("/settings", [f"Blind review is {state}."])


Handler = Callable[[Request], Awaitable[Response]]


def create_app(engine: Engine, secret: str, *, secure_cookies: bool = False) -> ASGIApp:
    """The workbench app over `engine` (at the schema head); `secret` signs the cookies."""
    if len(secret) < 32:
        raise InputError("the workbench secret must be at least 32 characters")
    bench = Workbench(engine, secret, secure_cookies=secure_cookies)

    def page(method: Callable[..., Response]) -> Handler:
        def run(request: Request) -> Response:
            found = bench.current(request)
            if found is None:
                return bench.to_login(request)
            return method(request, *found)

        async def endpoint(request: Request) -> Response:
            return await run_in_threadpool(run, request)

        return endpoint

    def action(method: Callable[..., Response]) -> Handler:
        def run(request: Request, form: FormData) -> Response:
            found = bench.current(request)
            if found is None:
                return bench.to_login(request)
            user, csrf = found
            if not auth.same_token(str(form.get("csrf", "")), csrf):
                return bench.render(
                    "error.html.j2", 403, user=user, csrf=csrf, flashes=[],
                    message="The form expired or did not come from this site (CSRF token "
                    "missing or wrong); reload the page and try again.",
                )  # fmt: skip
            return method(request, user, csrf, form)

        async def endpoint(request: Request) -> Response:
            async with request.form(max_files=0, max_fields=50) as form:
                return await run_in_threadpool(run, request, form)

        return endpoint

    async def login_get(request: Request) -> Response:
        if await run_in_threadpool(bench.current, request) is not None:
            return RedirectResponse(_safe_next(request.query_params.get("next")), 303)
        return bench.login_form(request)

    async def login_post(request: Request) -> Response:
        async with request.form(max_files=0, max_fields=10) as form:
            return await run_in_threadpool(bench.login, request, form)

    async def keys_js(request: Request) -> Response:
        return FileResponse(STATIC / "keys.js", media_type="text/javascript")

    def decide(request: Request, user: User, csrf: str, form: FormData) -> Response:
        return bench.decide(request, user, csrf, form, adjudicate=False)

    def resolve(request: Request, user: User, csrf: str, form: FormData) -> Response:
        return bench.decide(request, user, csrf, form, adjudicate=True)

    routes = [
        Route("/login", login_get, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", action(bench.logout), methods=["POST"]),
        Route("/", page(bench.home), methods=["GET"]),
        Route("/claims/{claim_id:str}", page(bench.claim), methods=["GET"]),
        Route("/conflicts", page(bench.conflicts), methods=["GET"]),
        Route("/agreement", page(bench.agreement), methods=["GET"]),
        Route("/next", page(bench.next_link), methods=["GET"]),
        Route("/settings", page(bench.settings), methods=["GET"]),
        Route("/settings/blind", action(bench.set_blind), methods=["POST"]),
        Route("/links/{link_id:int}/decide", action(decide), methods=["POST"]),
        Route("/links/{link_id:int}/resolve", action(resolve), methods=["POST"]),
        Route("/static/keys.js", keys_js, methods=["GET"]),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return HTMLResponse("<!DOCTYPE html><title>Not found</title><h1>Not found</h1>", 404)

    async def known_error(request: Request, exc: Exception) -> Response:
        # An unknown claim id and the like: one line, no traceback.
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        html = bench.env.get_template("error.html.j2").render(user=None, flashes=[], message=text)
        return HTMLResponse(html, 404 if isinstance(exc, NotFound) else 400)

    app = Starlette(
        routes=routes,
        exception_handlers={404: not_found, EvidenceError: known_error},
    )
    return SecurityHeaders(app)
