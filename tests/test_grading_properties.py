"""Grading properties through the database, on SQLite and PostgreSQL (hypothesis).

A pool of ingested records of known designs (three of them retracted: by publication type, by
a RetractionIn correction, and by a separate retraction notice) and one claim; each example
inserts links in a transaction, grades, and rolls back. Properties: the stored assessment does
not depend on the order links were inserted, retracted studies never change it, and it equals
the pure `evidence.certainty.assess` of the same studies (storage adds nothing and loses
nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from evidence.grading.appraisal import appraise
from evidence.grading.certainty import ClaimFlags, LinkedStudy, assess
from evidence.grading.grades import grade_claims, load_facts
from evidence.grading.verdicts import Cause
from evidence.jobs.ingest import ingest_file
from evidence.linking import stance as linking
from evidence.store import db
from tests.eutils_server import make_article_xml
from tests.test_grading import article_set

DAY = date(2024, 3, 1)
CLAIM = "kratom-eases-withdrawal"


def _record(pmid: int, title: str, abstract: str, **kw: Any) -> bytes:
    return make_article_xml(pmid, title, abstract, year=2023, edat=DAY, mdat=DAY, **kw)


HUMAN = ["Humans", "Mitragyna"]
POOL = [
    _record(92000001, "Kratom for withdrawal: a randomized controlled trial",
            "We randomized 420 adults to kratom or placebo.", mesh=HUMAN,
            pub_types=["Journal Article", "Randomized Controlled Trial"]),
    _record(92000002, "Kratom in withdrawal: a small randomized trial",
            "We randomized 40 patients.", mesh=HUMAN,
            pub_types=["Journal Article", "Randomized Controlled Trial"]),
    _record(92000003, "Kratom users followed for a year: a prospective cohort",
            "A total of 650 participants were followed.",
            mesh=[*HUMAN, "Prospective Studies"]),
    _record(92000004, "An online survey of kratom users",
            "An online survey of 2,000 respondents who self-reported use.",
            mesh=[*HUMAN, "Surveys and Questionnaires"]),
    _record(92000005, "Kratom withdrawal: a case report",
            "We report a 34-year-old man.", mesh=HUMAN, pub_types=["Case Reports"]),
    _record(92000006, "Mitragynine in morphine-dependent mice",
            "Mice received mitragynine.", mesh=["Animals", "Mice", "Mitragyna"]),
    _record(92000007, "Mitragynine at the mu-opioid receptor in HEK293 cells",
            "A binding assay in HEK293 cells.", mesh=["Humans", "HEK293 Cells", "Mitragyna"]),
    _record(92000008, "Kratom and withdrawal: a systematic review and meta-analysis",
            "We pooled randomized trials.", mesh=HUMAN,
            pub_types=["Journal Article", "Meta-Analysis", "Systematic Review"]),
    # Retracted three ways.
    _record(92000101, "A retracted randomized trial of kratom",
            "We randomized 900 adults.", mesh=HUMAN,
            pub_types=["Journal Article", "Randomized Controlled Trial", "Retracted Publication"]),
    _record(92000102, "A cohort of kratom users",
            "A total of 3,000 participants were followed.",
            mesh=[*HUMAN, "Cohort Studies"], comments=[("RetractionIn", 92000199)]),
    _record(92000103, "Kratom eases withdrawal: a randomized controlled trial",
            "We randomized 800 adults.", mesh=HUMAN,
            pub_types=["Journal Article", "Randomized Controlled Trial"]),
    _record(92000199, "Retraction: Kratom eases withdrawal", "",
            pub_types=["Retraction of Publication"], comments=[("RetractionOf", 92000103)]),
]  # fmt: skip
COUNTED = [92000001 + i for i in range(8)]
RETRACTED = [92000101, 92000102, 92000103]


@pytest.fixture
def engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "pool.xml"
    path.write_bytes(article_set(*POOL))
    engine = db.make_engine(db_url)
    ingest_file(engine, path)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO claim (id, statement, claim_type, source, revision, created_at, "
                "updated_at) VALUES (:c, 'Kratom eases opioid withdrawal.', 'clinical', "
                "'import', 1, :t, :t)"
            ),
            {"c": CLAIM, "t": "2024-03-02 00:00:00"},
        )
    yield engine
    engine.dispose()


def _graded(conn: Connection, links: list[tuple[int, str]]) -> dict[str, Any]:
    """Insert the links in this order, grade, return the stored verdict row; roll back."""
    trans = conn.begin()
    try:
        for pmid, stance in links:
            conn.execute(
                text(
                    "INSERT INTO evidence_link (claim_id, pmid, origin, retrieval_score, "
                    "relevance, stance, confidence, rationale, method, method_version, "
                    "created_at, updated_at) VALUES (:c, :p, 'query', 0, 0, :s, 0, '[]', :m, "
                    ":v, :t, :t)"
                ),
                {"c": CLAIM, "p": pmid, "s": stance, "m": linking.METHOD,
                 "v": linking.METHOD_VERSION, "t": "2024-03-02 00:00:00"},
            )  # fmt: skip
        grade_claims(conn, [CLAIM], cause=Cause("grade"))
        row = conn.execute(
            text(
                "SELECT verdict, lean, certainty, support_share, basis, sort_label, cebm_level "
                "FROM claim_verdict WHERE claim_id = :c"
            ),
            {"c": CLAIM},
        ).one()
        return dict(row._mapping)
    finally:
        trans.rollback()


STANCE = st.sampled_from(["supports", "contradicts", "neutral"])
LINKS = st.lists(st.tuples(st.sampled_from(COUNTED), STANCE), unique_by=lambda x: x[0])
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(links=LINKS, order=st.randoms(use_true_random=False), data=st.data())
def test_order_and_retractions_do_not_change_the_stored_verdict(
    engine: Engine, links: list[tuple[int, str]], order: Any, data: st.DataObject
) -> None:
    retracted = data.draw(
        st.lists(st.tuples(st.sampled_from(RETRACTED), STANCE), unique_by=lambda x: x[0])
    )
    shuffled = links + retracted
    order.shuffle(shuffled)
    with engine.connect() as conn:
        plain = _graded(conn, links)
        assert _graded(conn, shuffled) == plain


@SETTINGS
@given(links=LINKS)
def test_stored_verdict_equals_the_pure_assessment(
    engine: Engine, links: list[tuple[int, str]]
) -> None:
    with engine.connect() as conn:
        stored = _graded(conn, links)
        facts = load_facts(conn, [p for p, _ in links])
    pure = assess(
        ClaimFlags(scope="clinical"),
        [LinkedStudy(appraise(facts[p]), stance, "suggested") for p, stance in links],
    )
    assert stored["verdict"] == pure.verdict and stored["lean"] == pure.lean
    assert stored["certainty"] == pure.certainty and stored["basis"] == pure.basis
    assert stored["support_share"] == pytest.approx(pure.support_share)
    assert (stored["sort_label"], stored["cebm_level"]) == (pure.sort, pure.cebm_level)


def test_every_way_of_retraction_is_seen(engine: Engine) -> None:
    with engine.connect() as conn:
        facts = load_facts(conn, RETRACTED + COUNTED)
    assert {p for p, f in facts.items() if appraise(f).status == "retracted"} == set(RETRACTED)
