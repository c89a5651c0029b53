"""The scheduled refresh: incremental searches per claim, re-checks of linked studies, then
link, grade and a digest of what changed. `evidence refresh` is the thin CLI over `refresh`.

Decisions (README "Refresh" repeats them):
- **Every role.** A claim's refresh runs each of its saved searches (direct, counter,
  mechanism, background) in the same windows; its hits are the union, each remembered with
  the roles of the searches that found it. Its watermark belongs to the set of searches: a
  search added, removed or changed makes the claim's next refresh a full search.
- **Windows.** A claim's first refresh (or the first after its searches changed) is a full
  search, split by date past 10,000 hits. Later ones run each search twice: records
  *entered* (edat) and records *modified* (mdat) from its watermark minus `OVERLAP_DAYS` to
  today. The watermark is the last day of its latest finished search, so a killed run simply
  searches the same windows again.
- **What is fetched.** A PMID from the edat window that the database does not hold; a PMID
  from the mdat window that it does not hold, or whose stored DateRevised is before the
  window's first day (a copy revised inside the window is the one the window found). A PMID is
  fetched once per run, whichever claims find it. A full search fetches every hit once.
  E-utilities dates are days, so "modified twice inside the overlap" is the one case this
  can miss until the record changes again; the overlap exists for records PubMed indexes late.
- **Linked studies** are re-checked for retractions, errata and expressions of concern (NCBI
  revises the original record when it adds one): their PMIDs are searched (`[uid]`, 200 per
  esearch) in the mdat window since the last finished refresh and fetched by the same rule.
- **Commit per batch.** Each efetch batch is one transaction; a claim's hits and its
  `refresh_claim` row are written together when its searches finish; linking and grading
  run in one transaction at the end over every selected claim (idempotent), so a run killed
  anywhere and run again ends with the same articles, links and verdicts as one clean run.
- **Economy.** Nothing new: one esearch per window, no efetch. N PMIDs to fetch cost
  ceil(N / batch size) efetch requests. Every request goes through the host-wide limiter.
- **Failures.** A claim whose search fails (PubMed unavailable after every retry, a query
  PubMed refuses) is recorded as failed and the run goes on; the run is then `partial`
  (every claim failed: `failed`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Table, insert, select, text, update
from sqlmodel import Session

from evidence.claims.searches import SavedSearch, searches_hash
from evidence.clock import utcnow
from evidence.errors import EXIT_NOTHING_NEW, EXIT_PARTIAL, PubMedError, PubMedUnavailable
from evidence.grading.verdicts import Cause
from evidence.jobs import digest as digest_lib
from evidence.jobs.digest import LINKED
from evidence.jobs.ingest import IngestResult, finish_run, start_run, store_bodies
from evidence.jobs.steps import link_and_grade, searches_of, select_claims, zero_hits_line
from evidence.linking.suggestions import record_hits
from evidence.pubmed.client import unknown_phrases
from evidence.store.db import batched, connect
from evidence.store.locks import single_flight
from evidence.store.models import Article, Claim, RefreshClaim, RefreshRun

if TYPE_CHECKING:
    from evidence.pubmed.client import PubMedClient

__all__ = [
    "EXIT_NOTHING_NEW",
    "EXIT_PARTIAL",
    "OVERLAP_DAYS",
    "ClaimPlan",
    "RefreshReport",
    "plan",
    "refresh",
]

logger = logging.getLogger(__name__)

OVERLAP_DAYS = 2
UID_CHUNK = 200  # PMIDs per `[uid]` esearch: keeps the term well inside a GET URL

RUNS: Table = RefreshRun.__table__  # type: ignore[attr-defined]
CLAIM_RUNS: Table = RefreshClaim.__table__  # type: ignore[attr-defined]
ARTICLES: Table = Article.__table__  # type: ignore[attr-defined]

Notify = Callable[[str], None]


@dataclass(frozen=True)
class ClaimPlan:
    """What one claim's refresh will search: a full search, or windows since its watermark."""

    claim_id: str
    searches: tuple[SavedSearch, ...]  # every role, in catalog order
    mode: str  # full | incremental
    since: dt.date | None  # windows' first day (watermark - overlap); None for full
    until: dt.date

    @property
    def searches_hash(self) -> str:
        return searches_hash(self.searches)

    def describe(self) -> str:
        n = len(self.searches)
        what = f"{n} searches ({', '.join(s.role for s in self.searches)})" if n > 1 else ""
        if self.mode == "full":
            return f"{self.claim_id}: full search{' of ' + what if what else ''} " + (
                "(first refresh or searches changed)"
            )
        windows = f"edat and mdat {self.since:%Y/%m/%d} .. {self.until:%Y/%m/%d}"
        return f"{self.claim_id}: {windows}" + (f", {what}" if what else "")


