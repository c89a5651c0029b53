"""`evidence export`: tables as CSV or Parquet, all of them with a data dictionary and a
manifest, a claim's evidence as RIS or BibTeX. A thin layer over `evidence.export`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click

from evidence.cli.app import App, pass_app
from evidence.errors import InputError
from evidence.outputs.export import (
    CITATION_FORMATS,
    FORMATS,
    Written,
    export_all,
    parse_as_of,
    write_citations,
    write_table,
)
from evidence.outputs.export.bundle import table_spec
from evidence.outputs.export.tables import DEFAULT_CHUNK
from evidence.outputs.export.writers import check_target

STDOUT = "-"


def _stdout() -> TextIO:
    return sys.stdout


def _report(written: Written) -> None:
    where = str(written.path) if written.path is not None else "standard output"
    # With the data on stdout, the summary must not mix into it.
    click.echo(
        f"{written.name}: {written.rows:,} rows -> {where} ({written.format})",
        err=written.path is None,
    )


@click.command("export")
@click.argument("table", metavar="TABLE")
@click.option(
    "-o",
    "--output",
    metavar="PATH",
    help="File to write (a directory for `all`); '-' or none: standard output (not Parquet).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Table format (default: parquet for a .parquet file, else csv).",
)
@click.option("--claim", metavar="ID", help="Only this claim's rows (required for ris, bibtex).")
@click.option(
    "--as-of",
    metavar="TIME",
    help="The tables as they stood then: YYYY-MM-DD (the end of that day, UTC) or an ISO datetime.",
)
@click.option("--bom", is_flag=True, help="Start CSV files with a UTF-8 BOM (for Excel).")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=DEFAULT_CHUNK,
    show_default=True,
    help="Rows held in memory at a time.",
)
@pass_app
def export(
    app: App,
    table: str,
    output: str | None,
    fmt: str | None,
    claim: str | None,
    as_of: str | None,
    bom: bool,
    force: bool,
    chunk_size: int,
) -> None:
    """Export TABLE for analysts: claims, studies, links, verdict_history, runs, audit; `all`
    of them into a directory with datadictionary.csv/.md and manifest.json; or a claim's
    evidence as `ris` or `bibtex` for Zotero and EndNote (stance and grade in the notes).

    Tables are tidy (one row per entity, columns as in the data dictionary), UTF-8, dates in
    ISO 8601 UTC. CSV text cells a spreadsheet would execute (=, +, -, @ ...) get a leading
    apostrophe; `evidence.export.read_csv` takes it off again. An existing file is kept unless
    --force; files appear only once complete. --as-of rebuilds the tables as they stood at
    that time from the history (verdicts, decisions, appraisals, audit).

    Example:

    \b
        evidence export claims -o claims.csv --bom
        evidence export links --claim opioid-withdrawal-relief --format parquet -o links.parquet
        evidence export all -o out/ --as-of 2024-03-01
        evidence export ris --claim opioid-withdrawal-relief -o kratom.ris
    """
    # Every argument is checked before the database is opened (a new SQLite file would be
    # created by opening it): bad input writes nothing.
    moment = parse_as_of(as_of)
    path = None if output in (None, STDOUT) else Path(str(output))
    if table == "all":
        if path is None:
            raise InputError("export all writes a directory of files: pass -o DIR")
        manifest = export_all(
            app.ready_engine(),
            path,
            fmt=fmt or "csv",
            as_of=moment,
            claim=claim,
            bom=bom,
            force=force,
            chunk_size=chunk_size,
        )
        for entry in manifest["files"]:
            rows = f"{entry['rows']:,} rows" if entry["rows"] is not None else "-"
            click.echo(f"{entry['name']:<24} {rows:>14}  sha256 {entry['sha256'][:12]}")
        click.echo(f"exported {len(manifest['files'])} files and manifest.json to {path}")
        return
    if table in CITATION_FORMATS:
        if fmt is not None:
            raise InputError(f"--format is for tables; {table} is a format of its own")
        if claim is None:
            raise InputError(f"{table} exports one claim's evidence: pass --claim ID")
        if path is not None:
            check_target(path, force=force)
        _report(
            write_citations(
                app.ready_engine(),
                claim,
                path or _stdout(),
                fmt=table,
                as_of=moment,
                force=force,
            )
        )
        return
    table_spec(table)
    if fmt is None:
        fmt = "parquet" if path is not None and path.suffix == ".parquet" else "csv"
    if path is None and fmt == "parquet":
        raise InputError("Parquet cannot go to standard output; name a file with -o PATH")
    if path is not None:
        check_target(path, force=force)
    _report(
        write_table(
            app.ready_engine(),
            table,
            path or _stdout(),
            fmt=fmt,
            as_of=moment,
            claim=claim,
            bom=bom,
            force=force,
            chunk_size=chunk_size,
        )
    )
