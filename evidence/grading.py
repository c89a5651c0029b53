"""Grading: appraise linked studies, assess claims, keep the verdict history and overrides.

The rules are pure functions (`evidence.appraisal`, `evidence.certainty`, constants in
`evidence.grading_rules`); this module reads their inputs from the database, stores what they
return and decides when a row is added. Decisions (README "Grading" repeats them):

- **What is appraised.** Articles linked to a claim. An appraisal is stored per article with
  the grading version and a hash of the facts it read (publication types, MeSH, title,
  abstract, its own CommentsCorrections, and notices in other stored records that point at it);
  a new row is added only when that hash or the version changes, so past appraisals stay.
- **Which stance counts.** Per (claim, article): the latest current reviewer decision on any of
  its links (accept keeps the suggested stance, correct sets one, reject drops the article),
  else the suggestion of the current linker version. The assessment says which (`basis`).
- **Scope** comes from the claim type (`grading_rules.SCOPE_OF_TYPE`) unless a curator flag
  sets it; curator flags (`intervention_mismatch`, `publication_bias`, `large_effect`,
  `dose_response`) and reviewers' appraisal overrides are `grading_override` rows, audited.
  An override replaces the computed value in the assessment; the computed value stays stored.
- **History.** Grading a claim adds a `claim_verdict` row only when its verdict, lean,
  certainty or reasons differ from the latest row; the row names the cause (audit, grade,
  ingest run, review decision, override) and says in words what changed in the evidence.
- Deleted articles (DeleteCitation) are left out of assessments.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import Engine, Table, bindparam, func, insert, select, text
from sqlalchemy.engine import Connection

from evidence import linking
from evidence.appraisal import Appraisal, StudyFacts, appraise, letter_for
from evidence.certainty import ClaimAssessment, ClaimFlags, LinkedStudy, assess
from evidence.db import connect
from evidence.errors import InputError, NotFound
from evidence.grading_rules import (
    CEBM_LEVEL,
    CLAIM_FLAGS,
    DEFAULT_SCOPE,
    DESIGNS,
    GRADING_VERSION,
    POPULATIONS,
    ROB_FLAGS,
    SCOPE_OF_TYPE,
    STATUSES,
    Reason,
    reasons_from_json,
    reasons_json,
)
from evidence.models import (
    OVERRIDE_TARGETS,
    AuditLog,
    ClaimVerdict,
    GradingOverride,
    StudyAppraisal,
)
from evidence.review import REJECTED, Decision, current_decisions, judged_stance

__all__ = [
    "STUDY_FIELDS",
    "Cause",
    "ClaimGrade",
    "EvidenceRow",
    "Override",
    "Verdict",
    "assess_claim",
    "claims_linked_to",
    "current_verdicts",
    "grade_claims",
    "regrade_after_ingest",
    "set_override",
    "stored_appraisals",
    "verdict_label",
    "verdict_history",
]

APPRAISALS: Table = StudyAppraisal.__table__  # type: ignore[attr-defined]
OVERRIDES: Table = GradingOverride.__table__  # type: ignore[attr-defined]
VERDICTS: Table = ClaimVerdict.__table__  # type: ignore[attr-defined]
AUDIT: Table = AuditLog.__table__  # type: ignore[attr-defined]

#: Appraisal fields a reviewer may override, with their allowed values (None: any int >= 0).
STUDY_FIELDS: dict[str, tuple[str, ...] | None] = {
    "design": DESIGNS,
    "population": POPULATIONS,
    "status": STATUSES,
    "sample_size": None,
    "rob_flags": ROB_FLAGS,  # a list of these
}

#: A PMID list goes into one IN (...) per chunk (SQLite's bound-variable limit).
CHUNK = 500


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
class Override:
    id: int
    field: str
    value: Any
    reviewer: str
    reason: str
    at: dt.datetime


@dataclass(frozen=True)
class EvidenceRow:
    """One article linked to a claim, as the assessment saw it (for `claims show`)."""

    pmid: int
    title: str
    year: int | None
    doi: str | None
    suggested: str  # the linker's stance
    stance: str  # what counted: supports | contradicts | neutral | rejected
    source: str  # reviewer | suggested
    reviewers: tuple[str, ...]
    rationale: str  # the first rationale sentence
    appraisal: Appraisal  # effective (overrides applied)
    computed: Appraisal  # as the rules computed it
    overrides: tuple[Override, ...]
    role: str  # from the assessment: deciding | eligible | context | excluded | rejected
    why: str


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


@dataclass(frozen=True)
class ClaimGrade:
    claim_id: str
    assessment: ClaimAssessment
    flags: ClaimFlags
    evidence: tuple[EvidenceRow, ...]
    verdict: Verdict | None = None  # the latest stored row (after grading, when stored)
    changed: bool = False


# --- facts and appraisals ----------------------------------------------------------------------


def _chunks(values: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


def load_facts(conn: Connection, pmids: Iterable[int]) -> dict[int, StudyFacts]:
    """The facts appraisal reads, for each stored (not deleted) PMID of `pmids`."""
    wanted = sorted(set(pmids))
    base: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(wanted):
        params = {"p": chunk}
        for pmid, title, abstract in conn.execute(
            text(
                "SELECT pmid, title, abstract FROM article WHERE pmid IN :p AND NOT is_deleted"
            ).bindparams(bindparam("p", expanding=True)),
            params,
        ):
            base[int(pmid)] = {
                "title": title or "",
                "abstract": abstract or "",
                "pt": [],
                "mesh": [],
                "corr": [],
                "notices": [],
            }
        for sql, key in (
            ("SELECT pmid, name FROM publication_type WHERE pmid IN :p ORDER BY pmid, position",
             "pt"),
            ("SELECT pmid, descriptor FROM mesh_heading WHERE pmid IN :p ORDER BY pmid, position",
             "mesh"),
        ):  # fmt: skip
            stmt = text(sql).bindparams(bindparam("p", expanding=True))
            for pmid, value in conn.execute(stmt, params):
                if int(pmid) in base:
                    base[int(pmid)][key].append(str(value))
        stmt = text(
            "SELECT pmid, ref_type, ref_pmid FROM comment_correction WHERE pmid IN :p "
            "ORDER BY pmid, position"
        ).bindparams(bindparam("p", expanding=True))
        for pmid, ref_type, ref_pmid in conn.execute(stmt, params):
            if int(pmid) in base:
                ref = int(ref_pmid) if ref_pmid is not None else None
                base[int(pmid)]["corr"].append((str(ref_type), ref))
        # Notices elsewhere that name these records: a retraction notice may arrive before the
        # retracted record's own update does.
        stmt = text(
            "SELECT c.ref_pmid, c.ref_type, c.pmid FROM comment_correction c "
            "JOIN article a ON a.pmid = c.pmid AND NOT a.is_deleted "
            "WHERE c.ref_pmid IN :p AND c.ref_type IN "
            "('RetractionOf', 'ErratumFor', 'ExpressionOfConcernFor') ORDER BY c.ref_pmid, c.pmid"
        ).bindparams(bindparam("p", expanding=True))
        for ref_pmid, ref_type, pmid in conn.execute(stmt, params):
            if int(ref_pmid) in base:
                base[int(ref_pmid)]["notices"].append((str(ref_type), int(pmid)))
    return {
        pmid: StudyFacts(
            pmid=pmid,
            title=f["title"],
            abstract=f["abstract"],
            publication_types=tuple(f["pt"]),
            mesh=tuple(f["mesh"]),
            corrections=tuple(f["corr"]),
            notices=tuple(sorted(set(f["notices"]))),
        )
        for pmid, f in base.items()
    }


def inputs_hash(facts: StudyFacts) -> str:
    """sha256 of the facts, so an unchanged article under unchanged rules is not re-stored."""
    blob = json.dumps(asdict(facts), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _latest_appraisal_keys(conn: Connection, pmids: list[int]) -> dict[int, tuple[str, str]]:
    out: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(pmids):
        rows = conn.execute(
            text(
                "SELECT s.pmid, s.grading_version, s.inputs_hash FROM study_appraisal s "
                "WHERE s.pmid IN :p AND s.id = "
                "(SELECT max(t.id) FROM study_appraisal t WHERE t.pmid = s.pmid)"
            ).bindparams(bindparam("p", expanding=True)),
            {"p": chunk},
        )
        out.update({int(p): (str(v), str(h)) for p, v, h in rows})
    return out


def appraise_articles(
    conn: Connection, pmids: Iterable[int], *, now: dt.datetime, store: bool = True
) -> dict[int, Appraisal]:
    """Appraise the stored PMIDs; with `store`, add a row where inputs or rules changed."""
    facts = load_facts(conn, pmids)
    out = {pmid: appraise(f) for pmid, f in facts.items()}
    if not store or not out:
        return out
    latest = _latest_appraisal_keys(conn, sorted(out))
    rows = []
    for pmid, appraisal in sorted(out.items()):
        key = (GRADING_VERSION, inputs_hash(facts[pmid]))
        if latest.get(pmid) == key:
            continue
        rows.append(
            {
                "pmid": pmid,
                "grading_version": key[0],
                "inputs_hash": key[1],
                "design": appraisal.design,
                "cebm_level": appraisal.cebm_level,
                "population": appraisal.population,
                "species": json.dumps(list(appraisal.species)),
                "sample_size": appraisal.sample_size,
                "rob_flags": json.dumps(list(appraisal.rob_flags)),
                "status": appraisal.status,
                "letter": appraisal.letter,
                "reasons": reasons_json(appraisal.reasons),
                "computed_at": now,
            }
        )
    if rows:
        conn.execute(insert(APPRAISALS), rows)
    return out


def stored_appraisals(conn: Connection, pmid: int) -> list[dict[str, Any]]:
    """Every stored appraisal of one article, oldest first (rows as dicts)."""
    rows = conn.execute(
        select(APPRAISALS).where(APPRAISALS.c.pmid == pmid).order_by(APPRAISALS.c.id)
    )
    return [dict(row._mapping) for row in rows]


# --- overrides ---------------------------------------------------------------------------------


def _current_overrides(
    conn: Connection, target: str, ids: Iterable[str]
) -> dict[str, list[Override]]:
    """target id -> its current (not cleared) overrides, by field name."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    out: dict[str, list[Override]] = {}
    latest: dict[tuple[str, str], Any] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(
            select(OVERRIDES)
            .where(
                OVERRIDES.c.target == target,
                OVERRIDES.c.target_id.in_(wanted[start : start + CHUNK]),
            )
            .order_by(OVERRIDES.c.id)
        )
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


