"""`evidence link` (suggest evidence links for claims) and `evidence audit` (the main job)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from evidence.cli.app import App, pass_app
from evidence.cli.grade import print_verdicts
from evidence.cli.output import print_table

if TYPE_CHECKING:
    from evidence.linking.suggestions import LinkReport

err_console = Console(stderr=True)


def _links_summary(reports: list[LinkReport]) -> str:
    new = sum(r.new for r in reports)
    updated = sum(r.updated for r in reports)
    unchanged = sum(r.unchanged for r in reports)
    return f"links: {new} new, {updated} updated, {unchanged} unchanged"


def _print_table(app: App, claim_ids: list[str], hits: dict[str, int] | None) -> None:
    """Claims x suggestion counts by stance (current method version), with top PMIDs."""
    from evidence.linking.suggestions import stance_counts, top_links
    from evidence.store.db import connect

    with connect(app.ready_engine()) as conn:
        counts = stance_counts(conn)
        tops = {claim_id: top_links(conn, claim_id) for claim_id in claim_ids}
    columns = ["claim", "supports", "contradicts", "neutral", "top linked PMIDs"]
    if hits is not None:
        columns.insert(1, "query hits")
    table = Table(*columns)
    for claim_id in claim_ids:
        c = counts.get(claim_id, Counter())
        top = ", ".join(f"{pmid} ({stance[0]})" for pmid, stance, _ in tops[claim_id]) or "-"
        row = [claim_id, str(c["supports"]), str(c["contradicts"]), str(c["neutral"]), top]
        if hits is not None:
            row.insert(1, str(hits.get(claim_id, 0)))
        table.add_row(*row)
    print_table(table)


LINKER_OPTION = click.option(
    "--linker",
    type=click.Choice(["hybrid", "trained", "lexical"]),
    default=None,
    help="The linker (EVIDENCE_LINKER): hybrid (default), trained or lexical.",
)


def _use_linker(app: App, name: str | None) -> None:
    if name is not None:
        from evidence.linking import current, linkers

        current.use(linkers.LinkerChoice(name, app.settings.stance_model))  # type: ignore[arg-type]


@click.command()
@click.option("--claim", "claim_id", metavar="ID", help="Link only this claim.")
@LINKER_OPTION
@pass_app
def link(app: App, claim_id: str | None, linker: str | None) -> None:
    """Suggest evidence links for claims from what the database holds (no PubMed requests).

    Candidates are each claim's stored hits (every search role) plus full-text matches over
    the whole local corpus. The linker (hybrid by default: the lexical reading, and the trained
    model's where the lexical relevance gate turned evidence away; --linker trained or lexical
    for either alone) picks rationale sentences (findings only) and suggests supports /
    contradicts / neutral; what a claim's counter searches found is also judged against their
    statements. Re-linking updates suggestions in place and never
    deletes one; another method or version adds its own rows beside the old ones.

    Example:

    \b
        evidence link --claim opioid-withdrawal-relief
        evidence link --linker lexical
    """
    from evidence.jobs.steps import link_claims, select_claims

    _use_linker(app, linker)
    engine = app.ready_engine()
    claims = select_claims(engine, claim_id)
    if not claims:
        click.echo("no claims; load a catalog with: evidence claims load FILE")
        return
    reports = link_claims(engine, claims)
    _print_table(app, [c.id for c in claims], None)
    click.echo(f"linked {len(reports)} claim(s); {_links_summary(reports)}")


@click.command()
@click.option("--catalog", type=click.Path(path_type=Path, dir_okay=False), default=None,
              metavar="PATH", help="Claim catalog to load if needed (default: the shipped "
              "catalogs/kratom.toml).")  # fmt: skip
@click.option("--claim", "claim_id", metavar="ID", help="Audit only this claim.")
@click.option("--document", "document_id", metavar="ID",
              help="Audit only this document's claims, and report on it (default: every "
              "claim; the report is about the catalog's document).")  # fmt: skip
@click.option("--no-refresh", is_flag=True, help="Link what is stored; no PubMed requests.")
@click.option("--report", "report_dir", type=click.Path(path_type=Path, file_okay=False),
              metavar="DIR", help="Report directory (default: EVIDENCE_HOME/report).")  # fmt: skip
@LINKER_OPTION
@pass_app
def audit(
    app: App,
    catalog: Path | None,
    claim_id: str | None,
    document_id: str | None,
    no_refresh: bool,
    report_dir: Path | None,
    linker: str | None,
) -> None:
    """Load the claim catalog if needed, run each claim's searches, link, grade, report.

    Each claim's saved searches (every role: direct, counter, mechanism, background) are run
    through the E-utilities (NCBI_EMAIL or --email needed; EVIDENCE_EUTILS_URL routes
    requests to a mirror or a local stand-in), the records are stored and remembered as the
    claim's hits with the roles that found them, every claim is linked and graded, and two
    tables show each claim's suggestions by stance with its top linked PMIDs, then its verdict,
    certainty and downgrade reasons (verdict changes are kept: evidence claims history ID).
    Last, the HTML report is written (--report DIR) and its path printed.
    PubMed unreachable after every retry is one line and exit 5.

    Example:

    \b
        evidence --email me@example.org audit
        evidence audit --no-refresh --claim opioid-withdrawal-relief
        evidence audit --document kratom-withdrawal-article
    """
    from evidence.config import evidence_home
    from evidence.jobs.audit import DEFAULT_CATALOG, run_audit

    _use_linker(app, linker)
    hint = " (or use --no-refresh to link what is stored)"
    client = None if no_refresh else app.pubmed_client(hint=hint)
    engine = app.ready_engine()

    def notify(claim: str) -> None:
        if err_console.is_terminal:
            err_console.print(f"searching PubMed: {claim}", highlight=False)

    report = run_audit(
        engine,
        client,
        catalog=catalog or DEFAULT_CATALOG,
        claim_id=claim_id,
        document_id=document_id,
        notify=notify,
        report_dir=report_dir or evidence_home() / "report",
    )
    if report.catalog is not None:
        click.echo(report.catalog.summary())
    from evidence.jobs.steps import zero_hits_line

    for claim, runs in report.searches.items():
        empty = [(r.search.role, r.result.unknown) for r in runs if not r.result.pmids]
        line = zero_hits_line(claim, empty, len(runs))
        if line:
            click.echo(line)
    claim_ids = [r.claim_id for r in report.links]
    _print_table(app, claim_ids, report.hits)
    print_verdicts(report.grades)
    parts = [f"audit: {len(claim_ids)} claim(s)"]
    if client is not None:
        fetched = Counter[str]()
        roles = Counter[str]()
        for runs in report.searches.values():
            for run in runs:
                fetched["new"] += run.result.counts.new
                fetched["updated"] += run.result.counts.updated
                roles[run.search.role] += 1
        from evidence.claims.searches import SEARCH_ROLES

        by_role = ", ".join(f"{roles[r]} {r}" for r in SEARCH_ROLES if roles[r])
        parts.append(
            f"{roles.total()} PubMed searches ({by_role}; {fetched['new']} new, "
            f"{fetched['updated']} updated records, {sum(report.new_hits.values())} new hits, "
            f"{client.stats.requests} requests)"
        )
    else:
        parts.append("no refresh (stored hits only)")
    parts.append(_links_summary(report.links))
    verdicts = Counter(
        g.verdict.verdict if g.verdict else g.assessment.verdict for g in report.grades
    )
    parts.append("verdicts: " + ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())))
    click.echo("; ".join(parts))
    for warning in report.warnings:
        click.echo(f"Not PubMed data: {warning}")
    click.echo(f"report: {report.index}")


@click.command()
@pass_app
def embed(app: App) -> None:
    """Embed every stored abstract for hybrid retrieval, ahead of linking.

    Linking embeds the articles a claim can reach on demand and keeps the vectors (once per
    article revision); this embeds the whole corpus at once, with a progress bar, committing
    each batch so an interrupted run keeps its work.

    Example:

    \b
        evidence embed
    """
    from rich.progress import Progress

    from evidence.jobs.steps import embed_all
    from evidence.linking import current

    engine = app.ready_engine()
    with Progress(console=err_console, transient=True, disable=not err_console.is_terminal) as bar:
        task = bar.add_task("embedding", total=None)

        def progress(done: int, todo: int) -> None:
            bar.update(task, completed=done, total=todo)

        embedded, total = embed_all(engine, current.choice(), progress)
    click.echo(f"embedded {embedded} of {total} article(s)")
