"""The full-text index over article title and abstract, in each engine's own kind.

SQLite: an external-content FTS5 table. Updates and deletes of `article` reach it through
triggers; new articles are indexed by the store's bulk writer itself (`FTS_INSERT`), because an
insert trigger fired row by row costs twice the bulk insert (2.2 s against 1.0 s for 30,000
baseline records), and inserting articles is the hot path of every ingest.
PostgreSQL: a stored generated `tsvector` column with a GIN index.
Both are created by a migration (Alembic is the only schema path) and are invisible to the
models, so `env.py` filters them out of autogenerate with `is_search_index_object`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

SQLITE_DDL = (
    # porter + unicode61 with diacritics folded: "analgesia" finds "analgesic", "Müller" "muller".
    "CREATE VIRTUAL TABLE article_fts USING fts5(title, abstract, content='article', "
    "content_rowid='pmid', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER article_fts_ad AFTER DELETE ON article BEGIN "
    "INSERT INTO article_fts(article_fts, rowid, title, abstract) "
    "VALUES ('delete', old.pmid, old.title, old.abstract); END",
    # Only a change of the indexed text touches the index: status flips stay cheap.
    "CREATE TRIGGER article_fts_au AFTER UPDATE OF title, abstract ON article BEGIN "
    "INSERT INTO article_fts(article_fts, rowid, title, abstract) "
    "VALUES ('delete', old.pmid, old.title, old.abstract); "
    "INSERT INTO article_fts(rowid, title, abstract) VALUES (new.pmid, new.title, new.abstract); "
    "END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS article_fts_au",
    "DROP TRIGGER IF EXISTS article_fts_ad",
    "DROP TABLE IF EXISTS article_fts",
)
#: Table and columns the SQLite writer fills for each new article (rowid = pmid).
FTS_INSERT = ("article_fts", ("rowid", "title", "abstract"))

POSTGRES_DDL = (
    # Title weighs more than abstract (A > B) in ts_rank.
    "ALTER TABLE article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(abstract, '')), 'B')) STORED",
    "CREATE INDEX ix_article_search_vector ON article USING gin (search_vector)",
)
POSTGRES_DROP = (
    "DROP INDEX IF EXISTS ix_article_search_vector",
    "ALTER TABLE article DROP COLUMN IF EXISTS search_vector",
)


def create(conn: Connection) -> None:
    for statement in SQLITE_DDL if conn.dialect.name == "sqlite" else POSTGRES_DDL:
        conn.execute(text(statement))


def drop(conn: Connection) -> None:
    for statement in SQLITE_DROP if conn.dialect.name == "sqlite" else POSTGRES_DROP:
        conn.execute(text(statement))


def is_search_index_object(name: str | None, type_: str) -> bool:
    if name is None:
        return False
    if type_ == "table":
        return name.startswith("article_fts")
    if type_ == "column":
        return name == "search_vector"
    if type_ == "index":
        return name == "ix_article_search_vector"
    return False


@dataclass(frozen=True, slots=True)
class Hit:
    pmid: int
    score: float  # higher is better, comparable only within one engine


def search(conn: Connection, query: str, *, limit: int = 20) -> list[Hit]:
    """Ranked full-text search over title and abstract; words are ANDed, deleted records skipped."""
    words = [w for w in "".join(c if c.isalnum() else " " for c in query).split() if w]
    if not words:
        return []
    if conn.dialect.name == "sqlite":
        match = " ".join(f'"{w}"' for w in words)
        rows = conn.execute(
            text(
                "SELECT a.pmid, -bm25(article_fts, 2.0, 1.0) AS score FROM article_fts "
                "JOIN article a ON a.pmid = article_fts.rowid "
                "WHERE article_fts MATCH :q AND NOT a.is_deleted ORDER BY score DESC LIMIT :n"
            ),
            {"q": match, "n": limit},
        )
    else:
        rows = conn.execute(
            text(
                "SELECT pmid, ts_rank_cd(search_vector, q) AS score "
                "FROM article, plainto_tsquery('english', :q) q "
                "WHERE search_vector @@ q AND NOT is_deleted ORDER BY score DESC LIMIT :n"
            ),
            {"q": " ".join(words), "n": limit},
        )
    return [Hit(int(pmid), float(score)) for pmid, score in rows]


def search_any(
    conn: Connection,
    words: Sequence[str],
    *,
    limit: int | None = 20,
    within: Sequence[int] | None = None,
) -> list[Hit]:
    """Ranked full-text search matching ANY of `words` (BM25 / ts_rank_cd ranks by how many
    and how rare), for claims, whose paraphrases rarely share every word with an abstract.

    `within` restricts the search to those PMIDs; `limit` None means no limit. Deleted records
    are skipped. Words are given by the caller (a claim's content words, stop words removed:
    FTS5 does not drop stop words, and "the" would match everything).
    """
    if not words or (within is not None and not within):
        return []
    params: dict[str, object] = {"n": limit if limit is not None else -1}
    restrict = ""
    if within is not None:
        restrict = " AND a.pmid IN :within"
        params["within"] = list(within)
    if conn.dialect.name == "sqlite":
        # Quoted: a word with punctuation ("7-hydroxymitragynine") is an FTS5 phrase.
        params["q"] = " OR ".join(f'"{w.replace(chr(34), "")}"' for w in words)
        sql = (
            "SELECT a.pmid, -bm25(article_fts, 2.0, 1.0) AS score FROM article_fts "
            "JOIN article a ON a.pmid = article_fts.rowid "
            f"WHERE article_fts MATCH :q AND NOT a.is_deleted{restrict} "
            "ORDER BY score DESC, a.pmid LIMIT :n"
        )
    else:
        # Bare alphanumeric words joined by '|': OR semantics, and no caller text reaches
        # tsquery syntax. The 'english' configuration drops stop words.
        bare = [w for w in ("".join(c for c in word if c.isalnum()) for word in words) if w]
        if not bare:
            return []
        params["q"] = " | ".join(dict.fromkeys(bare))
        if limit is None:
            params["n"] = None  # LIMIT NULL is no limit on PostgreSQL
        sql = (
            "SELECT a.pmid, ts_rank_cd(a.search_vector, q) AS score "
            "FROM article a, to_tsquery('english', :q) q "
            f"WHERE a.search_vector @@ q AND NOT a.is_deleted{restrict} "
            "ORDER BY score DESC, a.pmid LIMIT :n"
        )
    stmt = text(sql)
    if within is not None:
        stmt = stmt.bindparams(bindparam("within", expanding=True))
    return [Hit(int(pmid), float(score)) for pmid, score in conn.execute(stmt, params)]
