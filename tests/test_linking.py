"""The claim linker (`evidence.linking`) and the metric arithmetic of `scripts/bench_stance.py`."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import text

from evidence.linking import stance as linking
from evidence.linking.sentences import finding_sentences, split_sentences, stem, tokens
from tests.conftest import ROOT, Invoker, query, requires_shared


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_stance", ROOT / "scripts/bench_stance.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_stance"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


# --- sentences ---------------------------------------------------------------------------------

PLAIN = (
    "Obesity is common. We studied 120 patients (e.g. adults) in the U.K. cohort, cf. Fig. 2. "
    "Weight fell by 3.5 kg vs. placebo (P < 0.01)! Did it last? Yes."
)
STRUCTURED = (
    "BACKGROUND: Kratom is used for pain.\n\n"
    "METHODS: We surveyed 2,798 users. J. Smith et al. analysed the data.\n\n"
    "RESULTS: Withdrawal was mild. Caffeine did not change it.\n\n"
    "CONCLUSIONS: Kratom dependence is mild."
)


def test_sentence_offsets_are_exact() -> None:
    sentences = split_sentences(PLAIN)
    assert [s.text for s in sentences] == [
        "Obesity is common.",
        "We studied 120 patients (e.g. adults) in the U.K. cohort, cf. Fig. 2.",
        "Weight fell by 3.5 kg vs. placebo (P < 0.01)!",
        "Did it last?",
        "Yes.",
    ]
    for i, s in enumerate(sentences):
        assert s.index == i
        assert PLAIN[s.start : s.end] == s.text
        assert s.section is None


def test_structured_sections_are_kept() -> None:
    sentences = split_sentences(STRUCTURED)
    assert [(s.section, s.text) for s in sentences] == [
        ("BACKGROUND", "Kratom is used for pain."),
        ("METHODS", "We surveyed 2,798 users."),
        ("METHODS", "J. Smith et al. analysed the data."),
        ("RESULTS", "Withdrawal was mild."),
        ("RESULTS", "Caffeine did not change it."),
        ("CONCLUSIONS", "Kratom dependence is mild."),
    ]
    assert all(STRUCTURED[s.start : s.end] == s.text for s in sentences)


def test_inline_headings_of_unlabelled_abstracts() -> None:
    text = "BACKGROUND Long-term therapy helps. METHODS We randomised 970 men. RESULTS None died."
    sentences = split_sentences(text)
    assert [(s.section, s.text) for s in sentences] == [
        ("BACKGROUND", "Long-term therapy helps."),
        ("METHODS", "We randomised 970 men."),
        ("RESULTS", "None died."),
    ]
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_colon_in_an_unstructured_sentence_is_not_a_label() -> None:
    text = "Aim: to test a ratio of 1:2 in mice. It worked."
    sentences = split_sentences(text)
    assert [s.section for s in sentences] == [None, None]
    assert sentences[0].text == "Aim: to test a ratio of 1:2 in mice."


@pytest.mark.parametrize("text", ["", "   ", "\n\n\n"])
def test_empty_text_has_no_sentences(text: str) -> None:
    assert split_sentences(text) == []


def test_stem_and_tokens() -> None:
    assert stem("increased") == stem("increases") == stem("increasing")
    assert tokens("IL-10 and TGF/beta") == ["il", "10", "and", "tgf", "beta"]


# --- stance ----------------------------------------------------------------------------------

TITLE = "Statins and myocardial infarction in older adults"
SUPPORTING = (
    "BACKGROUND: Statins lower cholesterol.\n\n"
    "METHODS: We followed 4,000 adults aged over 70 years.\n\n"
    "RESULTS: Statin therapy reduced the risk of myocardial infarction in older adults "
    "(hazard ratio 0.7, 95% CI 0.6-0.8).\n\n"
    "CONCLUSIONS: Statins reduce myocardial infarction in older adults."
)
NEGATIVE = (
    "BACKGROUND: Statins lower cholesterol.\n\n"
    "METHODS: We followed 4,000 adults aged over 70 years.\n\n"
    "RESULTS: Statin therapy did not reduce the risk of myocardial infarction in older adults "
    "(hazard ratio 1.0, 95% CI 0.9-1.1).\n\n"
    "CONCLUSIONS: Statins do not reduce myocardial infarction in older adults."
)
CLAIM = "Statins reduce myocardial infarction in older adults."


def test_clear_support() -> None:
    result = linking.assess(CLAIM, TITLE, SUPPORTING)
    assert result.stance == "supports"
    assert result.relevance >= 0.5
    assert 0 < result.confidence <= 1
    assert result.method == "lexical-nli" and result.method_version == linking.METHOD_VERSION
    # The rationale is the findings, not the background or the methods.
    assert {r.section for r in result.rationale} == {"RESULTS", "CONCLUSIONS"}


@pytest.mark.parametrize(
    "introduction",
    [
        "A series of experiments was conducted to investigate mitragynine in zebrafish.",
        "Adult zebrafish were subjected to chronic morphine exposure and then withdrawn.",
        "Using a tank diving test, we first showed that withdrawn zebrafish are anxious.",
        "Therefore, we applied a structural protocol to kratom alkaloids.",
    ],
)
def test_background_before_an_unstructured_study_start_is_never_a_rationale(
    introduction: str,
) -> None:
    # Issue 13: background is not evidence. Authors introduce their study in the passive
    # voice of methods, or with an adverb after "we", as often as with "we report".
    background = "Kratom is widely used by opiate addicts to mitigate opioid withdrawal."
    finding = "Mitragynine significantly attenuated opioid withdrawal behaviours (p < 0.01)."
    abstract = f"{background} {introduction} {finding}"
    kept = [s.text for s in finding_sentences(abstract)]
    assert background not in kept and finding in kept
    result = linking.assess("Kratom relieves opioid withdrawal.", "", abstract)
    assert result.stance == "supports"
    rationale = [r.text for r in result.rationale]
    assert background not in rationale and finding in rationale


@pytest.mark.parametrize(
    ("heading", "findings"),
    [
        # setting the study up, whatever the journal calls it: never a rationale
        ("RATIONALE", []),
        ("Materials and methods", []),
        ("Experimental approach", []),
        ("Data collection and analysis", []),
        ("Importance", []),
        # reporting findings: any sentence may be one
        ("Key results", [1, 2]),
        ("Authors' conclusions", [1, 2]),
        # both kinds in one heading, or neither: each sentence by its wording
        ("Methods and findings", [2]),
        ("Measurements and main results", [2]),
        ("Case presentation", [2]),
    ],
)
def test_headings_are_read_by_their_words(heading: str, findings: list[int]) -> None:
    # Issue 13: background, aims and methods are not evidence; headings vary by journal.
    abstract = (
        "Background: Kratom is used to self-treat opioid withdrawal.\n\n"
        f"{heading}: To assess whether kratom relieves opioid withdrawal, we enrolled 52 "
        "adults. Kratom relieved opioid withdrawal in 40 of 52 participants."
    )
    assert [s.section for s in split_sentences(abstract)] == ["Background", heading, heading]
    assert [s.index for s in finding_sentences(abstract)] == findings


def test_a_sentence_stating_an_aim_is_not_a_finding() -> None:
    abstract = (
        "A trial was designed to assess whether kratom relieves opioid withdrawal. "
        "Kratom relieved opioid withdrawal in 40 of 52 participants."
    )
    assert [s.index for s in finding_sentences(abstract)] == [1]


def test_clear_contradiction_by_negation() -> None:
    result = linking.assess(CLAIM, TITLE, NEGATIVE)
    assert result.stance == "contradicts"
    assert any("negated" in reason for reason in result.reasons)


def test_contradiction_by_opposite_direction() -> None:
    claim = "APOE4 expression in neurons decreases tau phosphorylation."
    abstract = (
        "We studied human neurons that expressed APOE4. "
        "APOE4 expression in neurons increased tau phosphorylation."
    )
    result = linking.assess(claim, "APOE4 and tau phosphorylation in neurons", abstract)
    assert result.stance == "contradicts"


def test_off_topic_is_neutral() -> None:
    abstract = "Coral reefs bleach in warm water. Fish populations declined across the Pacific."
    result = linking.assess(CLAIM, "Coral reef bleaching", abstract)
    assert result.stance == "neutral"
    assert result.relevance < 0.5


def test_rationale_offsets_point_into_the_abstract() -> None:
    result = linking.assess(CLAIM, TITLE, SUPPORTING)
    assert result.rationale
    for r in result.rationale:
        assert SUPPORTING[r.start : r.end] == r.text
        assert 0 <= r.score <= 1
    assert [r.index for r in result.rationale] == sorted(r.index for r in result.rationale)


def test_precomputed_sentences_give_the_same_answer() -> None:
    plain = linking.assess(CLAIM, TITLE, SUPPORTING)
    given = linking.assess(CLAIM, TITLE, SUPPORTING, sections=split_sentences(SUPPORTING))
    assert plain == given


def test_assessment_is_deterministic() -> None:
    first = [linking.assess(CLAIM, TITLE, text) for text in (SUPPORTING, NEGATIVE)]
    again = [linking.assess(CLAIM, TITLE, text) for text in (SUPPORTING, NEGATIVE)]
    assert first == again


def test_empty_abstract_is_neutral() -> None:
    result = linking.assess(CLAIM, "", "")
    assert result.stance == "neutral" and result.rationale == ()


def test_fts_query_ors_content_words() -> None:
    assert linking.fts_query('Statins do not reduce "MI" in the elderly.') == (
        '"statins" OR "reduce" OR "mi" OR "elderly"'
    )
    assert linking.fts_query("the of and") == ""


def test_rank_candidates_and_select_links() -> None:
    candidates = [
        linking.Candidate(1, "Coral reef bleaching", "Coral reefs bleach in warm water.", 9.0),
        linking.Candidate(2, TITLE, SUPPORTING, 5.0),
        linking.Candidate(3, TITLE, NEGATIVE, 5.0),
    ]
    ranked = linking.rank_candidates(CLAIM, candidates)
    assert [r.candidate.key for r in ranked][-1] == 1
    assert all(0 <= r.score <= 1 for r in ranked)
    assert ranked == linking.rank_candidates(CLAIM, candidates)
    links = linking.select_links(ranked, params=linking.Params(link_ratio=0.5))
    assert {r.candidate.key for r in links} == {2, 3}
    assert {r.candidate.key: r.assessment.stance for r in links} == {
        2: "supports",
        3: "contradicts",
    }
    assert linking.select_links([]) == []


def test_term_stats_idf_prefers_rare_words() -> None:
    stats = linking.TermStats.from_texts(["statin trial", "statin kratom", "statin cohort"])
    assert stats.documents == 3
    assert stats.idf("kratom") > stats.idf("statin")


# --- the benchmark's arithmetic --------------------------------------------------------------


def test_abstract_metrics_on_a_tiny_gold_set() -> None:
    bench = load_bench()
    gold = {
        1: {10: "supports"},
        2: {20: "contradicts", 21: "supports"},
        3: {},  # a claim without evidence: anything predicted for it is wrong
    }
    predictions = {
        1: {10: "supports"},  # correct
        2: {20: "supports", 21: "supports"},  # one wrong label, one correct
        3: {30: "supports"},  # wrong
        4: {1: "supports", 2: "supports", 3: "supports", 4: "supports"},  # 3 counted, all wrong
    }
    m = bench.abstract_metrics(predictions, gold)
    assert (m["predicted"], m["correct"], m["gold"]) == (7, 2, 3)
    assert m["precision"] == pytest.approx(2 / 7)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 * (2 / 7) * (2 / 3) / (2 / 7 + 2 / 3))
    assert bench.abstract_metrics({}, gold)["f1"] == 0.0


def test_recall_at_k() -> None:
    bench = load_bench()
    gold = {1: {10: "supports"}, 2: {20: "contradicts", 21: "supports"}}
    rankings = {1: [5, 10], 2: [20, 7, 8, 21]}
    assert bench.recall_at(rankings, gold, 1) == pytest.approx(1 / 3)
    assert bench.recall_at(rankings, gold, 3) == pytest.approx(2 / 3)
    assert bench.recall_at(rankings, gold, 10) == pytest.approx(1.0)


def test_load_claims_split(tmp_path: Path) -> None:
    bench = load_bench()
    path = tmp_path / "claims.jsonl"
    rows = [
        {"id": 5, "claim": "A.", "evidence": {"7": [{"sentences": [0], "label": "SUPPORT"}]}},
        {"id": 6, "claim": "B.", "evidence": {"8": [{"sentences": [1], "label": "CONTRADICT"}]}},
        {"id": 7, "claim": "C.", "evidence": {}},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert [c.id for c in bench.load_claims(path, "test")] == [5]
    dev = bench.load_claims(path, "dev")
    assert [c.id for c in dev] == [6, 7]
    assert dev[0].gold == {8: "contradicts"}
    assert [c.id for c in bench.load_claims(path, "fold1")] == [6]  # no model trains on it
    assert len(bench.load_claims(path, "all")) == 3


@pytest.mark.shared
def test_benchmark_on_a_scifact_subset(capsys: pytest.CaptureFixture[str]) -> None:
    requires_shared("scifact", "corpus_pubmed.xml.gz")
    bench = load_bench()
    assert bench.main(["--split", "test", "--limit", "25", "--linker", "lexical"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert result["claims"] == 25
    assert set(result) == {
        "claims", "linker", "split", "abstract_precision", "abstract_recall", "abstract_f1",
        "stance_macro_f1", "recall_at_3", "recall_at_10", "fts_recall_at_3", "fts_recall_at_10",
        "seconds", "peak_rss_mb",
    }  # fmt: skip
    assert result["linker"].startswith("lexical-nli v") and result["split"] == "test"
    # Loose floors: a broken retrieval or stance path falls far below them.
    assert result["recall_at_10"] > 0.6
    assert result["abstract_f1"] > 0.2
    assert 0.2 < result["stance_macro_f1"] <= 1.0


# --- counter searches: support for refuting evidence contradicts the claim -------------------

SAFETY_CATALOG = """[document]
path = "doc.txt"
id = "doc"

