"""Stance given the evidence, per linker, on the held-out splits of the stance training sets.

The question the issue asks of consumer-phrased claims: handed a claim and the passage that
bears on it, does the linker read supports / contradicts / neutral right? No consumer-claim set
is available here, so these are the nearest held-out stand-ins (none of them trained on, none
used to choose a threshold):

- PubMedQA PQA-L, official 500-item test split: the question as a statement ("Does X reduce
  Y?" -> "X reduce Y") against the abstract's conclusion; yes -> supports, no -> contradicts,
  maybe -> neutral.
- CliniFact test split: "I is superior to C in terms of O" against the whole abstract; TRUE ->
  supports, FALSE -> contradicts, NONE -> neutral.
- Evidence Inference 2.0, ev2 test articles: a templated claim against an evidence span
  (direction as found -> supports, another direction -> contradicts, a span about another
  outcome -> neutral; seeded as in `train_stance.py`).
- The same test prompts phrased as a consumer would ("Losartan saves lives", "Paroxetine is
  useless against anxiety"), for outcomes whose polarity is known (`train_stance.
  outcome_polarity`: pain, death, infection ... are unwanted; survival, healing ... wanted):
  for each prompt, a claim in the finding's direction (supports), one in another direction
  (contradicts), and one against a span about another outcome (neutral). The phrasings
  (CONSUMER_EVAL below) are none of the templates training may use (`train_stance.CONSUMER`):
  a constructed stand-in, not real consumers' words.
- SciFact, claims_train fold id % 5 == 0: each claim's evidence and cited abstracts (cited
  non-evidence -> neutral), the pairs of `bench_stance.py`'s stance_macro_f1 without the
  product's ingest (no title).

`--split dev` reads the development splits instead, for choosing between models or recipes
without touching the test splits: PubMedQA's 50 dev items, CliniFact validation, Evidence
Inference ev2 validation articles (templated and consumer-phrased), SciFact fold id % 5 == 1.
The last line's `mean/<linker>` is the mean macro-F1 over the sets run.

Each linker assesses (claim, title "", passage) as it would one abstract: the lexical method
with its relevance gate, the trained model, the hybrid. Metric: 3-way macro-F1.

Usage:
  python scripts/bench_stance_sets.py [--data-root ../shared/data] [--linker NAME ...] [--limit N]
      [--set NAME ...] [--stance-model DIR] [--split test|dev]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import train_stance as sets  # noqa: E402  (the loaders and label mappings of the training)

from evidence.linking import stance  # noqa: E402
from evidence.linking.hybrid import HybridLinker  # noqa: E402
from evidence.linking.trained import TrainedLinker  # noqa: E402

LABELS = sets.LABELS  # neutral, supports, contradicts
Item = tuple[str, str, int]  # claim, passage, gold label index


def official(split: str) -> str:
    """CliniFact's and Evidence Inference's name for a split (their dev split is "validation")."""
    return "validation" if split == "dev" else split


def pubmedqa(root: Path, split: str) -> list[Item]:
    pqa = sets.load_pubmedqa(sets.Hashes(root))
    ex = sets.pubmedqa_examples(pqa[split], random.Random(99), background=False)
    return [(e.claim, e.passage, e.label) for e in ex]


def clinifact(root: Path, split: str) -> list[Item]:
    rows = sets.load_clinifact(sets.Hashes(root))[official(split)]
    return [(r["claim"], r["article_abstract"], sets.CF_LABEL[r["label"].strip()]) for r in rows]


def evinf(root: Path, split: str) -> list[Item]:
    prompts = sets.load_evinf(sets.Hashes(root))[official(split)]
    ex = sets.evinf_examples(prompts, random.Random(99), neutral_rate=1.0)
    return [(e.claim, e.passage, e.label) for e in ex]


def scifact(root: Path, split: str) -> list[Item]:
    """Each claim's evidence and cited abstracts, cited non-evidence neutral (the definition of
    `bench_stance.py`'s stance_macro_f1, which runs the test fold through the whole product)."""
    claims, corpus = sets.load_scifact(sets.Hashes(root))
    return [(c, " ".join(s), g) for c, s, g in sets.scifact_pairs(claims, corpus, split)]


