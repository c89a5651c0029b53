"""`evidence claims`: load catalogs, import claim sets, list and show claims."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table
from sqlmodel import Session

from evidence.claims import catalog as claims_lib
from evidence.claims.documents import claim_snapshot, get_document
from evidence.cli.app import App, pass_app
from evidence.cli.output import print_table

if TYPE_CHECKING:
    from evidence.grading.grades import ClaimGrade
    from evidence.grading.verdicts import Verdict


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

    \b
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

    \b
        evidence claims import claims.jsonl
    """
    click.echo(_save(app, claims_lib.parse_claim_file(file)).summary())


@claims.command("list")
@click.option("--document", "document_id", metavar="ID", help="Only this document's claims.")
@pass_app
def list_cmd(app: App, document_id: str | None) -> None:
    """List claims: id, type, quote status and statement.

    Example:

    \b
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
    print_table(table)
    click.echo(f"{len(rows)} claim(s)")


@claims.command("show")
@click.argument("claim_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="The claim, quotes and history as JSON.")
@pass_app
def show(app: App, claim_id: str, as_json: bool) -> None:
    """Show one claim: statement, its searches (role, intent, hits by role), quotes, history,
    then its verdict, certainty, reasons and evidence table (design, population, n, retraction
    state, stance and its source).

    Example:

    \b
        evidence claims show caffeine-acts-on-opioid-receptors
    """
    from evidence.grading.grades import assess_claim
    from evidence.grading.verdicts import current_verdicts
    from evidence.store.db import connect

    engine = app.ready_engine()
    from evidence.claims.searches import SEARCH_ROLES, claim_searches, hits_by_role

    with Session(engine) as session:
        claim, quotes, revisions = claims_lib.get_claim(session, claim_id)
    with connect(engine) as conn:
        live = assess_claim(conn, claim_id)
        stored = current_verdicts(conn).get(claim_id)
        searches = claim_searches(conn, [claim_id]).get(claim_id, [])
        role_hits = hits_by_role(conn, claim_id)
    if as_json:
        payload = {
            **claim_snapshot(claim, quotes, searches),
            "hits_by_search_role": role_hits,
            "source": claim.source,
            "history": [
                {
                    "revision": r.revision,
                    "changed": r.changed.split(","),
                    "reason": r.reason,
                    "recorded_at": r.recorded_at.isoformat(),
                }
                for r in revisions
            ],
            "assessment": assessment_json(live, stored),
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    out = [
        f"{claim.id} ({claim.claim_type or 'untyped'}, revision {claim.revision})",
        claim.statement,
        f"document: {claim.document_id or '-'}",
    ]
    if not searches:
        out.append("searches: -")
    for n, s in enumerate(searches, 1):
        out.append(f"search {n} ({s.role}): {s.query}")
        out.append(f"  intent: {s.intent or '-'}")
        if s.statement:
            out.append(f"  judged against: {s.statement} (support for it contradicts the claim)")
    if role_hits:
        counts = ", ".join(
            f"{role} {role_hits[role]}" for role in SEARCH_ROLES if role in role_hits
        )
        out.append(f"hits by search role: {counts}")
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
    print_assessment(live, stored)


def _stale(live: ClaimGrade, stored: Verdict | None) -> bool:
    """The recorded verdict is not what grading now would record (verdict, certainty, reasons)."""
    from evidence.grading.verdicts import what_changed

    return bool(what_changed(stored, live.assessment))


def assessment_json(live: ClaimGrade, stored: Verdict | None) -> dict[str, Any]:
    a = live.assessment
    return {
        "verdict": a.verdict,
        "lean": a.lean,
        "certainty": a.certainty,
        "scope": a.scope,
        "basis": a.basis,
        "support_share": a.support_share,
        "sort": a.sort,
        "cebm_level": a.cebm_level,
        "reasons": [r.as_dict() for r in a.reasons],
        "recorded": stored is not None and not _stale(live, stored),
        "recorded_at": stored.at.isoformat() if stored else None,
        "evidence": [
            {
                "pmid": e.pmid,
                "year": e.year,
                "title": e.title,
                "doi": e.doi,
                "design": e.appraisal.design,
                "population": e.appraisal.population,
                "n": e.appraisal.sample_size,
                "status": e.appraisal.status,
                "rob_flags": list(e.appraisal.rob_flags),
                "letter": e.appraisal.letter,
                "stance": e.stance,
                "suggested": e.suggested,
                "source": e.source,
                "reviewers": list(e.reviewers),
                "role": e.role,
                "why": e.why,
                "overrides": [
                    {
                        "field": o.field,
                        "value": o.value,
                        "reviewer": o.reviewer,
                        "reason": o.reason,
                    }  # fmt: skip
                    for o in e.overrides
                ],
            }
            for e in live.evidence
        ],
    }


def print_assessment(live: ClaimGrade, stored: Verdict | None) -> None:
    """Verdict, certainty and reasons, then the evidence table; flags a stale record."""
    from evidence.grading.verdicts import verdict_label

    a = live.assessment
    lines = [
        f"verdict:   {verdict_label(a.verdict, a.lean)}",
        f"certainty: {a.certainty or '-'} (scope {a.scope}; basis {a.basis}; SORT {a.sort}; "
        f"CEBM {a.cebm_level or '-'})",
    ]
    if stored is None:
        lines.append("recorded:  not yet (run: evidence grade)")
    elif _stale(live, stored):
        lines.append(
            f"recorded:  {stored.label} at {stored.at:%Y-%m-%d %H:%M}; the evidence has changed "
            "since (run: evidence grade)"
        )
    else:
        lines.append(f"recorded:  {stored.at:%Y-%m-%d %H:%M} (grading {stored.grading_version})")
    # The summary sentence first, in words; then each rule with its machine code as a tag.
    summary = [r.why for r in a.reasons if r.domain == "summary"]
    lines.extend(f"why:       {why}" for why in summary)
    for r in a.reasons:
        if r.domain == "summary":
            continue
        delta = f" ({r.delta:+d})" if r.delta else ""
        lines.append(f"  - {r.domain}{delta}: {r.why} [{r.code}]")
    click.echo("\n".join(lines))
    if not live.evidence:
        click.echo("evidence: none linked")
        return
    table = Table("PMID", "year", "design", "population", "n", "status", "stance", "role", "title")
    for e in live.evidence:
        ap = e.appraisal
        status = ap.status.upper() if ap.status == "retracted" else ap.status
        if e.overrides:
            status += " (overridden: " + ", ".join(o.field for o in e.overrides) + ")"
        stance = e.stance + (
            f" (reviewer: {', '.join(e.reviewers)})" if e.source == "reviewer" else ""
        )
        table.add_row(
            str(e.pmid),
            str(e.year or "-"),
            ap.design,
            ap.population + (f" ({', '.join(ap.species)})" if ap.species else ""),
            str(ap.sample_size) if ap.sample_size is not None else "-",
            status,
            stance,
            e.role,
            e.title[:70],
        )
    print_table(table)


@claims.command("history")
@click.argument("claim_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="The verdict rows as JSON.")
@pass_app
def history(app: App, claim_id: str, as_json: bool) -> None:
    """Show how a claim's verdict got where it is: every change, its cause and why, oldest first.

    Example:

    \b
        evidence claims history safe-short-term
    """
    from evidence.grading.verdicts import verdict_history
    from evidence.store.db import connect

    with connect(app.ready_engine()) as conn:
        rows = verdict_history(conn, claim_id)
    if as_json:
        click.echo(json.dumps([
            {
                "id": v.id, "at": v.at.isoformat(), "verdict": v.verdict, "lean": v.lean,
                "certainty": v.certainty, "basis": v.basis, "grading_version": v.grading_version,
                "changed": list(v.changed), "why": v.why, "cause": v.cause,
                "cause_ref": v.cause_ref, "actor": v.actor,
                "reasons": [r.as_dict() for r in v.reasons], "previous_id": v.previous_id,
            }
            for v in rows
        ], ensure_ascii=False, indent=2))  # fmt: skip
        return
    if not rows:
        click.echo(f"{claim_id}: not graded yet (run: evidence grade --claim {claim_id})")
        return
    for v in rows:  # `why` ends with the cause: (ingest run 7), (review decision 3 by alice)
        click.echo(
            f"{v.at:%Y-%m-%d %H:%M:%S}  {v.label}, certainty {v.certainty or '-'}  "
            f"[{', '.join(v.changed)}]\n    {v.why}"
        )
    click.echo(f"{len(rows)} verdict row(s)")
