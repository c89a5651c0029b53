"""Stance and rationale for a claim against candidate abstracts: "lexical-nli", version 1.

Pure functions: the caller hands in the claim and candidate texts; nothing here reads a
database, the network or a model file, and the same input always gives the same output.

Method
------
1. Retrieval query (`fts_query`): the claim's content words, each quoted, ORed, for FTS5's BM25
   (`search_index.search_any` runs it; `search_index.search` ANDs words and misses paraphrases).
2. Relevance: claim and abstract are tokenised, stemmed (`sentences.stem`) and mapped through a
   small table of biomedical synonyms (tumour/cancer/carcinoma, mice/murine ...). Claim terms
   are weighted by IDF (from `TermStats` over the whole local corpus when the caller has it,
   else over the candidate set). Each sentence gets the IDF-weighted share of claim terms it
   covers, plus a bonus for claim bigrams it repeats and numbers it matches. An abstract's
   relevance mixes its best sentence, its title and the abstract as a whole, and for reranking
   the retrieval score too.
3. Rationale: up to three best sentences, preferring findings (RESULTS/CONCLUSIONS sections,
   "we found", "significantly", "P <") over aims and methods ("To assess whether ...").
4. Stance, from the rationale only: claim and sentence each get a negation flag (finding-level
   cues: "not", "did not", "failed to", "no significant/effect/difference", "unlikely",
   "ineffective", "unchanged", "similar to" ...; not "without" or "lack of", which in a claim
   name the condition studied) and two directions: magnitude (increase/decrease, higher/lower,
   promotes/inhibits) and valence (improves/worsens, protective/susceptible), counting only
   direction words the two texts do not share. A sentence clashes when exactly one of
   negation or a direction differs (both differing cancel out); CONTRADICT needs a net clash
   over the rationale. Otherwise a relevant abstract SUPPORTS: most on-topic evidence found for
   a claim supports it, and a contradiction is usually written out.
5. Neutral when the relevance is under a threshold; `select_links` keeps the best-ranked
   non-neutral candidate(s).

Measured (scripts/bench_stance.py, SciFact training claims; `Params` tuned on the dev split,
claim id % 5 != 0, 638 claims; held-out test split id % 5 == 0, 171 claims; 5,183 abstracts
ingested from PubMed XML; about 7 s for test, 17 s for dev on one CPU):

    split  abstract P / R / F1    recall@3  recall@10
    dev    0.504 / 0.408 / 0.451  0.831     0.930
    test   0.468 / 0.425 / 0.445  0.800     0.942

For scale: VeriSci 46.5 and VerT5erini 59.2-62.7 abstract-level F1 on SciFact's own test set
(not these claims). The reranking barely moves recall@3 over FTS5 BM25 alone (test 0.800 either
way); its use is the relevance score and the rationale. The weak part is stance: with the gold
label for every linked abstract, dev F1 would be about 0.61, so most of the gap is CONTRADICT
evidence that needs reading numbers or entities ("22 (73%) vs 4 (13%)"), not a cue word.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from evidence.linking.sentences import (
    FINDING,
    FINDING_SECTIONS,
    PURPOSE,
    SETUP_SECTIONS,
    Sentence,
    findings,
    split_sentences,
    stem,
    tokens,
)
from evidence.vocab import Stance

__all__ = [
    "METHOD",
    "METHOD_VERSION",
    "Assessment",
    "Candidate",
    "Params",
    "Ranked",
    "Rationale",
    "Sentence",
    "Stance",
    "TermStats",
    "assess",
    "fts_query",
    "query_words",
    "rank_candidates",
    "select_links",
    "split_sentences",
]

METHOD = "lexical-nli"
# 2 to 4: the rationale rules of `sentences.RULES_VERSION` 2 to 4 (which sentences may be
# rationales); the rest of the lexical rules are unchanged since 1
METHOD_VERSION = "4"


STOPWORDS = frozenset(
    """a an the and or but if of in on at to for from by with without within into onto over under
    between among about as is are was were be been being am do does did doing done has have had
    having this that these those it its it's they them their there here which who whom whose what
    when where why how than then so such can could may might must shall should will would also
    very more most less least some any all each every both either neither other another same
    own only just via per vs versus i we our you your he she his her one two s t use used using
    upon due whether while thus however therefore although though""".split()
)
# Claim words that carry stance but not topic: they must not count towards relevance, or a
# negated claim would match any abstract that says "not".
NEGATIONS = frozenset(
    "no not never none nor neither without lack lacks lacking absent absence fail fails failed "
    "unable cannot can't don't doesn't didn't isn't aren't wasn't weren't won't unlikely "
    "unaffected independent irrespective regardless nonsignificant insignificant".split()
)
# Negation of the finding itself. Not "without", "lack of", "absence of", "deficiency": in a
# claim those name the condition studied ("Lack of FGF21 in mice leads to ..."), and counting
# them made supported claims look contradicted on the dev split.
_NEG_PHRASES = re.compile(
    r"\b(not|never|cannot|can't|\w+n't|fail(?:s|ed)? to|unable to|unlikely|no (?:\w+ )?"
    r"(?:significant|effect|effects|difference|differences|change|changes|association|"
    r"evidence|impact|role|benefit|increase|decrease|improvement|relationship|correlation|"
    r"influence|reduction|protection|advantage)|non-?significant|insignificant|ineffective|"
    r"incapable|inaccurate|insufficient|unaffected|unchanged|unrelated|unable|neither|nor|"
    r"did not differ|was similar|were similar|similar to that|comparable)\b"
)


# Direction words, as stems (see `stem`), on two axes: magnitude (increase/decrease) and valence
# (better/worse). "Sildenafil worsens erectile function" against "sildenafil improved erectile
# function" is a valence clash; "decreased tau phosphorylation" against "higher levels of tau
# phosphorylation" a magnitude clash. Negation of a sentence is handled apart, not as a flip.
def _stems(words: str) -> frozenset[str]:
    return frozenset(stem(w) for w in words.split())


_UP = _stems(
    "increase increased increases increasing elevate elevated elevates elevation raise raised "
    "raises enhance enhanced enhances enhancement upregulate upregulated upregulation "
    "upregulates promote promotes promoted induce induces induced induction activate activates "
    "activated activation higher greater more augment augments augmented stimulate stimulates "
    "stimulated accelerate accelerates accelerated boost boosts gain gains rise rises rose "
    "amplify amplifies amplified facilitate facilitates facilitated potentiate potentiates "
    "strengthen strengthens overexpression excess longer larger"
)
_DOWN = _stems(
    "decrease decreased decreases decreasing reduce reduced reduces reducing reduction lower "
    "lowers lowered diminish diminished diminishes attenuate attenuates attenuated inhibit "
    "inhibits inhibited inhibition suppress suppresses suppressed suppression downregulate "
    "downregulated downregulation downregulates less fewer decline declines declined drop drops "
    "dropped block blocks blocked prevent prevents prevented impede impedes impeded abolish "
    "abolishes abolished limit limits limited slow slows slowed weaken weakens weakened shorter "
    "smaller deactivate deactivates deactivated inactivate inactivates inactivated"
)
_GOOD = _stems(
    "improve improves improved improvement benefit benefits beneficial protect protects "
    "protected protective protection ameliorate ameliorates ameliorated alleviate alleviates "
    "alleviated effective efficacious better restore restores restored rescue rescues rescued "
    "favorable favourable safe resistant resistance"
)
_BAD = _stems(
    "worsen worsens worsened worse impair impairs impaired impairment harmful detrimental "
    "adverse poor poorer deteriorate deteriorates deteriorated damage damages damaged toxic "
    "toxicity unfavorable unfavourable exacerbate exacerbates exacerbated susceptible "
    "susceptibility vulnerable vulnerability hypersensitive"
)
# Synonyms mapped onto one key so "tumour growth" meets "cancer growth". Deliberately small:
# each entry is a word SciFact-style claims paraphrase often, checked on the dev split.
_SYNONYM_GROUPS = (
    "cancer tumor tumour carcinoma neoplasm neoplasia malignancy oncogenic",
    "mouse mice murine",
    "rat rats",
    "human humans people persons",
    "patient patients subjects",
    "child children pediatric paediatric kids",
    "infant infants neonates newborns neonatal",
    "woman women female females",
    "man men male males",
    "death deaths mortality die dies died fatal",
    "heart cardiac cardiovascular",
    "kidney renal",
    "liver hepatic",
    "brain cerebral neural",
    "lung pulmonary",
    "blood plasma serum",
    "gene genes genetic",
    "expression expressed expresses",
    "drug drugs medication medications",
    "treatment therapy therapies treatments treated treat",
    "infection infections infected",
    "diabetes diabetic",
    "obesity obese",
    "hypertension hypertensive",
    "vaccine vaccines vaccination immunization",
    "antibiotic antibiotics antimicrobial antimicrobials",
    "efficacy effectiveness effective efficacious",
    "risk odds hazard likelihood",
)
_SYNONYMS: dict[str, str] = {}
for _group in _SYNONYM_GROUPS:
    _words = _group.split()
    for _w in _words:
        _SYNONYMS[stem(_w)] = stem(_words[0])
# Direction words all become one key per side, so "raised" in the claim meets "elevated".
for _set, _key in ((_UP, "<up>"), (_DOWN, "<down>"), (_GOOD, "<good>"), (_BAD, "<bad>")):
    for _s in _set:
        _SYNONYMS.setdefault(_s, _key)


def _kind_bonus(sentence: Sentence, params: Params) -> float:
    """How much more a sentence is worth as rationale than its overlap says."""
    section = (sentence.section or "").upper()
    if any(section.startswith(s) for s in FINDING_SECTIONS):
        return params.finding_bonus
    if any(section.startswith(s) for s in SETUP_SECTIONS) or PURPOSE.match(sentence.text):
        return -params.purpose_penalty
    if FINDING.search(sentence.text):
        return params.finding_bonus
    return 0.0


_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


def _terms(text: str) -> list[str]:
    """Canonical terms: stemmed, synonym-mapped, stop words and negation cues dropped."""
    out = []
    for word in tokens(text):
        if word in STOPWORDS or word in NEGATIONS or len(word) < 2 and not word.isdigit():
            continue
        key = stem(word)
        out.append(_SYNONYMS.get(key, key))
    return out


# --- corpus statistics -----------------------------------------------------------------------


MIN_DOCUMENTS = 1000


@dataclass(frozen=True, slots=True)
class TermStats:
    """Document frequencies of canonical terms, for IDF. Build once per corpus and reuse."""

    documents: int
    frequency: Mapping[str, int]

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> TermStats:
        counts: Counter[str] = Counter()
        n = 0
        for text in texts:
            n += 1
            counts.update(set(_terms(text)))
        return cls(n, dict(counts))

    def idf(self, term: str) -> float:
        # Direction keys are function-like (half of all abstracts say "increased"): weigh them
        # as the rarest common word would be weighed, not as topic.
        if term.startswith("<"):
            return 0.5
        df = self.frequency.get(term, 0)
        # A handful of documents (an audit's first searches) says little about rarity: there,
        # "kratom" in all 3 hits would weigh nothing. Count the corpus as at least
        # MIN_DOCUMENTS, which flattens the weights towards uniform until it is large.
        return math.log((max(self.documents, MIN_DOCUMENTS) + 1) / (df + 0.5))


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rationale:
    index: int
    start: int  # offsets into the abstract string that was assessed
    end: int
    text: str
    section: str | None
    score: float  # the sentence's relevance to the claim, in [0, 1]


@dataclass(frozen=True, slots=True)
class Assessment:
    stance: Stance
    relevance: float  # in [0, 1]
    confidence: float  # in [0, 1]: how sure the stance is, given the cues found
    rationale: tuple[Rationale, ...]
    reasons: tuple[str, ...] = ()  # the cues behind the stance, for a reviewer
    method: str = METHOD
    method_version: str = METHOD_VERSION


@dataclass(frozen=True, slots=True)
class Candidate:
    key: int | str  # the caller's id, e.g. a PMID
    title: str
    abstract: str
    retrieval_score: float = 0.0  # e.g. FTS BM25; higher is better, any scale


@dataclass(frozen=True, slots=True)
class Ranked:
    candidate: Candidate
    score: float  # the reranking score, in [0, 1]
    assessment: Assessment


@dataclass(frozen=True, slots=True)
class Params:
    """The tuned knobs. Defaults: a grid search on the SciFact dev split (claim id % 5 != 0)."""

    relevance_threshold: float = 0.5  # under it an abstract is neutral (off topic)
    w_sentence: float = 0.3  # relevance = these three shares of claim-term coverage ...
    w_title: float = 0.2
    w_abstract: float = 0.5
    w_retrieval: float = 0.5  # ... and, in reranking, this share of the normalised FTS score
    bigram_bonus: float = 0.1  # sentence score: share of claim bigrams repeated
    number_bonus: float = 0.05  # sentence score: a number of the claim repeated
    rationale_size: int = 3  # sentences given as rationale and read for stance
    rationale_floor: float = 0.6  # a further sentence is kept only if this close to the best
    finding_bonus: float = 0.2  # rationale choice: a sentence that reports a finding
    purpose_penalty: float = 0.2  # rationale choice: a sentence that states an aim or method
    agreement_weight: float = 0.5  # how much an agreeing rationale sentence offsets a clash
    contradict_min: float = 1.0  # cue score from which a stance is CONTRADICT
    # `select_links` keeps candidates scoring at least this share of the best one. 1.0 (the
    # best only, bar ties) won on dev: most SciFact claims have one evidence abstract, and the
    # runner-up was a false link far more often than a second piece of evidence.
    link_ratio: float = 1.0


DEFAULT_PARAMS = Params()


# --- relevance -------------------------------------------------------------------------------


def _weights(claim_terms: Sequence[str], stats: TermStats) -> dict[str, float]:
    return {t: max(stats.idf(t), 0.0) for t in dict.fromkeys(claim_terms)}


def _coverage(weights: Mapping[str, float], terms: Iterable[str]) -> float:
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    present = set(terms)
    return sum(w for t, w in weights.items() if t in present) / total


def _bigrams(terms: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(terms, terms[1:], strict=False))


def _sentence_score(
    weights: Mapping[str, float],
    claim_bigrams: set[tuple[str, str]],
    claim_numbers: set[str],
    terms: Sequence[str],
    params: Params,
) -> float:
    score = _coverage(weights, terms)
    if claim_bigrams:
        score += params.bigram_bonus * len(claim_bigrams & _bigrams(terms)) / len(claim_bigrams)
    if claim_numbers and claim_numbers & {t for t in terms if _NUMBER.match(t)}:
        score += params.number_bonus
    return min(score, 1.0)


# --- stance ----------------------------------------------------------------------------------


def _negated(text: str) -> bool:
    return _NEG_PHRASES.search(text.lower()) is not None


def _directions(text: str, shared: frozenset[str] = frozenset()) -> tuple[int, int]:
    """(magnitude, valence), each +1, -1 or 0 (neither, or as many words each way).

    Direction words in `shared` are skipped: a word both texts use ("DUSP4 downregulation")
    names the condition, and the clash, if any, is in the words they do not share.
    """
    up = down = good = bad = 0
    for word in tokens(text):
        key = stem(word)
        if key in shared:
            continue
        up += key in _UP
        down += key in _DOWN
        good += key in _GOOD
        bad += key in _BAD
    return (up > down) - (down > up), (good > bad) - (bad > good)


def _contradiction(claim: str, sentences: Sequence[str], params: Params) -> tuple[float, list[str]]:
    """A cue score (>= `contradict_min` means an explicit mismatch) and the cues found."""
    claim_neg = _negated(claim)
    claim_stems = frozenset(stem(w) for w in tokens(claim))
    score = 0.0
    reasons: list[str] = []
    for text in sentences:
        neg = _negated(text)
        shared = claim_stems & frozenset(stem(w) for w in tokens(text))
        claim_dirs = _directions(claim, shared)
        dirs = _directions(text, shared)
        clash = [c * d < 0 for c, d in zip(claim_dirs, dirs, strict=True)]
        flips = (claim_neg != neg) + any(clash)
        # Two flips cancel: "X does not lower Y" against "X raised Y" agrees.
        if flips == 1:
            score += 1.0
            if claim_neg != neg:
                reasons.append(
                    "claim negated, rationale not" if claim_neg else "rationale negated, claim not"
                )
            else:
                reasons.append(
                    "opposite directions (increase vs decrease)"
                    if clash[0]
                    else "opposite valence (better vs worse)"
                )
        else:
            score -= params.agreement_weight
    return score, reasons


# --- the API ---------------------------------------------------------------------------------


def query_words(claim: str) -> list[str]:
    """The claim's content words for retrieval: no stop words, no negations, each once."""
    words: list[str] = []
    for word in tokens(claim):
        if word in STOPWORDS or word in NEGATIONS or len(word) < 2:
            continue
        word = word.replace('"', "")
        if word and word not in words:
            words.append(word)
    return words


