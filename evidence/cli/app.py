"""Per-invocation state and error handling shared by every command module.

`App` holds the settings and a lazily made engine; `EvidenceGroup` turns an `EvidenceError` into
one line on stderr and the error's exit code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from evidence.errors import EXIT_INTERRUPTED, ConfigError, EvidenceError

# Settings (pydantic), SQLAlchemy and Alembic are imported where used: `evidence --help` and
# `--version` never build an App and must start fast.
if TYPE_CHECKING:
    from sqlalchemy import Engine

    from evidence.config import Settings
    from evidence.pubmed.client import PubMedClient

F = TypeVar("F", bound=Callable[..., Any])


class App:
    """Per-invocation state: settings and a lazily created engine."""

    def __init__(self, settings: Settings) -> None:
        from evidence.config import default_database_url, evidence_home
        from evidence.linking import current, linkers

        self.settings = settings
        self._engine: Engine | None = None
        current.use(linkers.LinkerChoice(settings.linker, settings.stance_model))
        if settings.database_url == default_database_url():
            # The embedded default needs no set-up: its data directory is made here (a
            # database URL the user gives never creates directories; see db.make_engine).
            evidence_home().mkdir(parents=True, exist_ok=True)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from evidence.store import db

            self._engine = db.make_engine(self.settings.database_url)
        return self._engine

    def ready_engine(self) -> Engine:
        """The engine of a database at the code's schema head.

        A brand-new SQLite file (no tables at all) is migrated on first use, so the embedded
        default needs no set-up; anything else that is behind is refused with the fix.
        """
        from evidence.store import db

        db.ensure_ready(self.engine, self.settings.database_url)
        return self.engine

    def pubmed_client(self, *, batch_size: int | None = None, hint: str = "") -> PubMedClient:
        """An E-utilities client from the settings; no NCBI email is a configuration error."""
        from evidence.pubmed.client import PubMedClient

        settings = self.settings
        if not settings.ncbi_email:
            raise ConfigError(
                "NCBI asks every E-utilities user for a contact email; set NCBI_EMAIL or pass "
                "--email" + hint
            )
        limiter = None
        if settings.eutils_interval is not None and settings.eutils_url:
            from evidence.pubmed.client import NCBI_EUTILS_URL
            from evidence.pubmed.ratelimit import RateLimiter

            if not settings.eutils_url.startswith(NCBI_EUTILS_URL):
                limiter = RateLimiter(interval=settings.eutils_interval, burst=0)
        return PubMedClient(
            limiter=limiter,
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


def make_settings(database_url: str | None, email: str | None) -> Settings:
    from pydantic import ValidationError

    from evidence.config import Settings

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