@dataclass
class RefreshReport:
    run_id: int | None
    plans: list[ClaimPlan]
    status: str = "running"
    fetched: set[int] = field(default_factory=set)
    new: int = 0
    updated: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # claim id -> error
    digest: dict[str, Any] = field(default_factory=dict)
    #: Claims with full searches that found nothing -> (role, phrases PubMed did not know) of
    #: each such search.
    empty: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        if self.status == "nothing_new":
            return EXIT_NOTHING_NEW
        if self.status == "partial":
            return EXIT_PARTIAL
        return 0


def _watermarks(conn: Any, claims: Sequence[Claim]) -> dict[str, tuple[str, dt.date]]:
    """claim id -> (query hash, last day) of its latest finished search."""
    rows = conn.execute(
        select(CLAIM_RUNS.c.claim_id, CLAIM_RUNS.c.query_hash, CLAIM_RUNS.c.until)
        .where(
            CLAIM_RUNS.c.status == "done",
            CLAIM_RUNS.c.claim_id.in_([c.id for c in claims]),
        )
        .order_by(CLAIM_RUNS.c.id)
    )
    return {str(c): (str(h), u) for c, h, u in rows}  # the last row per claim wins


def plan(engine: Engine, claims: Sequence[Claim], today: dt.date) -> list[ClaimPlan]:
    """Each claim's searches for a refresh ending `today` (claims without one are skipped)."""
    with connect(engine) as conn:
        marks = _watermarks(conn, claims)
    saved = searches_of(engine, claims)
    plans = []
    for claim in claims:
        searches = tuple(saved.get(claim.id, ()))
        if not searches:
            continue
        mark = marks.get(claim.id)
        if mark is None or mark[0] != searches_hash(searches):
            plans.append(ClaimPlan(claim.id, searches, "full", None, today))
        else:
            since = min(mark[1], today) - dt.timedelta(days=OVERLAP_DAYS)
            plans.append(ClaimPlan(claim.id, searches, "incremental", since, today))
    return plans


def _held(engine: Engine, pmids: Iterable[int]) -> dict[int, dt.date | None]:
    """PMID -> stored DateRevised, for the PMIDs the database holds."""
    out: dict[int, dt.date | None] = {}
    with connect(engine) as conn:
        for chunk in batched(sorted(set(pmids))):
            rows = conn.execute(
                select(ARTICLES.c.pmid, ARTICLES.c.date_revised).where(ARTICLES.c.pmid.in_(chunk))
            )
            out.update((int(pmid), revised) for pmid, revised in rows)
    return out


def to_fetch(
    engine: Engine, entered: Iterable[int], modified: Iterable[int], since: dt.date | None
) -> list[int]:
    """The rule of the module docstring: what is not held, or held from before `since`."""
    entered, modified = set(entered), set(modified)
    held = _held(engine, entered | modified)
    out = {p for p in entered | modified if p not in held}
    for pmid in modified & held.keys():
        revised = held[pmid]
        if since is None or revised is None or revised < since:
            out.add(pmid)
    return sorted(out)


