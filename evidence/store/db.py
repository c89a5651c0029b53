"""Engines, sessions and the schema's migration state.

The naming convention is set on `SQLModel.metadata` here, before `evidence.models` defines a
table, so every constraint gets a deterministic name that Alembic can find again on both
SQLite and PostgreSQL. The schema is created and changed only by Alembic (`upgrade`); product
code never calls `create_all`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, event, inspect, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.exc import DatabaseError as SADatabaseError
from sqlmodel import SQLModel

from alembic import command
from evidence.errors import DatabaseError, SchemaOutOfDate

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

# alembic/ sits at the repository root (a repo-checkout tool); see README "Layout".
ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"

T = TypeVar("T")


def normalise_url(url: str) -> str:
    """Accept `postgresql://` (what people paste) and run it on psycopg 3, the driver we ship."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def redact_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and a busy timeout."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"not a database URL: {url!r}; use e.g. sqlite:///path/evidence.db "
            "or postgresql://user@host/dbname"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseError(
            f"unsupported database {backend!r} in {redact_url(url)}: evidence runs on SQLite "
            "(sqlite:///path/evidence.db) or PostgreSQL (postgresql://user@host/dbname)"
        )
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            # A typo in a path must not create a new, empty database somewhere: only the
            # default data directory is created (by the CLI), never one named in a URL.
            folder = Path(parsed.database).expanduser().parent
            if not folder.is_dir():
                raise DatabaseError(
                    f"cannot open database {redact_url(url)}: directory {folder} does not "
                    "exist; create it, or fix EVIDENCE_DATABASE_URL or --database-url"
                )
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError):
        raise DatabaseError(
            f"unsupported database driver in {redact_url(url)}: use postgresql:// (psycopg 3)"
        ) from None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets readers (a reviewer's `claims show`) run while a refresh writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 64 MB of page cache: bulk ingest inserts into secondary indexes (MeSH descriptor ...) in
    # random order, and a small cache turns that into page thrashing.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection, with connection failures turned into one-line `DatabaseError`s."""
    try:
        conn = engine.connect()
    except (OperationalError, SADatabaseError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(
            f"cannot open database {redact_url(str(engine.url))}: {reason}; "
            "check EVIDENCE_DATABASE_URL or --database-url"
        ) from None
    with conn:
        yield conn


def alembic_config(url: str) -> Config:
    """The Alembic configuration, built in code so `evidence db` works from any directory."""
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def head_revisions(url: str) -> tuple[str, ...]:
    return tuple(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def current_revisions(engine: Engine) -> tuple[str, ...]:
    with connect(engine) as conn:
        return tuple(MigrationContext.configure(conn).get_current_heads())


def ensure_ready(engine: Engine, url: str) -> None:
    """Make sure the database is at the code's schema head: a brand-new SQLite file (no tables
    at all) is migrated, so the embedded default needs no set-up; anything else that is behind
    is refused with the fix (`SchemaOutOfDate`)."""
    if is_sqlite(engine) and not current_revisions(engine):
        with connect(engine) as conn:
            empty = not inspect(conn).get_table_names()
        if empty:
            upgrade(url)
    ensure_at_head(engine)


def ensure_at_head(engine: Engine) -> None:
    """Raise `SchemaOutOfDate` unless the database is at the code's migration head."""
    heads = head_revisions(str(engine.url))
    current = current_revisions(engine)
    if set(current) == set(heads):
        return
    where = redact_url(str(engine.url))
    if not current:
        raise SchemaOutOfDate(
            f"database {where} has no evidence schema yet; run: evidence db upgrade"
        )
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    known = {rev.revision for rev in script.walk_revisions()}
    if not set(current) <= known:
        raise SchemaOutOfDate(
            f"database {where} is at revision {', '.join(current)}, which this version of "
            "evidence does not know (a newer evidence wrote it); upgrade evidence"
        )
    raise SchemaOutOfDate(
        f"database {where} is at revision {', '.join(current)}, this version of evidence "
        f"expects {', '.join(heads)}; run: evidence db upgrade"
    )


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def batched(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """Slices of `items`, to keep `IN (...)` lists under SQLite's variable limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _run_alembic(url: str, action: str, revision: str) -> None:
    cfg = alembic_config(url)
    engine = make_engine(url)
    try:
        with connect(engine) as conn:
            cfg.attributes["connection"] = conn
            getattr(command, action)(cfg, revision)
            conn.commit()
    except (OperationalError, SADatabaseError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(f"migration failed on {redact_url(url)}: {reason}") from None
    except CommandError as exc:
        raise DatabaseError(f"{exc}; run: evidence db current") from None
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the schema up to `revision` (Alembic is the only way the schema changes)."""
    _run_alembic(url, "upgrade", revision)


def downgrade(url: str, revision: str) -> None:
    _run_alembic(url, "downgrade", revision)