def _apply_study_overrides(appraisal: Appraisal, overrides: Sequence[Override]) -> Appraisal:
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
    before = _current_overrides(conn, target, [target_id]).get(target_id, [])
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


# --- claim evidence and assessment --------------------------------------------------------------


def _claim_flags(
    conn: Connection, claim_id: str, claim_type: str | None
) -> tuple[ClaimFlags, list[Override]]:
    overrides = _current_overrides(conn, "claim", [claim_id]).get(claim_id, [])
    values: dict[str, Any] = {"scope": SCOPE_OF_TYPE.get(claim_type or "", DEFAULT_SCOPE)}
    values.update({o.field: o.value for o in overrides})
    return ClaimFlags(**values), overrides


def _linked(conn: Connection, claim_id: str) -> list[dict[str, Any]]:
    """Per linked article: suggested stance, the stance that counts, its source, reviewers."""
    rows = conn.execute(
        text(
            "SELECT l.id, l.pmid, l.stance, l.method, l.method_version, l.rationale, "
            "a.title, a.pub_year, a.doi FROM evidence_link l "
            "JOIN article a ON a.pmid = l.pmid AND NOT a.is_deleted "
            "WHERE l.claim_id = :c ORDER BY l.pmid, l.id"
        ),
        {"c": claim_id},
    ).all()
    by_link: dict[int, list[Decision]] = {}
    for d in current_decisions(conn, [int(r.id) for r in rows]):
        by_link.setdefault(d.link_id, []).append(d)
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        pmid = int(r.pmid)
        current = r.method == linking.METHOD and r.method_version == linking.METHOD_VERSION
        decisions = by_link.get(int(r.id), [])
        entry = out.get(pmid)
        if decisions:
            last = max(decisions, key=lambda d: d.id)
            if entry is None or entry["source"] != "reviewer" or entry["decision_id"] < last.id:
                entry = out[pmid] = _entry(
                    r, judged_stance(str(r.stance), last.decision, last.stance), "reviewer"
                )
                entry["decision_id"] = last.id
                entry["reviewers"] = tuple(sorted({d.reviewer for d in decisions}))
        elif current and (entry is None or entry["source"] != "reviewer"):
            out[pmid] = _entry(r, str(r.stance), "suggested")
    return [out[p] for p in sorted(out)]