[[claim]]
id = "safe"
type = "safety"
statement = "Kratom is safe for short-term use."
quotes = ["Kratom is safe"]

[[claim.search]]
role = "direct"
query = "kratom[tiab] AND safety[tiab]"
intent = "Safety of short-term kratom use."

[[claim.search]]
role = "counter"
query = "kratom[tiab] AND (death*[tiab] OR toxicity[tiab])"
intent = "Deaths and toxicity after kratom use."
statement = "Kratom use causes serious harm, including death."
"""


def test_counter_search_hits_are_judged_against_its_statement(
    evidence: Invoker, tmp_path: Path
) -> None:
    from evidence.clock import utcnow
    from evidence.linking.suggestions import record_hits
    from evidence.store import db as store_db

    records = ROOT / "tests" / "fixtures" / "audit" / "records.xml"
    assert evidence("ingest", str(records)).exit_code == 0
    (tmp_path / "doc.txt").write_text("Kratom is safe for most people.", encoding="utf-8")
    (tmp_path / "safety.toml").write_text(SAFETY_CATALOG, encoding="utf-8")
    assert evidence("claims", "load", str(tmp_path / "safety.toml")).exit_code == 0
    deaths = 90000003  # "Kratom-associated deaths: postmortem toxicology of mitragynine"
    engine = store_db.make_engine(evidence.url)
    try:
        with engine.begin() as conn:
            run = conn.execute(text("SELECT max(id) FROM ingest_run")).scalar_one()
            record_hits(conn, "safe", [deaths], run, utcnow(), {deaths: ("counter",)})
    finally:
        engine.dispose()
    result = evidence("link", "--claim", "safe")
    assert result.exit_code == 0, result.output
    ((stance, rationale),) = query(
        evidence.url,
        "SELECT stance, rationale FROM evidence_link WHERE claim_id = 'safe' AND pmid = :p",
        p=deaths,
    )
    # A death series that only the counter search found supports "kratom causes serious harm",
    # so it contradicts "kratom is safe" (never "supports" it for sharing its words).
    assert stance == "contradicts"
    assert json.loads(rationale), "the rationale is kept"
    shown = evidence("claims", "show", "safe")
    assert "judged against: Kratom use causes serious harm, including death." in shown.output
