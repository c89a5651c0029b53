"""The `evidence` command: a thin layer over the library.

Expected failures arrive as `EvidenceError`s and leave as one line on stderr with the error's
exit code (see README "Exit codes"); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
from pydantic import ValidationError
from sqlalchemy import Engine, inspect

from evidence import db
from evidence.config import Settings, default_database_url, evidence_home
from evidence.errors import ConfigError, EvidenceError

if TYPE_CHECKING:
    from evidence.pubmed import PubMedClient

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INTERRUPTED = 130


class App:
    """Per-invocation state: settings and a lazily created engine."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        if settings.database_url == default_database_url():
            # The embedded default needs no set-up: its data directory is made here (a
            # database URL the user gives never creates directories; see db.make_engine).
            evidence_home().mkdir(parents=True, exist_ok=True)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = db.make_engine(self.settings.database_url)
        return self._engine

    def ready_engine(self) -> Engine:
        """The engine of a database at the code's schema head.

        A brand-new SQLite file (no tables at all) is migrated on first use, so the embedded
        default needs no set-up; anything else that is behind is refused with the fix.
        """
        engine = self.engine
        if db.is_sqlite(engine) and not db.current_revisions(engine):
            with db.connect(engine) as conn:
                empty = not inspect(conn).get_table_names()
            if empty:
                db.upgrade(self.settings.database_url)
        db.ensure_at_head(engine)
        return engine

    def pubmed_client(self, *, batch_size: int | None = None, hint: str = "") -> PubMedClient:
        """An E-utilities client from the settings; no NCBI email is a configuration error."""
        from evidence.pubmed import PubMedClient

        settings = self.settings
        if not settings.ncbi_email:
            raise ConfigError(
                "NCBI asks every E-utilities user for a contact email; set NCBI_EMAIL or pass "
                "--email" + hint
            )
        return PubMedClient(
            email=settings.ncbi_email,
            api_key=settings.api_key(),
            base_url=settings.eutils_url,
            batch_size=batch_size or settings.batch_size,
            max_tries=settings.eutils_max_tries,
            backoff=settings.eutils_backoff,
        )

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


pass_app = click.make_pass_decorator(App)


class EvidenceGroup(click.Group):
    """Turns library errors into one-line messages and meaningful exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EvidenceError as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            click.echo(f"Error: {message}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted; committed work is kept, rerun to continue.", err=True)
            ctx.exit(EXIT_INTERRUPTED)


def _settings(database_url: str | None, email: str | None) -> Settings:
    overrides: dict[str, Any] = {}
    if database_url:
        overrides["database_url"] = database_url
    if email:
        overrides["ncbi_email"] = email
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"invalid setting {where}: {first['msg']}") from None


@click.group(cls=EvidenceGroup)
@click.option(
    "--database-url",
    metavar="URL",
    help="Database URL (default: EVIDENCE_DATABASE_URL, else a SQLite file in EVIDENCE_HOME).",
)
@click.option(
    "--email", metavar="ADDRESS", help="Contact email sent to NCBI (default: NCBI_EMAIL)."
)
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.version_option(package_name="evidence")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, email: str | None, verbose: int) -> None:
    """evidence: an evidence-tracking literature database over PubMed.

    Example:

    \b
        evidence db upgrade
        evidence ingest pubmed21n1298.xml.gz
        evidence articles show 33847897
    """
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        app = App(_settings(database_url, email))
    except EvidenceError as exc:
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(exc.exit_code)
    ctx.obj = app
    ctx.call_on_close(app.close)


def _register() -> None:
    from evidence.cli import (
        articles,
        audit,
        claims,
        dbcmd,
        docs,
        export,
        grade,
        ingest,
        refresh,
        report,
        review,
        runs,
        web,
    )

    cli.add_command(dbcmd.db_group)
    cli.add_command(ingest.ingest)
    cli.add_command(ingest.pubmed)
    cli.add_command(articles.articles)
    cli.add_command(runs.runs)
    cli.add_command(runs.status)
    cli.add_command(docs.docs)
    cli.add_command(claims.claims)
    cli.add_command(audit.link)
    cli.add_command(audit.audit)
    cli.add_command(grade.grade)
    cli.add_command(export.export)
    cli.add_command(refresh.refresh)
    cli.add_command(report.report)
    cli.add_command(review.review)
    cli.add_command(web.serve)
    cli.add_command(web.users)


_register()
