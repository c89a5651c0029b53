"""Steps more than one workflow runs: choose claims, link then grade, the zero-hits line.

`audit` and `refresh` both build on these; keeping them here (not in either workflow) keeps the
jobs from importing each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine, select
from sqlmodel import Session, col

from evidence.claims.documents import get_document
from evidence.claims.searches import SavedSearch, claim_searches
from evidence.clock import utcnow
from evidence.errors import ClaimNotFound
from evidence.grading.grades import ClaimGrade, grade_claims
from evidence.grading.verdicts import Cause
from evidence.linking import current, linkers
from evidence.linking.suggestions import LinkReport, corpus_stats, link_claim
from evidence.store.db import connect
from evidence.store.models import Claim


def select_claims(
    engine: Engine, claim_id: str | None = None, document_id: str | None = None
) -> list[Claim]:
    """Every claim (by id), or the one named, or a document's; an unknown id is `NotFound`."""
    with Session(engine, expire_on_commit=False) as session:
        if document_id is not None:
            get_document(session, document_id)  # DocumentNotFound (exit 6)
        stmt = select(Claim).order_by(col(Claim.id))
        if claim_id is not None:
            stmt = stmt.where(col(Claim.id) == claim_id)
        if document_id is not None:
            stmt = stmt.where(col(Claim.document_id) == document_id)
        found = list(session.execute(stmt).scalars())
        session.expunge_all()
    if claim_id is not None and not found:
        where = f" in document {document_id!r}" if document_id else ""
        raise ClaimNotFound(f"no claim {claim_id!r}{where}; list them with: evidence claims list")
    return found


def zero_hits_line(
    claim_id: str, empty: Sequence[tuple[str, Sequence[str]]], n_searches: int
) -> str | None:
    """One line for a claim with searches that found nothing (None if every search found
    something): which roles' searches, and the phrases PubMed did not know in them.

    `empty` holds (role, unknown phrases) per empty search. A claim whose every search came
    back empty reads "claim ID: 0 hits", as it did when a claim had one search.
    """
    if not empty:
        return None
    if len(empty) == n_searches:
        line = f"claim {claim_id}: 0 hits"
    else:
        roles = ", ".join(role for role, _ in empty)
        line = f"claim {claim_id}: {len(empty)} of {n_searches} searches found nothing ({roles})"
    unknown = list(dict.fromkeys(p for _, phrases in empty for p in phrases))
    if unknown:
        line += "; phrases PubMed did not know: " + ", ".join(unknown)
    return line


def searches_of(engine: Engine, claims: Sequence[Claim]) -> dict[str, list[SavedSearch]]:
    """Each claim's saved searches; a claim stored with a query but no search rows (written by
    code older than its database's schema) searches its query as its one direct search."""
    with connect(engine) as conn:
        found = claim_searches(conn, [c.id for c in claims])
    for claim in claims:
        if claim.id not in found and claim.query:
            found[claim.id] = [SavedSearch("direct", claim.query)]
    return found


def _link(conn: Connection, claims: list[Claim], now: dt.datetime) -> list[LinkReport]:
    linker = linkers.load(current.choice())  # before any write: a model error leaves nothing
    stats = corpus_stats(conn)  # IDF over the whole local corpus, once for all claims
    return [link_claim(conn, claim, linker=linker, stats=stats, now=now) for claim in claims]


def link_claims(engine: Engine, claims: list[Claim]) -> list[LinkReport]:
    """(Re)link the claims in one transaction."""
    with connect(engine) as conn, conn.begin():
        return _link(conn, claims, utcnow())


def link_and_grade(
    engine: Engine, claims: list[Claim], cause: Cause
) -> tuple[list[LinkReport], list[ClaimGrade]]:
    """(Re)link and grade the claims in one transaction."""
    now = utcnow()
    with connect(engine) as conn, conn.begin():
        links = _link(conn, claims, now)
        grades = grade_claims(conn, [c.id for c in claims], cause=cause, now=now)
    return links, grades


def embed_all(
    engine: Engine, choice: linkers.LinkerChoice, progress: Callable[[int, int], None] | None
) -> tuple[int, int]:
    """Embed every live article not yet embedded for its revision: (embedded now, total)."""
    from evidence.linking.embeddings import embed_corpus
    from evidence.linking.trained import TrainedLinker

    loaded = linkers.load(linkers.LinkerChoice("trained", choice.stance_model))
    assert isinstance(loaded, TrainedLinker)
    with connect(engine) as conn:
        return embed_corpus(conn, loaded.embedder, progress=progress)