def _fmt(day: dt.date) -> str:
    return day.strftime("%Y/%m/%d")


@dataclass
class _Searched:
    """One claim's searches: its row, hits, the PMIDs they ask to fetch, requests spent, and
    the roles of the searches that returned each hit."""

    row_id: int
    hits: list[int]
    wanted: list[int]
    requests: int
    roles: dict[int, set[str]] = field(default_factory=dict)


class _Run:
    """One refresh in progress: search every claim, fetch the union once, then record."""

    def __init__(
        self, engine: Engine, client: PubMedClient, report: RefreshReport, ingest: IngestResult
    ) -> None:
        self.engine = engine
        self.client = client
        self.report = report
        self.ingest = ingest
        self.outage: str | None = None  # why searching stopped, if PubMed became unavailable

    def fetch(self, pmids: Iterable[int]) -> None:
        """Fetch the PMIDs in ceil(N / batch) efetch requests, one transaction per batch."""
        wanted = sorted(set(pmids) - self.report.fetched)
        if wanted:
            store_bodies(self.engine, self.client, self.client.fetch_ids(wanted), self.ingest)
            self.report.fetched.update(wanted)

    def search_claim(self, p: ClaimPlan) -> tuple[list[int], list[int], dict[int, set[str]]]:
        """(the claim's hits, the PMIDs to fetch for it, the roles that found each hit)."""
        roles: dict[int, set[str]] = {}
        if p.mode == "full":  # a first search brings every hit up to date
            empty: list[tuple[str, list[str]]] = []
            for s in p.searches:
                windows = self.client.search(s.query, with_ids=True)
                found = {pmid for w in windows for pmid in w.ids}
                if not found:
                    empty.append((s.role, unknown_phrases(windows)))
                for pmid in found:
                    roles.setdefault(pmid, set()).add(s.role)
            if empty:
                # Reported once per claim (a phrase PubMed did not know is the usual reason);
                # an incremental window with nothing new is the normal case, not this.
                self.report.empty[p.claim_id] = empty
                logger.warning("%s", zero_hits_line(p.claim_id, empty, len(p.searches)))
            hits = sorted(roles)
            return hits, hits, roles
        lo, hi = _fmt(p.since or p.until), _fmt(p.until)
        entered: set[int] = set()
        modified: set[int] = set()
        for s in p.searches:
            new = self.client.search_ids(s.query, mindate=lo, maxdate=hi, datetype="edat")
            changed = self.client.search_ids(s.query, mindate=lo, maxdate=hi, datetype="mdat")
            entered.update(new)
            modified.update(changed)
            for pmid in (*new, *changed):
                roles.setdefault(pmid, set()).add(s.role)
        hits = sorted(entered | modified)
        return hits, to_fetch(self.engine, entered, modified, p.since), roles

    def recheck_linked(self, since: dt.date, until: dt.date) -> list[int]:
        """Linked studies revised in the window (retractions, errata, concerns) to fetch."""
        sql = "SELECT DISTINCT pmid FROM evidence_link ORDER BY pmid"
        with connect(self.engine) as conn:
            linked = [int(p) for p in conn.execute(text(sql)).scalars()]
        modified: list[int] = []
        for chunk in batched(linked, UID_CHUNK):
            term = " OR ".join(f"{p}[uid]" for p in chunk)
            modified += self.client.search_ids(
                term, mindate=_fmt(since), maxdate=_fmt(until), datetype="mdat"
            )
        return to_fetch(self.engine, (), modified, since)

    def open_row(self, p: ClaimPlan) -> int:
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    insert(CLAIM_RUNS)
                    .values(
                        run_id=self.report.run_id,
                        claim_id=p.claim_id,
                        mode=p.mode,
                        query_hash=p.searches_hash,
                        since=p.since,
                        until=p.until,
                    )
                    .returning(CLAIM_RUNS.c.id)
                ).scalar_one()
            )

    def close_row(self, claim_id: str, searched: _Searched, error: str | None = None) -> None:
        """A claim is done only after its records are stored: then its watermark moves."""
        values: dict[str, Any] = {"finished_at": utcnow(), "n_requests": searched.requests}
        with self.engine.begin() as conn:
            if error is None:
                record_hits(conn, claim_id, searched.hits, self.ingest.run_id, utcnow(),
                            searched.roles)  # fmt: skip
                values.update(status="done", n_hits=len(searched.hits),
                              n_fetched=len(searched.wanted))  # fmt: skip
            else:
                values.update(status="failed", error=error)
            conn.execute(update(CLAIM_RUNS).where(CLAIM_RUNS.c.id == searched.row_id)
                         .values(**values))  # fmt: skip

    def search_all(self, notify: Notify | None) -> dict[str, _Searched]:
        """Search every claim; a refused query fails that claim, an outage stops the searches."""
        searched: dict[str, _Searched] = {}
        for i, p in enumerate(self.report.plans):
            if notify:
                notify(p.describe())
            row_id = self.open_row(p)
            before = self.client.stats.requests
            try:
                hits, wanted, roles = self.search_claim(p)
            except PubMedError as exc:
                self.fail(p.claim_id, _Searched(row_id, [], [], 0), exc)
                if isinstance(exc, PubMedUnavailable):
                    # PubMed is down: every other claim would wait out the same retries. They
                    # fail unsearched (searched again next run), so that a run that searched
                    # nothing is `failed`, not `partial`.
                    self.outage = f"not searched: {self.report.failed[p.claim_id]}"
                    for rest in self.report.plans[i + 1 :]:
                        self.report.failed[rest.claim_id] = self.outage
                        self.close_row(
                            rest.claim_id, _Searched(self.open_row(rest), [], [], 0), self.outage
                        )
                    break
                continue
            searched[p.claim_id] = _Searched(
                row_id, hits, wanted, self.client.stats.requests - before, roles
            )
        return searched

    def fail(self, claim_id: str, searched: _Searched, exc: PubMedError) -> None:
        message = str(exc).splitlines()[0]
        logger.error("refresh %s failed: %s", claim_id, message)
        self.report.failed[claim_id] = message
        self.close_row(claim_id, searched, message)


