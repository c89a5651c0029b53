"""The reviewer workflow end to end through the CLI, on SQLite and PostgreSQL.

The database is built without HTTP: the audit fixture records are ingested as a file, the
shipped catalog is loaded and `evidence link` suggests (full-text only) three links, all to the
case report 90000002: supports for long-term-use-dependence, contradicts for safe-short-term
and reduces-opioid-cravings.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.claims_helpers import CATALOG
from tests.conftest import FIXTURES, Invoker, query

RECORDS = FIXTURES / "audit" / "records.xml"
DEPENDENCE_CLAIM = "long-term-use-dependence"


def build(evidence: Invoker) -> dict[str, int]:
    """Ingest, load the catalog, link; returns {claim id: link id}."""
    assert evidence("ingest", str(RECORDS)).exit_code == 0
    assert evidence("claims", "load", str(CATALOG)).exit_code == 0
    result = evidence("link")
    assert result.exit_code == 0, result.output
    rows = query(evidence.url, "SELECT claim_id, id FROM evidence_link ORDER BY id")
    links = {str(c): int(i) for c, i in rows}
    assert set(links) == {DEPENDENCE_CLAIM, "safe-short-term", "reduces-opioid-cravings"}
    return links


def suggestions(url: str) -> list[tuple[Any, ...]]:
    return query(url, "SELECT * FROM evidence_link ORDER BY id")


def audit_rows(url: str) -> list[tuple[Any, ...]]:
    return query(url, "SELECT * FROM audit_log ORDER BY id")


def decide(evidence: Invoker, link: int, *args: str) -> str:
    result = evidence("review", "decide", str(link), *args)
    assert result.exit_code == 0, result.output
    return result.output


def test_queue_decide_conflicts_agreement_log(evidence: Invoker) -> None:
    links = build(evidence)
    dep, safe, cravings = (
        links[DEPENDENCE_CLAIM],
        links["safe-short-term"],
        links["reduces-opioid-cravings"],
    )
    before = suggestions(evidence.url)

    queued = evidence("review", "queue")
    assert queued.exit_code == 0
    lines = queued.output.splitlines()
    assert lines[-1] == "3 link(s) to review"
    assert [int(line.split("\t")[0]) for line in lines[:-1]] == [dep, safe, cravings]
    only = evidence("review", "queue", "--claim", "safe-short-term")
    assert only.output.splitlines()[-1] == "1 link(s) to review"

    # alice: accept, a reject she later changes to accept, reject.
    decide(evidence, dep, "--accept", "--reviewer", "alice")
    decide(evidence, cravings, "--reject", "--reviewer", "alice", "--note", "off topic")
    decide(evidence, cravings, "--accept", "--reviewer", "alice", "--note", "on second look")
    decide(evidence, safe, "--reject", "--reviewer", "alice")
    # bob: accept, correct to neutral, reject. carol (third by name) does not count for kappa.
    decide(evidence, dep, "--accept", "--reviewer", "bob")
    out = decide(
        evidence, cravings, "--stance", "neutral", "--reviewer", "bob", "--note", "no cravings"
    )
    assert "correct (neutral) by bob" in out
    decide(evidence, safe, "--reject", "--reviewer", "bob")
    decide(evidence, dep, "--reject", "--reviewer", "carol")

    # Suggestions are untouched; every decision row is kept.
    assert suggestions(evidence.url) == before
    assert query(evidence.url, "SELECT count(*) FROM review_decision") == [(8,)]
    assert evidence("review", "queue", "--reviewer", "alice").output.splitlines() == [
        "0 link(s) to review"
    ]
    dave = evidence("review", "queue", "--reviewer", "dave").output.splitlines()
    assert dave[-1] == "3 link(s) to review"
    assert evidence("review", "queue").output.splitlines() == ["0 link(s) to review"]

    # Conflicts: cravings (alice contradicts vs bob neutral), dep (carol rejected).
    conflicts = evidence("review", "conflicts").output.splitlines()
    assert conflicts[-1] == "2 conflict(s)"
    by_link = {int(line.split("\t")[0]): line for line in conflicts[:-1]}
    assert set(by_link) == {dep, cravings}
    assert "alice: contradicts, bob: neutral" in by_link[cravings]
    assert "carol: rejected" in by_link[dep]

    # Kappa over (alice, bob): (supports, supports), (contradicts, neutral), (rejected,
    # rejected): p_o = 2/3, p_e = 2/9, kappa = (4/9) / (7/9) = 4/7.
    agreement = evidence("review", "agreement").output.splitlines()
    rows = {line.split("\t")[0]: line for line in agreement}
    assert rows["overall"] == ("overall\tlinks=3\tobserved=0.6667\texpected=0.2222\tkappa=0.5714")
    assert rows["reduces-opioid-cravings"].endswith("kappa=0.0000")
    assert "kappa undefined: chance agreement is 1" in rows[DEPENDENCE_CLAIM]
    assert "nan" not in "\n".join(agreement).lower()

    # The claim's audit log: who, when, before, after, reason, in time order.
    log = evidence("review", "log", "reduces-opioid-cravings")
    assert log.exit_code == 0
    entries = log.output.splitlines()
    assert entries[-1] == "3 audit entries"
    first, second, third = (line.split("\t") for line in entries[:-1])
    assert first[1:3] == ["alice", "review.reject"] and first[-1] == "reason=off topic"
    assert json.loads(second[4].removeprefix("before="))["decision"] == "reject"
    assert json.loads(second[5].removeprefix("after="))["effective_stance"] == "contradicts"
    assert third[1:3] == ["bob", "review.correct"]
    assert json.loads(third[5].removeprefix("after=")) == {
        "decision": "correct",
        "stance": "neutral",
        "effective_stance": "neutral",
    }
    assert first[0] <= second[0] <= third[0]
    stored = query(
        evidence.url,
        "SELECT actor, entity, entity_id, action, reason FROM audit_log "
        "WHERE claim_id = 'reduces-opioid-cravings' ORDER BY id",
    )
    assert stored[0] == ("alice", "evidence_link", str(cravings), "review.reject", "off topic")


def test_effective_stance_follows_latest_decision(evidence: Invoker) -> None:
    from evidence.grading.reviews import effective_stance
    from evidence.store.db import connect, make_engine

    links = build(evidence)
    dep = links[DEPENDENCE_CLAIM]
    engine = make_engine(evidence.url)
    try:
        with connect(engine) as conn:
            assert effective_stance(conn, dep) == "supports"
        decide(evidence, dep, "--stance", "contradicts", "--reviewer", "alice")
        with connect(engine) as conn:
            assert effective_stance(conn, dep) == "contradicts"
        decide(evidence, dep, "--accept", "--reviewer", "alice")
        with connect(engine) as conn:
            assert effective_stance(conn, dep) == "supports"
    finally:
        engine.dispose()
    assert query(evidence.url, "SELECT stance FROM evidence_link WHERE id = :i", i=dep) == [
        ("supports",)
    ]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["999999", "--accept", "--reviewer", "alice"], 6),
        (["{link}", "--accept", "--stance", "neutral", "--reviewer", "alice"], 2),
        (["{link}", "--accept", "--reject", "--reviewer", "alice"], 2),
        (["{link}", "--reviewer", "alice"], 2),
        (["{link}", "--accept"], 2),
        (["{link}", "--accept", "--reviewer", "  "], 2),
    ],
)
def test_bad_decisions_write_nothing(evidence: Invoker, args: list[str], code: int) -> None:
    link = build(evidence)[DEPENDENCE_CLAIM]
    result = evidence("review", "decide", *(a.format(link=link) for a in args))
    assert result.exit_code == code, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("Error: ")
    assert query(evidence.url, "SELECT count(*) FROM review_decision") == [(0,)]
    assert query(evidence.url, "SELECT count(*) FROM audit_log") == [(0,)]


def test_unknown_claim_log_is_not_found(evidence: Invoker) -> None:
    build(evidence)
    result = evidence("review", "log", "no-such-claim")
    assert result.exit_code == 6
    assert result.output.startswith("Error: no claim")


def test_agreement_without_pairs_is_undefined_not_nan(evidence: Invoker) -> None:
    build(evidence)
    result = evidence("review", "agreement")
    assert result.exit_code == 0
    assert result.output.strip() == (
        "overall\tlinks=0\tkappa undefined: no link judged by two reviewers"
    )


def test_audit_log_only_grows(evidence: Invoker) -> None:
    """Decisions append audit rows; earlier rows stay exactly as written."""
    links = build(evidence)
    seen: list[tuple[Any, ...]] = []
    steps = [
        (links[DEPENDENCE_CLAIM], "--accept", "alice"),
        (links[DEPENDENCE_CLAIM], "--reject", "alice"),
        (links["safe-short-term"], "--accept", "bob"),
        (links[DEPENDENCE_CLAIM], "--accept", "alice"),
    ]
    for link, flag, who in steps:
        decide(evidence, link, flag, "--reviewer", who, "--note", f"{who} {flag}")
        rows = audit_rows(evidence.url)
        assert len(rows) == len(seen) + 1
        assert rows[: len(seen)] == seen
        seen = rows
    decisions = query(evidence.url, "SELECT * FROM review_decision ORDER BY id")
    assert len(decisions) == len(steps)
    # No library code issues an UPDATE or DELETE against the append-only tables.
    from pathlib import Path

    import evidence as package

    for path in Path(package.__file__).parent.rglob("*.py"):
        source = path.read_text("utf-8").lower()
        for table in ("audit_log", "review_decision", "audit)", "decision_table)"):
            assert f"update {table}" not in source and f"delete from {table}" not in source
            assert f"update({table}" not in source and f"delete({table}" not in source
