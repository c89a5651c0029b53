"""What each workbench page shows, read from the library (no decision logic lives here).

Every function takes a connection and the signed-in user and returns plain data for a template.
Blind review is applied here, through `review.visible_decisions`, and nowhere else: a reviewer
in blind mode gets no other reviewer's decision, name or audit row for a link they have not
decided themselves, and no verdict-history explanations (they name reviewers' stances).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from evidence.claims import catalog as claims_lib
from evidence.claims.documents import current_text, get_document
from evidence.clock import utcnow
from evidence.grading import reviews as review
from evidence.grading.grades import ClaimGrade, appraise_articles, assess_claim
from evidence.grading.overrides import apply_study_overrides, current_overrides
from evidence.grading.verdicts import Verdict, current_verdicts, verdict_history, verdict_label
from evidence.linking import stance as linking
from evidence.outputs.flow import ClaimFlow, claim_flow, flow_svg
from evidence.outputs.report import highlight
from evidence.store.db import batched
from evidence.store.models import Claim, ClaimQuote
from evidence.web.auth import User

__all__ = ["ClaimPage", "ClaimRow", "LinkCard", "PAGE_SIZE", "claim_page", "claim_rows"]

PAGE_SIZE = 20
CLAIMS_PAGE = 100
EVIDENCE_ROWS = 50
CONTEXT = 240  # characters of the document shown either side of a quote


@dataclass(frozen=True)
class ClaimRow:
    id: str
    statement: str
    verdict: str
    verdict_class: str
    certainty: str
    awaiting_me: int
    conflicts: int
    kappa: review.Agreement | None


def claim_rows(conn: Connection, user: User, *, page: int = 1) -> tuple[list[ClaimRow], int, int]:
    """A page of claims (by id) with their recorded verdict, links awaiting `user`, open
    conflicts and kappa; returns (rows, page, pages). Counts are read for that page's claims
    only, so the list stays fast however many claims and links the database holds."""
    total = int(conn.execute(text("SELECT count(*) FROM claim")).scalar_one())
    pages = max(1, -(-total // CLAIMS_PAGE))
    page = min(max(1, page), pages)
    claims = conn.execute(
        text(
            f"SELECT id, statement FROM claim ORDER BY id LIMIT {CLAIMS_PAGE} "
            f"OFFSET {(page - 1) * CLAIMS_PAGE}"
        )
    ).all()
    ids = [str(c) for c, _ in claims]
    verdicts = current_verdicts(conn)
    awaiting: dict[str, int] = {}
    stmt = text(
        "SELECT l.claim_id, count(*) FROM evidence_link l WHERE l.claim_id IN :ids AND "
        "l.method = :m AND l.method_version = :v AND NOT EXISTS (SELECT 1 FROM review_decision d "
        "WHERE d.link_id = l.id AND d.reviewer = :me) GROUP BY l.claim_id"
    ).bindparams(bindparam("ids", expanding=True))
    for chunk in batched(ids):
        params = {"ids": list(chunk), "m": linking.METHOD, "v": linking.METHOD_VERSION,
                  "me": user.name}  # fmt: skip
        awaiting.update({str(c): int(n) for c, n in conn.execute(stmt, params)})
    found, agreement = review.overview(conn, ids) if ids else ([], [])
    open_conflicts = Counter(c.claim_id for c in found)
    by_scope = {a.scope: a for a in agreement[:-1]}
    rows = []
    for claim_id, statement in claims:
        v = verdicts.get(str(claim_id))
        rows.append(
            ClaimRow(
                str(claim_id),
                str(statement),
                v.label if v else "not graded",
                v.verdict if v else "insufficient",
                (v.certainty or "—").replace("_", " ") if v else "—",
                awaiting.get(str(claim_id), 0),
                open_conflicts.get(str(claim_id), 0),
                by_scope.get(str(claim_id)),
            )
        )
    return rows, page, pages


@dataclass(frozen=True)
class Summary:
    """The verdict a claim page shows: the recorded one, else (never graded) the live one."""

    label: str
    verdict: str
    certainty: str | None
    basis: str
    sort: str
    scope: str
    reasons: tuple[Any, ...]
    recorded: bool


@dataclass(frozen=True)
class EvidenceItem:
    pmid: int
    title: str
    year: int | None
    design: str
    population: str
    sample_size: int | None
    status: str
    stance: str
    suggested: str
    source: str
    role: str
    why: str


@dataclass(frozen=True)
class LinkCard:
    id: int
    pmid: int
    title: str
    year: int | None
    suggested: str
    relevance: float
    rationale: str
    abstract: Markup
    mine: review.Decision | None
    others: list[review.Decision]
    hidden_others: bool  # blind: others may have decided, not shown until I decide


@dataclass
class ClaimPage:
    claim: Claim
    quotes: list[tuple[ClaimQuote, Markup]]  # each quote with its context, quote marked
    summary: Summary
    evidence: list[EvidenceItem]
    evidence_total: int
    recorded: Verdict | None
    history: list[Verdict]
    cards: list[LinkCard]
    page: int
    pages: int
    show: str
    total: int
    flow: ClaimFlow
    flow_svg: Markup
    kappa: review.Agreement | None
    log: list[review.LogEntry]
    conflicts: list[review.Conflict]
    blind: bool
    sees_all: bool


def _quote_contexts(session: Session, claim: Claim, quotes: list[ClaimQuote]) -> list[Any]:
    if claim.document_id is None:
        return [(q, Markup()) for q in quotes]
    document = get_document(session, claim.document_id)
    source = current_text(session, document).text
    out = []
    for q in quotes:
        if q.status != "verified" or not 0 <= q.start_offset < q.end_offset <= len(source):
            out.append((q, Markup()))
            continue
        start = max(0, q.start_offset - CONTEXT)
        end = min(len(source), q.end_offset + CONTEXT)
        marked = highlight(
            source[start:end], [(q.start_offset - start, q.end_offset - start, None)], "quote"
        )
        out.append((q, Markup(("… " if start else "") + marked + (" …" if end < len(source)
                                                                     else ""))))  # fmt: skip
    return out


def _abstract(abstract: str, rationale: list[dict[str, Any]]) -> Markup:
    spans = [
        (int(s["start"]), int(s["end"]), None)
        for s in rationale
        if s.get("section") != "TITLE" and "start" in s and "end" in s
    ]
    return highlight(abstract, spans, css="rationale")


ROLE_ORDER = {"deciding": 0, "eligible": 1, "context": 2, "excluded": 3, "rejected": 4}


def _live(grade: ClaimGrade) -> tuple[Summary, list[EvidenceItem]]:
    a = grade.assessment
    items = [
        EvidenceItem(
            e.pmid,
            e.title,
            e.year,
            e.appraisal.design,
            e.appraisal.population,
            e.appraisal.sample_size,
            e.appraisal.status,
            e.stance,
            e.suggested,
            e.source,
            e.role,
            e.why,
        )  # fmt: skip
        for e in grade.evidence
    ]
    summary = Summary(
        verdict_label(a.verdict, a.lean), a.verdict, a.certainty, a.basis, a.sort, a.scope,
        a.reasons, False,
    )  # fmt: skip
    return summary, items


def _recorded(
    conn: Connection, verdict: Verdict, limit: int | None
) -> tuple[Summary, list[EvidenceItem], int]:
    """The recorded verdict and its studies (the first `limit` by role), appraised now."""
    studies = sorted(
        verdict.studies, key=lambda s: (ROLE_ORDER.get(str(s["role"]), 9), int(s["pmid"]))
    )
    shown = studies if limit is None else studies[:limit]
    pmids = [int(s["pmid"]) for s in shown]
    articles = {
        int(p): (str(t or ""), y)
        for chunk in batched(pmids)
        for p, t, y in conn.execute(
            text("SELECT pmid, title, pub_year FROM article WHERE pmid IN :p").bindparams(
                bindparam("p", expanding=True)
            ),
            {"p": list(chunk)},
        )
    }
    computed = appraise_articles(conn, pmids, now=utcnow(), store=False)
    overrides = current_overrides(conn, "study", [str(p) for p in computed])
    appraisals = {
        p: apply_study_overrides(a, overrides.get(str(p), [])) for p, a in computed.items()
    }
    items = []
    for s in shown:
        pmid = int(s["pmid"])
        ap = appraisals.get(pmid)
        title, year = articles.get(pmid, ("", None))
        items.append(
            EvidenceItem(
                pmid,
                title,
                year,
                ap.design if ap else "—",
                ap.population if ap else "—",
                ap.sample_size if ap else None,
                ap.status if ap else "ok",
                str(s["stance"]),
                str(s["stance"]),
                str(s.get("stance_source", "")),
                str(s["role"]),
                str(s["why"]),
            )  # fmt: skip
        )
    summary = Summary(
        verdict.label, verdict.verdict, verdict.certainty, verdict.basis, verdict.sort_label,
        verdict.scope, verdict.reasons, True,
    )  # fmt: skip
    return summary, items, len(studies)


def claim_page(
    conn: Connection,
    user: User,
    claim_id: str,
    *,
    page: int = 1,
    show: str = "awaiting",
    all_evidence: bool = False,
) -> ClaimPage:
    """The claim page's data; `show` is awaiting (links I have not decided) or all.

    The verdict is the recorded one (every decision records one; so do grade and refresh):
    reading it keeps the page fast on claims with hundreds of links, where a live assessment
    appraises every study. A claim never graded is assessed live. The evidence table lists
    the first EVIDENCE_ROWS studies by role unless `all_evidence`.
    """
    with Session(bind=conn) as session:
        claim, quotes, _ = claims_lib.get_claim(session, claim_id)
        contexts = _quote_contexts(session, claim, quotes)
        session.expunge_all()
    blind = review.blind_mode(conn)
    sees_all = user.adjudicates
    params: dict[str, Any] = {
        "c": claim_id, "m": linking.METHOD, "v": linking.METHOD_VERSION, "me": user.name,
    }  # fmt: skip
    mine_sql = (
        "EXISTS (SELECT 1 FROM review_decision d WHERE d.link_id = l.id AND d.reviewer = :me)"
    )
    where = "l.claim_id = :c AND l.method = :m AND l.method_version = :v"
    if show == "awaiting":
        where += f" AND NOT {mine_sql}"
    total = int(
        conn.execute(
            text(f"SELECT count(*) FROM evidence_link l WHERE {where}"), params
        ).scalar_one()
    )
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = conn.execute(
        text(
            "SELECT l.id, l.pmid, l.stance, l.relevance, l.rationale, a.title, a.abstract, "
            f"a.pub_year FROM evidence_link l JOIN article a ON a.pmid = l.pmid WHERE {where} "
            "ORDER BY CASE WHEN l.stance = 'neutral' THEN 1 ELSE 0 END, l.relevance DESC, l.id "
            f"LIMIT {PAGE_SIZE} OFFSET {(page - 1) * PAGE_SIZE}"
        ),
        params,
    ).all()
    link_ids = [int(r.id) for r in rows]
    visible = review.visible_decisions(conn, link_ids, user.name, sees_all=sees_all, blind=blind)
    cards = []
    for r in rows:
        decisions = visible.get(int(r.id), [])
        mine = next((d for d in decisions if d.reviewer == user.name), None)
        rationale = json.loads(r.rationale or "[]")
        cards.append(
            LinkCard(
                int(r.id),
                int(r.pmid),
                str(r.title or ""),
                r.pub_year,
                str(r.stance),
                float(r.relevance),
                str(rationale[0]["text"]) if rationale else "",
                _abstract(str(r.abstract or ""), rationale),
                mine,
                [d for d in decisions if d.reviewer != user.name],
                blind and not sees_all and mine is None,
            )
        )
    flow = claim_flow(conn, claim_id, blind_for=user.name if blind and not sees_all else None)
    history = verdict_history(conn, claim_id)
    kappa = next((a for a in review.agreement(conn, claim_id) if a.scope == claim_id), None)
    recorded = history[-1] if history else None
    limit = None if all_evidence else EVIDENCE_ROWS
    if recorded is not None:
        summary, evidence, evidence_total = _recorded(conn, recorded, limit)
    else:
        summary, evidence = _live(assess_claim(conn, claim_id))
        evidence_total = len(evidence)
        evidence = evidence[:limit]
    log = review.log(conn, claim_id)
    if blind and not sees_all:
        # Audit rows of links I have decided (everyone's, like the decisions themselves).
        decided = {
            str(i)
            for i in conn.execute(
                text(
                    "SELECT DISTINCT d.link_id FROM review_decision d JOIN evidence_link l "
                    "ON l.id = d.link_id WHERE l.claim_id = :c AND d.reviewer = :me"
                ),
                {"c": claim_id, "me": user.name},
            ).scalars()
        }
        log = [e for e in log if e.entity != "evidence_link" or e.entity_id in decided]
    return ClaimPage(
        claim,
        contexts,
        summary,
        evidence,
        evidence_total,
        recorded,
        history,
        cards,
        page,
        pages,
        show,
        total,
        flow,
        flow_svg(flow),
        kappa,
        log,
        review.conflicts(conn, claim_id) if sees_all else [],
        blind,
        sees_all,
    )