def _start(engine: Engine, today: dt.date, claim_id: str | None, ingest_run: int) -> int:
    with engine.begin() as conn:
        conn.execute(
            update(RUNS)
            .where(RUNS.c.status == "running")
            .values(status="interrupted", finished_at=utcnow())
        )  # the lock is ours: a run still "running" was killed
        conn.execute(
            update(CLAIM_RUNS).where(CLAIM_RUNS.c.status == "running").values(status="interrupted")
        )
        return int(
            conn.execute(
                insert(RUNS)
                .values(
                    status="running",
                    started_at=utcnow(),
                    today=today,
                    claim_filter=claim_id,
                    ingest_run_id=ingest_run,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                )
                .returning(RUNS.c.id)
            ).scalar_one()
        )


def _last_success_day(engine: Engine) -> dt.date | None:
    """The day of the latest finished run whose re-check of linked studies did not fail (a
    partial run may have failed just that): the next re-check's window starts from there."""
    with connect(engine) as conn:
        rows = conn.execute(
            select(RUNS.c.today, RUNS.c.errors)
            .where(RUNS.c.status.in_(("succeeded", "nothing_new", "partial")))
            .order_by(RUNS.c.id.desc())
        )
        for day, errors in rows:
            if not any(str(e).startswith(f"{LINKED}: ") for e in json.loads(errors or "[]")):
                return day  # type: ignore[no-any-return]
    return None


