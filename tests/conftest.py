"""Shared fixtures: isolated environment, migrated SQLite and PostgreSQL databases, CLI runner.

PostgreSQL is not optional: tests that take `db_url` run on both engines, and when the server
named by EVIDENCE_TEST_POSTGRES_URL (default: the project machines' local server) cannot be
reached they fail rather than skip. `.ci/run` checks the server first for a clearer message.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import evidence.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from evidence.cli import cli
from evidence.store import db

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SHARED_DATA = ROOT.parent / "shared" / "data"
PG_ADMIN_URL = os.environ.get(
    "EVIDENCE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Every table of the schema, from the models Alembic checks migrations against (see
# test_migrations), so a new migration's table is emptied between tests without editing this.
TABLES = ", ".join(sorted(SQLModel.metadata.tables))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads a real data directory, database or NCBI credentials."""
    for name in list(os.environ):
        if name.startswith(("EVIDENCE_", "NCBI_")) and name != "EVIDENCE_TEST_POSTGRES_URL":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EVIDENCE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EVIDENCE_RATELIMIT_FILE", str(tmp_path / "eutils.ratelimit"))
    # The pipeline's tests run the lexical linker: deterministic by construction, fast, and
    # what their expected links were written for. The hybrid default and the trained linker are
    # tested in tests/test_hybrid_linker.py and tests/test_trained_linker.py, which choose
    # their linker themselves.
    monkeypatch.setenv("EVIDENCE_LINKER", "lexical")
    from evidence.linking import current, linkers

    monkeypatch.setattr(current, "_choice", linkers.LinkerChoice("lexical"))
    # pytest-xdist workers start with COLUMNS=80 (no terminal to ask); piped tables read
    # COLUMNS, so without this a worker would wrap tables that a serial run keeps whole.
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


def pg_url(database: str) -> str:
    return db.normalise_url(
        make_url(db.normalise_url(PG_ADMIN_URL)).set(database=database).render_as_string(False)
    )


def create_pg_database() -> str:
    """A new, empty PostgreSQL database; returns its URL."""
    name = f"evidence_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(db.normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(
            f"PostgreSQL is required and not reachable at {PG_ADMIN_URL}: {exc}", pytrace=False
        )
    finally:
        admin.dispose()
    return pg_url(name)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(db.normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "evidence.db"
    db.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_session_db() -> Iterator[str]:
    url = create_pg_database()
    db.upgrade(url)
    yield url
    drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database on each engine."""
    if request.param == "sqlite":
        path = tmp_path / "evidence.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("pg_session_db")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "evidence.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


class Invoker:
    """Runs the CLI in-process against one database and returns click's Result."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return self.runner.invoke(
            cli, ["--database-url", self.url, *args], env=env, catch_exceptions=False
        )


@pytest.fixture
def evidence(db_url: str) -> Invoker:
    return Invoker(db_url)


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of `sql` on the database at `url`, through a connection of its own."""
    engine = create_engine(db.normalise_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def fixture_path(name: str) -> Path:
    return FIXTURES / "pubmed" / name


def requires_shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs ../shared/data/{'/'.join(parts)} (third-party data, not shipped)")
    return path
