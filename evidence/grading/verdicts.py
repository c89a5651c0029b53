"""The verdict history: one `claim_verdict` row per change of a claim's assessment.

Append-only: a row is added when a claim's verdict, lean, certainty or reasons differ from its
latest row, saying what changed (`changed`), why in words (`why`: the studies that began or
stopped counting, stance changes, a new grading version) and the cause (`Cause`). The latest
row per claim is the claim's current verdict.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.engine import Connection

from evidence.errors import NotFound
from evidence.grading.certainty import ClaimAssessment
from evidence.grading.rules import GRADING_VERSION, Reason, reasons_from_json, reasons_json
from evidence.store.models import ClaimVerdict

__all__ = [
    "Cause",
    "Verdict",
    "current_verdicts",
    "record_verdict",
    "what_changed",
    "verdict_history",
    "verdict_label",
]

VERDICTS: Table = ClaimVerdict.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Cause:
    """Why a grading ran: kind (audit, grade, ingest, review, override, refresh), a reference
    (run id, decision id, override id) and who, when a person caused it."""

    kind: str
    ref: str | None = None
    actor: str | None = None

    def describe(self) -> str:
        out = self.kind + (f" {self.ref}" if self.ref else "")
        return out + (f" by {self.actor}" if self.actor else "")


@dataclass(frozen=True)
class Verdict:
    """One `claim_verdict` row."""

    id: int
    claim_id: str
    at: dt.datetime
    grading_version: str
    scope: str
    verdict: str
    lean: str
    certainty: str | None
    support_share: float | None
    basis: str
    sort_label: str
    cebm_level: int | None
    reasons: tuple[Reason, ...]
    studies: tuple[dict[str, Any], ...]
    changed: tuple[str, ...]
    why: str
    cause: str
    cause_ref: str | None
    actor: str | None
    previous_id: int | None

    @property
    def label(self) -> str:
        """The verdict as shown: "supported", or "insufficient (leans support)"."""
        return verdict_label(self.verdict, self.lean)


def _row_to_verdict(row: Any) -> Verdict:
    return Verdict(
        id=int(row.id),
        claim_id=str(row.claim_id),
        at=row.at,
        grading_version=str(row.grading_version),
        scope=str(row.scope),
        verdict=str(row.verdict),
        lean=str(row.lean),
        certainty=row.certainty,
        support_share=row.support_share,
        basis=str(row.basis),
        sort_label=str(row.sort_label),
        cebm_level=row.cebm_level,
        reasons=reasons_from_json(row.reasons),
        studies=tuple(json.loads(row.studies)),
        changed=tuple(json.loads(row.changed)),
        why=str(row.why),
        cause=str(row.cause),
        cause_ref=row.cause_ref,
        actor=row.actor,
        previous_id=row.previous_id,
    )


def verdict_history(conn: Connection, claim_id: str) -> list[Verdict]:
    """The claim's verdict rows, oldest first."""
    if conn.execute(text("SELECT 1 FROM claim WHERE id = :c"), {"c": claim_id}).first() is None:
        raise NotFound(f"no claim {claim_id!r}; see: evidence claims list")
    rows = conn.execute(
        select(VERDICTS).where(VERDICTS.c.claim_id == claim_id).order_by(VERDICTS.c.id)
    )
    return [_row_to_verdict(r) for r in rows]


def current_verdicts(conn: Connection) -> dict[str, Verdict]:
    """claim id -> its latest verdict row, for every graded claim."""
    latest = select(func.max(VERDICTS.c.id)).group_by(VERDICTS.c.claim_id)
    rows = conn.execute(select(VERDICTS).where(VERDICTS.c.id.in_(latest)))
    return {str(r.claim_id): _row_to_verdict(r) for r in rows}


def _studies_json(assessment: ClaimAssessment) -> list[dict[str, Any]]:
    return [asdict(s) for s in assessment.studies]


def _state(assessment: ClaimAssessment) -> dict[str, Any]:
    return {
        "verdict": (assessment.verdict, assessment.lean),
        "certainty": assessment.certainty,
        "reasons": reasons_json(assessment.reasons),
    }