def _entry(row: Any, stance: str, source: str) -> dict[str, Any]:
    rationale = json.loads(row.rationale or "[]")
    return {
        "pmid": int(row.pmid),
        "title": str(row.title or ""),
        "year": row.pub_year,
        "doi": row.doi,
        "suggested": str(row.stance),
        "stance": stance,
        "source": source,
        "reviewers": (),
        "decision_id": 0,
        "rationale": rationale[0]["text"] if rationale else "",
    }


def assess_claim(
    conn: Connection, claim_id: str, *, now: dt.datetime | None = None, store: bool = False
) -> ClaimGrade:
    """The claim's assessment from what is stored now (appraisals stored only with `store`)."""
    claim = conn.execute(
        text("SELECT id, claim_type FROM claim WHERE id = :c"), {"c": claim_id}
    ).first()
    if claim is None:
        raise NotFound(f"no claim {claim_id!r}; see: evidence claims list")
    flags, _ = _claim_flags(conn, claim_id, claim.claim_type)
    linked = _linked(conn, claim_id)
    computed = appraise_articles(
        conn, [e["pmid"] for e in linked], now=now or utcnow(), store=store
    )
    overrides = _current_overrides(conn, "study", [str(p) for p in computed])
    effective = {
        pmid: _apply_study_overrides(a, overrides.get(str(pmid), []))
        for pmid, a in computed.items()
    }
    studies = [
        LinkedStudy(effective[e["pmid"]], e["stance"], e["source"])
        for e in linked
        if e["pmid"] in effective and e["stance"] != REJECTED
    ]
    assessment = assess(flags, studies)
    roles = {s.pmid: s for s in assessment.studies}
    evidence = tuple(
        EvidenceRow(
            pmid=e["pmid"],
            title=e["title"],
            year=e["year"],
            doi=e["doi"],
            suggested=e["suggested"],
            stance=e["stance"],
            source=e["source"],
            reviewers=e["reviewers"],
            rationale=e["rationale"],
            appraisal=effective[e["pmid"]],
            computed=computed[e["pmid"]],
            overrides=tuple(overrides.get(str(e["pmid"]), [])),
            role=roles[e["pmid"]].role if e["pmid"] in roles else "rejected",
            why=roles[e["pmid"]].why if e["pmid"] in roles else "rejected by reviewer",
        )
        for e in linked
        if e["pmid"] in effective
    )
    return ClaimGrade(claim_id, assessment, flags, evidence)


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


