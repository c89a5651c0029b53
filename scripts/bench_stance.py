"""SciFact benchmark of the claim linker (`evidence.linking`): abstract-level label P/R/F1.

Route: the SciFact corpus is ingested through the normal PubMed-XML path (`corpus_pubmed.xml.gz`
beside `corpus.jsonl`; its PMIDs are SciFact's doc_ids) into a temporary SQLite database. For
each labelled claim, FTS5 BM25 retrieves candidates with `linking.fts_query` (words ORed),
`linking.rank_candidates` reranks and assesses them, and the top abstracts with a non-neutral
stance (at most 3 per claim) are the predictions.

Metric (SciFact, abstract level, label only): a predicted (claim, abstract, label) is correct
when the abstract is gold evidence for the claim with that label. Precision is over predicted
non-neutral pairs, recall over gold pairs. Retrieval recall@k: the share of gold evidence
documents among the top k of the reranked candidates.

Split: test = claims with id % 5 == 0 (held out), dev = the rest (all tuning was done on dev).
Three quarters of dev (id % 5 in {2, 3, 4}) are the stance model's training claims, so dev
flatters any trained linker; fold1 = id % 5 == 1, the fold no model trains on (the stance
model's calibration fold), is the split for choosing between models through the pipeline.

Measured (lexical-nli v1; default corpus and claims; wall time includes the ingest):
  --split dev   638 claims  P 0.504  R 0.408  F1 0.451  recall@3 0.831  recall@10 0.930  17 s
  --split test  171 claims  P 0.468  R 0.425  F1 0.445  recall@3 0.800  recall@10 0.942   7 s
hybrid-stance 1.2.2 (the default linker), --split test: P 0.450 R 0.492 F1 0.470, stance
  macro-F1 0.643 (lexical-nli v2: 0.620), 205 s. hybrid-stance 2.3.2: P 0.462 R 0.500 F1 0.480,
  stance macro-F1 0.652 (lexical-nli v3: 0.620), 228 s.

Usage:
  python scripts/bench_stance.py [--claims FILE] [--corpus FILE] [--split test|dev|fold1|all]
                                 [--limit N] [--candidates K] [--params JSON]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from evidence.jobs.ingest import ingest_file
from evidence.linking import linkers
from evidence.linking import stance as linking
from evidence.linking.hybrid import HybridLinker
from evidence.linking.linkers import LINKERS
from evidence.linking.trained import TrainedLinker
from evidence.store import db, search_index

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
MAX_PER_CLAIM = 3  # SciFact's rule: at most three abstracts per claim
LABELS = {"SUPPORT": "supports", "CONTRADICT": "contradicts"}
STANCES = ("supports", "contradicts", "neutral")
Rank = Callable[[str, Sequence[linking.Candidate]], list[linking.Ranked]]
Assess = Callable[[str, str, str], str]


@dataclass(frozen=True)
class Claim:
    id: int
    text: str
    gold: Mapping[int, str]  # doc_id -> "supports" | "contradicts"
    cited: tuple[int, ...] = ()  # cited_doc_ids: the abstracts judged for the stance metric


def load_claims(path: Path, split: str) -> list[Claim]:
    claims = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            raw = json.loads(line)
            fold = raw["id"] % 5
            if (
                (split == "test" and fold != 0)
                or (split == "dev" and fold == 0)
                or (split == "fold1" and fold != 1)
            ):
                continue
            gold = {int(doc): LABELS[evs[0]["label"]] for doc, evs in raw["evidence"].items()}
            cited = tuple(int(d) for d in raw.get("cited_doc_ids", ()))
            claims.append(Claim(int(raw["id"]), raw["claim"], gold, cited))
    return claims


def abstract_metrics(
    predictions: Mapping[int, Mapping[int, str]], gold: Mapping[int, Mapping[int, str]]
) -> dict[str, float]:
    """SciFact abstract-level label-only precision, recall and F1.

    predictions/gold: claim id -> {doc id: "supports" | "contradicts"}; neutral pairs must not
    be in `predictions`. Only the first three predictions of a claim count (dict order).
    """
    predicted = correct = 0
    for claim_id, docs in predictions.items():
        for doc_id, label in list(docs.items())[:MAX_PER_CLAIM]:
            predicted += 1
            correct += gold.get(claim_id, {}).get(doc_id) == label
    relevant = sum(len(docs) for docs in gold.values())
    precision = correct / predicted if predicted else 0.0
    recall = correct / relevant if relevant else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "predicted": predicted,
            "correct": correct, "gold": relevant}  # fmt: skip


def recall_at(
    rankings: Mapping[int, Sequence[int]], gold: Mapping[int, Mapping[int, str]], k: int
) -> float:
    """The share of gold evidence documents found in the top `k` of each claim's ranking."""
    total = hits = 0
    for claim_id, docs in gold.items():
        top = set(rankings.get(claim_id, ())[:k])
        total += len(docs)
        hits += sum(1 for doc in docs if doc in top)
    return hits / total if total else 0.0


