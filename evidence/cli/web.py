"""`evidence serve` (the reviewers' workbench) and `evidence users add` (its accounts)."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click

from evidence.cli.app import App, pass_app
from evidence.config import evidence_home
from evidence.errors import ConfigError, InputError
from evidence.vocab import USER_ROLES as ROLES

SECRET_FILE = "web-secret"


def _secret(given: str | None) -> str:
    """The cookie-signing secret: EVIDENCE_WEB_SECRET, else one kept in the data directory.

    Kept in a file (mode 0600) so that sessions survive a restart; delete the file to sign
    everyone out.
    """
    if given:
        if len(given) < 32:
            raise ConfigError("EVIDENCE_WEB_SECRET must be at least 32 characters")
        return given
    path: Path = evidence_home() / SECRET_FILE
    if path.is_file():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    value = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(value + "\n")
    return value


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; other than loopback only behind a reverse proxy.",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--secure-cookies",
    is_flag=True,
    help="Mark cookies Secure (when a proxy serves the workbench over HTTPS).",
)
@click.option(
    "--secret",
    envvar="EVIDENCE_WEB_SECRET",
    metavar="TEXT",
    hidden=True,
    help="Cookie-signing secret (default: EVIDENCE_WEB_SECRET, else a kept file).",
)
@pass_app
def serve(app: App, host: str, port: int, secure_cookies: bool, secret: str | None) -> None:
    """Serve the reviewers' workbench: log in, judge links blind and in pairs, adjudicate.

    Accounts come from `evidence users add`. The database may be refreshed while it is served.

    Example:

    \b
        evidence users add alice --role reviewer
        evidence serve --host 127.0.0.1 --port 8000
    """
    import uvicorn

    from evidence.web import create_app

    engine = app.ready_engine()
    web = create_app(engine, _secret(secret), secure_cookies=secure_cookies)
    click.echo(f"evidence workbench on http://{host}:{port}/ (Ctrl+C to stop)", err=True)
    uvicorn.run(web, host=host, port=port, log_level="warning", server_header=False)


@click.group("users")
def users() -> None:
    """Workbench accounts (passwords are stored only as argon2 hashes).

    Example:

    \b
        evidence users add alice --role reviewer
        printf '%s\\n' "$PASSWORD" | evidence users add carol --role adjudicator --password-stdin
    """


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="reviewer", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_app
def users_add(app: App, name: str, role: str, password_stdin: bool) -> None:
    """Add a user NAME with a role, or set an existing user's role and password.

    The password comes from a prompt (typed twice), or with --password-stdin from the first
    line of standard input (for scripts).

    Example:

    \b
        evidence users add alice --role reviewer
        echo "$BOB_PASSWORD" | evidence users add bob --role reviewer --password-stdin
    """
    from evidence.store.db import connect
    from evidence.web.auth import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise InputError("no password given")
    with connect(app.ready_engine()) as conn, conn.begin():
        user, created = add_user(conn, name, role, password)
    click.echo(f"user {user.name} ({user.role}) {'added' if created else 'updated'}")
