"""`evidence runs` and `evidence status`: what ingests ran and what the database holds."""

from __future__ import annotations

import json

import click
from rich.table import Table
from sqlalchemy import Engine

from evidence.cli.app import App, pass_app
from evidence.cli.output import print_table
from evidence.store import articles as store
from evidence.store import db
from evidence.store.db import connect


@click.command()
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--refresh", "refresh_only", is_flag=True, help="Only refresh runs.")
@pass_app
def runs(app: App, limit: int, refresh_only: bool) -> None:
    """List recent ingest runs and refresh runs, newest first, with counts and outcome.

    Example:

    \b
        evidence runs --limit 5
        evidence runs --refresh
    """
    from evidence.jobs.ingest import recent_runs

    engine = app.ready_engine()
    if refresh_only:
        _refresh_runs(engine, limit)
        return
    found = recent_runs(engine, limit)
    table = Table("run", "kind", "status", "started (UTC)", "secs", "new", "upd", "same",
                  "hist", "del", "req", "source / message")  # fmt: skip
    for run in found:
        secs = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
        table.add_row(
            str(run.id), run.kind, run.status, run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{secs:.1f}" if secs is not None else "", str(run.n_new), str(run.n_updated),
            str(run.n_unchanged), str(run.n_skipped), str(run.n_deleted), str(run.n_requests),
            run.source + (f" — {run.message}" if run.message else ""),
        )  # fmt: skip
    print_table(table)
    _refresh_runs(engine, limit)


def _refresh_runs(engine: Engine, limit: int) -> None:
    """Refresh runs, if any: status, windows' end day, searches, fetches, changes, errors."""
    from evidence.jobs.refresh import recent_refresh_runs

    rows = recent_refresh_runs(engine, limit)
    if not rows:
        return
    table = Table("refresh", "status", "started (UTC)", "secs", "through", "claims", "failed",
                  "esearch", "efetch", "fetched", "new", "upd", "links", "verdicts", "errors",
                  title="refresh runs")  # fmt: skip
    for run in rows:
        secs = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
        errors = json.loads(run.errors or "[]")
        table.add_row(
            str(run.id), run.status, run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{secs:.1f}" if secs is not None else "", run.today.isoformat(), str(run.n_claims),
            str(run.n_failed), str(run.n_searches), str(run.n_fetches), str(run.n_fetched),
            str(run.n_new), str(run.n_updated), str(run.n_new_links),
            str(run.n_verdict_changes), errors[0][:60] if errors else "",
        )  # fmt: skip
    print_table(table)


@click.command()
@pass_app
def status(app: App) -> None:
    """Summarise the database: location, schema revision, articles, deletions, history.

    Example:

    \b
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
