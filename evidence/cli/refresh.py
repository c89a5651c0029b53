"""`evidence refresh`: the unattended job (cron, systemd timer). Exit codes in README "Refresh"."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from evidence.cli.app import App, pass_app
from evidence.clock import utcnow
from evidence.errors import InputError, PubMedUnavailable

logger = logging.getLogger("evidence.refresh")


def _write_atomically(path: Path, content: str) -> None:
    """Readers (a mailer, a chat hook) never see half a digest."""
    from evidence.outputs.export.writers import staging

    with staging() as staged:
        staged.path_for(path).write_text(content, encoding="utf-8")


@click.command()
@click.option("--claim", "claim_id", metavar="ID", help="Refresh only this claim.")
@click.option("--wait", is_flag=True, help="If another refresh holds the lock, wait for it.")
@click.option("--dry-run", is_flag=True, help="Print what would be searched; no requests.")
@click.option(
    "--digest-format",
    type=click.Choice(["text", "md", "json"]),
    default="text",
    show_default=True,
    help="Digest format (md for mail, json for chat hooks).",
)
@click.option("--digest-file", type=click.Path(path_type=Path, dir_okay=False), metavar="PATH",
              help="Write the digest here (atomically) instead of to stdout.")  # fmt: skip
@pass_app
def refresh(
    app: App,
    claim_id: str | None,
    wait: bool,
    dry_run: bool,
    digest_format: str,
    digest_file: Path | None,
) -> None:
    """Refresh every claim's PubMed search incrementally, link, grade, and print a digest.

    A claim's first refresh is a full search; later ones fetch only records entered or revised
    since its last finished refresh (edat and mdat windows, two days of overlap). Linked
    studies are re-checked for retractions, errata and expressions of concern. One refresh at
    a time per database: a second one exits 75 at once (or waits, with --wait). Safe to kill:
    the next run picks up where it stopped.

    Exit codes: 0 changes found, 10 nothing new, 11 some claims failed (the rest committed),
    75 another refresh holds the lock, 3 configuration (no NCBI email), 5 every search failed,
    6 unknown claim.

    Example:

    \b
        evidence --email me@example.org refresh --digest-format md --digest-file digest.md
        evidence refresh --dry-run
    """
    from evidence.jobs.digest import render_markdown, render_text
    from evidence.jobs.refresh import OVERLAP_DAYS, plan
    from evidence.jobs.refresh import refresh as run_refresh
    from evidence.jobs.steps import select_claims

    if digest_file is not None and digest_file.parent and not digest_file.parent.is_dir():
        raise InputError(f"{digest_file.parent}: no such directory for --digest-file")
    engine = app.ready_engine()
    if dry_run:
        today = utcnow().date()
        plans = plan(engine, select_claims(engine, claim_id), today)
        for p in plans:
            click.echo(p.describe())
        click.echo(
            f"dry run: {len(plans)} claim(s) would be searched through {today:%Y/%m/%d}; "
            f"linked studies re-checked by mdat since the last refresh minus {OVERLAP_DAYS} days"
        )
        return
    client = app.pubmed_client()
    report = run_refresh(
        engine, client, claim_id=claim_id, wait=wait, notify=lambda line: logger.info(line)
    )
    if report.status == "failed":
        raise PubMedUnavailable(
            f"refresh run {report.run_id}: every search failed; first error: "
            + next(iter(report.failed.values()), "unknown")
        )
    if digest_format == "json":
        text = json.dumps(report.digest, ensure_ascii=False, indent=2) + "\n"
    elif digest_format == "md":
        text = render_markdown(report.digest)
    else:
        text = render_text(report.digest) + "\n"
    if digest_file is not None:
        try:
            _write_atomically(digest_file, text)
        except OSError as exc:
            raise InputError(
                f"refresh run {report.run_id} is committed, but its digest could not be written "
                f"to {digest_file}: {exc.strerror or exc}; see: evidence runs --refresh"
            ) from None
    else:
        click.echo(text, nl=False)
    stats = client.stats
    click.echo(
        f"refresh run {report.run_id}: {report.status}; {len(report.plans)} claim(s), "
        f"{stats.esearch} esearch, {stats.efetch} efetch, {len(report.fetched)} record(s) "
        f"fetched ({report.new} new, {report.updated} updated)"
        + (f"; digest written to {digest_file}" if digest_file is not None else ""),
        err=digest_file is None and digest_format != "text",
    )
    if report.exit_code:
        raise click.exceptions.Exit(report.exit_code)