def _what_changed(previous: Verdict | None, assessment: ClaimAssessment) -> list[str]:
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


def grade_claims(
    conn: Connection,
    claim_ids: Sequence[str] | None = None,
    *,
    cause: Cause,
    now: dt.datetime | None = None,
) -> list[ClaimGrade]:
    """Appraise and assess the claims (all, if None); add a verdict row where anything changed.

    Runs in the caller's transaction. Returns each claim's grade with its latest stored row.
    """
    now = now or utcnow()
    if claim_ids is None:
        claim_ids = [
            str(c) for c in conn.execute(text("SELECT id FROM claim ORDER BY id")).scalars()
        ]
    latest = current_verdicts(conn)
    out = []
    for claim_id in claim_ids:
        grade = assess_claim(conn, claim_id, now=now, store=True)
        previous = latest.get(claim_id)
        changed = _what_changed(previous, grade.assessment)
        if not changed:
            out.append(replace(grade, verdict=previous))
            continue
        a = grade.assessment
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
        out.append(replace(grade, verdict=_row_to_verdict(stored), changed=True))
    return out


def claims_linked_to(conn: Connection, pmids: Iterable[int] | None = None) -> list[str]:
    """Claims with a link to any of `pmids` (to any article, if None), by id."""
    if pmids is None:
        return [
            str(c)
            for c in conn.execute(
                text("SELECT DISTINCT claim_id FROM evidence_link ORDER BY claim_id")
            ).scalars()
        ]
    found: set[str] = set()
    for chunk in _chunks(sorted(set(pmids))):
        found.update(
            str(c)
            for c in conn.execute(
                text("SELECT DISTINCT claim_id FROM evidence_link WHERE pmid IN :p").bindparams(
                    bindparam("p", expanding=True)
                ),
                {"p": chunk},
            ).scalars()
        )
    return sorted(found)


def regrade_after_ingest(engine: Engine, run_id: int, changed: bool) -> list[ClaimGrade]:
    """Regrade every linked claim after an ingest run that changed records (one transaction).

    A revised record may be a linked study turned "Retracted Publication", or a new notice
    naming one; grading all linked claims is cheap next to an ingest and cannot miss either.
    """
    if not changed:
        return []
    with connect(engine) as conn, conn.begin():
        claim_ids = claims_linked_to(conn)
        if not claim_ids:
            return []
        return grade_claims(conn, claim_ids, cause=Cause("ingest", f"run {run_id}"))
