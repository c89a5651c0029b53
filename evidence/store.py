"""Writing parsed records into the database, and reading articles back.

`ArticleWriter.save` is the one upsert path for files and E-utilities alike. It works on a
caller's connection inside the caller's transaction and never commits, so an ingest decides
what is atomic (a whole file; one efetch batch). New rows go in through the driver's bulk path
(`executemany` on SQLite, `COPY` on PostgreSQL) because ORM objects cost more than parsing;
revisions, which are rare, go through plain statements.

What a record does to the database:
- unknown PMID -> inserted (`new`);
- same PMID, same content -> nothing (`unchanged`): ingesting a file twice is a no-op;
- a later state (higher version, or a later DateRevised, or same version/date but different
  content, i.e. the newer file wins) -> the stored state is kept in `article_revision` and
  the article is replaced (`updated`);
- an earlier state than the stored one (e.g. version 1 after version 4) -> kept in
  `article_revision` only (`historical`), the article stays as it is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from evidence import records as r
from evidence import search_index
from evidence.db import batched

ARTICLE_COLUMNS = (
    "pmid", "version", "record_type", "status", "publication_status", "date_revised",
    "date_completed", "date_created", "title", "vernacular_title", "abstract", "journal_title",
    "journal_iso", "issn", "volume", "issue", "pages", "pub_date", "pub_date_raw",
    "pub_date_precision", "pub_year", "article_date", "entrez_date", "doi", "pmcid", "pii",
    "languages", "pubmed_dates", "is_deleted", "deleted_at", "content_hash", "first_run_id",
    "last_run_id", "created_at", "updated_at",
)  # fmt: skip
CHILD_COLUMNS: dict[str, tuple[str, ...]] = {
    "abstract_section": ("pmid", "position", "label", "category", "text"),
    "author": (
        "pmid",
        "position",
        "last_name",
        "fore_name",
        "initials",
        "collective_name",
        "affiliation",
        "orcid",
    ),  # fmt: skip
    "publication_type": ("pmid", "position", "name", "ui"),
    "mesh_heading": ("pmid", "position", "descriptor", "ui", "major"),
    "mesh_qualifier": ("pmid", "heading_position", "position", "name", "ui", "major"),
    "keyword": ("pmid", "position", "keyword", "major", "owner"),
    "comment_correction": ("pmid", "position", "ref_type", "ref_pmid", "ref_source"),
}


@dataclass
class SaveCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    historical: int = 0  # an older state than the stored one: kept as history only
    deleted: int = 0  # DeleteCitation PMIDs we held and marked deleted
    deleted_absent: int = 0  # DeleteCitation PMIDs we never held (recorded, not an error)
    updated_pmids: list[int] = field(default_factory=list)

    def add(self, other: SaveCounts) -> None:
        for f in dataclasses.fields(self):
            if f.name == "updated_pmids":
                self.updated_pmids.extend(other.updated_pmids)
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


# -- canonical form -----------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def record_json(record: r.ParsedArticle) -> str:
    """The record as canonical JSON: what `content_hash` hashes and revisions keep."""
    return json.dumps(dataclasses.asdict(record), default=_jsonable, ensure_ascii=False)


def content_hash(record: r.ParsedArticle) -> str:
    """A fingerprint of every parsed field.

    It hashes the dataclass repr, which names every field and value and is ~7x faster than
    JSON via `asdict` (hashing is on the hot path of every ingest; JSON is needed only for the
    rare revision). A release that adds a field changes every hash, so the next ingest of a
    file refreshes every article with the new field, which is what we want.
    """
    return hashlib.sha256(repr(record).encode("utf-8")).hexdigest()


def _is_later(record: r.ParsedArticle, version: int, date_revised: dt.date | None) -> bool:
    if record.version != version:
        return record.version > version
    if record.date_revised and date_revised and record.date_revised != date_revised:
        return record.date_revised > date_revised
    return True  # same version and date but other content: the newer file wins


# -- writing ------------------------------------------------------------------------------


@dataclass
class _State:
    version: int
    date_revised: dt.date | None
    content_hash: str
    is_deleted: bool
    in_database: bool


class ArticleWriter:
    """Upserts batches of parsed records on one connection, inside the caller's transaction."""

    def __init__(self, conn: Connection, *, run_id: int | None, now: dt.datetime) -> None:
        self.conn = conn
        self.run_id = run_id
        self.now = now
        self.sqlite = conn.dialect.name == "sqlite"

    def save(self, batch: Sequence[r.ParsedArticle]) -> SaveCounts:
        counts = SaveCounts()
        if not batch:
            return counts
        states = self._load_states({rec.pmid for rec in batch})
        pending: dict[int, tuple[r.ParsedArticle, str]] = {}  # pmid -> (latest in batch, hash)
        history: list[tuple[r.ParsedArticle, str]] = []  # superseded states and their hashes
        replace_in_db: set[int] = set()
        for rec in batch:
            h = content_hash(rec)
            state = states.get(rec.pmid)
            if state is None:
                counts.new += 1
            elif state.content_hash == h:
                counts.unchanged += 1
                continue
            elif state.is_deleted and not _is_later(rec, state.version, state.date_revised):
                counts.historical += 1
                history.append((rec, h))
                continue
            elif _is_later(rec, state.version, state.date_revised):
                counts.updated += 1
                counts.updated_pmids.append(rec.pmid)
                if rec.pmid in pending:  # superseded within this batch: never written
                    history.append(pending[rec.pmid])
                elif state.in_database:
                    replace_in_db.add(rec.pmid)
            else:
                counts.historical += 1
                history.append((rec, h))
                continue
            pending[rec.pmid] = (rec, h)
            states[rec.pmid] = _State(
                rec.version, rec.date_revised, h, False, state.in_database if state else False
            )
        if replace_in_db:
            history.extend(self._snapshot_stored(sorted(replace_in_db)))
            self._delete_children(sorted(replace_in_db))
        to_insert = [v for pmid, v in pending.items() if pmid not in replace_in_db]
        to_update = [v for pmid, v in pending.items() if pmid in replace_in_db]
        self._insert_articles(to_insert)
        self._update_articles(to_update)
        self._insert_children([rec for rec, _ in pending.values()])
        self._insert_history(history)
        return counts

    def delete(self, pmids: Iterable[int]) -> SaveCounts:
        """Apply a DeleteCitation: mark held articles deleted, record every PMID."""
        counts = SaveCounts()
        wanted = sorted(set(pmids))
        present: set[int] = set()
        for chunk in batched(wanted):
            rows = self.conn.execute(
                text("SELECT pmid FROM article WHERE pmid IN :p").bindparams(
                    bindparam("p", expanding=True)
                ),
                {"p": list(chunk)},
            )
            present.update(int(row[0]) for row in rows)
        already = self._already_deleted(wanted)
        for pmid in wanted:
            if pmid in already:
                continue
            self.conn.execute(
                text(
                    "INSERT INTO deleted_citation (pmid, deleted_at, was_present, run_id) "
                    "VALUES (:pmid, :at, :present, :run)"
                ),
                {"pmid": pmid, "at": self._ts(), "present": pmid in present, "run": self.run_id},
            )
            if pmid in present:
                self.conn.execute(
                    text(
                        "UPDATE article SET is_deleted = :t, deleted_at = :at, "
                        "last_run_id = :run, updated_at = :at WHERE pmid = :pmid"
                    ),
                    {"t": True, "at": self._ts(), "run": self.run_id, "pmid": pmid},
                )
                counts.deleted += 1
            else:
                counts.deleted_absent += 1
        return counts

    # internals ---------------------------------------------------------------------------

    def _ts(self) -> Any:
        # SQLAlchemy's SQLite DateTime stores this exact text; raw driver writes must match.
        if self.sqlite:
            return self.now.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return self.now

    def _already_deleted(self, pmids: Sequence[int]) -> set[int]:
        found: set[int] = set()
        for chunk in batched(pmids):
            rows = self.conn.execute(
                text("SELECT pmid FROM deleted_citation WHERE pmid IN :p").bindparams(
                    bindparam("p", expanding=True)
                ),
                {"p": list(chunk)},
            )
            found.update(int(row[0]) for row in rows)
        return found

    def _load_states(self, pmids: set[int]) -> dict[int, _State]:
        states: dict[int, _State] = {}
        for chunk in batched(sorted(pmids)):
            rows = self.conn.execute(
                text(
                    "SELECT pmid, version, date_revised, content_hash, is_deleted FROM article "
                    "WHERE pmid IN :p"
                ).bindparams(bindparam("p", expanding=True)),
                {"p": list(chunk)},
            )
            for pmid, version, revised, h, deleted in rows:
                if isinstance(revised, str):
                    revised = dt.date.fromisoformat(revised)
                states[int(pmid)] = _State(int(version), revised, h, bool(deleted), True)
        return states

    def _snapshot_stored(self, pmids: Sequence[int]) -> list[tuple[r.ParsedArticle, str]]:
        out = []
        for pmid in pmids:
            old = load_article(self.conn, pmid)
            if old is None:
                continue
            # The stored hash, not a fresh one: it names the state as it was ingested.
            stored_hash = self.conn.execute(
                text("SELECT content_hash FROM article WHERE pmid = :p"), {"p": pmid}
            ).scalar_one()
            out.append((old, str(stored_hash)))
        return out

    def _delete_children(self, pmids: Sequence[int]) -> None:
        for table in CHILD_COLUMNS:
            for chunk in batched(pmids):
                self.conn.execute(
                    text(f"DELETE FROM {table} WHERE pmid IN :p").bindparams(
                        bindparam("p", expanding=True)
                    ),
                    {"p": list(chunk)},
                )

    def _article_row(self, rec: r.ParsedArticle, h: str) -> tuple[Any, ...]:
        pd = rec.pub_date
        dates = json.dumps({k: v.isoformat() for k, v in rec.history}) if rec.history else None
        ts = self._ts()
        return (
            rec.pmid, rec.version, rec.record_type, rec.status, rec.publication_status,
            self._d(rec.date_revised), self._d(rec.date_completed), self._d(rec.date_created),
            rec.title, rec.vernacular_title, rec.abstract, rec.journal_title, rec.journal_iso,
            rec.issn, rec.volume, rec.issue, rec.pages,
            self._d(pd.date if pd else None), pd.raw if pd else None,
            pd.precision if pd else None, pd.year if pd else None,
            self._d(rec.article_date), self._d(rec.entrez_date), rec.doi, rec.pmcid, rec.pii,
            ";".join(rec.languages) or None, dates, False, None, h, self.run_id, self.run_id,
            ts, ts,
        )  # fmt: skip

    def _d(self, value: dt.date | None) -> Any:
        if value is None:
            return None
        return value.isoformat() if self.sqlite else value

    def _insert_articles(self, items: Sequence[tuple[r.ParsedArticle, str]]) -> None:
        self._bulk_insert(
            "article", ARTICLE_COLUMNS, [self._article_row(rec, h) for rec, h in items]
        )
        if self.sqlite:  # PostgreSQL's tsvector is a generated column; FTS5 is fed here
            table, columns = search_index.FTS_INSERT
            self._bulk_insert(
                table, columns, [(rec.pmid, rec.title, rec.abstract) for rec, _ in items]
            )

    def _update_articles(self, items: Sequence[tuple[r.ParsedArticle, str]]) -> None:
        # Keep first_run_id and created_at: the article's identity outlives its revisions.
        keep = {"pmid", "first_run_id", "created_at"}
        cols = [c for c in ARTICLE_COLUMNS if c not in keep]
        sql = "UPDATE article SET " + ", ".join(f"{c} = :{c}" for c in cols) + " WHERE pmid = :pmid"
        for rec, h in items:
            row = dict(zip(ARTICLE_COLUMNS, self._article_row(rec, h), strict=True))
            self.conn.execute(text(sql), row)

    def _insert_children(self, recs: Sequence[r.ParsedArticle]) -> None:
        rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in CHILD_COLUMNS}
        for rec in recs:
            p = rec.pmid
            rows["abstract_section"].extend(
                (p, i, s.label, s.category, s.text) for i, s in enumerate(rec.sections)
            )
            rows["author"].extend(
                (p, i, a.last_name, a.fore_name, a.initials, a.collective_name, a.affiliation,
                 a.orcid)
                for i, a in enumerate(rec.authors)
            )  # fmt: skip
            rows["publication_type"].extend(
                (p, i, t.name, t.ui) for i, t in enumerate(rec.publication_types)
            )
            for i, m in enumerate(rec.mesh_headings):
                rows["mesh_heading"].append((p, i, m.descriptor, m.ui, m.major))
                rows["mesh_qualifier"].extend(
                    (p, i, j, q.name, q.ui, q.major) for j, q in enumerate(m.qualifiers)
                )
            rows["keyword"].extend(
                (p, i, k.text, k.major, k.owner) for i, k in enumerate(rec.keywords)
            )
            rows["comment_correction"].extend(
                (p, i, c.ref_type, c.pmid, c.ref_source)
                for i, c in enumerate(rec.comments_corrections)
            )
        for table, columns in CHILD_COLUMNS.items():
            self._bulk_insert(table, columns, rows[table])

    def _insert_history(self, history: Sequence[tuple[r.ParsedArticle, str]]) -> None:
        if not history:
            return
        # A state already kept (a second ingest of the same file) is not kept twice.
        conflict = " ON CONFLICT ON CONSTRAINT uq_article_revision_state DO NOTHING"
        if self.sqlite:
            conflict = " ON CONFLICT (pmid, version, content_hash) DO NOTHING"
        sql = text(
            "INSERT INTO article_revision (pmid, version, date_revised, content_hash, snapshot, "
            "recorded_at, run_id) VALUES (:pmid, :version, :revised, :h, :snap, :at, :run)"
            + conflict
        )
        for rec, h in history:
            self.conn.execute(
                sql,
                {
                    "pmid": rec.pmid, "version": rec.version, "revised": self._d(rec.date_revised),
                    "h": h, "snap": record_json(rec), "at": self._ts(), "run": self.run_id,
                },
            )  # fmt: skip

    def _bulk_insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        dbapi = self.conn.connection.driver_connection
        assert dbapi is not None
        names = ", ".join(columns)
        if self.sqlite:
            # One statement per chunk, rows passed as a JSON array: SQLite then does the whole
            # chunk in a single step with the GIL released, so the ingest pipeline's parser
            # keeps running meanwhile (executemany takes the GIL back for every row).
            values = ", ".join(f"value->>{i}" for i in range(len(columns)))
            sql = f"INSERT INTO {table} ({names}) SELECT {values} FROM json_each(?)"
            for start in range(0, len(rows), 20_000):
                dbapi.execute(sql, (json.dumps(rows[start : start + 20_000]),))
            return
        with dbapi.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


