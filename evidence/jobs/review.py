"""Reviewers' workflows: record a decision or an override, then regrade what it touches.

Each is one transaction: the decision (or override), its audit row and the regraded claims'
verdict changes commit together or not at all. `evidence review decide` and `evidence review
override|flag` are thin layers over these.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from evidence.grading.grades import ClaimGrade, claims_linked_to, grade_claims
from evidence.grading.overrides import set_override
from evidence.grading.reviews import Decision, claim_of_link, decide
from evidence.grading.verdicts import Cause
from evidence.store.db import connect

__all__ = ["decide_and_regrade", "override_and_regrade"]


def decide_and_regrade(
    engine: Engine,
    link_id: int,
    reviewer: str,
    decision: str,
    stance: str | None = None,
    note: str | None = None,
) -> tuple[Decision, list[ClaimGrade]]:
    """Record a reviewer's decision on a link and regrade the link's claim."""
    with connect(engine) as conn, conn.begin():
        made = decide(conn, link_id, reviewer, decision, stance, note)
        cause = Cause("review", f"decision {made.id}", made.reviewer)
        return made, grade_claims(conn, [claim_of_link(conn, link_id)], cause=cause)


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
