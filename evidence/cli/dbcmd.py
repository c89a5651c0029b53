"""`evidence db`: the schema's migration state (upgrade, downgrade, current, check)."""

from __future__ import annotations

import click

from evidence.cli.app import App, pass_app
from evidence.store import db


@click.group("db")
def db_group() -> None:
    """Create and migrate the database schema (Alembic)."""


@db_group.command()
@click.argument("revision", default="head")
@pass_app
def upgrade(app: App, revision: str) -> None:
    """Upgrade the schema to REVISION (default: the latest).

    Example:

    \b
        evidence db upgrade
    """
    db.upgrade(app.settings.database_url, revision)
    current = ", ".join(db.current_revisions(app.engine)) or "base"
    click.echo(f"database {db.redact_url(str(app.engine.url))} is at revision {current}")


@db_group.command()
@click.argument("revision")
@pass_app
def downgrade(app: App, revision: str) -> None:
    """Downgrade the schema to REVISION ("base" removes every table).

    Example:

    \b
        evidence db downgrade base
    """
    db.downgrade(app.settings.database_url, revision)
    current = ", ".join(db.current_revisions(app.engine)) or "base"
    click.echo(f"database {db.redact_url(str(app.engine.url))} is at revision {current}")


@db_group.command()
@pass_app
def current(app: App) -> None:
    """Print the database's revision and the code's head.

    Example:

    \b
        evidence db current
    """
    revs = ", ".join(db.current_revisions(app.engine)) or "base (empty)"
    heads = ", ".join(db.head_revisions(app.settings.database_url))
    click.echo(f"database: {revs}\ncode:     {heads}")


@db_group.command()
@pass_app
def check(app: App) -> None:
    """Exit 0 if the database is at the code's head, else 4 with the fix.

    Example:

    \b
        evidence db check || evidence db upgrade
    """
    db.ensure_at_head(app.engine)
    click.echo("database schema is up to date")
