"""The audit: load the shipped claim catalog, run each claim's saved searches, link, grade.

`run_audit` is the library half of `evidence audit`; the CLI only builds the client and prints.
Each saved search (every role: direct, counter, mechanism, background) is its own ingest run
(committed per efetch batch, as every search is); a claim's hits, with the roles of the
searches that found them, are recorded in `claim_hit` in one transaction after its searches,
and linking and
grading run in one transaction at the end, so a failure leaves hits, links and verdicts
consistent with each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from evidence.claims import catalog as claims_lib
from evidence.claims.documents import get_document
from evidence.claims.searches import SavedSearch
from evidence.clock import utcnow
from evidence.errors import ClaimNotFound
from evidence.grading.grades import ClaimGrade
from evidence.grading.verdicts import Cause
from evidence.jobs.steps import link_and_grade, searches_of, select_claims
from evidence.linking import current, linkers
from evidence.linking.suggestions import LinkReport, hit_counts, record_hits
from evidence.outputs.report import collect, write_site
from evidence.provenance import read_provenance
from evidence.store.db import connect
from evidence.store.models import Claim

if TYPE_CHECKING:
    from evidence.jobs.ingest import IngestResult
    from evidence.pubmed.client import PubMedClient

#: The catalog shipped with the project (the package runs from a checkout; README "Layout").
DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "catalogs" / "kratom.toml"

#: Called with a claim id before its search, so the CLI can say what it is doing.
Notify = Callable[[str], None]


@dataclass(frozen=True)
class SearchRun:
    """One saved search as the audit ran it."""

    search: SavedSearch
    result: IngestResult


@dataclass
class AuditReport:
    catalog: claims_lib.LoadReport | None = None  # None: the catalog was already loaded
    #: claim id -> its searches, in catalog order.
    searches: dict[str, list[SearchRun]] = field(default_factory=dict)
    new_hits: dict[str, int] = field(default_factory=dict)
    links: list[LinkReport] = field(default_factory=list)
    grades: list[ClaimGrade] = field(default_factory=list)
    #: The document the report is about: --document, else the catalog's.
    document_id: str | None = None
    #: Query hits per claim after the searches (None when nothing was searched).
    hits: dict[str, int] | None = None
    #: Why the stored evidence is not (all) PubMed's (`provenance`), for a banner.
    warnings: list[str] = field(default_factory=list)
    #: The report site's index page, when one was written.
    index: Path | None = None


def ensure_catalog(engine: Engine, claim_set: claims_lib.ClaimSet) -> claims_lib.LoadReport | None:
    """Load the catalog unless every claim of it is held already; returns the load report.

    An already loaded catalog is left alone (not re-loaded): `evidence claims load` is the way
    to apply an edited catalog, and the audit should not revise claims behind a user's back.
    """
    ids = [spec.id for spec in claim_set.claims]
    with Session(engine) as session:
        held = set(session.execute(select(col(Claim.id)).where(col(Claim.id).in_(ids))).scalars())
    if held >= set(ids):
        return None
    with Session(engine) as session, session.begin():
        return claims_lib.save_claims(session, claim_set)


def _check_names(
    engine: Engine,
    claim_set: claims_lib.ClaimSet,
    claim_id: str | None,
    document_id: str | None,
) -> None:
    """Refuse an unknown --claim or --document before anything is written: the name must be
    held already or come with the catalog the audit would load."""
    with Session(engine) as session:
        if claim_id is not None and claim_id not in {s.id for s in claim_set.claims}:
            if session.get(Claim, claim_id) is None:
                raise ClaimNotFound(f"no claim {claim_id!r}; list them with: evidence claims list")
        catalog_doc = claim_set.document.id if claim_set.document else None
        if document_id is not None and document_id != catalog_doc:
            get_document(session, document_id)


def refresh_hits(
    engine: Engine, client: PubMedClient, claims: list[Claim], notify: Notify | None = None
) -> tuple[dict[str, list[SearchRun]], dict[str, int]]:
    """Run every saved search of each claim, store the records, record the hits and roles."""
    from evidence.jobs.ingest import ingest_search

    searches: dict[str, list[SearchRun]] = {}
    new_hits: dict[str, int] = {}
    saved = searches_of(engine, claims)
    for claim in claims:
        if not saved.get(claim.id):
            continue
        if notify:
            notify(claim.id)
        runs = searches[claim.id] = [
            SearchRun(search, ingest_search(engine, client, search.query))
            for search in saved[claim.id]
        ]
        with connect(engine) as conn, conn.begin():
            now = utcnow()
            new_hits[claim.id] = sum(
                record_hits(conn, claim.id, r.result.pmids, r.result.run_id, now,
                            dict.fromkeys(r.result.pmids, (r.search.role,)))
                for r in runs
            )  # fmt: skip
    return searches, new_hits


def run_audit(
    engine: Engine,
    client: PubMedClient | None,
    *,
    catalog: Path = DEFAULT_CATALOG,
    claim_id: str | None = None,
    document_id: str | None = None,
    notify: Notify | None = None,
    report_dir: Path | None = None,
) -> AuditReport:
    """Load the catalog if needed, refresh hits (unless `client` is None), link, grade, and
    write the report site into `report_dir` (when given).

    `claim_id` / `document_id` narrow the audit to one claim / one document's claims; an
    unknown one fails before anything is written (the catalog is not loaded for nothing).
    """
    claim_set = claims_lib.parse_catalog(catalog)
    _check_names(engine, claim_set, claim_id, document_id)
    linkers.load(current.choice())  # a missing model fails here, before anything is written
    report = AuditReport(catalog=ensure_catalog(engine, claim_set))
    claims = select_claims(engine, claim_id, document_id)
    if client is not None:
        report.searches, report.new_hits = refresh_hits(engine, client, claims, notify)
    runs = sorted(r.result.run_id for one in report.searches.values() for r in one)
    ref = None if not runs else f"runs {runs[0]}-{runs[-1]}" if len(runs) > 1 else f"run {runs[0]}"
    report.links, report.grades = link_and_grade(engine, claims, Cause("audit", ref))
    report.document_id = document_id or (claim_set.document.id if claim_set.document else None)
    with connect(engine) as conn:
        if client is not None:
            report.hits = hit_counts(conn)
        report.warnings = list(read_provenance(conn).warnings)
    if report_dir is not None:
        report.index = write_site(collect(engine, report.document_id), report_dir)
    return report