def stance_macro_f1(pairs: Sequence[tuple[str, str]]) -> dict[str, float]:
    """Macro F1 over supports / contradicts / neutral of (gold, predicted) pairs, and each F1."""
    out: dict[str, float] = {}
    for label in STANCES:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        out[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    out["macro"] = sum(out[label] for label in STANCES) / len(STANCES)
    return out


def stance_pairs(
    claims: Sequence[Claim], texts: Mapping[int, tuple[str, str]], assess: Assess
) -> list[tuple[str, str]]:
    """(gold, predicted) for every abstract of each claim's evidence and cited_doc_ids; a
    cited abstract that is not evidence is neutral, as in SciFact."""
    pairs = []
    for claim in claims:
        docs = sorted(set(claim.gold) | set(claim.cited))
        for doc in docs:
            if doc not in texts:
                continue
            title, abstract = texts[doc]
            pairs.append((claim.gold.get(doc, "neutral"), assess(claim.text, title, abstract)))
    return pairs


def build_database(corpus_xml: Path, workdir: Path) -> Any:
    url = f"sqlite:///{workdir / 'scifact.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    ingest_file(engine, corpus_xml)
    return engine


def retrieve(conn: Connection, claim: str, limit: int) -> list[linking.Candidate]:
    """The product's ORed full-text retrieval (`search_index.search_any`), with the texts."""
    hits = search_index.search_any(conn, linking.query_words(claim), limit=limit)
    texts = {
        pmid: (title or "", abstract or "")
        for pmid, title, abstract in conn.execute(
            text("SELECT pmid, title, abstract FROM article WHERE pmid IN :p").bindparams(
                bindparam("p", expanding=True)
            ),
            {"p": [hit.pmid for hit in hits]},
        )
    } if hits else {}  # fmt: skip
    return [linking.Candidate(h.pmid, *texts[h.pmid], h.score) for h in hits]


def run(
    claims: Sequence[Claim],
    candidates: Mapping[int, Sequence[linking.Candidate]],
    rank: Rank,
    params: linking.Params,
) -> tuple[dict[str, float], dict[int, list[int]], dict[int, dict[int, str]]]:
    rankings: dict[int, list[int]] = {}
    predictions: dict[int, dict[int, str]] = {}
    for claim in claims:
        ranked = rank(claim.text, candidates[claim.id])
        rankings[claim.id] = [int(r.candidate.key) for r in ranked]
        predictions[claim.id] = {
            int(r.candidate.key): r.assessment.stance
            for r in linking.select_links(ranked, limit=MAX_PER_CLAIM, params=params)
        }
    gold = {c.id: c.gold for c in claims}
    metrics = abstract_metrics(predictions, gold)
    metrics["recall_at_3"] = recall_at(rankings, gold, 3)
    metrics["recall_at_10"] = recall_at(rankings, gold, 10)
    fts = {c.id: [int(x.key) for x in candidates[c.id]] for c in claims}
    metrics["fts_recall_at_3"] = recall_at(fts, gold, 3)
    metrics["fts_recall_at_10"] = recall_at(fts, gold, 10)
    return metrics, rankings, predictions


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=Path, default=SCIFACT / "claims_train.jsonl")
    parser.add_argument("--corpus", type=Path, default=SCIFACT / "corpus.jsonl")
    parser.add_argument("--split", choices=("test", "dev", "fold1", "all"), default="test")
    parser.add_argument("--limit", type=int, default=0, help="only the first N claims")
    parser.add_argument("--candidates", type=int, default=30, help="FTS hits reranked per claim")
    parser.add_argument("--params", default="", help="JSON overrides of linking.Params")
    parser.add_argument("--linker", choices=LINKERS, default="hybrid")
    parser.add_argument("--stance-model", type=Path, default=None, help="a model directory")
    args = parser.parse_args(list(argv) if argv is not None else None)

    # The JSONL corpus names the set; the ingest reads its PubMed-XML twin (same PMIDs = doc_ids).
    corpus_xml = (
        args.corpus
        if args.corpus.name.endswith((".xml", ".xml.gz"))
        else args.corpus.with_name("corpus_pubmed.xml.gz")
    )
    for path in (args.claims, corpus_xml):
        if not path.is_file():
            print(f"bench_stance: {path}: no such file", file=sys.stderr)
            return 2
    params = linking.DEFAULT_PARAMS
    if args.params:
        params = replace(params, **json.loads(args.params))
    claims = load_claims(args.claims, args.split)
    if args.limit:
        claims = claims[: args.limit]
    linker = linkers.load(linkers.LinkerChoice(args.linker, args.stance_model))

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_stance_") as tmp:
        engine = build_database(corpus_xml, Path(tmp))
        ingested = time.perf_counter()
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT pmid, title, abstract FROM article")).all()
            texts = {int(p): (t or "", a or "") for p, t, a in rows}
            stats = linking.TermStats.from_texts(f"{t} {a}" for t, a in texts.values())
            candidates = {c.id: retrieve(conn, c.text, args.candidates) for c in claims}
            retrieved = time.perf_counter()

            def rank(claim: str, found: Sequence[linking.Candidate]) -> list[linking.Ranked]:
                if args.linker == "lexical":
                    return linking.rank_candidates(claim, found, stats=stats, params=params)
                return linker.rank(conn, claim, found, stats=stats)

            def assess(claim: str, title: str, abstract: str) -> str:
                if isinstance(linker, HybridLinker):
                    return linker.assess(claim, title, abstract, stats=stats).stance
                if isinstance(linker, TrainedLinker):
                    return linker.assess(claim, title, abstract).stance
                return linking.assess(claim, title, abstract, stats=stats, params=params).stance

            metrics, _, _ = run(claims, candidates, rank, params)
            linked = time.perf_counter()
            stance = stance_macro_f1(stance_pairs(claims, texts, assess))
            conn.commit()  # the vectors the trained linker stored
        engine.dispose()
    finished = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"SciFact {args.split} split: {len(claims)} claims, {metrics['gold']} gold evidence "
          f"abstracts, {len(rows)} abstracts ingested")  # fmt: skip
    print(f"method {linker.method} v{linker.version}")
    print(f"{'metric':<32}{'value':>10}")
    for name, value in (
        ("abstract precision", metrics["precision"]),
        ("abstract recall", metrics["recall"]),
        ("abstract F1", metrics["f1"]),
        ("predicted / correct", f"{metrics['predicted']}/{metrics['correct']}"),
        ("stance macro-F1 (gold abstracts)", stance["macro"]),
        ("  supports / contradicts / neutral",
         f"{stance['supports']:.2f}/{stance['contradicts']:.2f}/{stance['neutral']:.2f}"),
        ("retrieval recall@3", metrics["recall_at_3"]),
        ("retrieval recall@10", metrics["recall_at_10"]),
        ("FTS-only recall@3", metrics["fts_recall_at_3"]),
        ("FTS-only recall@10", metrics["fts_recall_at_10"]),
        ("ingest seconds", ingested - started),
        ("retrieval seconds", retrieved - ingested),
        ("linking seconds", linked - retrieved),
        ("stance seconds", finished - linked),
        ("peak RSS MB", peak_mb),
    ):  # fmt: skip
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{name:<32}{shown:>10}")
    print(json.dumps({
        "claims": len(claims),
        "linker": f"{linker.method} v{linker.version}",
        "split": args.split,
        "abstract_precision": round(metrics["precision"], 4),
        "abstract_recall": round(metrics["recall"], 4),
        "abstract_f1": round(metrics["f1"], 4),
        "stance_macro_f1": round(stance["macro"], 4),
        "recall_at_3": round(metrics["recall_at_3"], 4),
        "recall_at_10": round(metrics["recall_at_10"], 4),
        "fts_recall_at_3": round(metrics["fts_recall_at_3"], 4),
        "fts_recall_at_10": round(metrics["fts_recall_at_10"], 4),
        "seconds": round(finished - started, 1),
        "peak_rss_mb": round(peak_mb),
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
