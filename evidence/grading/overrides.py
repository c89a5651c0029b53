"""Reviewers' overrides of study appraisals and curators' flags on claims.

`grading_override` is append-only: the latest row per (target, target id, field) is the
current value, and a row with a NULL value clears it. Every row has an `audit_log` row beside it
(who, when, before, after, why). An override replaces the computed value in assessments; the
computed appraisal stays stored in `study_appraisal`, so both can be shown.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.engine import Connection

from evidence.clock import utcnow
from evidence.errors import InputError, NotFound
from evidence.grading.appraisal import Appraisal, letter_for
from evidence.grading.rules import (
    CEBM_LEVEL,
    CLAIM_FLAGS,
    DESIGNS,
    POPULATIONS,
    ROB_FLAGS,
    STATUSES,
    Reason,
)
from evidence.store.db import batched
from evidence.store.models import OVERRIDE_TARGETS, AuditLog, GradingOverride

__all__ = [
    "STUDY_FIELDS",
    "Override",
    "apply_study_overrides",
    "current_overrides",
    "effective_appraisals",
    "set_override",
]

OVERRIDES: Table = GradingOverride.__table__  # type: ignore[attr-defined]
AUDIT: Table = AuditLog.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Override:
    id: int
    field: str
    value: Any
    reviewer: str
    reason: str
    at: dt.datetime


#: Appraisal fields a reviewer may override, with their allowed values (None: any int >= 0).
STUDY_FIELDS: dict[str, tuple[str, ...] | None] = {
    "design": DESIGNS,
    "population": POPULATIONS,
    "status": STATUSES,
    "sample_size": None,
    "rob_flags": ROB_FLAGS,  # a list of these
}


def current_overrides(
    conn: Connection, target: str, ids: Iterable[str], as_of: dt.datetime | None = None
) -> dict[str, list[Override]]:
    """target id -> its current (not cleared) overrides, by field name; with `as_of` (a
    zone-aware time), those standing then."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    out: dict[str, list[Override]] = {}
    latest: dict[tuple[str, str], Any] = {}
    for chunk in batched(wanted):
        stmt = select(OVERRIDES).where(
            OVERRIDES.c.target == target, OVERRIDES.c.target_id.in_(chunk)
        )
        if as_of is not None:
            stmt = stmt.where(OVERRIDES.c.at <= as_of)
        rows = conn.execute(stmt.order_by(OVERRIDES.c.id))
        for row in rows:
            latest[(str(row.target_id), str(row.field))] = row
    for (target_id, field), row in sorted(latest.items()):
        if row.value is None:
            continue
        out.setdefault(target_id, []).append(
            Override(
                int(row.id),
                field,
                json.loads(row.value),
                str(row.reviewer),
                str(row.reason),
                row.at,
            )
        )
    return out


def effective_appraisals(
    computed: Mapping[int, Appraisal], standing: Mapping[str, Sequence[Override]]
) -> dict[int, Appraisal]:
    """The effective appraisals: `computed` (pmid -> appraisal) with the study overrides
    `standing` (`current_overrides(conn, "study", ...)`) applied. Grading and the exports both
    derive appraisals through this."""
    return {p: apply_study_overrides(a, standing.get(str(p), [])) for p, a in computed.items()}


def apply_study_overrides(appraisal: Appraisal, overrides: Sequence[Override]) -> Appraisal:
    if not overrides:
        return appraisal
    changes: dict[str, Any] = {}
    reasons = list(appraisal.reasons)
    for o in overrides:
        value = tuple(sorted(o.value)) if o.field == "rob_flags" else o.value
        computed = getattr(appraisal, o.field)
        changes[o.field] = value
        reasons.append(
            Reason(
                "override",
                f"override.{o.field}",
                f"{o.field} set to {_show(value)} by {o.reviewer}: {o.reason} "
                f"(computed: {_show(computed)})",
            )
        )
    design = changes.get("design", appraisal.design)
    updated = replace(appraisal, **changes, cebm_level=CEBM_LEVEL[design], reasons=tuple(reasons))
    return replace(
        updated,
        letter=letter_for(
            updated.design, updated.population, updated.sample_size, updated.rob_flags
        ),
    )


