"""The exported tables as queries: one SQL statement per table, streamed in typed chunks.

Each table is one statement whose rows arrive in chunks (`yield_per`: a server-side cursor on
PostgreSQL, SQLite's own row-at-a-time cursor), and each chunk is finished in Python (JSON
columns flattened, authors and overrides looked up for that chunk's rows) and typed by the
data dictionary. Memory is bounded by the chunk size, not the table.

As of a time (`dictionary.SPECS` says it per table, and so does datadictionary.md):
- claims: created at or before it, with the statement, type and query they had then (the
  `claim_revision` snapshot that was superseded after it, else the current row); the verdict
  is the latest `claim_verdict` row at or before it.
- links: `evidence_link` rows created at or before it; reviewer decisions made at or before it
  decide the stance that stands. A suggestion re-linked in place keeps only its latest
  stance, relevance and rationale: the suggestion's own past is not kept.
- studies: articles with such a link, the latest `study_appraisal` computed at or before it
  and the overrides made by then; bibliographic fields as the article is now.
- verdict_history and audit: rows recorded at or before it; runs: started at or before it.
Without a time every row counts (the bound is the far future).

Which stance counts for a claim mirrors `evidence.grading`: per claim and live article, the
link with the latest reviewer decision, else the current linker version's suggestion.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import DateTime, Engine, bindparam, text
from sqlalchemy.engine import Connection

from evidence.errors import InputError, NotFound
from evidence.grading.appraisal import Appraisal
from evidence.grading.overrides import current_overrides, effective_appraisals
from evidence.grading.rules import TIER
from evidence.grading.verdicts import verdict_label
from evidence.linking.current import current_link, current_params
from evidence.outputs.export.dictionary import TableSpec, coerce, empty_frame
from evidence.store.db import batched, connect, ensure_at_head, is_sqlite, make_engine
from evidence.vocab import is_design

__all__ = [
    "DEFAULT_CHUNK",
    "FOREVER",
    "AsOf",
    "check_claim",
    "collect",
    "engine_for",
    "iter_frames",
    "parse_as_of",
    "snapshot",
]

#: Rows per chunk: a few megabytes of links at a time.
DEFAULT_CHUNK = 20_000
#: The as-of bound when none is given: every stored row is at or before it.
FOREVER = dt.datetime(9999, 12, 31, 23, 59, 59)


#: A point in time: "2024-03-01" (the end of that day, UTC), an ISO datetime, or a value.
AsOf = str | dt.datetime | dt.date | None


def parse_as_of(value: AsOf) -> dt.datetime | None:
    """The as-of bound as a naive UTC datetime (what the tables store); None stays None.

    A date alone is the end of that day (UTC); a datetime without a zone is UTC.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time.max)
    else:
        try:
            moment = dt.datetime.combine(dt.date.fromisoformat(value.strip()), dt.time.max)
        except ValueError:
            try:
                moment = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                raise InputError(
                    f"bad --as-of {value!r}: give a date (2024-03-01, meaning the end of that "
                    "day UTC) or an ISO datetime (2024-03-01T12:00:00Z)"
                ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


@contextmanager
def engine_for(source: Engine | str) -> Iterator[Engine]:
    """An engine at the schema head: the one given, or one for a URL (disposed after)."""
    if isinstance(source, Engine):
        ensure_at_head(source)
        yield source
        return
    engine = make_engine(source)
    try:
        ensure_at_head(engine)
        yield engine
    finally:
        engine.dispose()


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one state of the database, so the tables of one
    export agree with each other while a refresh writes."""
    with connect(engine) as conn:
        if is_sqlite(conn):
            # pysqlite opens no transaction for SELECTs; an explicit one pins a WAL snapshot.
            conn.exec_driver_sql("BEGIN")
        else:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        try:
            yield conn
        finally:
            conn.rollback()


def check_claim(conn: Connection, claim: str) -> None:
    if conn.execute(text("SELECT 1 FROM claim WHERE id = :c"), {"c": claim}).first() is None:
        raise NotFound(f"no claim {claim!r}; see: evidence claims list")


# --- SQL ----------------------------------------------------------------------------------------

# A link's stance after review, its rank among the links of the same claim and article (the
# first counts, as in grading) and whether the article was deleted by then. `{claim}` is
# replaced by a filter on l.claim_id, or nothing.
_JUDGED = f"""
latest AS (
    SELECT d.link_id, max(d.id) AS decision_id, count(DISTINCT d.reviewer) AS n_reviewers
    FROM review_decision d WHERE d.decided_at <= :as_of GROUP BY d.link_id
),
judged AS (
    SELECT l.id AS link_id, l.claim_id, l.pmid,
        CASE WHEN d.id IS NULL OR d.decision = 'accept' THEN l.stance
             WHEN d.decision = 'correct' THEN d.stance ELSE 'rejected' END AS stance,
        CASE WHEN d.id IS NULL THEN 'suggested' ELSE 'reviewer' END AS origin,
        l.stance AS suggested_stance, d.decision, d.reviewer, d.decided_at,
        d.note AS review_note, d.exclusion_reason, COALESCE(latest.n_reviewers, 0) AS n_reviewers,
        l.relevance, l.confidence, l.retrieval_score, l.origin AS retrieved_by,
        h.search_roles, l.rationale,
        l.method, l.method_version, l.created_at, l.updated_at,
        CASE WHEN d.id IS NOT NULL OR ({current_link("l")}) THEN 1 ELSE 0 END AS may_count,
        CASE WHEN a.is_deleted AND (a.deleted_at IS NULL OR a.deleted_at <= :as_of)
             THEN 1 ELSE 0 END AS deleted,
        row_number() OVER (
            PARTITION BY l.claim_id, l.pmid
            ORDER BY COALESCE(d.id, 0) DESC,
                     CASE WHEN {current_link("l")} THEN 1 ELSE 0 END DESC,
                     l.id DESC
        ) AS rank
    FROM evidence_link l
    JOIN article a ON a.pmid = l.pmid
    LEFT JOIN latest ON latest.link_id = l.id
    LEFT JOIN review_decision d ON d.id = latest.decision_id
    LEFT JOIN claim_hit h ON h.claim_id = l.claim_id AND h.pmid = l.pmid
    WHERE l.created_at <= :as_of {{claim}}
)"""
_COUNTS = "rank = 1 AND may_count = 1 AND deleted = 0"

_LINKS = f"""
WITH {_JUDGED}
SELECT link_id, claim_id, pmid, stance, origin, suggested_stance, decision, reviewer,
    decided_at, review_note, exclusion_reason, n_reviewers,
    CASE WHEN {_COUNTS} THEN 1 ELSE 0 END AS counts,
    relevance, confidence, retrieval_score, retrieved_by, search_roles, rationale, method,
    method_version,
    created_at, updated_at
FROM judged ORDER BY claim_id, pmid, link_id"""

_CLAIMS = f"""
WITH {_JUDGED},
counted AS (
    SELECT claim_id, count(*) AS n_studies,
        sum(CASE WHEN stance = 'supports' THEN 1 ELSE 0 END) AS n_supports,
        sum(CASE WHEN stance = 'contradicts' THEN 1 ELSE 0 END) AS n_contradicts,
        sum(CASE WHEN stance = 'neutral' THEN 1 ELSE 0 END) AS n_neutral,
        sum(CASE WHEN stance = 'rejected' THEN 1 ELSE 0 END) AS n_rejected
    FROM judged WHERE {_COUNTS} GROUP BY claim_id
)
SELECT c.id AS claim_id, c.document_id, c.claim_type, c.statement, c.query, c.source,
    c.revision, c.created_at, r.snapshot AS superseded,
    v.verdict, v.lean, v.certainty, v.scope, v.basis, v.support_share, v.sort_label,
    v.cebm_level, v.grading_version, v.at AS verdict_at,
    COALESCE(n.n_studies, 0) AS n_studies, COALESCE(n.n_supports, 0) AS n_supports,
    COALESCE(n.n_contradicts, 0) AS n_contradicts, COALESCE(n.n_neutral, 0) AS n_neutral,
    COALESCE(n.n_rejected, 0) AS n_rejected
FROM claim c
LEFT JOIN claim_verdict v ON v.id = (
    SELECT max(w.id) FROM claim_verdict w WHERE w.claim_id = c.id AND w.at <= :as_of)
LEFT JOIN claim_revision r ON r.claim_id = c.id AND r.revision = (
    SELECT min(q.revision) FROM claim_revision q
    WHERE q.claim_id = c.id AND q.recorded_at > :as_of)
LEFT JOIN counted n ON n.claim_id = c.id
WHERE c.created_at <= :as_of {{claim_c}}
ORDER BY c.id"""

_STUDIES = """
WITH linked AS (
    SELECT l.pmid, count(DISTINCT l.claim_id) AS n_claims FROM evidence_link l
    WHERE l.created_at <= :as_of {claim} GROUP BY l.pmid
)
SELECT a.pmid, a.doi, a.pmcid, a.title, a.journal_title AS journal, a.journal_iso,
    a.pub_year AS year, a.pub_date, a.volume, a.issue, a.pages,
    s.design, s.cebm_level, s.population, s.species, s.sample_size, s.rob_flags, s.status,
    s.letter AS grade, s.grading_version, s.computed_at AS appraised_at,
    CASE WHEN a.is_deleted AND (a.deleted_at IS NULL OR a.deleted_at <= :as_of)
         THEN 1 ELSE 0 END AS deleted,
    linked.n_claims
FROM linked
JOIN article a ON a.pmid = linked.pmid
LEFT JOIN study_appraisal s ON s.id = (
    SELECT max(t.id) FROM study_appraisal t WHERE t.pmid = a.pmid AND t.computed_at <= :as_of)
ORDER BY a.pmid"""

_SEARCHES = """
SELECT s.claim_id, s.position, s.role, s.query, s.intent, s.statement
FROM claim_search s JOIN claim c ON c.id = s.claim_id
WHERE c.created_at <= :as_of {claim_s}
ORDER BY s.claim_id, s.position"""

_VERDICT_HISTORY = """
SELECT v.id AS verdict_id, v.claim_id, v.at, v.verdict, v.lean, v.certainty, v.scope, v.basis,
    v.support_share, v.sort_label, v.cebm_level, v.grading_version, v.changed, v.why,
    v.reasons, v.cause, v.cause_ref, v.actor, v.previous_id
FROM claim_verdict v WHERE v.at <= :as_of {claim_v}
ORDER BY v.claim_id, v.id"""

_RUNS = """
SELECT 'ingest' AS run_type, id AS run_id, kind, status, started_at, finished_at, source,
    n_new, n_updated, n_unchanged, n_deleted, n_failed, n_requests,
    NULL AS n_claims, NULL AS n_searches, NULL AS n_fetches, NULL AS n_fetched,
    NULL AS n_new_links, NULL AS n_verdict_changes, NULL AS errors, message
FROM ingest_run WHERE started_at <= :as_of
UNION ALL
SELECT 'refresh', id, 'refresh', status, started_at, finished_at, claim_filter,
    n_new, n_updated, NULL, NULL, n_failed, n_requests,
    n_claims, n_searches, n_fetches, n_fetched, n_new_links, n_verdict_changes, errors, NULL
FROM refresh_run WHERE started_at <= :as_of
ORDER BY started_at, run_type, run_id"""

_AUDIT = """
SELECT a.id AS audit_id, a.at, a.actor, a.entity, a.entity_id, a.claim_id, a.action,
    a.before, a.after, a.reason
FROM audit_log a WHERE a.at <= :as_of {claim_a}
ORDER BY a.id"""


# --- finishing a chunk in Python ------------------------------------------------------------------

Finish = Callable[[Connection, pd.DataFrame, dt.datetime | None], pd.DataFrame]


def _joined(values: Any) -> str | None:
    """A JSON list as "a; b" (missing stays missing)."""
    if values is None or (isinstance(values, float) and pd.isna(values)):
        return None
    return "; ".join(str(v) for v in json.loads(values))


def _labels(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(
        [
            verdict_label(v, lean) if isinstance(v, str) else None
            for v, lean in zip(frame["verdict"], frame["lean"], strict=True)
        ],
        index=frame.index,
        dtype="object",
    )


def _finish_claims(
    conn: Connection, frame: pd.DataFrame, as_of: dt.datetime | None
) -> pd.DataFrame:
    for i, superseded in frame["superseded"].items():
        if isinstance(superseded, str):
            state = json.loads(superseded)
            for column, key in (
                ("document_id", "document_id"),
                ("statement", "statement"),
                ("claim_type", "type"),
                ("query", "query"),
                ("revision", "revision"),
            ):
                frame.at[i, column] = state.get(key)
    frame["verdict_label"] = _labels(frame)
    return frame


def _finish_links(conn: Connection, frame: pd.DataFrame, as_of: dt.datetime | None) -> pd.DataFrame:
    frame["rationale"] = [
        " ".join(s["text"] for s in json.loads(r or "[]")) for r in frame["rationale"]
    ]
    return frame


def _children(conn: Connection, sql: str, pmids: list[int]) -> dict[int, list[str]]:
    """pmid -> its rows of a child table (in position order), as strings."""
    out: dict[int, list[str]] = {}
    for chunk in batched(pmids):
        stmt = text(sql).bindparams(bindparam("p", expanding=True))
        for pmid, value in conn.execute(stmt, {"p": list(chunk)}):
            if value:
                out.setdefault(int(pmid), []).append(str(value))
    return out


# Authors as in a reference list: "Last FM", or a group's name.
_AUTHORS = (
    "SELECT pmid, COALESCE(collective_name, trim(COALESCE(last_name, '') || ' ' || "
    "COALESCE(initials, ''))) FROM author WHERE pmid IN :p ORDER BY pmid, position"
)
_PUBLICATION_TYPES = (
    "SELECT pmid, name FROM publication_type WHERE pmid IN :p ORDER BY pmid, position"
)


def _finish_studies(
    conn: Connection, frame: pd.DataFrame, as_of: dt.datetime | None
) -> pd.DataFrame:
    pmids = [int(p) for p in frame["pmid"]]
    authors = _children(conn, _AUTHORS, pmids)
    types = _children(conn, _PUBLICATION_TYPES, pmids)
    standing = current_overrides(conn, "study", [str(p) for p in pmids], _bound(as_of))
    overrides = {int(p): found for p, found in standing.items()}
    frame["authors"] = ["; ".join(authors.get(p, [])) for p in pmids]
    frame["publication_types"] = ["; ".join(types.get(p, [])) for p in pmids]
    frame["overridden"] = ["; ".join(o.field for o in overrides.get(p, [])) for p in pmids]
    # Overridden and appraised rows (an override needs an appraisal to act on) as stored ...
    computed = {
        int(row["pmid"]): Appraisal(
            pmid=int(row["pmid"]),
            design=row["design"],
            cebm_level=int(row["cebm_level"]),
            population=str(row["population"]),
            species=tuple(json.loads(row["species"])),
            sample_size=None if pd.isna(row["sample_size"]) else int(row["sample_size"]),
            rob_flags=tuple(json.loads(row["rob_flags"])),
            status=str(row["status"]),
            letter=str(row["grade"]),
        )
        for _, row in frame.iterrows()
        if overrides.get(int(row["pmid"])) and is_design(row["design"])
    }
    # ... and with the overrides applied, as grading applies them.
    effective_by_pmid = effective_appraisals(computed, standing)
    for i, row in frame.iterrows():
        effective = effective_by_pmid.get(int(row["pmid"]))
        if effective is None:
            continue
        frame.at[i, "design"] = effective.design
        frame.at[i, "cebm_level"] = effective.cebm_level
        frame.at[i, "population"] = effective.population
        frame.at[i, "sample_size"] = effective.sample_size
        frame.at[i, "rob_flags"] = json.dumps(list(effective.rob_flags))
        frame.at[i, "status"] = effective.status
        frame.at[i, "grade"] = effective.letter
    frame["species"] = [_joined(v) for v in frame["species"]]
    frame["rob_flags"] = [_joined(v) for v in frame["rob_flags"]]
    frame["design_tier"] = [TIER.get(d) if is_design(d) else None for d in frame["design"]]
    frame["retracted"] = [s == "retracted" if isinstance(s, str) else None for s in frame["status"]]
    return frame


def _finish_verdicts(
    conn: Connection, frame: pd.DataFrame, as_of: dt.datetime | None
) -> pd.DataFrame:
    frame["verdict_label"] = _labels(frame)
    frame["changed"] = [_joined(v) for v in frame["changed"]]
    frame["reason_codes"] = ["; ".join(r["code"] for r in json.loads(v)) for v in frame["reasons"]]
    return frame


def _finish_runs(conn: Connection, frame: pd.DataFrame, as_of: dt.datetime | None) -> pd.DataFrame:
    started = pd.to_datetime(frame["started_at"], utc=True, format="ISO8601")
    finished = pd.to_datetime(frame["finished_at"], utc=True, format="ISO8601")
    frame["duration_s"] = (finished - started).dt.total_seconds()
    errors = [json.loads(e) if isinstance(e, str) else None for e in frame["errors"]]
    frame["n_errors"] = [len(e) if e is not None else None for e in errors]
    frame["message"] = [
        (e[0] if e else None) if e is not None else m
        for e, m in zip(errors, frame["message"], strict=True)
    ]
    return frame


def _unchanged(conn: Connection, frame: pd.DataFrame, as_of: dt.datetime | None) -> pd.DataFrame:
    return frame


@dataclass(frozen=True)
class _Query:
    sql: str
    finish: Finish


_QUERIES: dict[str, _Query] = {
    "claims": _Query(_CLAIMS, _finish_claims),
    "studies": _Query(_STUDIES, _finish_studies),
    "links": _Query(_LINKS, _finish_links),
    "searches": _Query(_SEARCHES, _unchanged),
    "verdict_history": _Query(_VERDICT_HISTORY, _finish_verdicts),
    "runs": _Query(_RUNS, _finish_runs),
    "audit": _Query(_AUDIT, _unchanged),
}


def _as_of_param() -> Any:
    # Typed, so SQLite gets the text form its DateTime columns are stored in; the value is
    # zone-aware (`_bound`), so PostgreSQL compares timestamptz columns in UTC whatever the
    # session's time zone.
    return bindparam("as_of", type_=DateTime(timezone=True))


def _bound(as_of: dt.datetime | None) -> dt.datetime:
    return (as_of or FOREVER).replace(tzinfo=dt.UTC)


def _sql(table: str, claim: str | None) -> str:
    filters = {
        "claim": "l.claim_id",
        "claim_c": "c.id",
        "claim_v": "v.claim_id",
        "claim_a": "a.claim_id",
        "claim_s": "s.claim_id",
    }
    values = {
        k: (f"AND {column} = :claim" if claim is not None else "") for k, column in filters.items()
    }
    return _QUERIES[table].sql.format(**values)


def iter_frames(
    conn: Connection,
    spec: TableSpec,
    *,
    as_of: dt.datetime | None = None,
    claim: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
) -> Iterator[pd.DataFrame]:
    """The table's rows as typed DataFrames of at most `chunk_size` rows, in file order.

    `as_of` is a naive UTC datetime (see `evidence.export.parse_as_of`). Runs are
    database-wide: `claim` does not filter them.
    """
    if spec.name not in _QUERIES:
        raise KeyError(spec.name)
    query = _QUERIES[spec.name]
    stmt = text(_sql(spec.name, claim)).bindparams(_as_of_param())
    params: dict[str, Any] = {
        "as_of": _bound(as_of),
        **current_params(),
    }
    if claim is not None:
        params["claim"] = claim
    result = conn.execution_options(yield_per=chunk_size).execute(stmt, params)
    columns = list(result.keys())
    for rows in result.partitions(chunk_size):
        # Object columns: finishing may put a None where the driver gave integers.
        frame = pd.DataFrame([tuple(r) for r in rows], columns=columns, dtype=object)
        frame = query.finish(conn, frame, as_of)
        yield coerce(frame, spec)


def collect(
    conn: Connection,
    spec: TableSpec,
    *,
    as_of: dt.datetime | None = None,
    claim: str | None = None,
) -> pd.DataFrame:
    """The whole table as one DataFrame (for notebooks and small tables)."""
    chunks = list(iter_frames(conn, spec, as_of=as_of, claim=claim))
    return pd.concat(chunks, ignore_index=True) if chunks else empty_frame(spec)
