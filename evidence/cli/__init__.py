"""The `evidence` command: a thin layer over the library.

Expected failures arrive as `EvidenceError`s and leave as one line on stderr with the error's
exit code (see README "Exit codes"); anything else is a bug and keeps its traceback.

`app` holds the shared state; each other module is one command group that only parses and
prints. May import: everything below it (`evidence.jobs`, `evidence.outputs`, the stages,
`evidence.store`, the base modules); nothing imports `evidence.cli`.
"""

from __future__ import annotations

import logging
import sys

import click

from evidence.cli.app import App, EvidenceGroup, make_settings, pass_app
from evidence.errors import EvidenceError

__all__ = ["App", "cli", "pass_app"]


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
        app = App(make_settings(database_url, email))
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


_register()