# -- reading ------------------------------------------------------------------------------


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def load_article(conn: Connection, pmid: int) -> r.ParsedArticle | None:
    """The stored article as a `ParsedArticle` (None if unknown); inverse of `save`."""
    row = (
        conn.execute(text("SELECT * FROM article WHERE pmid = :p"), {"p": pmid}).mappings().first()
    )
    if row is None:
        return None

    def children(table: str, order: str = "position") -> list[Any]:
        return list(
            conn.execute(
                text(f"SELECT * FROM {table} WHERE pmid = :p ORDER BY {order}"), {"p": pmid}
            ).mappings()
        )

    qualifiers: dict[int, list[r.MeshQualifier]] = {}
    for q in children("mesh_qualifier", "heading_position, position"):
        qualifiers.setdefault(q["heading_position"], []).append(
            r.MeshQualifier(q["name"], q["ui"], bool(q["major"]))
        )
    pub_date = None
    if row["pub_date_raw"] is not None or row["pub_date"] is not None:
        pub_date = r.PubDate(
            raw=row["pub_date_raw"] or "",
            date=_date(row["pub_date"]),
            year=row["pub_year"],
            precision=row["pub_date_precision"] or "unknown",
        )
    history = tuple(
        (k, dt.date.fromisoformat(v)) for k, v in json.loads(row["pubmed_dates"] or "{}").items()
    )
    return r.ParsedArticle(
        pmid=int(row["pmid"]),
        version=row["version"],
        record_type=row["record_type"],
        status=row["status"],
        date_revised=_date(row["date_revised"]),
        date_completed=_date(row["date_completed"]),
        date_created=_date(row["date_created"]),
        title=row["title"],
        vernacular_title=row["vernacular_title"],
        abstract=row["abstract"],
        sections=tuple(
            r.AbstractSection(s["text"], s["label"], s["category"])
            for s in children("abstract_section")
        ),
        journal_title=row["journal_title"],
        journal_iso=row["journal_iso"],
        issn=row["issn"],
        volume=row["volume"],
        issue=row["issue"],
        pages=row["pages"],
        pub_date=pub_date,
        article_date=_date(row["article_date"]),
        entrez_date=_date(row["entrez_date"]),
        doi=row["doi"],
        pmcid=row["pmcid"],
        pii=row["pii"],
        languages=tuple((row["languages"] or "").split(";")) if row["languages"] else (),
        authors=tuple(
            r.Author(
                a["last_name"],
                a["fore_name"],
                a["initials"],
                a["collective_name"],
                a["affiliation"],
                a["orcid"],
            )
            for a in children("author")
        ),  # fmt: skip
        publication_types=tuple(
            r.PublicationType(t["name"], t["ui"]) for t in children("publication_type")
        ),
        mesh_headings=tuple(
            r.MeshHeading(
                m["descriptor"], m["ui"], bool(m["major"]), tuple(qualifiers.get(m["position"], ()))
            )
            for m in children("mesh_heading")
        ),  # fmt: skip
        keywords=tuple(
            r.Keyword(k["keyword"], bool(k["major"]), k["owner"]) for k in children("keyword")
        ),
        comments_corrections=tuple(
            r.CommentCorrection(c["ref_type"], c["ref_source"], c["ref_pmid"])
            for c in children("comment_correction")
        ),
        publication_status=row["publication_status"],
        history=history,
    )


