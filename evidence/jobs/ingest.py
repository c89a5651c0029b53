"""Ingest jobs: PubMed XML files and E-utilities searches into the store, recorded as runs.

Atomicity is chosen per source:
- a **file** is one transaction: a malformed or truncated file writes nothing, a killed
  ingest leaves the database as it was, and a rerun does the whole file again (idempotently);
- a **search** commits after each efetch batch: every committed batch holds whole records,
  so a failure or kill mid-way keeps what was fetched and a rerun only re-reads it.

Every job gets an `ingest_run` row, committed before the work starts, so that a failed or
killed job is still visible in `evidence runs`.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, bindparam, select, text, update
from sqlalchemy.engine import Connection
from sqlmodel import Session

from evidence.clock import utcnow
from evidence.errors import EvidenceError, InputError
from evidence.grading.grades import ClaimGrade, regrade_after_ingest
from evidence.pubmed import parsing
from evidence.pubmed.parse_worker import Message, encoded_messages, parse_file
from evidence.store.articles import ArticleWriter, SaveCounts
from evidence.store.db import batched, connect
from evidence.store.models import IngestRun
from evidence.store.records import ParsedArticle

if TYPE_CHECKING:
    from evidence.pubmed.client import PubMedClient

logger = logging.getLogger("evidence.ingest")

#: Called with (units done, units total or None) as work advances: bytes for files, records
#: for searches.
Progress = Callable[[int, int | None], None]


@dataclass
class IngestResult:
    run_id: int
    source: str
    counts: SaveCounts = field(default_factory=SaveCounts)
    books: int = 0
    requests: int = 0
    status: str = "running"
    #: PMIDs of the records a search returned, in fetch order (searches only): the audit
    #: records them as the claim's query hits.
    pmids: list[int] = field(default_factory=list)
    #: (earlier run id, hits it had stored) when this search resumed an unfinished one.
    resumed: tuple[int, int] | None = None
    #: Phrases and fields the search's esearch did not know (PhraseNotFound ...).
    unknown: list[str] = field(default_factory=list)
    #: Claims regraded after the run (`regrade=True` and the run changed records).
    regraded: list[ClaimGrade] = field(default_factory=list)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_interrupted_runs(engine: Engine) -> int:
    """Runs left 'running' by a process of this host that no longer exists were killed."""
    host = socket.gethostname()
    with Session(engine) as session:
        stale = [
            run
            for run in session.exec(  # type: ignore[call-overload]
                select(IngestRun).where(IngestRun.status == "running")  # type: ignore[arg-type]
            ).scalars()
            if run.host == host and run.pid is not None and not _pid_alive(run.pid)
        ]
        for run in stale:
            run.status = "interrupted"
            run.message = "the process ended without finishing (killed?); rerun to complete"
        session.commit()
        return len(stale)


def _start_run(engine: Engine, kind: str, source: str, endpoint: str | None = None) -> int:
    mark_interrupted_runs(engine)
    with Session(engine) as session:
        run = IngestRun(
            kind=kind,
            source=source,
            endpoint=endpoint,
            started_at=utcnow(),
            host=socket.gethostname(),
            pid=os.getpid(),
        )
        session.add(run)
        session.commit()
        assert run.id is not None
        return run.id


def _finish_values(result: IngestResult, status: str, message: str | None) -> dict[str, Any]:
    c = result.counts
    return {
        "status": status,
        "finished_at": None if status == "running" else utcnow(),
        "n_new": c.new,
        "n_updated": c.updated,
        "n_unchanged": c.unchanged,
        "n_deleted": c.deleted + c.deleted_absent,
        "n_skipped": c.historical,
        "n_requests": result.requests,
        "message": message,
    }


def _record_run(conn: Connection, result: IngestResult, status: str, msg: str | None) -> None:
    conn.execute(
        update(IngestRun)
        .where(IngestRun.id == result.run_id)  # type: ignore[arg-type]
        .values(**_finish_values(result, status, msg))
    )


def _fail_run(engine: Engine, result: IngestResult, exc: BaseException) -> None:
    if isinstance(exc, KeyboardInterrupt):
        message = "interrupted (Ctrl-C or a signal); committed work is kept, rerun to continue"
    elif isinstance(exc, EvidenceError):
        message = str(exc)
    else:
        message = f"{type(exc).__name__}: {exc}"
    status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
    result.status = status
    with engine.begin() as conn:
        _record_run(conn, result, status, message.splitlines()[0] if message else status)


def _summary_message(result: IngestResult) -> str | None:
    c = result.counts
    parts = []
    if c.deleted_absent:
        parts.append(f"{c.deleted_absent} deleted PMIDs were not in the database (recorded)")
    if result.books:
        parts.append(f"{result.books} book records")
    return "; ".join(parts) or None


def _apply(
    writer: ArticleWriter,
    messages: Iterable[Message],
    result: IngestResult,
    progress: Progress | None = None,
    total: int | None = None,
) -> None:
    """Write a stream of encoded batches and deletions, in order."""
    for kind, payload, done in messages:
        if kind == "batch":
            result.books += sum(1 for m in payload.records if m.record_type == "book")
            result.counts.add(writer.save(payload))
        elif kind == "delete":
            result.counts.add(writer.delete(payload))
        if progress:
            progress(done, total)


def ingest_file(
    engine: Engine,
    path: Path,
    *,
    batch_size: int = 1000,
    progress: Progress | None = None,
    regrade: bool = False,
) -> IngestResult:
    """Ingest one PubMed XML file (.xml or .xml.gz) in a single transaction.

    A worker process parses while this one writes (see `parse_worker`). With `regrade`, linked
    claims are regraded when the file changed records (`regrade_changed`).
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file; give the path of a PubMed .xml or .xml.gz file")
    result = IngestResult(run_id=_start_run(engine, "file", str(path)), source=str(path))
    try:
        with connect(engine) as conn, conn.begin():
            writer = ArticleWriter(conn, run_id=result.run_id, now=utcnow())
            size = path.stat().st_size
            if progress:
                progress(0, size)
            _apply(writer, parse_file(path, batch_size=batch_size), result, progress, size)
            result.status = "succeeded"
            _record_run(conn, result, "succeeded", _summary_message(result))
    except BaseException as exc:
        result.counts = SaveCounts()  # rolled back: nothing of this file was kept
        _fail_run(engine, result, exc)
        raise
    if regrade:
        result.regraded = regrade_changed(engine, result)
    return result