def refresh(
    engine: Engine,
    client: PubMedClient,
    *,
    claim_id: str | None = None,
    today: dt.date | None = None,
    wait: bool = False,
    notify: Notify | None = None,
) -> RefreshReport:
    """Refresh every claim (or one), link, grade, and record a digest; single-flight."""
    today = today or utcnow().date()
    claims = select_claims(engine, claim_id)
    with single_flight(engine, "refresh", wait=wait):
        recheck_since = _last_success_day(engine)
        report = RefreshReport(None, plan(engine, claims, today))
        ingest = start_run(engine, "refresh", f"refresh {today:%Y-%m-%d}", client.endpoint)
        report.run_id = _start(engine, today, claim_id, ingest.run_id)
        run = _Run(engine, client, report, ingest)
        try:
            before = digest_lib.snapshot(engine, [c.id for c in claims])
            searched = run.search_all(notify)
            wanted = {p for one in searched.values() for p in one.wanted}
            if run.outage is not None and recheck_since is not None:
                report.failed[LINKED] = run.outage  # re-checked next run, from the same day
            elif recheck_since is not None and len(report.failed) < len(report.plans):
                since = recheck_since - dt.timedelta(days=OVERLAP_DAYS)
                try:
                    wanted.update(run.recheck_linked(since, today))
                except PubMedError as exc:
                    report.failed[LINKED] = str(exc).splitlines()[0]
            try:
                run.fetch(wanted)
            except PubMedError as exc:
                for claim, one in searched.items():
                    run.fail(claim, one, exc)
                searched = {}
            for claim, one in searched.items():
                run.close_row(claim, one)
                logger.info("refresh %s: %d hits, %d to fetch", claim, len(one.hits),
                            len(one.wanted))  # fmt: skip
            finish_run(engine, ingest, "succeeded", None)
            cause = Cause("refresh", f"run {report.run_id}")
            _, grades = link_and_grade(engine, claims, cause)
            report.new, report.updated = ingest.counts.new, ingest.counts.updated
            report.digest = digest_lib.build(engine, before, report, grades, today)
            report.status = _status(report)
            _finish(engine, report, client)
        except BaseException as exc:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            report.status = status
            finish_run(engine, ingest, status, f"{type(exc).__name__}: {exc}".splitlines()[0])
            _finish(engine, report, client, error=f"{type(exc).__name__}: {exc}")
            raise
    return report


def _status(report: RefreshReport) -> str:
    if report.failed and len(report.failed.keys() - {LINKED}) == len(report.plans):
        return "failed"
    if report.failed:
        return "partial"
    return "succeeded" if digest_lib.has_changes(report.digest) else "nothing_new"


def _finish(
    engine: Engine, report: RefreshReport, client: PubMedClient, error: str | None = None
) -> None:
    stats = client.stats
    errors = [f"{claim}: {message}" for claim, message in sorted(report.failed.items())]
    if error:
        errors.append(error.splitlines()[0])
    counts = report.digest.get("counts", {})
    with engine.begin() as conn:
        conn.execute(
            update(RUNS)
            .where(RUNS.c.id == report.run_id)
            .values(
                status=report.status,
                finished_at=utcnow(),
                n_claims=len(report.plans),
                n_failed=len(report.failed),
                n_searches=stats.esearch,
                n_fetches=stats.efetch,
                n_requests=stats.requests,
                n_fetched=len(report.fetched),
                n_new=report.new,
                n_updated=report.updated,
                n_new_links=int(counts.get("new_links", 0)),
                n_verdict_changes=int(counts.get("verdict_changes", 0)),
                errors=json.dumps(errors),
                digest=json.dumps(report.digest, ensure_ascii=False, sort_keys=True)
                if report.digest
                else None,
            )
        )


def recent_refresh_runs(engine: Engine, limit: int) -> list[RefreshRun]:
    """The latest refresh runs, newest first."""
    with Session(engine, expire_on_commit=False) as session:
        stmt = select(RefreshRun).order_by(RefreshRun.id.desc()).limit(limit)  # type: ignore[union-attr]
        found = list(session.execute(stmt).scalars())
        session.expunge_all()
    return found
