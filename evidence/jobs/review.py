"""Reviewers' workflows: record a decision or an override, then regrade what it touches.

Each is one transaction: the decision (or override), its audit row and the regraded claims'
verdict changes commit together or not at all. `evidence review decide` and `evidence review
override|flag` are thin layers over these.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from evidence.grading.grades import ClaimGrade, claims_linked_to, grade_claims
from evidence.grading.overrides import set_override
from evidence.grading.reviews import Decision, claim_of_link, decide
from evidence.grading.verdicts import Cause, Verdict, verdict_history
from evidence.store.db import connect

__all__ = ["Regraded", "decide_and_regrade", "override_and_regrade", "record_decision"]


@dataclass(frozen=True)
class Regraded:
    """A recorded decision and what it did to its claim's verdict."""

    decision: Decision
    claim_id: str
    before: Verdict | None  # the claim's latest verdict row before the decision
    grade: ClaimGrade  # after: the assessment and its latest stored verdict row

    @property
    def before_label(self) -> str:
        return self.before.label if self.before is not None else "not graded"

    @property
    def after_label(self) -> str:
        g = self.grade
        return g.verdict.label if g.verdict is not None else g.assessment.verdict


def record_decision(
    conn: Connection,
    link_id: int,
    reviewer: str,
    decision: str,
    stance: str | None = None,
    note: str | None = None,
    *,
    reason: str | None = None,
    adjudication: bool = False,
    now: dt.datetime | None = None,
) -> Regraded:
    """Record a decision (`decide`) and regrade its claim, in the caller's transaction.

    This is the one path a decision takes, from the CLI (`evidence review decide`, through
    `decide_and_regrade`) and from the web workbench alike.
    """
    made = decide(
        conn, link_id, reviewer, decision, stance, note,
        reason=reason, adjudication=adjudication, now=now,
    )  # fmt: skip
    claim_id = claim_of_link(conn, link_id)
    history = verdict_history(conn, claim_id)
    cause = Cause("review", f"decision {made.id}", made.reviewer)
    (grade,) = grade_claims(conn, [claim_id], cause=cause, now=now)
    return Regraded(made, claim_id, history[-1] if history else None, grade)


def decide_and_regrade(
    engine: Engine,
    link_id: int,
    reviewer: str,
    decision: str,
    stance: str | None = None,
    note: str | None = None,
    *,
    reason: str | None = None,
) -> Regraded:
    """`record_decision` in a transaction of its own (the CLI's path)."""
    with connect(engine) as conn, conn.begin():
        return record_decision(conn, link_id, reviewer, decision, stance, note, reason=reason)


def override_and_regrade(
    engine: Engine,
    target: str,
    target_id: str,
    field: str,
    value: Any,
    *,
    reviewer: str,
    reason: str,
) -> tuple[int, list[ClaimGrade]]:
    """Override a study's appraisal field or set a claim's flag (value None clears it), then
    regrade the claim, or every claim linked to the study; returns the override id too."""
    with connect(engine) as conn, conn.begin():
        override_id = set_override(
            conn, target, target_id, field, value, reviewer=reviewer, reason=reason
        )
        claims = [target_id] if target == "claim" else claims_linked_to(conn, [int(target_id)])
        cause = Cause("override", f"override {override_id}", reviewer.strip())
        return override_id, grade_claims(conn, claims, cause=cause)
