"""`evidence grade`: appraise linked studies, assess claims, record verdict changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.table import Table

from evidence.cli.app import App, pass_app
from evidence.cli.output import print_table

if TYPE_CHECKING:
    from evidence.grading.grades import ClaimGrade


def counted(grade: ClaimGrade, stance: str) -> int:
    """Studies with this stance that the assessment counted (deciding or eligible)."""
    return sum(
        1
        for s in grade.assessment.studies
        if s.stance == stance and s.role in ("deciding", "eligible")
    )


def print_verdicts(grades: list[ClaimGrade]) -> None:
    """Claims x verdict, certainty, what counted, and the first downgrade reasons."""
    table = Table("claim", "verdict", "certainty", "basis", "sup", "con", "reasons")
    for g in grades:
        a = g.assessment
        label = g.verdict.label if g.verdict else a.verdict
        reasons = "; ".join(r.why for r in a.reasons if r.delta < 0)
        table.add_row(
            g.claim_id,
            label,
            a.certainty or "-",
            a.basis,
            str(counted(g, "supports")),
            str(counted(g, "contradicts")),
            reasons or "-",
        )
    print_table(table)


@click.command()
@click.option("--claim", "claim_id", metavar="ID", help="Grade only this claim.")
@pass_app
def grade(app: App, claim_id: str | None) -> None:
    """Appraise linked studies and assess claims; record verdicts that changed.

    Uses what is stored (no PubMed requests): each linked study's design, population, sample
    size, risk-of-bias flags and retraction state; each claim's stances (reviewer decisions
    first, suggestions otherwise). A claim whose verdict, certainty or reasons changed gets a
    new verdict-history row (see: evidence claims history ID).

    Example:

    \b
        evidence grade
        evidence grade --claim opioid-withdrawal-relief
    """
    from evidence.grading.grades import grade_claims
    from evidence.grading.rules import GRADING_VERSION
    from evidence.grading.verdicts import Cause
    from evidence.store.db import connect

    engine = app.ready_engine()
    with connect(engine) as conn, conn.begin():
        ids = None if claim_id is None else [claim_id]  # an unknown id is NotFound (exit 6)
        grades = grade_claims(conn, ids, cause=Cause("grade"))
    if not grades:
        click.echo("no claims; load a catalog with: evidence claims load FILE")
        return
    print_verdicts(grades)
    changed = sum(g.changed for g in grades)
    click.echo(
        f"graded {len(grades)} claim(s) under grading {GRADING_VERSION}; "
        f"{changed} verdict change(s) recorded"
    )