CONSUMER_EVAL = {
    "unwanted": {
        "down": ["{I} keeps {O} away", "{I} stops {O}", "Use {I} to avoid {O}"],
        "up": ["{I} gives people {O}", "{I} triggers {O}"],
        "same": ["{I} is useless against {O}", "{I} has no effect on your {O}"],
    },
    "wanted": {
        "up": ["{I} helps your {O}", "{I} is great for {O}"],
        "down": ["{I} damages {O}", "{I} ruins {O}"],
        "same": ["{I} is useless for {O}", "{I} has no effect on your {O}"],
    },
    "death": {
        "down": ["{I} adds years to your life", "{I} prevents deaths"],
        "up": ["{I} is deadly", "{I} causes deaths"],
        "same": ["{I} does not prevent deaths", "{I} won't save your life"],
    },
}


def evinf_consumer(root: Path, split: str) -> list[Item]:
    prompts = sets.load_evinf(sets.Hashes(root))[official(split)]
    rng = random.Random(99)
    articles = sets.by_article(prompts)

    def claim(polarity: str, direction: str, p: sets.EvPrompt) -> str:
        return sets.consumer_claim(rng.choice(CONSUMER_EVAL[polarity][direction]), p)

    items: list[Item] = []
    for p in prompts:
        polarity = sets.outcome_polarity(p.o)
        if polarity is None:
            continue
        span = rng.choice(p.spans)
        other = rng.choice([d for d in sets.TEMPLATES if d != p.direction])
        items.append((claim(polarity, p.direction, p), span, sets.SUP))
        items.append((claim(polarity, other, p), span, sets.CON))
        elsewhere = sets.other_outcome_spans(p, articles[p.pmcid])
        if elsewhere:
            items.append((claim(polarity, p.direction, p), rng.choice(elsewhere), sets.NEU))
    return items


def macro_f1(gold: Sequence[int], pred: Sequence[int]) -> float:
    return float(sets.macro_f1(gold, pred)["macro_f1"])


SETS: dict[str, Callable[[Path, str], list[Item]]] = {
    "pubmedqa": pubmedqa,
    "clinifact": clinifact,
    "evinf_ev2": evinf,
    "evinf_consumer": evinf_consumer,
    "scifact": scifact,
}


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument(
        "--linker", action="append", choices=("lexical", "trained", "hybrid"), default=None
    )
    parser.add_argument("--limit", type=int, default=0, help="only the first N items per set")
    parser.add_argument("--set", action="append", choices=SETS, default=None, help="only these")
    parser.add_argument("--stance-model", type=Path, default=None, help="a model directory")
    parser.add_argument(
        "--split",
        choices=("test", "dev"),
        default="test",
        help="test (reported) or dev (for choosing between models; see the docstring)",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not (args.data_root / "stance").is_dir():
        print(f"bench_stance_sets: {args.data_root / 'stance'}: no such directory", file=sys.stderr)
        return 2

    trained = TrainedLinker.load(args.stance_model)
    hybrid = HybridLinker(trained)
    readers: dict[str, Callable[[str, str], str]] = {
        "lexical": lambda c, p: stance.assess(c, "", p).stance,
        "trained": lambda c, p: trained.assess(c, "", p).stance,
        "hybrid": lambda c, p: hybrid.assess(c, "", p).stance,
    }
    result: dict[str, object] = {"bench": "stance_sets", "split": args.split}
    scores: dict[str, list[float]] = {}
    for name in args.set or SETS:
        items = SETS[name](args.data_root, args.split)
        if args.limit:
            items = items[: args.limit]
        gold = [g for *_, g in items]
        for linker in args.linker or ["lexical", "hybrid"]:
            started = time.perf_counter()
            pred = [LABELS.index(readers[linker](c, p)) for c, p, _ in items]
            f1 = round(macro_f1(gold, pred), 4)
            seconds = round(time.perf_counter() - started, 1)
            label = f"{name}_{args.split}"
            print(f"{label:<20} n={len(items):<5} {linker:<8} macro-F1 {f1:.3f}  {seconds} s")
            result[f"{label}/{linker}"] = f1
            scores.setdefault(linker, []).append(f1)
    for linker, fs in scores.items():
        result[f"mean/{linker}"] = round(sum(fs) / len(fs), 4)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
