"""The `evidence` command: a thin layer over the library.

Expected failures arrive as `EvidenceError`s and leave as one line on stderr with the error's
exit code (see README "Exit codes"); anything else is a bug and keeps its traceback.

`app` holds the shared state; each other module is one command group that only parses and
prints. May import: everything below it (`evidence.jobs`, `evidence.outputs`, the stages,
`evidence.store`, the base modules); nothing imports `evidence.cli`.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from evidence.cli.app import App, EvidenceGroup, make_settings, pass_app
from evidence.errors import EvidenceError

__all__ = ["App", "cli", "pass_app"]


# The commands, imported only when one of them runs (or its --help is asked for), so that
# `evidence --help` and `--version` start fast: name -> (module, attribute, first paragraph of
# its help, shown in the command list). tests/test_cli_help.py checks the help texts agree.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "articles": ("evidence.cli.articles", "articles", "Look up stored articles."),
    "audit": ("evidence.cli.audit", "audit", "Load the claim catalog if needed, run each "
              "claim's searches, link, grade, report."),
    "claims": ("evidence.cli.claims", "claims", "Checkable claims: statements, types, verified "
               "quotes, saved PubMed queries."),
    "db": ("evidence.cli.dbcmd", "db_group", "Create and migrate the database schema (Alembic)."),
    "docs": ("evidence.cli.docs", "docs", "Documents that make claims: their texts, hashes and "
             "versions."),
    "embed": ("evidence.cli.audit", "embed", "Embed every stored abstract for hybrid "
              "retrieval, ahead of linking."),
    "export": ("evidence.cli.export", "export", "Export TABLE for analysts: claims, studies, "
               "links, verdict_history, runs, audit; `all` of them into a directory with "
               "datadictionary.csv/.md and manifest.json; or a claim's evidence as `ris` or "
               "`bibtex` for Zotero and EndNote (stance and grade in the notes)."),
    "grade": ("evidence.cli.grade", "grade", "Appraise linked studies and assess claims; record "
              "verdicts that changed."),
    "ingest": ("evidence.cli.ingest", "ingest", "Ingest PubMed XML files (baseline/update files "
               "or efetch output, .xml or .xml.gz)."),
    "link": ("evidence.cli.audit", "link", "Suggest evidence links for claims from what the "
             "database holds (no PubMed requests)."),
    "pubmed": ("evidence.cli.ingest", "pubmed", "Query PubMed through the E-utilities "
               "(EVIDENCE_EUTILS_URL overrides the base URL)."),
    "refresh": ("evidence.cli.refresh", "refresh", "Refresh every claim's PubMed search "
                "incrementally, link, grade, and print a digest."),
    "report": ("evidence.cli.report", "report", "The audit report: every claim's verdict, "
               "certainty and evidence by stance."),
    "serve": ("evidence.cli.web", "serve", "Serve the reviewers' workbench: log in, judge links "
              "blind and in pairs, adjudicate."),
    "users": ("evidence.cli.web", "users", "Workbench accounts (passwords are stored only as "
              "argon2 hashes)."),
    "review": ("evidence.cli.review", "review", "Judge the linker's suggestions; decisions are "
               "kept beside them, never over them."),
    "runs": ("evidence.cli.runs", "runs", "List recent ingest runs and refresh runs, newest "
             "first, with counts and outcome."),
    "status": ("evidence.cli.runs", "status", "Summarise the database: location, schema "
               "revision, articles, deletions, history."),
}  # fmt: skip


class LazyGroup(EvidenceGroup):
    """The root group: commands from `COMMANDS`, each module imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attr, _ = COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, from `COMMANDS` for commands not loaded (none is imported)."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            command = self.commands.get(name) or click.Command(name, help=COMMANDS[name][2])
            if not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
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
