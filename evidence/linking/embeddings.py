"""Dense vectors for abstracts, stored once per article revision, and hybrid retrieval.

Storage: `article_embedding` holds one float32 vector per (article, embedding model), with the
article's `content_hash` at the time it was embedded; a new revision of the record (another
hash) is embedded again on next use. The vector is raw little-endian float32 bytes (BLOB on
SQLite, bytea on PostgreSQL). PostgreSQL here has no pgvector, and it does not need one: the
linker only ever compares a claim with its own candidates (query hits plus full-text matches,
a few hundred at most), so numpy over the candidate set is exact and takes microseconds, and
the store stays portable between the two engines.

Laziness: bulk ingest never embeds. A claim's candidates are embedded when it is linked, and
cached here; `embed_corpus` (the `evidence embed` command) embeds everything ahead of time.

Fusion: reciprocal rank fusion (Cormack et al. 2009, k = 60) of the full-text ranking and the
dense ranking. It needs no score calibration between BM25 / ts_rank and cosine, which live on
unrelated scales and differ between the two engines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import Table, bindparam, delete, insert, text
from sqlalchemy.engine import Connection

from evidence.clock import utcnow
from evidence.store.models import ArticleEmbedding

__all__ = [
    "RRF_K",
    "Encoder",
    "cosine",
    "embed_corpus",
    "ensure",
    "passage",
    "rrf",
]

EMBEDDINGS: Table = ArticleEmbedding.__table__  # type: ignore[attr-defined]
RRF_K = 60  # the constant of the original paper; ranks below ~60 matter little
BATCH = 256  # articles embedded and written per transaction step

Vector = npt.NDArray[np.float32]


class Encoder(Protocol):
    """What the store needs of an embedder (`linking.model.Embedder`)."""

    name: str  # identifies the weights: vectors of another model are not comparable
    dim: int

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


def passage(title: str, abstract: str) -> str:
    """The text embedded for an article: its title, then its abstract."""
    return f"{title}\n{abstract}".strip()


def _vectors(rows: Iterable[tuple[int, bytes]], dim: int) -> dict[int, Vector]:
    out = {}
    for pmid, blob in rows:
        vector = np.frombuffer(bytes(blob), dtype="<f4")
        if vector.shape == (dim,):  # a vector of another size is stale: embedded again
            out[int(pmid)] = vector.astype(np.float32)
    return out


def ensure(conn: Connection, encoder: Encoder, pmids: Sequence[int]) -> dict[int, Vector]:
    """The vectors of these articles, embedding (and storing) those not yet embedded for
    their current revision. Deleted or unknown PMIDs are left out."""
    if not pmids:
        return {}
    rows = conn.execute(
        text(
            "SELECT a.pmid, a.title, a.abstract, a.content_hash, e.content_hash AS embedded, "
            "e.vector FROM article a LEFT JOIN article_embedding e ON e.pmid = a.pmid "
            "AND e.model = :m WHERE a.pmid IN :p AND NOT a.is_deleted"
        ).bindparams(bindparam("p", expanding=True)),
        {"p": sorted(set(pmids)), "m": encoder.name},
    ).all()
    fresh = [(r.pmid, r.vector) for r in rows if r.embedded == r.content_hash and r.vector]
    vectors = _vectors(fresh, encoder.dim)
    todo = [r for r in rows if int(r.pmid) not in vectors]
    for start in range(0, len(todo), BATCH):
        batch = todo[start : start + BATCH]
        encoded = encoder.encode([passage(r.title or "", r.abstract or "") for r in batch])
        _store(conn, encoder.name, [(int(r.pmid), r.content_hash) for r in batch], encoded)
        vectors.update({int(r.pmid): encoded[i] for i, r in enumerate(batch)})
    return vectors


def _store(conn: Connection, model: str, keys: Sequence[tuple[int, str]], encoded: Vector) -> None:
    now = utcnow()
    pmids = [pmid for pmid, _ in keys]
    conn.execute(
        delete(EMBEDDINGS).where(EMBEDDINGS.c.model == model, EMBEDDINGS.c.pmid.in_(pmids))
    )
    conn.execute(
        insert(EMBEDDINGS),
        [
            {
                "pmid": pmid,
                "model": model,
                "content_hash": content_hash,
                "vector": encoded[i].astype("<f4").tobytes(),
                "created_at": now,
            }
            for i, (pmid, content_hash) in enumerate(keys)
        ],
    )


def embed_corpus(
    conn: Connection,
    encoder: Encoder,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Embed every live article not yet embedded for its current revision.

    Returns (embedded now, total live articles). `progress(done, todo)` is called after each
    batch, for a progress bar. Each batch is committed, so an interrupted run keeps its work.
    """
    todo = [
        int(p)
        for (p,) in conn.execute(
            text(
                "SELECT a.pmid FROM article a LEFT JOIN article_embedding e ON e.pmid = a.pmid "
                "AND e.model = :m WHERE NOT a.is_deleted AND (e.pmid IS NULL OR "
                "e.content_hash <> a.content_hash) ORDER BY a.pmid"
            ),
            {"m": encoder.name},
        )
    ]
    total = conn.execute(text("SELECT count(*) FROM article WHERE NOT is_deleted")).scalar_one()
    for start in range(0, len(todo), BATCH):
        ensure(conn, encoder, todo[start : start + BATCH])
        conn.commit()
        if progress is not None:
            progress(min(start + BATCH, len(todo)), len(todo))
    return len(todo), int(total)


def cosine(query: Vector, vectors: Mapping[int, Vector]) -> dict[int, float]:
    """Cosine similarity of a unit query vector with unit article vectors."""
    if not vectors:
        return {}
    keys = list(vectors)
    matrix = np.stack([vectors[k] for k in keys])
    scores = matrix @ query.astype(np.float32)
    return {k: float(s) for k, s in zip(keys, scores, strict=True)}


def rrf(*rankings: Sequence[int], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion: sum over rankings of 1 / (k + rank), rank from 1."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return fused
