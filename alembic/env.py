"""Alembic environment: the models' metadata, a connection from the caller or a URL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, pool
from sqlmodel import SQLModel

import evidence.store.models  # noqa: F401  (registers the tables)
from alembic import context
from evidence.store.db import normalise_url
from evidence.store.search_index import is_search_index_object

config = context.config
target_metadata = SQLModel.metadata


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    # The full-text index is dialect-specific DDL kept out of the models (FTS5 virtual tables
    # on SQLite, a tsvector column on PostgreSQL); autogenerate must not try to drop it.
    return not is_search_index_object(name, type_)


def _configure(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # ALTER on SQLite goes through table copies
        compare_type=True,
        compare_server_default=True,
        include_object=include_object,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = normalise_url(config.get_main_option("sqlalchemy.url") or "")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
