"""Grading through the database and the CLI, on SQLite and PostgreSQL.

The records are written here with `make_article_xml` (publication types, MeSH and abstracts
chosen to land in known designs) and ingested as a file; claims are imported as JSONL; links
are inserted with chosen stances, because these tests are about grading, not the linker.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from evidence.store import db
from tests.conftest import Invoker, query
from tests.eutils_server import PUBMED_DOCTYPE, make_article_xml

RCT = 91000001
COHORT = 91000002
IN_VITRO = 91000003
MICE = 91000004
SURVEY = 91000005
REVIEW = 91000006
NOTICE = 91000007

CLINICAL = "kratom-eases-withdrawal"
MECHANISTIC = "mitragynine-mu-partial-agonist"
EMPTY = "kratom-cures-baldness"

DAY = date(2024, 3, 1)


def article(pmid: int, title: str, abstract: str, **kw: Any) -> bytes:
    kw.setdefault("year", 2023)
    kw.setdefault("edat", DAY)
    kw.setdefault("mdat", DAY)
    return make_article_xml(pmid, title, abstract, **kw)


def rct(version: int = 1, *, retracted: bool = False) -> bytes:
    pub_types = ["Journal Article", "Randomized Controlled Trial"]
    comments: list[tuple[str, int]] = []
    if retracted:
        pub_types.append("Retracted Publication")
        comments.append(("RetractionIn", NOTICE))
    return article(
        RCT,
        "Kratom tea versus placebo for opioid withdrawal: a randomized controlled trial",
        "We randomized 240 adults in opioid withdrawal to kratom tea or placebo. Kratom eased "
        "withdrawal symptoms compared with placebo.",
        mesh=["Humans", "Mitragyna", "Substance Withdrawal Syndrome"],
        pub_types=pub_types,
        comments=comments,
        version=version,
        mdat=DAY if version == 1 else date(2024, 6, 1),
    )


RECORDS = [
    rct(),
    article(
        COHORT,
        "Withdrawal outcomes among kratom users: a prospective cohort",
        "A total of 520 participants were followed for 12 months; kratom use was associated "
        "with fewer withdrawal symptoms.",
        mesh=["Humans", "Prospective Studies", "Mitragyna"],
    ),
    article(
        IN_VITRO,
        "Mitragynine is a partial agonist at the human mu-opioid receptor",
        "In HEK293 cells expressing the human mu-opioid receptor, a binding assay showed "
        "mitragynine acts as a partial agonist.",
        mesh=["Humans", "HEK293 Cells", "Receptors, Opioid, mu", "Mitragyna"],
    ),
    article(
        MICE,
        "Mitragynine reduces naloxone-precipitated withdrawal in mice",
        "Mice dependent on morphine received mitragynine; withdrawal jumping was reduced.",
        mesh=["Animals", "Mice", "Mitragyna"],
    ),
    article(
        SURVEY,
        "Self-reported kratom use for opioid withdrawal: an online survey",
        "An online survey of 2,798 kratom users; respondents self-reported that kratom "
        "relieved withdrawal.",
        mesh=["Humans", "Surveys and Questionnaires", "Mitragyna"],
    ),
    article(
        REVIEW,
        "Kratom: a narrative review",
        "This review summarises the pharmacology of kratom.",
        mesh=["Humans", "Mitragyna"],
        pub_types=["Journal Article", "Review"],
    ),
]

CLAIMS = [
    {"id": CLINICAL, "text": "Kratom eases opioid withdrawal symptoms.", "type": "clinical"},
    {"id": MECHANISTIC, "text": "Mitragynine is a mu-opioid partial agonist.",
     "type": "mechanistic"},
    {"id": EMPTY, "text": "Kratom cures baldness.", "type": "clinical"},
]  # fmt: skip

LINKS = [
    (CLINICAL, RCT, "supports"),
    (CLINICAL, COHORT, "supports"),
    (CLINICAL, MICE, "supports"),
    (CLINICAL, SURVEY, "supports"),
    (CLINICAL, REVIEW, "supports"),
    (MECHANISTIC, IN_VITRO, "supports"),
    (MECHANISTIC, MICE, "neutral"),
]


def article_set(*records: bytes) -> bytes:
    head = b'<?xml version="1.0" ?>\n' + PUBMED_DOCTYPE.encode() + b"\n<PubmedArticleSet>\n"
    return head + b"\n".join(records) + b"\n</PubmedArticleSet>\n"


def write(path: Path, *records: bytes) -> Path:
    path.write_bytes(article_set(*records))
    return path


def insert_links(url: str, links: list[tuple[str, int, str]]) -> None:
    from evidence.linking import stance as linking

    engine = create_engine(db.normalise_url(url))
    try:
        with engine.begin() as conn:
            for claim_id, pmid, stance in links:
                conn.execute(
                    text(
                        "INSERT INTO evidence_link (claim_id, pmid, origin, retrieval_score, "
                        "relevance, stance, confidence, rationale, method, method_version, "
                        "created_at, updated_at) VALUES (:c, :p, 'query', 0, 0.5, :s, 0.5, '[]', "
                        ":m, :v, :t, :t)"
                    ),
                    {
                        "c": claim_id,
                        "p": pmid,
                        "s": stance,
                        "m": linking.METHOD,
                        "v": linking.METHOD_VERSION,
                        "t": "2024-03-02 00:00:00",
                    },
                )
    finally:
        engine.dispose()


def build(evidence: Invoker, tmp_path: Path, links: list[tuple[str, int, str]] = LINKS) -> None:
    result = evidence("ingest", str(write(tmp_path / "records.xml", *RECORDS)))
    assert result.exit_code == 0, result.output
    claims = tmp_path / "claims.jsonl"
    claims.write_text("\n".join(json.dumps(c) for c in CLAIMS) + "\n")
    result = evidence("claims", "import", str(claims))
    assert result.exit_code == 0, result.output
    insert_links(evidence.url, links)


def verdicts(url: str, claim_id: str | None = None) -> list[tuple[Any, ...]]:
    sql = (
        "SELECT claim_id, verdict, lean, certainty, cause, cause_ref, actor, why FROM claim_verdict"
    )
    if claim_id is not None:
        return query(url, sql + " WHERE claim_id = :c ORDER BY id", c=claim_id)
    return query(url, sql + " ORDER BY id")


def grade(evidence: Invoker, *args: str) -> str:
    result = evidence("grade", *args)
    assert result.exit_code == 0, result.output
    return result.output


def test_grade_records_each_claim_once_and_is_idempotent(evidence: Invoker, tmp_path: Path) -> None:
    build(evidence, tmp_path)
    out = grade(evidence)
    assert "graded 3 claim(s)" in out and "3 verdict change(s) recorded" in out
    rows = {r[0]: r for r in verdicts(evidence.url)}
    assert set(rows) == {CLINICAL, MECHANISTIC, EMPTY}
    # No linked evidence: insufficient, never silently supported.
    assert rows[EMPTY][1:4] == ("insufficient", "none", None)
    assert rows[CLINICAL][1] == "supported"
    assert rows[CLINICAL][4] == "grade"
    # Every linked article is appraised once.
    appraised = query(evidence.url, "SELECT pmid, design FROM study_appraisal ORDER BY pmid")
    assert dict(appraised) == {
        RCT: "rct",
        COHORT: "cohort",
        IN_VITRO: "preclinical_experiment",
        MICE: "preclinical_experiment",
        SURVEY: "case_control_cross_sectional",
        REVIEW: "narrative",
    }

    again = grade(evidence)
    assert "0 verdict change(s) recorded" in again
    assert len(verdicts(evidence.url)) == 3
    assert len(query(evidence.url, "SELECT id FROM study_appraisal")) == 6


def test_claims_show_and_history(evidence: Invoker, tmp_path: Path) -> None:
    build(evidence, tmp_path)
    before = evidence("claims", "show", CLINICAL)
    assert before.exit_code == 0, before.output
    assert "recorded:  not yet" in before.output
    grade(evidence)
    shown = evidence("claims", "show", CLINICAL)
    assert "verdict:   supported" in shown.output
    assert "certainty:" in shown.output
    for pmid in (RCT, COHORT, MICE, SURVEY, REVIEW):
        assert str(pmid) in shown.output
    assert "context" in shown.output  # the narrative review is shown, not counted
    payload = json.loads(evidence("claims", "show", CLINICAL, "--json").output)
    a = payload["assessment"]
    assert a["verdict"] == "supported" and a["recorded"] is True
    assert {e["pmid"]: e["role"] for e in a["evidence"]}[REVIEW] == "context"
    assert all(r["code"] for r in a["reasons"])

    history = evidence("claims", "history", CLINICAL)
    assert history.exit_code == 0
    assert "supported" in history.output and "1 verdict row(s)" in history.output
    missing = evidence("claims", "history", "no-such-claim")
    assert missing.exit_code == 6 and "no claim 'no-such-claim'" in missing.output


def test_retraction_ingested_leaves_the_assessment(evidence: Invoker, tmp_path: Path) -> None:
    build(evidence, tmp_path)
    grade(evidence)
    before = json.loads(evidence("claims", "show", CLINICAL, "--json").output)["assessment"]
    assert {e["pmid"]: e["role"] for e in before["evidence"]}[RCT] == "deciding"

    revised = write(tmp_path / "update.xml", rct(version=2, retracted=True))
    result = evidence("ingest", str(revised))
    assert result.exit_code == 0, result.output
    assert "regraded 2 linked claim(s): 1 verdict change(s)" in result.output
    run_id = query(evidence.url, "SELECT max(id) FROM ingest_run")[0][0]

    rows = verdicts(evidence.url, CLINICAL)
    assert len(rows) == 2
    latest = rows[-1]
    assert latest[4:6] == ("ingest", f"run {run_id}")
    assert str(RCT) in latest[7] and "retracted" in latest[7]
    # The RCT was the deciding stratum: certainty cannot stay where it was.
    assert latest[3] != rows[0][3]

    after = json.loads(evidence("claims", "show", CLINICAL, "--json").output)["assessment"]
    by_pmid = {e["pmid"]: e for e in after["evidence"]}
    assert by_pmid[RCT]["status"] == "retracted" and by_pmid[RCT]["role"] == "excluded"
    assert any(r["code"] == "evidence.retracted_excluded" for r in after["reasons"])
    shown = evidence("claims", "show", CLINICAL)
    assert "RETRACTED" in shown.output
    # The computed appraisal before the retraction is kept beside the new one.
    states = query(
        evidence.url, "SELECT status FROM study_appraisal WHERE pmid = :p ORDER BY id", p=RCT
    )
    assert [s for (s,) in states] == ["ok", "retracted"]
    # Ingesting the same file again changes nothing and adds no row.
    again = evidence("ingest", str(revised))
    assert "regraded" not in again.output
    assert len(verdicts(evidence.url, CLINICAL)) == 2


def test_review_decision_regrades_with_its_cause(evidence: Invoker, tmp_path: Path) -> None:
    # Two experiments agree (a verdict needs two); rejecting one leaves a single study.
    build(
        evidence, tmp_path, [(MECHANISTIC, IN_VITRO, "supports"), (MECHANISTIC, MICE, "supports")]
    )
    grade(evidence)
    assert verdicts(evidence.url, MECHANISTIC)[0][1] == "supported"
    (link_id,) = query(evidence.url, "SELECT id FROM evidence_link WHERE pmid = :p", p=IN_VITRO)[0]
    result = evidence("review", "decide", str(link_id), "--reject", "--reviewer", "alice")
    assert result.exit_code == 0, result.output
    assert f"{MECHANISTIC}: insufficient (leans support), certainty low (changed)" in result.output
    decision_id = query(evidence.url, "SELECT max(id) FROM review_decision")[0][0]
    latest = verdicts(evidence.url, MECHANISTIC)[-1]
    assert latest[1] == "insufficient"
    assert latest[4:7] == ("review", f"decision {decision_id}", "alice")
    assert f"PMID {IN_VITRO} no longer counts" in latest[7]
    payload = json.loads(evidence("claims", "show", MECHANISTIC, "--json").output)
    roles = {e["pmid"]: e["role"] for e in payload["assessment"]["evidence"]}
    assert roles[IN_VITRO] == "rejected"
    summary = payload["assessment"]["reasons"][0]["why"]
    assert summary.startswith("Insufficient") and f"PMID {MICE}" in summary

    # A correction by another reviewer is the latest decision: it counts, as reviewed.
    evidence("review", "decide", str(link_id), "--stance", "supports", "--reviewer", "bob")
    payload = json.loads(evidence("claims", "show", MECHANISTIC, "--json").output)
    assert payload["assessment"]["basis"] == "mixed"  # the mouse study is still a suggestion
    assert payload["assessment"]["verdict"] == "supported"


def test_overrides_keep_the_computed_value(evidence: Invoker, tmp_path: Path) -> None:
    build(evidence, tmp_path)
    grade(evidence)
    result = evidence(
        "review", "appraise", str(COHORT), "design=rct", "--reason", "randomised in methods",
        "--reviewer", "alice",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f'study {COHORT}: design = "rct"' in result.output
    computed = query(evidence.url, "SELECT design FROM study_appraisal WHERE pmid = :p", p=COHORT)
    assert computed == [("cohort",)]  # the computed appraisal is untouched
    payload = json.loads(evidence("claims", "show", CLINICAL, "--json").output)
    row = {e["pmid"]: e for e in payload["assessment"]["evidence"]}[COHORT]
    assert row["design"] == "rct"
    assert row["overrides"] == [
        {"field": "design", "value": "rct", "reviewer": "alice", "reason": "randomised in methods"}
    ]
    audit = query(
        evidence.url, "SELECT actor, entity, entity_id, action, before, after FROM audit_log"
    )
    assert audit == [
        ("alice", "study_appraisal", str(COHORT), "override.set", '{"design": null}',
         '{"design": "rct"}'),
    ]  # fmt: skip
    assert verdicts(evidence.url, CLINICAL)[-1][4] == "override"

    cleared = evidence(
        "review", "appraise", str(COHORT), "design", "--clear", "--reason", "wrong",
        "--reviewer", "alice",
    )  # fmt: skip
    assert cleared.exit_code == 0, cleared.output
    payload = json.loads(evidence("claims", "show", CLINICAL, "--json").output)
    row = {e["pmid"]: e for e in payload["assessment"]["evidence"]}[COHORT]
    assert row["design"] == "cohort" and row["overrides"] == []

    flagged = evidence(
        "review", "flag", MECHANISTIC, "scope=clinical", "--reason", "a clinical question",
        "--reviewer", "bob",
    )  # fmt: skip
    assert flagged.exit_code == 0, flagged.output
    payload = json.loads(evidence("claims", "show", MECHANISTIC, "--json").output)
    assert payload["assessment"]["scope"] == "clinical"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["review", "appraise", str(COHORT), "colour=red"], 2, "unknown appraisal field 'colour'"),
        (["review", "appraise", str(COHORT), "design=trial"], 2, "design must be one of"),
        (["review", "appraise", str(COHORT), "sample_size=-3"], 2, "sample_size must be"),
        (["review", "appraise", str(COHORT), "rob_flags=sloppy"], 2, "rob_flags must be"),
        (["review", "appraise", "123", "design=rct"], 6, "no article 123"),
        (["review", "flag", EMPTY, "large_effect=5"], 2, "flag large_effect takes one of"),
        (["review", "flag", EMPTY, "scope=vibes"], 2, "flag scope takes one of"),
        (["review", "flag", "nope", "scope=clinical"], 6, "no claim 'nope'"),
        (["review", "flag", EMPTY, "scope"], 2, "expected FIELD=VALUE"),
    ],
)
def test_bad_overrides_write_nothing(
    evidence: Invoker, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    build(evidence, tmp_path)
    result = evidence(*args, "--reason", "because", "--reviewer", "alice")
    assert result.exit_code == code, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert query(evidence.url, "SELECT count(*) FROM grading_override") == [(0,)]
    assert query(evidence.url, "SELECT count(*) FROM audit_log") == [(0,)]
    no_reason = evidence("review", "flag", EMPTY, "scope=clinical", "--reviewer", "alice")
    assert no_reason.exit_code == 2 and "needs a reason" in no_reason.output


def test_grade_unknown_claim(evidence: Invoker, tmp_path: Path) -> None:
    build(evidence, tmp_path)
    result = evidence("grade", "--claim", "no-such-claim")
    assert result.exit_code == 6 and "no claim 'no-such-claim'" in result.output
    assert verdicts(evidence.url) == []


# --- each claim type weighs its evidence differently (issue 14), from PubMed-shaped records ---

LIVER, SEIZURE, POLL_A, POLL_B, BOTANY_A, BOTANY_B = range(91000101, 91000107)

TYPED_RECORDS = [
    article(
        LIVER,
        "Kratom-induced cholestatic liver injury: a case report",
        "We present a 41-year-old man who developed cholestatic hepatitis after two weeks of "
        "kratom use; liver tests normalised after he stopped.",
        mesh=["Humans", "Male", "Adult", "Mitragyna", "Chemical and Drug Induced Liver Injury"],
        pub_types=["Journal Article", "Case Reports"],
    ),
    article(
        SEIZURE,
        "Seizures after kratom ingestion reported to poison centers",
        "Poison center records listed 12 patients with seizures after kratom ingestion.",
        mesh=["Humans", "Mitragyna", "Poison Control Centers", "Seizures"],
        pub_types=["Journal Article", "Case Reports"],
    ),
    article(
        POLL_A,
        "Reasons for kratom use: a national survey",
        "A total of 2798 respondents completed an online survey; 48% used kratom to manage "
        "opioid withdrawal.",
        mesh=["Humans", "Surveys and Questionnaires", "Cross-Sectional Studies", "Mitragyna"],
    ),
    article(
        POLL_B,
        "Kratom use among people who use opioids: a cross-sectional survey",
        "Of 1262 respondents, 41% reported kratom use to self-treat opioid withdrawal.",
        mesh=["Humans", "Surveys and Questionnaires", "Cross-Sectional Studies", "Mitragyna"],
    ),
    article(
        BOTANY_A,
        "Indole alkaloids from the leaves of Mitragyna speciosa (Rubiaceae)",
        "Mitragynine and 7-hydroxymitragynine were isolated from the leaves.",
        mesh=["Mitragyna", "Plant Leaves", "Secologanin Tryptamine Alkaloids"],
    ),
    article(
        BOTANY_B,
        "Alkaloid content of kratom leaf from Thailand and Malaysia",
        "Mitragynine was the main alkaloid in all leaf samples.",
        mesh=["Mitragyna", "Plant Leaves", "Alkaloids"],
    ),
]

TYPED_CLAIMS = [
    {"id": "safe", "text": "Kratom is safe for short-term use.", "type": "safety"},
    {"id": "harm", "text": "Kratom can cause liver injury.", "type": "safety"},
    {"id": "used", "text": "Kratom is used to manage opioid withdrawal.", "type": "prevalence"},
    {"id": "leaf", "text": "Kratom leaves contain alkaloids.", "type": "botanical"},
]  # fmt: skip


def test_each_claim_type_weighs_its_evidence(evidence: Invoker, tmp_path: Path) -> None:
    result = evidence("ingest", str(write(tmp_path / "typed.xml", *TYPED_RECORDS)))
    assert result.exit_code == 0, result.output
    claims = tmp_path / "typed.jsonl"
    claims.write_text("\n".join(json.dumps(c) for c in TYPED_CLAIMS) + "\n")
    assert evidence("claims", "import", str(claims)).exit_code == 0
    insert_links(
        evidence.url,
        [
            # One documented serious harm refutes "safe"; surveys that found none cannot
            # show its absence and are context for it.
            ("safe", LIVER, "contradicts"),
            ("safe", POLL_A, "supports"),
            # Case reports and poison-centre series are the main evidence for a harm.
            ("harm", LIVER, "supports"),
            ("harm", SEIZURE, "supports"),
            # Surveys answer a prevalence question.
            ("used", POLL_A, "supports"),
            ("used", POLL_B, "supports"),
            # Botany is a matter of record: agreement of sources.
            ("leaf", BOTANY_A, "supports"),
            ("leaf", BOTANY_B, "supports"),
        ],
    )
    grade(evidence)
    shown = {c["id"]: json.loads(evidence("claims", "show", c["id"], "--json").output)
             for c in TYPED_CLAIMS}  # fmt: skip
    a = {cid: s["assessment"] for cid, s in shown.items()}
    codes = {cid: {r["code"] for r in x["reasons"]} for cid, x in a.items()}
    assert a["safe"]["verdict"] == "contradicted" and "verdict.documented_harm" in codes["safe"]
    assert "evidence.absence_not_shown" in codes["safe"]
    assert a["safe"]["reasons"][0]["why"].startswith("Contradicted (")
    assert f"PMID {LIVER}" in a["safe"]["reasons"][0]["why"]
    assert a["harm"]["scope"] == "safety" and a["harm"]["verdict"] == "supported"
    assert a["harm"]["certainty"] == "low" and "start.case_report_series" in codes["harm"]
    assert a["used"]["scope"] == "prevalence" and a["used"]["verdict"] == "supported"
    assert not any(c.startswith("rob.") for c in codes["used"])  # survey limits priced in once
    assert a["leaf"]["scope"] == "definitional" and a["leaf"]["verdict"] == "supported"
    for x in a.values():
        assert all("N=0" not in r["why"] for r in x["reasons"])
        assert "No reviewer has checked these stances yet" in x["reasons"][0]["why"]
