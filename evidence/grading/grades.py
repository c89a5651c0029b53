"""Grading: appraise linked studies and assess claims from what the database holds.

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
  An override replaces the computed value in the assessment; the computed value stays stored
  (`evidence.overrides`).
- **History.** Grading a claim adds a `claim_verdict` row only when its verdict, lean,
  certainty or reasons change (`evidence.verdicts`).
- Deleted articles (DeleteCitation) are left out of assessments.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import Engine, Table, bindparam, insert, select, text
from sqlalchemy.engine import Connection

from evidence.clock import utcnow
from evidence.errors import NotFound
from evidence.grading.appraisal import Appraisal, StudyFacts, appraise
from evidence.grading.certainty import ClaimAssessment, ClaimFlags, LinkedStudy, assess
from evidence.grading.overrides import Override, current_overrides, effective_appraisals
from evidence.grading.reviews import REJECTED, Decision, current_decisions, judged_stance
from evidence.grading.rules import (
    DEFAULT_SCOPE,
    GRADING_VERSION,
    SCOPE_OF_TYPE,
    asserts_safety,
    reasons_json,
)
from evidence.grading.verdicts import Cause, Verdict, current_verdicts, record_verdict
from evidence.linking.current import is_current
from evidence.store.db import batched, connect
from evidence.store.models import StudyAppraisal

__all__ = [
    "ClaimGrade",
    "EvidenceRow",
    "appraise_articles",
    "assess_claim",
    "claims_linked_to",
    "grade_claims",
    "load_facts",
    "regrade_after_ingest",
    "stored_appraisals",
]

APPRAISALS: Table = StudyAppraisal.__table__  # type: ignore[attr-defined]


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
class ClaimGrade:
    claim_id: str
    assessment: ClaimAssessment
    flags: ClaimFlags
    evidence: tuple[EvidenceRow, ...]
    verdict: Verdict | None = None  # the latest stored row (after grading, when stored)
    changed: bool = False


# --- facts and appraisals ----------------------------------------------------------------------


def load_facts(conn: Connection, pmids: Iterable[int]) -> dict[int, StudyFacts]:
    """The facts appraisal reads, for each stored (not deleted) PMID of `pmids`."""
    wanted = sorted(set(pmids))
    base: dict[int, dict[str, Any]] = {}
    for chunk in batched(wanted):
        params = {"p": list(chunk)}
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
    for chunk in batched(pmids):
        rows = conn.execute(
            text(
                "SELECT s.pmid, s.grading_version, s.inputs_hash FROM study_appraisal s "
                "WHERE s.pmid IN :p AND s.id = "
                "(SELECT max(t.id) FROM study_appraisal t WHERE t.pmid = s.pmid)"
            ).bindparams(bindparam("p", expanding=True)),
            {"p": list(chunk)},
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


# --- claim evidence and assessment --------------------------------------------------------------


def _claim_flags(
    conn: Connection, claim_id: str, claim_type: str | None, statement: str
) -> tuple[ClaimFlags, list[Override]]:
    overrides = current_overrides(conn, "claim", [claim_id]).get(claim_id, [])
    values: dict[str, Any] = {
        "scope": SCOPE_OF_TYPE.get(claim_type or "", DEFAULT_SCOPE),
        "asserts_safety": asserts_safety(statement),
    }
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
        current = is_current(r.method, r.method_version)
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
        text("SELECT id, claim_type, statement FROM claim WHERE id = :c"), {"c": claim_id}
    ).first()
    if claim is None:
        raise NotFound(f"no claim {claim_id!r}; see: evidence claims list")
    flags, _ = _claim_flags(conn, claim_id, claim.claim_type, claim.statement)
    linked = _linked(conn, claim_id)
    computed = appraise_articles(
        conn, [e["pmid"] for e in linked], now=now or utcnow(), store=store
    )
    overrides = current_overrides(conn, "study", [str(p) for p in computed])
    effective = effective_appraisals(computed, overrides)
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
        verdict, changed = record_verdict(
            conn, claim_id, grade.assessment, latest.get(claim_id), cause, now
        )
        out.append(replace(grade, verdict=verdict, changed=changed))
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
    for chunk in batched(sorted(set(pmids))):
        found.update(
            str(c)
            for c in conn.execute(
                text("SELECT DISTINCT claim_id FROM evidence_link WHERE pmid IN :p").bindparams(
                    bindparam("p", expanding=True)
                ),
                {"p": list(chunk)},
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