def article_flags(conn: Connection, pmid: int) -> dict[str, Any]:
    """Bookkeeping columns that are not part of the record: deletion, runs, timestamps."""
    row = (
        conn.execute(
            text(
                "SELECT is_deleted, deleted_at, first_run_id, last_run_id, created_at, updated_at "
                "FROM article WHERE pmid = :p"
            ),
            {"p": pmid},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else {}


def summary(conn: Connection) -> dict[str, int]:
    """Row counts that say what the database holds."""
    sql = {
        "articles": "SELECT count(*) FROM article",
        "deleted": "SELECT count(*) FROM article WHERE is_deleted",
        "revisions": "SELECT count(*) FROM article_revision",
        "deletions": "SELECT count(*) FROM deleted_citation",
        "runs": "SELECT count(*) FROM ingest_run",
    }
    return {name: int(conn.execute(text(q)).scalar_one()) for name, q in sql.items()}


def revisions(conn: Connection, pmid: int) -> list[dict[str, Any]]:
    """Earlier states of an article, oldest first."""
    rows = conn.execute(
        text(
            "SELECT version, date_revised, content_hash, recorded_at, run_id "
            "FROM article_revision WHERE pmid = :p ORDER BY version, date_revised, id"
        ),
        {"p": pmid},
    ).mappings()
    return [dict(row) for row in rows]
