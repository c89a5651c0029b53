"""The hybrid linker, the default: the lexical reading stands where it commits, the trained
model reads on-topic evidence the lexical gate turned away (in both directions), off-topic text
stays neutral, its links carry their own method and version, and it is what `evidence link`
uses when nothing else is chosen.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from evidence.config import Settings
from evidence.linking import hybrid, linkers, stance
from evidence.linking.hybrid import HybridLinker
from evidence.linking.trained import STANCE_DIR
from evidence.store import db
from tests.conftest import FIXTURES, Invoker, query
from tests.eutils_server import make_article_xml
from tests.test_grading import article_set

RECORDS = FIXTURES / "audit" / "records.xml"
CATALOG = FIXTURES.parent.parent / "catalogs" / "kratom.toml"
TITLE = "A randomised trial"
METHODS = (
    "METHODS We randomised 240 adults with chronic low back pain to mitragynine or placebo "
    "for 8 weeks. "
)
RELIEF = METHODS + (
    "RESULTS Pain scores fell more with mitragynine than with placebo (mean difference -1.9 "
    "points, P < 0.001). CONCLUSIONS Mitragynine relieved chronic back pain."
)
NO_RELIEF = METHODS + (
    "RESULTS Pain scores did not differ between mitragynine and placebo (mean difference -0.1 "
    "points, P = 0.81). CONCLUSIONS Mitragynine was no better than placebo for chronic back pain."
)
# Worded unlike the trial: no "mitragynine", "placebo", "scores", "relieved" ...
PARAPHRASE = "Kratom alkaloids reduce pain in people."


@pytest.fixture(scope="module")
def linker() -> HybridLinker:
    return HybridLinker.load()


def test_the_default_linker_is_the_hybrid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVIDENCE_LINKER", raising=False)
    assert Settings().linker == "hybrid"
    assert linkers.LinkerChoice().name == "hybrid"
    method, version = linkers.identity(linkers.LinkerChoice())
    model = json.loads((STANCE_DIR / "config.json").read_text())["version"]
    assert (method, version) == ("hybrid-stance", hybrid.version_of(model))
    # the version names the lexical rules' and the model's: either changing is a new version
    assert version.split(".") == [hybrid.VERSION, stance.METHOD_VERSION, model]


@pytest.mark.parametrize(
    ("abstract", "expected"), [(RELIEF, "supports"), (NO_RELIEF, "contradicts")]
)
def test_evidence_worded_unlike_the_claim_is_read_by_the_model(
    linker: HybridLinker, abstract: str, expected: str
) -> None:
    assert stance.assess(PARAPHRASE, TITLE, abstract).stance == "neutral"  # the lexical gate
    read = linker.assess(PARAPHRASE, TITLE, abstract)
    assert read.stance == expected
    assert read.method == "hybrid-stance" and read.method_version == linker.version
    assert read.reasons[0].startswith("worded unlike the claim")
    assert any(r.startswith("model: ") for r in read.reasons)
    # the rationale is the findings, never the methods sentence
    assert read.rationale and all(r.section in ("RESULTS", "CONCLUSIONS") for r in read.rationale)
    assert read == HybridLinker.load().assess(PARAPHRASE, TITLE, abstract)  # deterministic


def test_a_lexical_commitment_stands(linker: HybridLinker) -> None:
    claim = "Mitragynine relieved chronic back pain."
    lexical = stance.assess(claim, TITLE, RELIEF)
    assert lexical.stance == "supports"
    read = linker.assess(claim, TITLE, RELIEF)
    assert (read.stance, read.rationale, read.reasons) == (
        lexical.stance, lexical.rationale, lexical.reasons,
    )  # fmt: skip
    assert read.method == "hybrid-stance"


def test_off_topic_text_stays_neutral(linker: HybridLinker) -> None:
    abstract = "The parking lot was repaved in 2019. RESULTS The new surface cut puddles by 40%."
    read = linker.assess(PARAPHRASE, "Parking", abstract)
    assert read.stance == "neutral"
    assert not any(r.startswith("worded unlike") for r in read.reasons)


def test_the_ranking_puts_the_study_closer_in_meaning_first(
    evidence: Invoker, linker: HybridLinker, tmp_path: Path
) -> None:
    claim = "Kratom eases sleeplessness."
    # Both share only "kratom" with the claim: the lexical method scores them alike.
    sleep = (
        "Kratom and sleep in adults with insomnia",
        "Forty adults with insomnia took kratom or placebo. RESULTS Kratom shortened sleep "
        "onset and lengthened total sleep time versus placebo.",
    )
    imports = (
        "Kratom import rules in twelve countries",
        "We reviewed kratom import rules in twelve countries. RESULTS Kratom was legal to "
        "import in eight of them.",
    )
    day = date(2024, 1, 1)
    records = [
        make_article_xml(pmid, title, abstract, year=2024, edat=day, mdat=day)
        for pmid, (title, abstract) in ((81000001, imports), (81000002, sleep))
    ]
    path = tmp_path / "records.xml"
    path.write_bytes(article_set(*records))
    assert evidence("ingest", str(path)).exit_code == 0
    candidates = [
        stance.Candidate(81000001, *imports, 1.0),  # the full-text order: imports first
        stance.Candidate(81000002, *sleep, 1.0),
    ]
    lexical = stance.rank_candidates(claim, candidates)
    assert [r.candidate.key for r in lexical] == [81000001, 81000002]
    assert lexical[0].score == lexical[1].score
    engine = create_engine(db.normalise_url(evidence.url))
    try:
        with engine.begin() as conn:
            ranked = linker.rank(conn, claim, candidates)
            assert ranked == linker.rank(conn, claim, candidates)  # deterministic, vectors kept
    finally:
        engine.dispose()
    assert [r.candidate.key for r in ranked] == [81000002, 81000001]
    assert ranked[0].score > ranked[1].score
    assert all(r.assessment.method == "hybrid-stance" for r in ranked)


def test_link_uses_the_hybrid_by_default_and_relinking_adds_rows(
    evidence: Invoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert evidence("ingest", str(RECORDS)).exit_code == 0
    assert evidence("claims", "load", str(CATALOG)).exit_code == 0
    assert evidence("link", "--linker", "lexical").exit_code == 0
    lexical = query(evidence.url, "SELECT count(*) FROM evidence_link")[0][0]
    monkeypatch.delenv("EVIDENCE_LINKER")  # nothing chosen: the default
    result = evidence("link")
    assert result.exit_code == 0, result.output
    rows = query(
        evidence.url,
        "SELECT method, method_version, count(*) FROM evidence_link GROUP BY 1, 2 ORDER BY 1",
    )
    by_method = {m: (v, n) for m, v, n in rows}
    assert by_method["lexical-nli"][1] == lexical  # the lexical rows are kept
    version, count = by_method["hybrid-stance"]
    assert count > 0 and version == linkers.identity(linkers.LinkerChoice())[1]
    # the vectors the hybrid read with are stored for the next run
    assert query(evidence.url, "SELECT count(*) FROM article_embedding")[0][0] > 0


def test_a_corrupt_model_stops_the_hybrid_with_exit_3(evidence: Invoker, tmp_path: Path) -> None:
    broken = tmp_path / "model"
    shutil.copytree(STANCE_DIR, broken)
    (broken / "stance.onnx").write_bytes(b"not an onnx model")
    assert evidence("ingest", str(RECORDS)).exit_code == 0
    assert evidence("claims", "load", str(CATALOG)).exit_code == 0
    env = {"EVIDENCE_LINKER": "hybrid", "EVIDENCE_STANCE_MODEL": str(broken)}
    result = evidence("link", env=env)
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(broken) in lines[0]
    assert query(evidence.url, "SELECT count(*) FROM evidence_link") == [(0,)]  # no fallback
