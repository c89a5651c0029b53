"""`evidence runs` and `evidence status`: what ingests ran and what the database holds."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlmodel import Session

from evidence import db, store
from evidence.cli import App, pass_app
from evidence.db import connect
from evidence.models import IngestRun


@click.command()
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@pass_app
def runs(app: App, limit: int) -> None:
    """List recent ingest runs, newest first, with their counts and outcome.

    Example:

        evidence runs --limit 5
    """
    from evidence.ingest import mark_interrupted_runs

    engine = app.ready_engine()
    mark_interrupted_runs(engine)
    table = Table("run", "kind", "status", "started (UTC)", "secs", "new", "upd", "same",
                  "hist", "del", "req", "source / message")  # fmt: skip
    with Session(engine) as session:
        stmt = select(IngestRun).order_by(IngestRun.id.desc()).limit(limit)  # type: ignore[union-attr]
        for run in session.execute(stmt).scalars():
            secs = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
            table.add_row(
                str(run.id), run.kind, run.status, run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                f"{secs:.1f}" if secs is not None else "", str(run.n_new), str(run.n_updated),
                str(run.n_unchanged), str(run.n_skipped), str(run.n_deleted), str(run.n_requests),
                run.source + (f" — {run.message}" if run.message else ""),
            )  # fmt: skip
    Console(width=200).print(table)


@click.command()
@pass_app
def status(app: App) -> None:
    """Summarise the database: location, schema revision, articles, deletions, history.

    Example:

        evidence status
    """
    engine = app.ready_engine()
    with connect(engine) as conn:
        n = store.summary(conn)
    click.echo(
        f"database:  {db.redact_url(str(engine.url))}\n"
        f"revision:  {', '.join(db.current_revisions(engine))}\n"
        f"articles:  {n['articles']} ({n['articles'] - n['deleted']} current, "
        f"{n['deleted']} deleted)\n"
        f"history:   {n['revisions']} earlier record states\n"
        f"deletions: {n['deletions']} PMIDs named by DeleteCitation\n"
        f"runs:      {n['runs']}"
    )
