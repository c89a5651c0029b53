"""Evidence links: candidate retrieval for a claim, stance by the linker, suggestions stored.

A claim's candidates are the hits of its saved PubMed query (`claim_hit`, recorded by the audit)
together with full-text retrieval over the whole local corpus (FTS5 BM25 on SQLite, `ts_rank_cd`
on PostgreSQL, with the linker's ORed query, top `FULLTEXT_LIMIT`). `evidence.linking` ranks them
and suggests stances; this module decides what to keep and writes `evidence_link` rows.

Decisions (README "The audit" repeats them):
- **Deleted articles** (`is_deleted`) are never candidates.
- **Retraction notices, errata and expressions of concern** (publication types below) are not
  evidence about anything but the article they correct: they are dropped from the candidates,
  so they are never linked at all, not even as neutral. The retraction state of the article they
  name is kept by ingest (`comment_correction`) for grading.
- **Records without an abstract** are assessed on their title, which then is the rationale
  (section "TITLE", offsets into the title); a title says too little for a stance, so they are
  kept only as neutral suggestions with confidence 0 (a reviewer reads the record).
- **What is kept.** Every candidate the linker gives a stance (supports or contradicts) is kept:
  no relevant study is dropped to make room, since a verdict weighs all of them (SciFact's "at
  most 3 abstracts per claim" is a benchmark protocol, kept only in `scripts/bench_stance.py`).
  Besides them, up to `MAX_NEUTRAL` other query hits, best ranked first, as neutral suggestions
  for a reviewer: neutral links are capped only after every stance link. A full-text-only
  candidate is kept only when it is a stance link, and it must contain the claim's
  `ANCHOR_TERMS` rarest content terms (by the corpus's document frequencies): BM25 with ORed
  words happily ranks an abstract that shares three common words with the claim and not its
  subject ("kratom", "caffeine"), and a query hit has already passed a specialist's topical
  filter that a full-text hit has not.
- **Re-linking** upserts by (claim, pmid, method, method_version): a changed assessment updates
  the row in place (`updated_at`), an unchanged one is left alone, a new method version adds
  rows, and nothing is deleted. Rows of this method version whose article is still a candidate
  but no longer selected become neutral (their relevance and rationale are kept current).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import Table, bindparam, insert, text, update
from sqlalchemy.engine import Connection

from evidence.claims.searches import claim_searches, join_roles
from evidence.clock import utcnow
from evidence.linking import stance as linking
from evidence.linking.current import current_link, current_params
from evidence.linking.linkers import Linker
from evidence.store import search_index
from evidence.store.models import Claim, ClaimHit, EvidenceLink

__all__ = [
    "ANCHOR_TERMS",
    "FULLTEXT_LIMIT",
    "MAX_NEUTRAL",
    "NOT_EVIDENCE_TYPES",
    "CandidatePool",
    "LinkReport",
    "candidates_for",
    "corpus_stats",
    "fulltext",
    "hit_counts",
    "link_claim",
    "record_hits",
    "stance_counts",
    "top_links",
]

FULLTEXT_LIMIT = 30
MAX_NEUTRAL = 10
ANCHOR_TERMS = 2
NOT_EVIDENCE_TYPES = frozenset(
    {"Retraction of Publication", "Published Erratum", "Expression of Concern"}
)


LINKS: Table = EvidenceLink.__table__  # type: ignore[attr-defined]
HITS: Table = ClaimHit.__table__  # type: ignore[attr-defined]


# --- retrieval -------------------------------------------------------------------------------


def fulltext(
    conn: Connection,
    statement: str,
    *,
    limit: int | None = FULLTEXT_LIMIT,
    within: Sequence[int] | None = None,
) -> dict[int, float]:
    """Full-text scores (higher is better) of articles matching any of the claim's words.

    `within` restricts scoring to those PMIDs (the claim's query hits); `limit` None = all.
    """
    hits = search_index.search_any(conn, linking.query_words(statement), limit=limit, within=within)
    return {hit.pmid: hit.score for hit in hits}


@dataclass
class CandidatePool:
    """A claim's candidates and where each came from."""

    candidates: list[linking.Candidate] = field(default_factory=list)
    origins: dict[int, str] = field(default_factory=dict)  # query | fulltext | both
    no_abstract: set[int] = field(default_factory=set)
    excluded: dict[int, str] = field(default_factory=dict)  # pmid -> why it is not a candidate


def _query_hits(conn: Connection, claim_id: str) -> list[int]:
    rows = conn.execute(
        text("SELECT pmid FROM claim_hit WHERE claim_id = :c ORDER BY pmid"), {"c": claim_id}
    )
    return [int(p) for (p,) in rows]


def candidates_for(conn: Connection, claim: Claim, *, limit: int = FULLTEXT_LIMIT) -> CandidatePool:
    """The claim's query hits ∪ the top `limit` full-text matches, minus non-evidence."""
    hits = _query_hits(conn, claim.id)
    top = fulltext(conn, claim.statement, limit=limit)
    # Query hits get their own full-text score, so the reranker's retrieval share is comparable
    # between the two routes; a hit that shares no word with the claim scores 0.
    scores = {**fulltext(conn, claim.statement, limit=None, within=hits), **top}
    pool = CandidatePool()
    pmids = sorted(set(hits) | set(top))
    if not pmids:
        return pool
    rows = conn.execute(
        text("SELECT pmid, title, abstract, is_deleted FROM article WHERE pmid IN :p").bindparams(
            bindparam("p", expanding=True)
        ),
        {"p": pmids},
    ).all()
    notices: dict[int, str] = {}
    for pmid, name in conn.execute(
        text("SELECT pmid, name FROM publication_type WHERE pmid IN :p AND name IN :t").bindparams(
            bindparam("p", expanding=True), bindparam("t", expanding=True)
        ),
        {"p": pmids, "t": sorted(NOT_EVIDENCE_TYPES)},
    ):
        notices[int(pmid)] = str(name)
    hit_set = set(hits)
    for pmid, title, abstract, is_deleted in rows:
        pmid = int(pmid)
        if is_deleted:
            pool.excluded[pmid] = "deleted"
            continue
        if pmid in notices:
            pool.excluded[pmid] = f"not evidence: {notices[pmid]}"
            continue
        in_hits, in_top = pmid in hit_set, pmid in top
        pool.origins[pmid] = "both" if in_hits and in_top else "query" if in_hits else "fulltext"
        text_ = abstract or ""
        if not text_.strip():
            # Assessed on the title (as its only "sentence"), so the rationale can quote it.
            pool.no_abstract.add(pmid)
            text_ = title or ""
        pool.candidates.append(linking.Candidate(pmid, title or "", text_, scores.get(pmid, 0.0)))
    # Best retrieval first, PMID to break ties: the reranker keeps the caller's order on ties.
    pool.candidates.sort(key=lambda c: (-c.retrieval_score, int(c.key)))
    return pool


def corpus_stats(conn: Connection) -> linking.TermStats:
    """Term document frequencies over every live article (for IDF); build once per run."""
    rows = conn.execute(text("SELECT title, abstract FROM article WHERE NOT is_deleted"))
    return linking.TermStats.from_texts(f"{t or ''} {a or ''}" for t, a in rows)


def _anchors(statement: str, stats: linking.TermStats) -> set[str]:
    """The claim's `ANCHOR_TERMS` rarest content terms in the corpus (its subject, usually)."""
    # Direction keys ("<up>", "<good>" ...) are stance words, not subject.
    terms = sorted(
        {t for t in linking._terms(statement) if not t.startswith("<")},
        key=lambda t: (-stats.idf(t), t),
    )
    return set(terms[:ANCHOR_TERMS])


# --- linking ---------------------------------------------------------------------------------


@dataclass
class LinkReport:
    claim_id: str
    candidates: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    stances: Counter[str] = field(default_factory=Counter)


def _rationale_json(assessment: linking.Assessment, *, title: bool = False) -> str:
    return json.dumps(
        [
            {
                "index": r.index,
                "start": r.start,
                "end": r.end,
                "text": r.text,
                "section": "TITLE" if title else r.section,
                "score": r.score,
            }
            for r in assessment.rationale
        ],
        ensure_ascii=False,
    )


def _counter_hits(conn: Connection, claim_id: str) -> dict[int, set[str]]:
    """PMIDs a counter search of the claim returned, with the roles of every search that did."""
    rows = conn.execute(
        text("SELECT pmid, search_roles FROM claim_hit WHERE claim_id = :c"), {"c": claim_id}
    )
    found = {int(p): set((roles or "").split(",")) for p, roles in rows}
    return {p: roles for p, roles in found.items() if "counter" in roles}


#: A counter search has already screened its hits for topic (a specialist's query), so its
#: statement asks less word overlap of them than a claim asks of any candidate: a lexical
#: "off topic" call at this relevance or above still reads as consistent with the statement.
COUNTER_RELEVANCE = 0.25


def _consistent(item: linking.Ranked) -> bool:
    """The study reads as support for the counter statement (and not against it)."""
    a = item.assessment
    if a.stance == "supports":
        return True
    return (
        a.stance == "neutral" and a.reasons == ("off topic",) and a.relevance >= COUNTER_RELEVANCE
    )


def _turn(primary: linking.Ranked, counter: linking.Ranked, statement: str) -> linking.Ranked:
    """The counter judgement as the claim's: support for refuting evidence contradicts it."""
    a = counter.assessment
    why = f"supports the counter statement: {statement}"
    turned = replace(a, stance="contradicts", reasons=(why, *a.reasons))
    return replace(primary, assessment=turned)


def judge_counters(
    conn: Connection,
    linker: Linker,
    claim_id: str,
    ranked: Sequence[linking.Ranked],
    stats: linking.TermStats | None,
) -> list[linking.Ranked]:
    """Judge what the claim's counter searches found against their statements as well.

    A counter search names the evidence that would refute the claim ("caffeine blocks
    adenosine receptors" against "caffeine acts on opioid receptors"); a study that supports
    that statement contradicts the claim. Such a judgement replaces the study's own when only
    counter searches found the study (it was sought as refuting evidence: a death series read
    as "relevant" to "kratom is safe" is not support for it), or when the study's own
    judgement is neutral or less confident; the reasons say so.
    """
    statements = [
        s.statement
        for s in claim_searches(conn, [claim_id]).get(claim_id, [])
        if s.role == "counter" and s.statement
    ]
    found = _counter_hits(conn, claim_id) if statements else {}
    candidates = [r.candidate for r in ranked if int(r.candidate.key) in found]
    if not candidates:
        return list(ranked)
    best: dict[int, tuple[linking.Ranked, str]] = {}
    for statement in statements:
        for item in linker.rank(conn, statement, candidates, stats=stats):
            key = int(item.candidate.key)
            held = best.get(key)
            if _consistent(item) and (
                held is None or item.assessment.confidence > held[0].assessment.confidence
            ):
                best[key] = (item, statement)
    out = []
    for item in ranked:
        counter = best.get(int(item.candidate.key))
        own = item.assessment
        only_counter = found.get(int(item.candidate.key)) == {"counter"}
        if counter is not None and (
            only_counter
            or own.stance == "neutral"
            or counter[0].assessment.confidence > own.confidence
        ):
            item = _turn(item, *counter)
        out.append(item)
    return out


def link_claim(
    conn: Connection,
    claim: Claim,
    *,
    linker: Linker | None = None,
    stats: linking.TermStats | None = None,
    now: dt.datetime | None = None,
) -> LinkReport:
    """Rank the claim's candidates, choose suggestions and upsert them (caller's transaction).

    `linker`: the current choice (`linking.current`) when not given."""
    if linker is None:
        from evidence.linking import linkers
        from evidence.linking.current import choice

        linker = linkers.load(choice())
    now = now or utcnow()
    stats = stats or corpus_stats(conn)
    report = LinkReport(claim.id)
    pool = candidates_for(conn, claim)
    report.candidates = len(pool.candidates)
    ranked = linker.rank(conn, claim.statement, pool.candidates, stats=stats)
    ranked = judge_counters(conn, linker, claim.id, ranked, stats)
    anchors = _anchors(claim.statement, stats)

    def eligible(item: linking.Ranked) -> bool:
        pmid = int(item.candidate.key)
        if pmid in pool.no_abstract:
            return False
        if pool.origins[pmid] != "fulltext":
            return True
        present = set(linking._terms(f"{item.candidate.title} {item.candidate.abstract}"))
        return anchors <= present

    chosen = {
        int(r.candidate.key) for r in ranked if r.assessment.stance != "neutral" and eligible(r)
    }
    own = {"linker_method": linker.method, "linker_version": linker.version}
    existing = {
        int(row.pmid): row
        for row in conn.execute(
            text(
                "SELECT id, pmid, origin, retrieval_score, relevance, stance, confidence, "
                f"rationale FROM evidence_link WHERE claim_id = :c AND {current_link()}"
            ),
            {"c": claim.id, **own},
        )
    }
    # Rows kept from earlier links hold neutral slots too, or every re-link would add more.
    neutral_left = MAX_NEUTRAL - sum(1 for pmid in existing if pmid not in chosen)
    for item in ranked:
        pmid = int(item.candidate.key)
        origin = pool.origins[pmid]
        if pmid in chosen:
            stance, confidence = item.assessment.stance, item.assessment.confidence
            rationale = _rationale_json(item.assessment)
        elif pmid in existing or (origin != "fulltext" and neutral_left > 0):
            if pmid not in existing:
                neutral_left -= 1
            stance = "neutral"
            no_abstract = pmid in pool.no_abstract
            # Confidence of a neutral call: how far off topic the abstract is. A title alone
            # says too little to be sure of anything.
            confidence = 0.0 if no_abstract else 1.0 - item.assessment.relevance
            rationale = _rationale_json(item.assessment, title=no_abstract)
        else:
            continue
        values = {
            "origin": origin,
            "retrieval_score": round(item.candidate.retrieval_score, 6),
            "relevance": item.score,
            "stance": stance,
            "confidence": round(confidence, 4),
            "rationale": rationale,
        }
        report.stances[stance] += 1
        row = existing.get(pmid)
        if row is None:
            conn.execute(
                insert(LINKS).values(
                    **values,
                    claim_id=claim.id,
                    pmid=pmid,
                    method=linker.method,
                    method_version=linker.version,
                    created_at=now,
                    updated_at=now,
                )
            )
            report.new += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            conn.execute(update(LINKS).where(LINKS.c.id == row.id).values(**values, updated_at=now))
            report.updated += 1
        else:
            report.unchanged += 1
    return report


# --- query hits and read-back ----------------------------------------------------------------


def record_hits(
    conn: Connection,
    claim_id: str,
    pmids: Iterable[int],
    run_id: int,
    now: dt.datetime,
    roles: Mapping[int, Iterable[str]] | None = None,
) -> int:
    """Record PMIDs the claim's searches returned in run `run_id`; returns how many are new.

    Only PMIDs held in `article` are recorded (a DeleteCitation in a fetched batch is not a
    hit); earlier hits the searches no longer return keep their rows and last-seen run.
    `roles` (pmid -> roles of the searches that returned it) adds to the roles a hit already
    has: an incremental window that does not return a record says nothing about a search
    that found it before.
    """
    wanted = sorted(set(pmids))
    if not wanted:
        return 0
    held = {
        int(p)
        for (p,) in conn.execute(
            text("SELECT pmid FROM article WHERE pmid IN :p").bindparams(
                bindparam("p", expanding=True)
            ),
            {"p": wanted},
        )
    }
    known = {
        int(p): r
        for p, r in conn.execute(
            text("SELECT pmid, search_roles FROM claim_hit WHERE claim_id = :c"), {"c": claim_id}
        )
    }
    roles = roles or {}
    new = [p for p in wanted if p in held and p not in known]
    seen = [p for p in wanted if p in known]
    if new:
        conn.execute(
            insert(HITS),
            [
                {
                    "claim_id": claim_id,
                    "pmid": p,
                    "first_seen_run_id": run_id,
                    "last_seen_run_id": run_id,
                    "seen_at": now,
                    "search_roles": join_roles(roles.get(p)),
                }
                for p in new
            ],
        )
    grown = [
        {"c": claim_id, "p": p, "r": after}
        for p in seen
        if (after := join_roles(known[p], roles.get(p))) != known[p]
    ]
    if grown:
        conn.execute(
            text("UPDATE claim_hit SET search_roles = :r WHERE claim_id = :c AND pmid = :p"), grown
        )
    if seen:
        conn.execute(
            update(HITS)
            .where(HITS.c.claim_id == claim_id, HITS.c.pmid.in_(seen))
            .values(last_seen_run_id=run_id, seen_at=now)
        )
    return len(new)


def stance_counts(conn: Connection) -> dict[str, Counter[str]]:
    """Suggestions of the current method version per claim, counted by stance."""
    out: dict[str, Counter[str]] = {}
    for claim_id, stance, n in conn.execute(
        text(
            f"SELECT claim_id, stance, count(*) FROM evidence_link WHERE {current_link()} "
            "GROUP BY claim_id, stance"
        ),
        current_params(),
    ):
        out.setdefault(str(claim_id), Counter())[str(stance)] = int(n)
    return out


def top_links(conn: Connection, claim_id: str, n: int = 3) -> list[tuple[int, str, float]]:
    """The claim's best supports/contradicts suggestions: (pmid, stance, relevance)."""
    rows = conn.execute(
        text(
            "SELECT pmid, stance, relevance FROM evidence_link WHERE claim_id = :c "
            f"AND {current_link()} AND stance <> 'neutral' "
            "ORDER BY relevance DESC, pmid LIMIT :n"
        ),
        {"c": claim_id, "n": n, **current_params()},
    )
    return [(int(p), str(s), float(r)) for p, s, r in rows]


def hit_counts(conn: Connection) -> dict[str, int]:
    """How many query hits each claim has recorded."""
    rows = conn.execute(text("SELECT claim_id, count(*) FROM claim_hit GROUP BY claim_id"))
    return {str(c): int(n) for c, n in rows}
