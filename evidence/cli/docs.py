"""`evidence docs`: register documents and look at their versions."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from sqlmodel import Session

from evidence.claims import documents
from evidence.claims.catalog import list_claims
from evidence.cli.app import App, pass_app
from evidence.cli.output import print_table


@click.group()
def docs() -> None:
    """Documents that make claims: their texts, hashes and versions."""


@docs.command("add")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--id", "document_id", metavar="ID", help="Document id (default: from the file name)."
)
@click.option("--title", help="Document title.")
@click.option("--url", help="Where the document was published.")
@pass_app
def add(app: App, path: Path, document_id: str | None, title: str | None, url: str | None) -> None:
    """Register a document's text (UTF-8) and its sha256.

    Adding the same text again changes nothing. A different text under the same id becomes a
    new version, and claims whose quotes are no longer in it are flagged for review.

    Example:

    \b
        evidence docs add catalogs/kratom-withdrawal-article.txt --title "Kratom and withdrawal"
    """
    text = documents.read_text(path)
    engine = app.ready_engine()
    with Session(engine) as session, session.begin():
        result = documents.add_document(
            session,
            document_id or documents.slugify(path.name),
            text,
            title=title,
            url=url,
            source_path=str(path.resolve()),
        )
    click.echo(result.summary())


@docs.command("list")
@pass_app
def list_cmd(app: App) -> None:
    """List documents with their current version, hash and claim counts.

    Example:

    \b
        evidence docs list
    """
    engine = app.ready_engine()
    with Session(engine) as session:
        rows = documents.list_documents(session)
    if not rows:
        click.echo("no documents; add one with: evidence docs add PATH")
        return
    table = Table("id", "version", "chars", "sha256", "claims", "needs review", "title")
    for row in rows:
        table.add_row(
            row.id,
            str(row.version),
            str(row.chars),
            row.content_hash[:12],
            str(row.claims),
            str(row.needs_review),
            row.title or "",
        )
    print_table(table)


@docs.command("show")
@click.argument("document_id", metavar="ID")
@click.option("--text", "show_text", is_flag=True, help="Print the current text as well.")
@pass_app
def show(app: App, document_id: str, show_text: bool) -> None:
    """Show a document: metadata, every version with its hash, its claims' status.

    Example:

    \b
        evidence docs show kratom-withdrawal-article
    """
    engine = app.ready_engine()
    with Session(engine) as session:
        document = documents.get_document(session, document_id)
        versions = documents.document_versions(session, document_id)
        claims = list_claims(session, document_id)
        text = documents.current_text(session, document).text if show_text else None
    out = [f"document {document.id} (version {document.current_version})"]
    out.append(f"title: {document.title or '-'}")
    out.append(f"url:   {document.url or '-'}")
    out.append("versions:")
    for v in versions:
        out.append(
            f"  {v.version}  sha256 {v.content_hash}  {len(v.text)} characters  "
            f"added {v.added_at:%Y-%m-%d %H:%M:%S}"
        )
    flagged = [c.id for c in claims if c.status == "needs_review"]
    out.append(
        f"claims: {len(claims)}, needing review: {len(flagged)}"
        + (f" ({', '.join(flagged)})" if flagged else "")
    )
    click.echo("\n".join(out))
    if text is not None:
        click.echo("")
        click.echo(text)