def regrade_changed(engine: Engine, result: IngestResult) -> list[ClaimGrade]:
    """Regrade linked claims when the run changed records (a study may have been retracted)."""
    c = result.counts
    return regrade_after_ingest(engine, result.run_id, bool(c.new or c.updated or c.deleted))


def store_bodies(
    engine: Engine,
    client: PubMedClient,
    bodies: Iterable[bytes],
    result: IngestResult,
    progress: Progress | None = None,
    total: int | None = None,
) -> None:
    """Parse and store efetch bodies, one transaction each (a kill loses at most one batch).

    The run row is brought up to date in the same transaction, so it never claims more than
    the database holds; the fetched PMIDs are appended to `result.pmids`.
    """
    done = 0
    if progress:
        progress(0, total)
    for body in bodies:
        records = parsing.parse_bytes(body, name="efetch response")
        with connect(engine) as conn, conn.begin():
            writer = ArticleWriter(conn, run_id=result.run_id, now=utcnow())
            _apply(writer, encoded_messages(records, batch_size=len(records) + 1), result)
            result.requests = client.stats.requests
            _record_run(conn, result, "running", None)
        fetched = [rec.pmid for rec in records if isinstance(rec, ParsedArticle)]
        result.pmids.extend(fetched)
        done += len(fetched)
        if progress:
            progress(done, total)


def start_run(engine: Engine, kind: str, source: str, endpoint: str | None = None) -> IngestResult:
    """Open an ingest run (status running) for work that stores records in several steps."""
    return IngestResult(run_id=_start_run(engine, kind, source, endpoint), source=source)


