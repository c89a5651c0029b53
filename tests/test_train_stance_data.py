"""The training data mapping of `scripts/train_stance.py` (no torch needed): the hard negatives
pair a claim with findings about a neighbouring question, never with its own evidence, and are
labelled neutral; the question-to-statement rewrite keeps the question's content.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import train_stance as ts  # noqa: E402

from tests.conftest import requires_shared  # noqa: E402


def sf_claim(cid: int, text: str, doc: int, sentences: list[int]) -> dict[str, Any]:
    return {
        "id": cid,
        "claim": text,
        "evidence": {str(doc): [{"label": "SUPPORT", "sentences": sentences}]},
        "cited_doc_ids": [doc],
    }


# ids % 5 in {2, 3, 4} are the training fold
CLAIMS = [
    sf_claim(2, "Statins lower LDL cholesterol in adults with diabetes.", 100, [1]),
    sf_claim(3, "Statins raise muscle pain in adults with diabetes.", 101, [0]),
    sf_claim(4, "Aspirin prevents colorectal cancer.", 102, [0]),
    # the negated twin of claim 2 shares its evidence abstract: never a hard negative for it
    sf_claim(7, "Statins do not lower LDL cholesterol in adults with diabetes.", 100, [1]),
]
CORPUS = {
    100: {"abstract": ["Background.", "Statins cut LDL by 40% in diabetic adults."]},
    101: {"abstract": ["Myalgia was more common with statins.", "Other."]},
    102: {"abstract": ["Aspirin users had fewer colorectal cancers.", "Other."]},
}


def test_scifact_hard_negatives_are_neighbours_findings_never_own_evidence() -> None:
    out = ts.scifact_hard_negatives(CLAIMS, CORPUS, random.Random(1), per_claim=1)
    assert {e.label for e in out} == {ts.NEU} and {e.source for e in out} == {"scifact-hard"}
    by_claim = {e.claim: e.passage for e in out}
    # the claim sharing the rarest words ("statins", "diabetes", ...) gives its finding
    assert by_claim[CLAIMS[1]["claim"]] == "Statins cut LDL by 40% in diabetic adults."
    assert by_claim[CLAIMS[0]["claim"]] == "Myalgia was more common with statins."
    # abstract 100 is claim 2's own evidence (and its twin's): never its negative
    assert by_claim[CLAIMS[3]["claim"]] != "Statins cut LDL by 40% in diabetic adults."
    again = ts.scifact_hard_negatives(CLAIMS, CORPUS, random.Random(1), per_claim=1)
    assert out == again  # seeded


def test_scifact_retrieval_negatives_are_search_hits_never_own_evidence_or_cited() -> None:
    survey = "Statins were prescribed to 12% of adults with diabetes."
    corpus = {
        **CORPUS,
        103: {"title": "Statins in diabetes", "abstract": [survey]},
        104: {"title": "Knee surgery", "abstract": ["Arthroscopy did not relieve knee pain."]},
    }
    held_out = sf_claim(5, "Statins cause diabetes in adults.", 104, [0])  # test fold
    claims = [*CLAIMS, held_out]
    out = ts.scifact_retrieval_negatives(claims, corpus, random.Random(1), per_claim=3, depth=2)
    assert {e.label for e in out} == {ts.NEU} and {e.source for e in out} == {"scifact-retrieved"}
    for e in out:
        source = next(d for d in corpus if e.passage in corpus[d]["abstract"])
        claim = next(c for c in claims if c["claim"] == e.claim)
        assert source not in claim["cited_doc_ids"]  # never its own evidence or cited abstract
    ldl = [e.passage for e in out if e.claim == CLAIMS[0]["claim"]]
    # the LDL claim's top 2 hits past its own abstract, one finding sentence each; the knee
    # abstract shares no word with it
    assert sorted(ldl) == ["Myalgia was more common with statins.", survey]
    # training-fold claims only (not claim 5), and the aspirin claim's one hit is its own
    assert {e.claim for e in out} == {CLAIMS[i]["claim"] for i in (0, 1, 3)}
    again = ts.scifact_retrieval_negatives(claims, corpus, random.Random(1), per_claim=3, depth=2)
    assert out == again  # seeded


def pqa(question: str, answer: str, decision: str = "yes") -> dict[str, Any]:
    return {"QUESTION": question, "LONG_ANSWER": answer, "final_decision": decision}


def test_pubmedqa_cross_negatives_pair_a_question_with_its_nearest_neighbours_answer() -> None:
    items = [
        pqa("Does metformin reduce weight in adolescents?", "Metformin reduced BMI modestly."),
        pqa("Does metformin reduce hba1c in adolescents?", "Metformin lowered HbA1c."),
        pqa("Is knee arthroscopy useful?", "Arthroscopy gave no benefit.", "no"),
    ]
    out = ts.pubmedqa_cross_negatives(items, random.Random(3))
    assert len(out) == 3 and {e.label for e in out} == {ts.NEU}
    pairs = {e.claim: e.passage for e in out}
    assert pairs["Metformin reduce weight in adolescents."] == "Metformin lowered HbA1c."
    assert pairs["Metformin reduce hba1c in adolescents."] == "Metformin reduced BMI modestly."
    # never its own answer
    assert all(pairs[ts.question_to_statement(it["QUESTION"])] != it["LONG_ANSWER"] for it in items)


def test_questions_become_statements() -> None:
    assert ts.question_to_statement("Does X reduce Y?") == "X reduce Y."
    assert ts.question_to_statement("Is there a role for X in Y?") == "There is a role for X in Y."
    assert ts.question_to_statement("Landolt C acuity: differences?") == (
        "Landolt C acuity: differences."
    )


@pytest.mark.parametrize(
    ("outcome", "polarity"),
    [
        ("All-cause mortality at 30 days", "death"),
        ("Postoperative pain (VAS)", "unwanted"),
        ("Overall survival", "wanted"),
        ("Time to relief of pain", None),  # phrased as a change: polarity hidden
        ("Pain-free days", None),
        ("Serum potassium", None),  # neither wanted nor unwanted in itself
    ],
)
def test_outcome_polarity(outcome: str, polarity: str | None) -> None:
    assert ts.outcome_polarity(outcome) == polarity


def test_consumer_claims_differ_only_in_direction() -> None:
    prompt = ts.EvPrompt(
        "1", "PMC1", "Losartan", "captopril", "All-cause mortality", "down",
        ["Mortality was lower with losartan (P = 0.03)."],
    )  # fmt: skip
    unknown = ts.EvPrompt("2", "PMC1", "Losartan", "captopril", "Serum potassium", "up", ["K+"])
    out = ts.evinf_consumer_examples([prompt, unknown], random.Random(5))
    assert [e.label for e in out] == [ts.SUP, ts.CON]  # nothing for an outcome of no polarity
    assert out[0].passage == out[1].passage == prompt.spans[0]
    supports, contradicts = out[0].claim, out[1].claim
    assert supports.rstrip(".") in {t.format(I="Losartan") for t in ts.CONSUMER["death"]["down"]}
    assert contradicts.rstrip(".") in {
        t.format(I="Losartan") for d in ("up", "same") for t in ts.CONSUMER["death"][d]
    }


@pytest.mark.parametrize(
    "name", ["pubmedqa", "clinifact", "evinf_ev2", "evinf_consumer", "scifact"]
)
def test_stance_sets_dev_split_never_reads_the_test_split(name: str) -> None:
    # `bench_stance_sets.py --split dev` chooses between models; if it read a test item, the
    # test figures in the README would have been tuned on.
    import bench_stance_sets as sets

    root = requires_shared("stance").parent
    dev, test = (sets.SETS[name](root, split) for split in ("dev", "test"))
    assert dev and test
    shared = {(c, p) for c, p, _ in dev} & {(c, p) for c, p, _ in test}
    # SciFact's claims_train holds one claim under two ids, one in each fold (README)
    allowed = {"Adult tissue-resident macrophages are seeded before birth."}
    assert {c for c, _ in shared} <= (allowed if name == "scifact" else set())
