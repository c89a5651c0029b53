"""`evidence review ...`: judge suggested links, list conflicts, agreement, the audit log."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from evidence.cli.app import App, pass_app
from evidence.cli.output import is_terminal, print_table
from evidence.errors import InputError
from evidence.vocab import EXCLUSION_REASONS, STANCES

if TYPE_CHECKING:
    from evidence.grading.grades import ClaimGrade


@click.group()
def review() -> None:
    """Judge the linker's suggestions; decisions are kept beside them, never over them.

    Example:

    \b
        evidence review queue --reviewer alice
        evidence review decide 12 --accept --reviewer alice --note "abstract says so"
        evidence review agreement
    """


@review.command("queue")
@click.option("--claim", "claim_id", metavar="ID", help="Only this claim's links.")
@click.option("--reviewer", metavar="NAME", help="Links this reviewer has not judged yet.")
@pass_app
def queue_cmd(app: App, claim_id: str | None, reviewer: str | None) -> None:
    """List suggested links to judge: supports/contradicts first, then by relevance.

    Without --reviewer, links nobody has judged yet.

    Example:

    \b
        evidence review queue --claim long-term-use-dependence --reviewer alice
    """
    from evidence.grading.reviews import queue
    from evidence.store.db import connect

    with connect(app.ready_engine()) as conn:
        items = queue(conn, claim=claim_id, reviewer=reviewer)
    rows = [
        (str(i.link_id), i.claim_id, str(i.pmid), i.stance, f"{i.relevance:.3f}", i.title)
        for i in items
    ]
    if is_terminal():
        from rich.table import Table

        table = Table("link", "claim", "PMID", "stance", "relevance", "title")
        for row in rows:
            table.add_row(*row)
        print_table(table)
    else:  # tab-separated for scripts: one link per line, no header
        for row in rows:
            click.echo("\t".join(row[:-1]) + "\t" + row[-1][:80])
    click.echo(f"{len(items)} link(s) to review")


@review.command("decide")
@click.argument("link_id", metavar="LINK", type=int)
@click.option("--accept", is_flag=True, help="The suggested stance is right.")
@click.option("--reject", is_flag=True, help="The article is not evidence for the claim.")
@click.option("--stance", type=click.Choice(STANCES), help="Correct the stance to this one.")
@click.option(
    "--reason",
    type=click.Choice(EXCLUSION_REASONS),
    help="Why a reject excludes the article (other needs --note).",
)
@click.option("--note", metavar="TEXT", help="Why (kept in the audit log).")
@click.option("--reviewer", metavar="NAME", help="Who decides (required).")
@pass_app
def decide_cmd(
    app: App,
    link_id: int,
    accept: bool,
    reject: bool,
    stance: str | None,
    reason: str | None,
    note: str | None,
    reviewer: str | None,
) -> None:
    """Record a decision on LINK: exactly one of --accept, --reject, --stance S (a correction).

    The suggestion is kept as it was; a later decision by the same reviewer supersedes the
    earlier one (both stay in the history). Every decision is written to the audit log.

    Example:

    \b
        evidence review decide 12 --accept --reviewer alice
        evidence review decide 12 --reject --reason wrong_population --reviewer alice
        evidence review decide 12 --stance contradicts --note "dose-dependent" --reviewer bob
    """
    from evidence.jobs.review import decide_and_regrade

    chosen = [name for name, on in (("--accept", accept), ("--reject", reject)) if on]
    if stance is not None:
        chosen.append("--stance")
    if len(chosen) != 1:
        raise InputError("give exactly one of --accept, --reject, --stance S")
    if not reviewer or not reviewer.strip():
        raise InputError("a reviewer name is required (--reviewer NAME)")
    decision = "accept" if accept else "reject" if reject else "correct"
    done = decide_and_regrade(
        app.ready_engine(), link_id, reviewer, decision, stance, note, reason=reason
    )
    made = done.decision
    suffix = f" ({made.stance})" if made.stance else ""
    suffix += f" [{made.exclusion_reason}]" if made.exclusion_reason else ""
    click.echo(f"link {link_id}: {made.decision}{suffix} by {made.reviewer}")
    _echo_regraded([done.grade])


def _echo_regraded(grades: list[ClaimGrade]) -> None:
    for g in grades:
        label = g.verdict.label if g.verdict else g.assessment.verdict
        state = "changed" if g.changed else "unchanged"
        click.echo(f"{g.claim_id}: {label}, certainty {g.assessment.certainty or '-'} ({state})")


def _parse_value(raw: str) -> Any:
    """A command-line value: true/false, a whole number, a comma list (rob_flags), or text."""
    lowered = raw.strip().lower()
    if lowered in ("true", "yes"):
        return True
    if lowered in ("false", "no"):
        return False
    if lowered.isdigit():
        return int(lowered)
    return raw.strip()


def _assignment(text_: str) -> tuple[str, Any]:
    field, sep, raw = text_.partition("=")
    if not sep or not field.strip():
        raise InputError(f"expected FIELD=VALUE, not {text_!r}")
    field = field.strip()
    if field == "rob_flags":
        return field, [f.strip() for f in raw.split(",") if f.strip()]
    return field, _parse_value(raw)


def _override(
    app: App, target: str, target_id: str, setting: str, clear: bool, reviewer: str | None,
    reason: str | None,
) -> None:  # fmt: skip
    from evidence.jobs.review import override_and_regrade

    field, value = (setting.strip(), None) if clear else _assignment(setting)
    override_id, grades = override_and_regrade(
        app.ready_engine(), target, target_id, field, value,
        reviewer=reviewer or "", reason=reason or "",
    )  # fmt: skip
    shown = "cleared" if value is None else f"= {json.dumps(value)}"
    click.echo(f"{target} {target_id}: {field} {shown} (override {override_id})")
    _echo_regraded(grades)


@review.command("appraise")
@click.argument("pmid", type=int)
@click.argument("setting", metavar="FIELD=VALUE")
@click.option("--clear", is_flag=True, help="Remove the override of FIELD (give FIELD only).")
@click.option("--reason", metavar="TEXT", help="Why (required; kept in the audit log).")
@click.option("--reviewer", metavar="NAME", help="Who overrides (required).")
@pass_app
def appraise_cmd(
    app: App, pmid: int, setting: str, clear: bool, reason: str | None, reviewer: str | None
) -> None:
    """Override one field of a study's appraisal: design, population, status, sample_size,
    rob_flags (comma list). The computed value is kept; claims citing the study are regraded.

    Example:

    \b
        evidence review appraise 33847897 design=cohort --reason "prospective" --reviewer alice
        evidence review appraise 33847897 rob_flags=self_report,online_survey --reviewer alice \
            --reason "Google Forms survey"
        evidence review appraise 33847897 design --clear --reason "rules fixed" --reviewer alice
    """
    _override(app, "study", str(pmid), setting, clear, reviewer, reason)


@review.command("flag")
@click.argument("claim_id", metavar="CLAIM")
@click.argument("setting", metavar="FLAG=VALUE")
@click.option("--clear", is_flag=True, help="Remove the flag (give FLAG only).")
@click.option("--reason", metavar="TEXT", help="Why (required; kept in the audit log).")
@click.option("--reviewer", metavar="NAME", help="Who sets it (required).")
@pass_app
def flag_cmd(
    app: App, claim_id: str, setting: str, clear: bool, reason: str | None, reviewer: str | None
) -> None:
    """Set a curator flag on a claim and regrade it: scope (clinical, mechanistic, prevalence,
    definitional), intervention_mismatch, publication_bias, dose_response (true/false),
    large_effect (0, 1, 2).

    Example:

    \b
        evidence review flag caffeine-acts-on-opioid-receptors scope=mechanistic \
            --reason "a receptor-binding claim" --reviewer alice
        evidence review flag opioid-withdrawal-relief intervention_mismatch=true \
            --reason "evidence is on isolated mitragynine" --reviewer alice
    """
    _override(app, "claim", claim_id, setting, clear, reviewer, reason)


@review.command("conflicts")
@pass_app
def conflicts_cmd(app: App) -> None:
    """List links whose reviewers' current decisions disagree.

    Example:

    \b
        evidence review conflicts
    """
    from evidence.grading.reviews import conflicts
    from evidence.store.db import connect

    with connect(app.ready_engine()) as conn:
        found = conflicts(conn)
    for c in found:
        judged = ", ".join(f"{who}: {stance}" for who, stance in sorted(c.judged.items()))
        click.echo(f"{c.link_id}\t{c.claim_id}\t{c.pmid}\tsuggested {c.suggested}\t{judged}")
    click.echo(f"{len(found)} conflict(s)")


@review.command("agreement")
@pass_app
def agreement_cmd(app: App) -> None:
    """Print Cohen's kappa per claim and overall, over links judged by two or more reviewers.

    On a link judged by more than two reviewers, the first two by name are compared. Labels
    are the judged stances: supports, contradicts, neutral, rejected.

    Example:

    \b
        evidence review agreement
    """
    from evidence.grading.reviews import agreement
    from evidence.store.db import connect

    with connect(app.ready_engine()) as conn:
        rows = agreement(conn)
    for a in rows:
        if a.kappa is None:
            click.echo(f"{a.scope}\tlinks={a.links}\tkappa undefined: {a.undefined}")
        else:
            click.echo(
                f"{a.scope}\tlinks={a.links}\tobserved={a.observed:.4f}\t"
                f"expected={a.expected:.4f}\tkappa={a.kappa:.4f}"
            )


@review.command("log")
@click.argument("claim_id", metavar="CLAIM")
@pass_app
def log_cmd(app: App, claim_id: str) -> None:
    """Show a claim's whole audit history, oldest first: who, when, what, before, after, why.

    Example:

    \b
        evidence review log long-term-use-dependence
    """
    from evidence.grading.reviews import log
    from evidence.store.db import connect

    with connect(app.ready_engine()) as conn:
        entries = log(conn, claim_id)
    for e in entries:
        click.echo(
            f"{e.at.isoformat()}\t{e.actor}\t{e.action}\t{e.entity} {e.entity_id}\t"
            f"before={json.dumps(e.before)}\tafter={json.dumps(e.after)}\t"
            f"reason={e.reason or ''}"
        )
    click.echo(f"{len(entries)} audit entr{'y' if len(entries) == 1 else 'ies'}")