def finish_run(engine: Engine, result: IngestResult, status: str, message: str | None) -> None:
    result.status = status
    with engine.begin() as conn:
        _record_run(conn, result, status, message)


def _unfinished_search(engine: Engine, source: str) -> int | None:
    """The id of the latest search run of `source` if it failed or was interrupted."""
    with connect(engine) as conn:
        latest = conn.execute(
            text(
                "SELECT id, status FROM ingest_run WHERE kind = 'search' AND source = :s "
                "ORDER BY id DESC LIMIT 1"
            ),
            {"s": source},
        ).first()
    if latest is None or latest.status not in ("failed", "interrupted"):
        return None
    return int(latest.id)


def _held(engine: Engine, pmids: Sequence[int]) -> set[int]:
    held: set[int] = set()
    with connect(engine) as conn:
        for chunk in batched(sorted(set(pmids))):
            rows = conn.execute(
                text("SELECT pmid FROM article WHERE pmid IN :p").bindparams(
                    bindparam("p", expanding=True)
                ),
                {"p": list(chunk)},
            )
            held.update(int(p) for (p,) in rows)
    return held


def ingest_search(
    engine: Engine,
    client: PubMedClient,
    term: str,
    *,
    mindate: str | None = None,
    maxdate: str | None = None,
    datetype: str = "edat",
    max_records: int | None = None,
    progress: Progress | None = None,
    regrade: bool = False,
) -> IngestResult:
    """Search PubMed, fetch every hit in batches and store them, committing per batch.

    Normally the hits are read from the history server in `client.batch_size` slices. When the
    last search of the same term failed or was interrupted, the search resumes instead: its
    esearch asks for the PMIDs too, and only those the database does not hold are fetched, by
    id (a held record that changed at NCBI is picked up by `evidence refresh`'s mdat window).
    """
    from evidence.pubmed.client import unknown_phrases

    resumed_from = _unfinished_search(engine, term)
    result = IngestResult(run_id=_start_run(engine, "search", term, client.endpoint), source=term)
    try:
        windows = client.search(
            term,
            mindate=mindate,
            maxdate=maxdate,
            datetype=datetype,
            with_ids=resumed_from is not None,
        )
        result.unknown = unknown_phrases(windows)
        if resumed_from is None:
            total = sum(w.count for w in windows)
            if max_records is not None:
                total = min(total, max_records)
            bodies = client.fetch(windows, max_records=max_records)
        else:
            # Newest first, as `fetch` reads them, so a capped resume takes the same records.
            ids = [p for w in sorted(windows, key=lambda w: w.mindate or "", reverse=True)
                   for p in w.ids][:max_records]  # fmt: skip
            held = _held(engine, ids)
            todo = [p for p in ids if p not in held]
            result.pmids.extend(p for p in ids if p in held)
            result.resumed = (resumed_from, len(ids) - len(todo))
            logger.info(
                "resuming search run %d: %d of %d hits already stored, fetching %d",
                resumed_from,
                len(ids) - len(todo),
                len(ids),
                len(todo),
            )
            total = len(todo)
            bodies = client.fetch_ids(todo)
        store_bodies(engine, client, bodies, result, progress, total)
        result.requests = client.stats.requests
        result.status = "succeeded"
        with engine.begin() as conn:
            _record_run(conn, result, "succeeded", _summary_message(result))
    except BaseException as exc:
        result.requests = client.stats.requests
        _fail_run(engine, result, exc)
        raise
    if regrade:
        result.regraded = regrade_changed(engine, result)
    return result


def recent_runs(engine: Engine, limit: int) -> list[IngestRun]:
    """The latest ingest runs, newest first; runs of processes that died are marked first."""
    mark_interrupted_runs(engine)
    with Session(engine, expire_on_commit=False) as session:
        stmt = select(IngestRun).order_by(IngestRun.id.desc()).limit(limit)  # type: ignore[union-attr]
        found = list(session.execute(stmt).scalars())
        session.expunge_all()
    return found
