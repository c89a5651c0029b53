"""`evidence claims`: load catalogs, import claim sets, list and show claims."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from evidence import claims as claims_lib
from evidence.cli import App, pass_app
from evidence.documents import get_document


@click.group()
def claims() -> None:
    """Checkable claims: statements, types, verified quotes, saved PubMed queries."""


def _save(app: App, claim_set: claims_lib.ClaimSet) -> claims_lib.LoadReport:
    engine = app.ready_engine()
    # One transaction: a file loads whole or not at all.
    with Session(engine) as session, session.begin():
        return claims_lib.save_claims(session, claim_set)


@claims.command("load")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@pass_app
def load(app: App, file: Path) -> None:
    """Load a TOML claim catalog and its document (see README "Claim catalogs").

    Everything is validated before anything is written: duplicate ids, quotes not found in the
    document, empty queries, unknown types and missing fields are each a one-line error
    naming the claim (exit 2). Loading the same catalog twice changes nothing; a changed claim
    is updated and its previous state kept in its revision history.

    Example:

        evidence claims load catalogs/kratom.toml
    """
    report = _save(app, claims_lib.parse_catalog(file))
    if report.document is not None:
        click.echo(report.document.summary())
    click.echo(report.summary())
    if report.not_in_file:
        click.echo(f"kept, not in this catalog: {', '.join(report.not_in_file)}")


@claims.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@pass_app
def import_cmd(app: App, file: Path) -> None:
    """Import a claim set from JSONL or CSV: fields id, text, and optional query, type, notes.

    The file is validated whole before anything is written (duplicate ids, unknown types,
    empty queries are one-line errors naming the line and claim, exit 2). Importing the same
    file twice changes nothing.

    Example:

        evidence claims import claims.jsonl
    """
    click.echo(_save(app, claims_lib.parse_claim_file(file)).summary())


@claims.command("list")
@click.option("--document", "document_id", metavar="ID", help="Only this document's claims.")
@pass_app
def list_cmd(app: App, document_id: str | None) -> None:
    """List claims: id, type, quote status and statement.

    Example:

        evidence claims list --document kratom-withdrawal-article
    """
    engine = app.ready_engine()
    with Session(engine) as session:
        if document_id is not None:
            get_document(session, document_id)  # an unknown id is an error, not an empty list
        rows = claims_lib.list_claims(session, document_id)
    if not rows:
        click.echo("no claims; load a catalog with: evidence claims load FILE")
        return
    table = Table("id", "type", "status", "statement")
    for row in rows:
        table.add_row(row.id, row.claim_type or "-", row.status, row.statement)
    Console(width=200).print(table)
    click.echo(f"{len(rows)} claim(s)")


@claims.command("show")
@click.argument("claim_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="The claim, quotes and history as JSON.")
@pass_app
def show(app: App, claim_id: str, as_json: bool) -> None:
    """Show one claim: statement, type, query, quotes with offsets and status, history.

    Example:

        evidence claims show caffeine-acts-on-opioid-receptors
    """
    engine = app.ready_engine()
    with Session(engine) as session:
        claim, quotes, revisions = claims_lib.get_claim(session, claim_id)
    if as_json:
        payload = {
            "id": claim.id,
            "document_id": claim.document_id,
            "statement": claim.statement,
            "type": claim.claim_type,
            "query": claim.query,
            "notes": claim.notes,
            "source": claim.source,
            "revision": claim.revision,
            "quotes": [
                {
                    "quote": q.quote,
                    "occurrence": q.occurrence,
                    "start": q.start_offset,
                    "end": q.end_offset,
                    "document_version": q.document_version,
                    "status": q.status,
                    "status_reason": q.status_reason,
                }
                for q in quotes
            ],
            "history": [
                {
                    "revision": r.revision,
                    "changed": r.changed.split(","),
                    "reason": r.reason,
                    "recorded_at": r.recorded_at.isoformat(),
                }
                for r in revisions
            ],
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    out = [
        f"{claim.id} ({claim.claim_type or 'untyped'}, revision {claim.revision})",
        claim.statement,
        f"document: {claim.document_id or '-'}",
        f"query:    {claim.query or '-'}",
    ]
    if claim.notes:
        out.append(f"notes:    {claim.notes}")
    for q in quotes:
        out.append(
            f"quote {q.position} [{q.start_offset}:{q.end_offset}] v{q.document_version} "
            f"{q.status}: {q.quote}" + (f" ({q.status_reason})" if q.status_reason else "")
        )
    for r in revisions:
        out.append(
            f"revision {r.revision} superseded {r.recorded_at:%Y-%m-%d %H:%M:%S}: "
            f"{r.reason} (changed: {r.changed})"
        )
    click.echo("\n".join(out))
