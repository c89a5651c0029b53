"""`evidence review ...`: judge suggested links, list conflicts, agreement, the audit log."""

from __future__ import annotations

import json

import click

from evidence.cli import App, pass_app
from evidence.errors import InputError
from evidence.models import STANCES


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

        evidence review queue --claim long-term-use-dependence --reviewer alice
    """
    from evidence.db import connect
    from evidence.review import queue

    with connect(app.ready_engine()) as conn:
        items = queue(conn, claim=claim_id, reviewer=reviewer)
    for item in items:
        click.echo(
            f"{item.link_id}\t{item.claim_id}\t{item.pmid}\t{item.stance}\t"
            f"{item.relevance:.3f}\t{item.title[:80]}"
        )
    click.echo(f"{len(items)} link(s) to review")


@review.command("decide")
@click.argument("link_id", metavar="LINK", type=int)
@click.option("--accept", is_flag=True, help="The suggested stance is right.")
@click.option("--reject", is_flag=True, help="The article is not evidence for the claim.")
@click.option("--stance", type=click.Choice(STANCES), help="Correct the stance to this one.")
@click.option("--note", metavar="TEXT", help="Why (kept in the audit log).")
@click.option("--reviewer", metavar="NAME", help="Who decides (required).")
@pass_app
def decide_cmd(
    app: App,
    link_id: int,
    accept: bool,
    reject: bool,
    stance: str | None,
    note: str | None,
    reviewer: str | None,
) -> None:
    """Record a decision on LINK: exactly one of --accept, --reject, --stance S (a correction).

    The suggestion is kept as it was; a later decision by the same reviewer supersedes the
    earlier one (both stay in the history). Every decision is written to the audit log.

    Example:

    \b
        evidence review decide 12 --accept --reviewer alice
        evidence review decide 12 --stance contradicts --note "dose-dependent" --reviewer bob
    """
    from evidence.db import connect
    from evidence.review import decide

    chosen = [name for name, on in (("--accept", accept), ("--reject", reject)) if on]
    if stance is not None:
        chosen.append("--stance")
    if len(chosen) != 1:
        raise InputError("give exactly one of --accept, --reject, --stance S")
    if not reviewer or not reviewer.strip():
        raise InputError("a reviewer name is required (--reviewer NAME)")
    decision = "accept" if accept else "reject" if reject else "correct"
    with connect(app.ready_engine()) as conn, conn.begin():
        made = decide(conn, link_id, reviewer, decision, stance, note)
    suffix = f" ({made.stance})" if made.stance else ""
    click.echo(f"link {link_id}: {made.decision}{suffix} by {made.reviewer}")


@review.command("conflicts")
@pass_app
def conflicts_cmd(app: App) -> None:
    """List links whose reviewers' current decisions disagree.

    Example:

        evidence review conflicts
    """
    from evidence.db import connect
    from evidence.review import conflicts

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

        evidence review agreement
    """
    from evidence.db import connect
    from evidence.review import agreement

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

        evidence review log long-term-use-dependence
    """
    from evidence.db import connect
    from evidence.review import log

    with connect(app.ready_engine()) as conn:
        entries = log(conn, claim_id)
    for e in entries:
        click.echo(
            f"{e.at.isoformat()}\t{e.actor}\t{e.action}\t{e.entity} {e.entity_id}\t"
            f"before={json.dumps(e.before)}\tafter={json.dumps(e.after)}\t"
            f"reason={e.reason or ''}"
        )
    click.echo(f"{len(entries)} audit entr{'y' if len(entries) == 1 else 'ies'}")
