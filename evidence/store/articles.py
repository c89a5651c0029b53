"""Writing parsed records into the database, and reading articles back.

`ArticleWriter.save` is the one upsert path for files and E-utilities alike. It works on a
caller's connection inside the caller's transaction and never commits, so an ingest decides
what is atomic (a whole file; one efetch batch). Records arrive pre-encoded as JSON rows
(`evidence.rows`) and each table gets one statement per batch that expands them inside the
database, because per-row work in Python costs more than parsing; revisions, which are rare,
go through plain statements.

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
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import bindparam, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import evidence.store.models  # noqa: F401  (table metadata for the PostgreSQL casts)
from evidence.store import records as r
from evidence.store import search_index
from evidence.store.db import batched
from evidence.store.rows import (
    ABSTRACT_INDEX,
    CHILD_COLUMNS,
    CONTENT_COLUMNS,
    TITLE_INDEX,
    DecodedRecord,
    EncodedBatch,
    RecordMeta,
    decode_batch,
    snapshot,
)

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

#: Article columns about our copy of a record, not the record itself.
BOOKKEEPING_COLUMNS = (
    "is_deleted", "deleted_at", "content_hash", "first_run_id", "last_run_id", "created_at",
    "updated_at",
)  # fmt: skip
ARTICLE_COLUMNS = CONTENT_COLUMNS + BOOKKEEPING_COLUMNS


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


def _is_later(rec: RecordMeta, version: int, date_revised: str | None) -> bool:
    if rec.version != version:
        return rec.version > version
    if rec.date_revised and date_revised and rec.date_revised != date_revised:
        return rec.date_revised > date_revised  # ISO dates compare as strings
    return True  # same version and date but other content: the newer file wins


class _Kept(NamedTuple):
    """A superseded state of a record, as `article_revision` keeps it."""

    pmid: int
    version: int
    date_revised: str | None
    hash: str
    snapshot: str

    @classmethod
    def of(cls, rec: DecodedRecord) -> _Kept:
        m = rec.meta
        return cls(m.pmid, m.version, m.date_revised, m.hash, snapshot(rec))


@dataclass
class _State:
    version: int
    date_revised: str | None
    content_hash: str
    is_deleted: bool
    in_database: bool


@cache
def _pg_insert_sql(table: str, columns: tuple[str, ...], constants: tuple[str, ...]) -> str:
    """INSERT ... SELECT from a JSON array of row arrays, each value cast to its column type."""
    types = SQLModel.metadata.tables[table].c
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]

    def cast(name: str) -> str:
        return str(types[name].type.compile(dialect=dialect))

    values = [f"(e->>{i})::{cast(name)}" for i, name in enumerate(columns)]
    values += [f"%s::{cast(name)}" for name in constants]
    return (
        f"INSERT INTO {table} ({', '.join([*columns, *constants])}) "
        f"SELECT {', '.join(values)} FROM jsonb_array_elements(%s::jsonb) AS e"
    )


class ArticleWriter:
    """Upserts batches of encoded records on one connection, inside the caller's transaction."""

    def __init__(self, conn: Connection, *, run_id: int | None, now: dt.datetime) -> None:
        self.conn = conn
        self.run_id = run_id
        self.sqlite = conn.dialect.name == "sqlite"
        # SQLAlchemy's SQLite DateTime stores this exact text; the JSON path must match it.
        utc = now.astimezone(dt.UTC)
        self.now: str = utc.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else utc.isoformat()

    def save(self, batch: EncodedBatch) -> SaveCounts:
        counts = SaveCounts()
        metas = batch.records
        if not metas:
            return counts
        states = self._load_states({m.pmid for m in metas})
        pending: dict[int, int] = {}  # pmid -> index of its latest state in this batch
        kept: list[int] = []  # indices of in-batch states that only go to history
        replace_in_db: set[int] = set()
        for i, m in enumerate(metas):
            state = states.get(m.pmid)
            if state is None:
                counts.new += 1
            elif state.content_hash == m.hash:
                counts.unchanged += 1
                continue
            elif _is_later(m, state.version, state.date_revised) and not (
                state.is_deleted and m.version == state.version
                and m.date_revised == state.date_revised
            ):  # fmt: skip
                counts.updated += 1
                counts.updated_pmids.append(m.pmid)
                if m.pmid in pending:  # superseded within this batch: never written
                    kept.append(pending[m.pmid])
                elif state.in_database:
                    replace_in_db.add(m.pmid)
            else:
                counts.historical += 1
                kept.append(i)
                continue
            pending[m.pmid] = i
            in_db = state.in_database if state else False
            states[m.pmid] = _State(m.version, m.date_revised, m.hash, False, in_db)
        stored = sorted(replace_in_db)
        history = [self._kept_from_database(pmid) for pmid in stored]  # before replacing
        self._delete_children(stored)
        if not stored and not kept and len(pending) == len(metas):
            # Every record is new: the batch goes in exactly as the parser encoded it.
            self._insert_articles(batch.article)
            children = batch.children
        else:
            decoded = decode_batch(batch)
            history.extend(_Kept.of(decoded[i]) for i in kept)
            chosen = sorted(pending.values())
            self._insert_articles(
                _dumps([[*decoded[i].article, metas[i].hash] for i in chosen
                        if metas[i].pmid not in replace_in_db])
            )  # fmt: skip
            self._update_articles([decoded[i] for i in chosen if metas[i].pmid in replace_in_db])
            children = tuple(
                _dumps([row for i in chosen for row in decoded[i].children[t]])
                for t in range(len(CHILD_COLUMNS))
            )
        for (table, columns), rows_json in zip(CHILD_COLUMNS.items(), children, strict=True):
            self._insert_json(table, columns, rows_json)
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
                {"pmid": pmid, "at": self.now, "present": pmid in present, "run": self.run_id},
            )
            if pmid in present:
                self.conn.execute(
                    text(
                        "UPDATE article SET is_deleted = :t, deleted_at = :at, "
                        "last_run_id = :run, updated_at = :at WHERE pmid = :pmid"
                    ),
                    {"t": True, "at": self.now, "run": self.run_id, "pmid": pmid},
                )
                counts.deleted += 1
            else:
                counts.deleted_absent += 1
        return counts

    # internals ---------------------------------------------------------------------------

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
                revised_iso = revised.isoformat() if isinstance(revised, dt.date) else revised
                states[int(pmid)] = _State(int(version), revised_iso, h, bool(deleted), True)
        return states

    def _kept_from_database(self, pmid: int) -> _Kept:
        doc = stored_snapshot(self.conn, pmid)
        # The stored hash, not a fresh one: it names the state as it was ingested.
        stored_hash = self.conn.execute(
            text("SELECT content_hash FROM article WHERE pmid = :p"), {"p": pmid}
        ).scalar_one()
        article = doc["article"]
        return _Kept(
            pmid, article["version"], article["date_revised"], str(stored_hash),
            json.dumps(doc, ensure_ascii=False),
        )  # fmt: skip

    def _delete_children(self, pmids: Sequence[int]) -> None:
        for table in CHILD_COLUMNS:
            for chunk in batched(pmids):
                self.conn.execute(
                    text(f"DELETE FROM {table} WHERE pmid IN :p").bindparams(
                        bindparam("p", expanding=True)
                    ),
                    {"p": list(chunk)},
                )

    def _insert_articles(self, rows_json: str) -> None:
        """Insert article rows (content values + hash) with this run's bookkeeping."""
        if rows_json == "[]":
            return
        columns = (*CONTENT_COLUMNS, "content_hash")
        constants = {
            "is_deleted": False, "deleted_at": None, "first_run_id": self.run_id,
            "last_run_id": self.run_id, "created_at": self.now, "updated_at": self.now,
        }  # fmt: skip
        if not self.sqlite:  # PostgreSQL's tsvector is a generated column: nothing else to do
            self._insert_json("article", columns, rows_json, constants)
            return
        # SQLite 3.40 re-parses a row's JSON text for every `->>`, and article rows are wide
        # and long (the abstract): here decoding in Python and binding is 4x cheaper.
        dbapi = self.conn.connection.driver_connection
        assert dbapi is not None
        rows = json.loads(rows_json)
        extra = tuple(constants.values())
        names = ", ".join([*columns, *constants])
        marks = ", ".join("?" * (len(columns) + len(constants)))
        dbapi.executemany(
            f"INSERT INTO article ({names}) VALUES ({marks})", [(*row, *extra) for row in rows]
        )
        table, fts_columns = search_index.FTS_INSERT
        dbapi.executemany(
            f"INSERT INTO {table} ({', '.join(fts_columns)}) VALUES (?, ?, ?)",
            [(row[0], row[TITLE_INDEX], row[ABSTRACT_INDEX]) for row in rows],
        )

    def _update_articles(self, records: Sequence[DecodedRecord]) -> None:
        # Keep first_run_id and created_at: the article's identity outlives its revisions.
        keep = {"pmid", "first_run_id", "created_at"}
        cols = [c for c in ARTICLE_COLUMNS if c not in keep]
        sql = "UPDATE article SET " + ", ".join(f"{c} = :{c}" for c in cols) + " WHERE pmid = :pmid"
        for rec in records:
            bookkeeping = [False, None, rec.meta.hash, self.run_id, self.run_id, self.now, self.now]
            values = [*rec.article, *bookkeeping]
            self.conn.execute(text(sql), dict(zip(ARTICLE_COLUMNS, values, strict=True)))

    def _insert_history(self, history: Sequence[_Kept]) -> None:
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
        for kept in history:
            self.conn.execute(
                sql,
                {
                    "pmid": kept.pmid, "version": kept.version, "revised": kept.date_revised,
                    "h": kept.hash, "snap": kept.snapshot, "at": self.now, "run": self.run_id,
                },
            )  # fmt: skip

    def _insert_json(
        self,
        table: str,
        columns: Sequence[str],
        rows_json: str,
        constants: dict[str, Any] | None = None,
    ) -> None:
        """Insert a JSON array of row arrays in one statement, expanded by the database.

        On SQLite the whole batch is one step with the GIL released; on PostgreSQL the server
        parses and casts while the parse worker goes on. `constants` fill the same value into
        extra columns of every row.
        """
        if rows_json == "[]":
            return
        constants = constants or {}
        names = ", ".join([*columns, *constants])
        dbapi = self.conn.connection.driver_connection
        assert dbapi is not None
        if self.sqlite:
            values = [f"value->>{i}" for i in range(len(columns))] + ["?"] * len(constants)
            dbapi.execute(
                f"INSERT INTO {table} ({names}) SELECT {', '.join(values)} FROM json_each(?)",
                (*constants.values(), rows_json),
            )
        else:
            with dbapi.cursor() as cur:
                cur.execute(
                    _pg_insert_sql(table, tuple(columns), tuple(constants)),
                    (*constants.values(), rows_json),
                )


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def stored_snapshot(conn: Connection, pmid: int) -> dict[str, Any]:
    """The stored state of an article in `rows.snapshot`'s shape: {table: rows}."""
    cols = ", ".join(CONTENT_COLUMNS)
    row = conn.execute(text(f"SELECT {cols} FROM article WHERE pmid = :p"), {"p": pmid}).one()
    doc: dict[str, Any] = {
        "article": {c: _plain(v) for c, v in zip(CONTENT_COLUMNS, row, strict=True)}
    }
    for table, columns in CHILD_COLUMNS.items():
        order = ", ".join(c for c in columns if c == "position" or c.endswith("_position"))
        rows = conn.execute(
            text(f"SELECT {', '.join(columns)} FROM {table} WHERE pmid = :p ORDER BY {order}"),
            {"p": pmid},
        )
        doc[table] = [
            {
                c: bool(v) if c == "major" else _plain(v)
                for c, v in zip(columns, values, strict=True)
            }
            for values in rows
        ]
    return doc


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
