"""A parsed record as the table rows it is stored as, pre-encoded as JSON. Pure; no I/O.

Ingest is dominated by per-row Python work, so a record is turned into its rows once, where
it is parsed (in the parse worker process for bulk files), as compact JSON arrays that the
database expands itself (`json_each` on SQLite, `json_array_elements` on PostgreSQL). The
writer process then only joins strings and waits on the database.

Dates are ISO strings and booleans JSON booleans, so the rows, their hash and the snapshots
kept as history are the same on every engine.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from evidence.store import records as r

#: Article columns that hold the record itself (what `RecordMeta.hash` covers), in order.
CONTENT_COLUMNS = (
    "pmid", "version", "record_type", "status", "publication_status", "date_revised",
    "date_completed", "date_created", "title", "vernacular_title", "abstract", "journal_title",
    "journal_iso", "issn", "volume", "issue", "pages", "pub_date", "pub_date_raw",
    "pub_date_precision", "pub_year", "article_date", "entrez_date", "doi", "pmcid", "pii",
    "languages", "pubmed_dates",
)  # fmt: skip
TITLE_INDEX = CONTENT_COLUMNS.index("title")
ABSTRACT_INDEX = CONTENT_COLUMNS.index("abstract")

#: The record's repeating parts, each keyed by (pmid, position ...), in a fixed order.
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


class RecordMeta(NamedTuple):
    """What the writer needs to decide about one record without reading its rows."""

    pmid: int
    version: int
    date_revised: str | None  # ISO date
    record_type: str
    hash: str  # sha256 of everything stored for the record
    counts: tuple[int, ...]  # its number of rows in each CHILD_COLUMNS table


class EncodedBatch(NamedTuple):
    """A batch of records as one JSON array of rows per table.

    `article` rows are the CONTENT_COLUMNS values followed by the record's hash; child rows
    are in record order, `RecordMeta.counts` says how many belong to each record. A batch of
    new records (the bulk-ingest case) goes into the database exactly as it is.
    """

    records: list[RecordMeta]
    article: str
    children: tuple[str, ...]


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def record_rows(rec: r.ParsedArticle) -> tuple[tuple[Any, ...], tuple[list[tuple[Any, ...]], ...]]:
    """The article's content row and its child rows, in CHILD_COLUMNS order."""
    p = rec.pmid
    pd = rec.pub_date
    dates = _dumps({k: v.isoformat() for k, v in rec.history}) if rec.history else None
    article = (
        p, rec.version, rec.record_type, rec.status, rec.publication_status,
        _iso(rec.date_revised), _iso(rec.date_completed), _iso(rec.date_created), rec.title,
        rec.vernacular_title, rec.abstract, rec.journal_title, rec.journal_iso, rec.issn,
        rec.volume, rec.issue, rec.pages, _iso(pd.date) if pd else None,
        pd.raw if pd else None, pd.precision if pd else None, pd.year if pd else None,
        _iso(rec.article_date), _iso(rec.entrez_date), rec.doi, rec.pmcid, rec.pii,
        ";".join(rec.languages) or None, dates,
    )  # fmt: skip
    mesh: list[tuple[Any, ...]] = []
    qualifiers: list[tuple[Any, ...]] = []
    for i, m in enumerate(rec.mesh_headings):
        mesh.append((p, i, m.descriptor, m.ui, m.major))
        qualifiers.extend((p, i, j, q.name, q.ui, q.major) for j, q in enumerate(m.qualifiers))
    children = (
        [(p, i, s.label, s.category, s.text) for i, s in enumerate(rec.sections)],
        [(p, i, a.last_name, a.fore_name, a.initials, a.collective_name, a.affiliation, a.orcid)
         for i, a in enumerate(rec.authors)],
        [(p, i, t.name, t.ui) for i, t in enumerate(rec.publication_types)],
        mesh,
        qualifiers,
        [(p, i, k.text, k.major, k.owner) for i, k in enumerate(rec.keywords)],
        [(p, i, c.ref_type, c.pmid, c.ref_source) for i, c in enumerate(rec.comments_corrections)],
    )  # fmt: skip
    return article, children


def encode_batch(records: Sequence[r.ParsedArticle]) -> EncodedBatch:
    """Encode records for `ArticleWriter.save`.

    Each record's rows are JSON-encoded once, table by table (empty tables skipped: the
    encoder's per-call overhead is what costs), hashed, and spliced into one array per table.
    """
    metas: list[RecordMeta] = []
    articles: list[str] = []
    tables: tuple[list[str], ...] = tuple([] for _ in CHILD_COLUMNS)
    for rec in records:
        article, children = record_rows(rec)
        article_json = _dumps(article)
        parts = [_dumps(rows) if rows else "[]" for rows in children]
        # The hash covers exactly what is stored, so an equal hash means "nothing to write".
        # A release that stores a new field changes every hash, and the next ingest refreshes
        # every article with it.
        digest = hashlib.sha256("\x1e".join([article_json, *parts]).encode()).hexdigest()
        metas.append(
            RecordMeta(rec.pmid, rec.version, article[5], rec.record_type, digest,
                       tuple(len(rows) for rows in children))
        )  # fmt: skip
        articles.append(f'{article_json[:-1]},"{digest}"]')
        for table, part in zip(tables, parts, strict=True):
            if part != "[]":
                table.append(part[1:-1])
    return EncodedBatch(
        metas,
        "[" + ",".join(articles) + "]",
        tuple("[" + ",".join(parts) + "]" for parts in tables),
    )


class DecodedRecord(NamedTuple):
    """One record's rows, decoded from a batch (the writer's rare, per-record path)."""

    meta: RecordMeta
    article: list[Any]  # content values (without the hash)
    children: tuple[list[list[Any]], ...]


def decode_batch(batch: EncodedBatch) -> list[DecodedRecord]:
    articles = json.loads(batch.article)
    tables = [json.loads(rows) for rows in batch.children]
    offsets = [0] * len(tables)
    out = []
    for meta, article in zip(batch.records, articles, strict=True):
        children = []
        for t, count in enumerate(meta.counts):
            children.append(tables[t][offsets[t] : offsets[t] + count])
            offsets[t] += count
        out.append(DecodedRecord(meta, article[:-1], tuple(children)))
    return out


def snapshot(record: DecodedRecord) -> str:
    """The record as one self-describing JSON object: {table: rows as {column: value}}.

    This is what `article_revision.snapshot` keeps of a superseded state.
    """
    doc: dict[str, Any] = {"article": dict(zip(CONTENT_COLUMNS, record.article, strict=True))}
    for (table, columns), rows in zip(CHILD_COLUMNS.items(), record.children, strict=True):
        doc[table] = [dict(zip(columns, row, strict=True)) for row in rows]
    return json.dumps(doc, ensure_ascii=False)
