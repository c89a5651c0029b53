"""`evidence ingest` (PubMed XML files) and `evidence pubmed search` (E-utilities)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from evidence.cli.app import App, pass_app
from evidence.errors import EvidenceError

if TYPE_CHECKING:
    from evidence.jobs.ingest import IngestResult
    from evidence.jobs.ingest import Progress as ProgressFn

err_console = Console(stderr=True)


@contextmanager
def _progress_bar(label: str, *, in_bytes: bool) -> Iterator[ProgressFn]:
    """A progress bar on stderr when it is a terminal; silent otherwise (cron, pipes)."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    count = DownloadColumn() if in_bytes else MofNCompleteColumn()
    columns = (TextColumn("{task.description}"), BarColumn(), count, TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def summary_line(result: IngestResult) -> str:
    c = result.counts
    parts = [
        f"{c.new} new",
        f"{c.updated} updated",
        f"{c.unchanged} unchanged",
        f"{c.historical} older versions kept as history",
        f"{c.deleted} deleted",
    ]
    if c.deleted_absent:
        parts.append(f"{c.deleted_absent} deletions of PMIDs not held (recorded)")
    if result.books:
        parts.append(f"{result.books} books")
    if result.requests:
        parts.append(f"{result.requests} E-utilities request{'s' if result.requests != 1 else ''}")
    if result.resumed:
        run, stored = result.resumed
        parts.append(f"resumed run {run} ({stored} hits already stored)")
    return f"{result.source}: " + ", ".join(parts) + f" (run {result.run_id})"


def echo_regraded(result: IngestResult) -> None:
    """One line on the claims regraded after the run, if any."""
    grades = result.regraded
    if grades:
        changed = [g.claim_id for g in grades if g.changed]
        click.echo(
            f"regraded {len(grades)} linked claim(s): {len(changed)} verdict change(s)"
            + (f" ({', '.join(changed)}; see: evidence claims history ID)" if changed else "")
        )


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Records per write batch.")  # fmt: skip
@pass_app
def ingest(app: App, files: tuple[Path, ...], batch_size: int) -> None:
    """Ingest PubMed XML files (baseline/update files or efetch output, .xml or .xml.gz).

    Each file is one transaction: a bad file writes nothing. Ingesting the same file again
    changes nothing; revised records replace older ones, which are kept as history;
    DeleteCitation entries mark articles deleted. When a file changes records, every claim
    with linked evidence is regraded (a record revised as retracted leaves its claims'
    assessments, and the verdict history says so).

    Example:

    \b
        evidence ingest pubmed21n1298.xml.gz
    """

    from evidence.jobs.ingest import ingest_file

    engine = app.ready_engine()
    failed: EvidenceError | None = None
    for path in files:
        try:
            with _progress_bar(path.name, in_bytes=True) as progress:
                result = ingest_file(
                    engine, path, batch_size=batch_size, progress=progress, regrade=True
                )
        except EvidenceError as exc:
            if len(files) == 1:
                raise
            click.echo(f"Error: {str(exc).splitlines()[0]}", err=True)
            failed = exc
            continue
        click.echo(summary_line(result))
        echo_regraded(result)
    if failed is not None:
        raise click.exceptions.Exit(failed.exit_code)


@click.group()
def pubmed() -> None:
    """Query PubMed through the E-utilities (EVIDENCE_EUTILS_URL overrides the base URL)."""


@pubmed.command()
@click.argument("query")
@click.option("--mindate", metavar="YYYY[/MM[/DD]]", help="Earliest date (with --maxdate).")
@click.option("--maxdate", metavar="YYYY[/MM[/DD]]", help="Latest date (with --mindate).")
@click.option("--datetype", type=click.Choice(["edat", "mdat", "pdat"]), default="edat",
              show_default=True, help="Which date --mindate/--maxdate refer to.")  # fmt: skip
@click.option("--max", "max_records", type=click.IntRange(min=1), help="Fetch at most N records.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), help="Records per efetch request.")
@pass_app
def search(
    app: App,
    query: str,
    mindate: str | None,
    maxdate: str | None,
    datetype: str,
    max_records: int | None,
    batch_size: int | None,
) -> None:
    """Search PubMed and store every hit (past the 10,000 cap, by date windows).

    Needs NCBI_EMAIL (or --email); NCBI_API_KEY raises the rate limit from 3 to 10 requests/s.

    Example:

    \b
        evidence --email me@example.org pubmed search "kratom" --mindate 2020 --maxdate 2024
    """
    from evidence.jobs.ingest import ingest_search

    if (mindate is None) != (maxdate is None):
        raise click.UsageError("--mindate and --maxdate go together (E-utilities needs both)")
    client = app.pubmed_client(batch_size=batch_size)
    engine = app.ready_engine()
    with _progress_bar("efetch", in_bytes=False) as progress:
        result = ingest_search(
            engine,
            client,
            query,
            mindate=mindate,
            maxdate=maxdate,
            datetype=datetype,
            max_records=max_records,
            progress=progress,
            regrade=True,
        )
    click.echo(summary_line(result))
    echo_regraded(result)
