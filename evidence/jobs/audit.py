"""The audit: load the shipped claim catalog, refresh each claim's PubMed query, link, grade.

`run_audit` is the library half of `evidence audit`; the CLI only builds the client and prints.
Each claim's search is its own ingest run (committed per efetch batch, as every search is);
its hits are recorded in `claim_hit` in one transaction after the search, and linking and
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
from evidence.clock import utcnow
from evidence.errors import ClaimNotFound
from evidence.grading.grades import ClaimGrade
from evidence.grading.verdicts import Cause
from evidence.jobs.steps import link_and_grade, select_claims
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


@dataclass
class AuditReport:
    catalog: claims_lib.LoadReport | None = None  # None: the catalog was already loaded
    searches: dict[str, IngestResult] = field(default_factory=dict)
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
) -> tuple[dict[str, IngestResult], dict[str, int]]:
    """Run each claim's saved query through PubMed, store the records, record the hits."""
    from evidence.jobs.ingest import ingest_search

    searches: dict[str, IngestResult] = {}
    new_hits: dict[str, int] = {}
    for claim in claims:
        if not claim.query:
            continue
        if notify:
            notify(claim.id)
        result = ingest_search(engine, client, claim.query)
        searches[claim.id] = result
        with connect(engine) as conn, conn.begin():
            new_hits[claim.id] = record_hits(conn, claim.id, result.pmids, result.run_id, utcnow())
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
    report = AuditReport(catalog=ensure_catalog(engine, claim_set))
    claims = select_claims(engine, claim_id, document_id)
    if client is not None:
        report.searches, report.new_hits = refresh_hits(engine, client, claims, notify)
    runs = sorted(r.run_id for r in report.searches.values())
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