def fts_query(claim: str) -> str:
    """An FTS5 MATCH expression: the claim's content words, quoted, ORed (BM25 ranks them)."""
    return " OR ".join(f'"{w}"' for w in query_words(claim))


def assess(
    claim: str,
    title: str,
    abstract: str,
    *,
    sections: Sequence[Sentence] | None = None,
    stats: TermStats | None = None,
    params: Params = DEFAULT_PARAMS,
) -> Assessment:
    """The stance of `abstract` (with its `title`) towards `claim`, with rationale sentences.

    `sections`: the abstract's sentences if the caller has split them already (they must come
    from `split_sentences(abstract)`). `stats`: corpus term statistics for IDF; without them
    IDF comes from this one abstract's sentences, which is weaker.
    """
    sentences = list(sections) if sections is not None else split_sentences(abstract)
    claim_terms = _terms(claim)
    sentence_terms = [_terms(s.text) for s in sentences]
    if stats is None:
        stats = TermStats(len(sentences) + 1, _sentence_df(sentence_terms, _terms(title)))
    weights = _weights(claim_terms, stats)
    bigrams = _bigrams(claim_terms)
    numbers = {t for t in claim_terms if _NUMBER.match(t)}
    overlap = [
        (_sentence_score(weights, bigrams, numbers, terms, params), s)
        for s, terms in zip(sentences, sentence_terms, strict=True)
    ]
    # Only findings may be rationales (and so decide the stance); background, aims and
    # methods still count toward relevance.
    eligible = findings(sentences)
    # Relevance reads plain overlap; the rationale prefers findings among overlapping sentences.
    best = max((score for score, _ in overlap), default=0.0)
    scored = sorted(
        (
            (score + _kind_bonus(s, params) if score > 0 else 0.0, s)
            for score, s in overlap
            if eligible[s.index]
        ),
        key=lambda pair: (-pair[0], pair[1].index),
    )
    top = scored[0][0] if scored else 0.0
    relevance = (
        params.w_sentence * best
        + params.w_title * _coverage(weights, _terms(title))
        + params.w_abstract * _coverage(weights, (t for ts in sentence_terms for t in ts))
    )
    relevance = min(max(relevance, 0.0), 1.0)
    chosen = [
        (score, s)
        for score, s in scored[: params.rationale_size]
        if score >= top * params.rationale_floor and score > 0
    ]
    rationale = tuple(
        Rationale(s.index, s.start, s.end, s.text, s.section, round(min(max(score, 0.0), 1.0), 4))
        for score, s in sorted(chosen, key=lambda pair: pair[1].index)
    )
    if relevance < params.relevance_threshold or not rationale:
        return Assessment(
            "neutral", round(relevance, 4), round(1.0 - relevance, 4), rationale, ("off topic",)
        )
    cue, reasons = _contradiction(claim, [r.text for r in rationale], params)
    if cue >= params.contradict_min:
        stance: Stance = "contradicts"
        confidence = min(1.0, 0.5 + 0.25 * cue) * relevance
    else:
        stance = "supports"
        reasons = ["relevant rationale, no contradiction cue"]
        confidence = relevance
    return Assessment(stance, round(relevance, 4), round(confidence, 4), rationale, tuple(reasons))