def _show(value: Any) -> str:
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value) or "none"
    return "unknown" if value is None else str(value)


def _validate(target: str, field: str, value: Any) -> Any:
    if target == "study":
        allowed = STUDY_FIELDS[field]
        if field == "sample_size":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InputError(f"sample_size must be a whole number >= 0, not {value!r}")
            return value
        if field == "rob_flags":
            flags = [value] if isinstance(value, str) else value
            if not isinstance(flags, list) or any(f not in ROB_FLAGS for f in flags):
                raise InputError(f"rob_flags must be a list of: {', '.join(ROB_FLAGS)}")
            return sorted(set(flags))
        assert allowed is not None
        if value not in allowed:
            raise InputError(f"{field} must be one of {', '.join(allowed)}, not {value!r}")
        return value
    allowed_values = CLAIM_FLAGS[field]
    if value not in allowed_values or type(value) is not type(allowed_values[0]):
        shown = ", ".join(json.dumps(v) for v in allowed_values)
        raise InputError(f"flag {field} takes one of {shown}, not {json.dumps(value)}")
    return value


def set_override(
    conn: Connection,
    target: str,
    target_id: str,
    field: str,
    value: Any,
    *,
    reviewer: str,
    reason: str,
    now: dt.datetime | None = None,
) -> int:
    """Record an override (value None clears it) and its audit row; returns the override id.

    Raises InputError for an empty reviewer or reason, an unknown field or a bad value, and
    NotFound for an unknown article or claim. Nothing is written when it raises.
    """
    if target not in OVERRIDE_TARGETS:
        raise InputError(
            f"unknown override target {target!r}; one of {', '.join(OVERRIDE_TARGETS)}"
        )
    reviewer, reason = (reviewer or "").strip(), (reason or "").strip()
    if not reviewer:
        raise InputError("a reviewer name is required (--reviewer NAME)")
    if not reason:
        raise InputError("an override needs a reason (--reason TEXT)")
    if target == "study":
        if (
            conn.execute(
                text("SELECT 1 FROM article WHERE pmid = :p"), {"p": int(target_id)}
            ).first()
            is None
        ):
            raise NotFound(f"no article {target_id}; see: evidence articles search")
        claim_id = None
    else:
        if (
            conn.execute(text("SELECT 1 FROM claim WHERE id = :c"), {"c": target_id}).first()
            is None
        ):
            raise NotFound(f"no claim {target_id!r}; see: evidence claims list")
        claim_id = target_id
    known = STUDY_FIELDS if target == "study" else CLAIM_FLAGS
    if field not in known:
        kind = "appraisal field" if target == "study" else "claim flag"
        raise InputError(f"unknown {kind} {field!r}; one of {', '.join(known)}")
    if value is not None:
        value = _validate(target, field, value)
    now = now or utcnow()
    before = current_overrides(conn, target, [target_id]).get(target_id, [])
    previous = next((o.value for o in before if o.field == field), None)
    new_id = conn.execute(
        insert(OVERRIDES)
        .values(
            target=target,
            target_id=str(target_id),
            field=field,
            value=None if value is None else json.dumps(value),
            reviewer=reviewer,
            reason=reason,
            at=now,
        )
        .returning(OVERRIDES.c.id)
    ).scalar_one()
    conn.execute(
        insert(AUDIT).values(
            actor=reviewer,
            at=now,
            entity="study_appraisal" if target == "study" else "claim",
            entity_id=str(target_id),
            claim_id=claim_id,
            action=f"override.{'clear' if value is None else 'set'}",
            before=json.dumps({field: previous}),
            after=json.dumps({field: value}),
            reason=reason,
        )
    )
    return int(new_id)