def what_changed(previous: Verdict | None, assessment: ClaimAssessment) -> list[str]:
    """What differs from the latest row: "verdict", "certainty", "reasons"; ["initial"] if none."""
    if previous is None:
        return ["initial"]
    now = _state(assessment)
    before = {
        "verdict": (previous.verdict, previous.lean),
        "certainty": previous.certainty,
        "reasons": reasons_json(previous.reasons),
    }
    return [key for key in ("verdict", "certainty", "reasons") if now[key] != before[key]]


def _describe(previous: Verdict | None, assessment: ClaimAssessment, cause: Cause) -> str:
    """What changed, in words: verdict and certainty moves, then the evidence that moved them."""
    if previous is None:
        counted = sum(1 for s in assessment.studies if s.role in ("deciding", "eligible"))
        studies = "study" if counted == 1 else "studies"
        return f"first assessment ({counted} counted {studies}; {cause.describe()})"
    parts = []
    label = verdict_label(assessment.verdict, assessment.lean)
    old_label = verdict_label(previous.verdict, previous.lean)
    if label != old_label:
        parts.append(f"verdict {old_label} -> {label}")
    if previous.certainty != assessment.certainty:
        parts.append(
            f"certainty {previous.certainty or 'none'} -> {assessment.certainty or 'none'}"
        )
    old = {int(s["pmid"]): s for s in previous.studies}
    new = {s.pmid: s for s in assessment.studies}
    counts = ("deciding", "eligible")
    for pmid in sorted(set(old) | set(new)):
        before, after = old.get(pmid), new.get(pmid)
        if (
            after is not None
            and after.role in counts
            and (before is None or before["role"] not in counts)
        ):
            parts.append(f"PMID {pmid} now counts ({after.stance}, {after.stance_source})")
        elif (
            before is not None
            and before["role"] in counts
            and (after is None or after.role not in counts)
        ):
            parts.append(
                f"PMID {pmid} no longer counts ({after.why if after else 'no longer linked'})"
            )
        elif before is not None and after is not None and before["stance"] != after.stance:
            parts.append(
                f"PMID {pmid} {before['stance']} -> {after.stance} ({after.stance_source})"
            )
        elif (
            after is not None
            and after.why != (before or {}).get("why")
            and after.role == "excluded"
        ):
            parts.append(f"PMID {pmid} excluded: {after.why}")
    if previous.grading_version != GRADING_VERSION:
        parts.append(f"grading rules {previous.grading_version} -> {GRADING_VERSION}")
    if not parts:
        old_codes = {r.code for r in previous.reasons}
        new_codes = {r.code for r in assessment.reasons}
        added, removed = sorted(new_codes - old_codes), sorted(old_codes - new_codes)
        parts.append(
            "reasons changed"
            + (f"; added {', '.join(added)}" if added else "")
            + (f"; removed {', '.join(removed)}" if removed else "")
        )
    return "; ".join(parts) + f" ({cause.describe()})"


def verdict_label(verdict: str, lean: str) -> str:
    return (
        f"insufficient (leans {lean})" if verdict == "insufficient" and lean != "none" else verdict
    )


def record_verdict(
    conn: Connection,
    claim_id: str,
    assessment: ClaimAssessment,
    previous: Verdict | None,
    cause: Cause,
    now: dt.datetime,
) -> tuple[Verdict, bool]:
    """Add a row if the assessment differs from `previous` (the latest); (latest row, added)."""
    changed = what_changed(previous, assessment)
    if not changed:
        assert previous is not None
        return previous, False
    a = assessment
    row = {
        "claim_id": claim_id,
        "at": now,
        "grading_version": GRADING_VERSION,
        "scope": a.scope,
        "verdict": a.verdict,
        "lean": a.lean,
        "certainty": a.certainty,
        "support_share": a.support_share,
        "basis": a.basis,
        "sort_label": a.sort,
        "cebm_level": a.cebm_level,
        "reasons": reasons_json(a.reasons),
        "studies": json.dumps(_studies_json(a), ensure_ascii=False, sort_keys=True),
        "changed": json.dumps(changed),
        "why": _describe(previous, a, cause),
        "cause": cause.kind,
        "cause_ref": cause.ref,
        "actor": cause.actor,
        "previous_id": previous.id if previous else None,
    }
    new_id = conn.execute(insert(VERDICTS).values(**row).returning(VERDICTS.c.id)).scalar_one()
    stored = conn.execute(select(VERDICTS).where(VERDICTS.c.id == new_id)).one()
    return _row_to_verdict(stored), True