def _sentence_df(
    sentence_terms: Sequence[Sequence[str]], title_terms: Sequence[str]
) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for terms in [*sentence_terms, title_terms]:
        counts.update(set(terms))
    return dict(counts)


def rank_candidates(
    claim: str,
    candidates: Sequence[Candidate],
    *,
    stats: TermStats | None = None,
    params: Params = DEFAULT_PARAMS,
) -> list[Ranked]:
    """Candidates reranked by relevance to `claim` (best first), each with its assessment.

    Without `stats`, IDF comes from the candidate set itself (its titles and abstracts).
    Ties keep the caller's order, so the ranking is deterministic.
    """
    if not candidates:
        return []
    if stats is None:
        stats = TermStats.from_texts(f"{c.title} {c.abstract}" for c in candidates)
    # Scaled by the best retrieval score, not min-max: with a handful of candidates min-max
    # hands the top FTS hit a full share however weak the others' text match (and tied on dev).
    top = max(c.retrieval_score for c in candidates)
    ranked = []
    for position, candidate in enumerate(candidates):
        assessment = assess(claim, candidate.title, candidate.abstract, stats=stats, params=params)
        retrieval = max(candidate.retrieval_score, 0.0) / top if top > 0 else 1.0
        score = (1 - params.w_retrieval) * assessment.relevance + params.w_retrieval * retrieval
        ranked.append((-score, position, Ranked(candidate, round(score, 4), assessment)))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [item[2] for item in ranked]


def select_links(
    ranked: Sequence[Ranked], *, limit: int = 3, params: Params = DEFAULT_PARAMS
) -> list[Ranked]:
    """The links to suggest from a ranking: non-neutral, close to the best score, at most `limit`.

    Most claims have one evidence abstract: on the dev split, adding the second and third
    ranked abstracts whenever they were relevant doubled the false links for a few more hits.
    """
    chosen: list[Ranked] = []
    if not ranked:
        return chosen
    best = ranked[0].score
    for item in ranked:
        if len(chosen) >= limit or item.score < best * params.link_ratio:
            break
        if item.assessment.stance != "neutral":
            chosen.append(item)
    return chosen
