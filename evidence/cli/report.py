"""`evidence report`: the reviewer's audit report, as a static site or on the terminal."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from evidence.cli.app import App, pass_app
from evidence.cli.output import print_table


def write_report(app: App, out_dir: Path, document_id: str | None = None) -> Path:
    from evidence.outputs.report import collect, write_site

    return write_site(collect(app.ready_engine(), document_id), out_dir)


@click.command()
@click.option(
    "--html",
    "html_dir",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="Write the static site into DIR (replacing a report there).",
)
@click.option("--document", "document_id", metavar="ID",
              help="The document to report on (when the database holds several).")  # fmt: skip
@pass_app
def report(app: App, html_dir: Path | None, document_id: str | None) -> None:
    """The audit report: every claim's verdict, certainty and evidence by stance.

    With --html, a self-contained static site (index with the evidence map, the article with
    its claims highlighted, a page per claim with reasons, evidence table and verdict history,
    and the latest refresh's changes) that opens from disk with no network. Without it, the
    same summary on the terminal.

    Example:

    \b
        evidence report
        evidence report --html report/ && chromium report/index.html
    """
    if html_dir is not None:
        index = write_report(app, html_dir, document_id)
        click.echo(f"report written: {index}")
        return
    from evidence.outputs.report import collect
    from evidence.vocab import STANCES

    data = collect(app.ready_engine(), document_id)
    click.echo(f"{data.title}")
    if data.document_hash:
        click.echo(f"document {data.document_id} sha256 {data.document_hash}")
    refreshed = data.refreshed_at.strftime("%Y-%m-%d %H:%M UTC") if data.refreshed_at else "never"
    click.echo(f"evidence last refreshed: {refreshed}")
    for warning in data.provenance.warnings:
        click.echo(f"Not PubMed data: {warning}")
    table = Table("claim", "verdict", "certainty", *STANCES)
    for view in data.claims:
        a = view.grade.assessment
        table.add_row(view.claim.id, view.label, a.certainty or "-",
                      *(str(view.counts[s]) for s in STANCES))  # fmt: skip
    print_table(table)
    click.echo(f"{len(data.claims)} claim(s)")
