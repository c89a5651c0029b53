"""The trained linker, "minilm-stance": hybrid retrieval, then a cross-encoder that picks the
rationale sentences and reads their stance.

1. Retrieval: the claim's candidates (query hits and full-text matches, `suggestions`) are
   ranked by reciprocal rank fusion of the full-text ranking and the cosine of their
   all-MiniLM-L6-v2 vectors with the claim's (`embeddings`; vectors cached per revision).
2. Rationale and stance: every sentence of a candidate that may be a rationale (a finding:
   `sentences.findings`; never background, aims or methods) is paired with the claim and
   scored by the fine-tuned MiniLM cross-encoder (`model.StanceModel`, int8 ONNX on CPU). The
   abstract's stance comes from its best sentences (`model.aggregate`, with thresholds
   calibrated on held-out data and recorded in the model's config.json); the rationale is the
   sentences that carry it.

Both models ship inside the package (`weights/`), so nothing is downloaded; another stance
model of the same format can be named with `EVIDENCE_STANCE_MODEL` (read by `evidence.config`).
The method name comes from the model's config.json; the version is the model's, then the
rationale rules' (`sentences.with_rules`, e.g. "2.3"); both are stored on every link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Connection

from evidence.linking import embeddings
from evidence.linking.model import Embedder, StanceModel, aggregate
from evidence.linking.sentences import Sentence, finding_sentences, with_rules
from evidence.linking.shipped import EMBEDDER_DIR, STANCE_DIR
from evidence.linking.stance import Assessment, Candidate, Ranked, Rationale, TermStats

__all__ = ["EMBEDDER_DIR", "STANCE_DIR", "TrainedLinker"]

#: The embedder's name in `article_embedding.model`: vectors of other weights are not mixed in.
EMBEDDER_NAME = "all-MiniLM-L6-v2-int8"
MAX_RATIONALE = 3


class _NamedEmbedder:
    """The embedder with the name its vectors are stored under."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self.name = EMBEDDER_NAME
        self.dim = embedder.dim

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        # One text per batch: int8 activations are quantised per batch, and a stored vector
        # must not depend on which other articles were embedded with it.
        return self._embedder.encode(texts, batch=1)


@dataclass(frozen=True)
class TrainedLinker:
    stance: StanceModel
    embedder: _NamedEmbedder

    @property
    def method(self) -> str:
        return self.stance.method

    @property
    def version(self) -> str:
        return with_rules(self.stance.version)

    @classmethod
    def load(cls, stance_dir: Path | None = None) -> TrainedLinker:
        """Load both models; `ModelError` (exit 3) names the fix when a file is missing."""
        return cls(
            StanceModel.load(stance_dir or STANCE_DIR),
            _NamedEmbedder(Embedder.load(EMBEDDER_DIR)),
        )

    def rank(
        self,
        conn: Connection,
        statement: str,
        candidates: Sequence[Candidate],
        *,
        stats: TermStats | None = None,  # unused: the lexical linker's IDF, same signature
    ) -> list[Ranked]:
        """Candidates best first, each with its assessment (deterministic)."""
        if not candidates:
            return []
        keys = [int(c.key) for c in candidates]
        vectors = embeddings.ensure(conn, self.embedder, keys)
        query = self.embedder.encode([statement])[0]
        dense = embeddings.cosine(query, vectors)
        # The caller hands candidates in full-text order (best retrieval score first).
        by_vector = sorted(dense, key=lambda k: (-dense[k], k))
        fused = embeddings.rrf(keys, by_vector)
        top = max(fused.values())
        assessed = self.assess_many(statement, candidates, dense)
        ranked = [
            Ranked(c, round(fused.get(int(c.key), 0.0) / top, 4), a)
            for c, a in zip(candidates, assessed, strict=True)
        ]
        order = {k: i for i, k in enumerate(keys)}
        ranked.sort(key=lambda r: (-r.score, order[int(r.candidate.key)]))
        return ranked

    def assess_many(
        self, statement: str, candidates: Sequence[Candidate], relevance: dict[int, float]
    ) -> list[Assessment]:
        """Each candidate's stance, scoring all their eligible sentences in one batch."""
        out = []
        for c in candidates:
            sentences = finding_sentences(c.abstract)
            # One batch per abstract: int8 activations are quantised per batch, so a study's
            # scores must not depend on which other studies were scored with it.
            part = self.stance.predict(statement, [s.text for s in sentences])
            rel = min(max(relevance.get(int(c.key), 0.0), 0.0), 1.0)
            out.append(self.assessment(sentences, part, rel))
        return out

    def assess(self, statement: str, title: str, abstract: str) -> Assessment:
        """One abstract's stance towards the claim (relevance: the cosine of the two)."""
        vectors = self.embedder.encode([statement, embeddings.passage(title, abstract)])
        relevance = float(vectors[0] @ vectors[1])
        candidate = Candidate(0, title, abstract)
        return self.assess_many(statement, [candidate], {0: relevance})[0]

    def assessment(
        self,
        sentences: Sequence[Sentence],
        probs: npt.NDArray[np.float32],
        relevance: float,
    ) -> Assessment:
        if not sentences:
            return Assessment(
                "neutral", round(relevance, 4), 1.0, (), ("no finding sentence",),
                self.method, self.version,
            )  # fmt: skip
        agg = aggregate(probs, None, self.stance.thresholds, MAX_RATIONALE)
        column = {"supports": 1, "contradicts": 2}.get(agg.stance)
        if column is None:
            # Neutral: the most stance-bearing sentence is still shown to a reviewer.
            best = int(np.argmax(probs[:, 1:].max(axis=1)))
            picks: tuple[int, ...] = (best,)
            column = 1 if probs[best, 1] >= probs[best, 2] else 2
        else:
            picks = agg.rationale
        rationale = tuple(
            Rationale(
                sentences[i].index,
                sentences[i].start,
                sentences[i].end,
                sentences[i].text,
                sentences[i].section,
                round(float(probs[i, column]), 4),
            )
            for i in sorted(picks)
        )
        sup, con = agg.scores
        reasons = (f"model: supports {sup:.2f}, contradicts {con:.2f} (best finding sentence)",)
        return Assessment(
            agg.stance,  # type: ignore[arg-type]
            round(relevance, 4),
            round(agg.confidence, 4),
            rationale,
            reasons,
            self.method,
            self.version,
        )
