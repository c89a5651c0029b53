"""Ingesting PubMed XML files into the store through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from evidence.store import db, search_index
from tests.conftest import FIXTURES, Invoker, query

BATCH1 = FIXTURES / "ingest" / "batch1.xml"
BATCH2 = FIXTURES / "ingest" / "batch2_update.xml"


def table_counts(url: str) -> dict[str, int]:
    tables = ["article", "author", "mesh_heading", "mesh_qualifier", "publication_type",
              "abstract_section", "keyword", "comment_correction", "article_revision",
              "deleted_citation"]  # fmt: skip
    return {t: int(query(url, f"SELECT count(*) FROM {t}")[0][0]) for t in tables}  # type: ignore[call-overload]


def test_ingest_then_reingest_is_a_no_op(evidence: Invoker, db_url: str) -> None:
    first = evidence("ingest", str(BATCH1))
    assert first.exit_code == 0, first.output
    assert first.output.startswith(
        f"{BATCH1}: 3 new, 1 updated, 0 unchanged, 0 older versions kept as history, 0 deleted"
    )
    before = table_counts(db_url)
    assert before["article"] == 3
    assert before["article_revision"] == 1  # PMID 1004 version 1, superseded in the same file

    second = evidence("ingest", str(BATCH1))
    assert second.exit_code == 0, second.output
    assert second.output.startswith(
        f"{BATCH1}: 0 new, 0 updated, 3 unchanged, 1 older versions kept as history, 0 deleted"
    )
    assert table_counts(db_url) == before
    runs = query(db_url, "SELECT status, n_new, n_updated, n_unchanged FROM ingest_run ORDER BY id")
    assert runs == [("succeeded", 3, 1, 0), ("succeeded", 0, 0, 3)]


def test_versions_in_one_file_keep_the_latest_and_the_history(
    evidence: Invoker, db_url: str
) -> None:
    evidence("ingest", str(BATCH1))
    assert query(db_url, "SELECT version, title FROM article WHERE pmid = 1004") == [
        (2, "Adenosine receptors and caffeine, second version.")
    ]
    (snapshot,) = query(db_url, "SELECT version, snapshot FROM article_revision WHERE pmid = 1004")
    assert snapshot[0] == 1
    assert (
        json.loads(str(snapshot[1]))["article"]["title"]
        == "Adenosine receptors and caffeine, first version."
    )


def test_revision_retraction_and_deletion(evidence: Invoker, db_url: str) -> None:
    evidence("ingest", str(BATCH1))
    result = evidence("ingest", str(BATCH2))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        f"{BATCH2}: 1 new, 1 updated, 0 unchanged, 0 older versions kept as history, 1 deleted, "
        "1 deletions of PMIDs not held (recorded)"
    )
    # The revised record replaced the article; its previous state is kept whole.
    assert query(db_url, "SELECT title FROM article WHERE pmid = 1001") == [
        ("RETRACTED: Mitragynine at the mu-opioid receptor: a randomized trial.",)
    ]
    snap = query(db_url, "SELECT snapshot FROM article_revision WHERE pmid = 1001")
    old = json.loads(str(snap[0][0]))
    assert old["article"]["title"].startswith("Mitragynine at the mu-opioid")
    # The whole stored state is kept, child rows included, in a self-describing shape.
    assert [t["name"] for t in old["publication_type"]] == [
        "Randomized Controlled Trial",
        "Journal Article",
    ]
    assert old["mesh_heading"][0] == {
        "pmid": 1001, "position": 0, "descriptor": "Mitragyna", "ui": "D000068698", "major": True
    }  # fmt: skip
    assert old["mesh_qualifier"] == [
        {"pmid": 1001, "heading_position": 0, "position": 0, "name": "pharmacology",
         "ui": "Q000494", "major": False}
    ]  # fmt: skip
    assert query(
        db_url, "SELECT name FROM publication_type WHERE pmid = 1001 ORDER BY position"
    ) == [("Randomized Controlled Trial",), ("Journal Article",), ("Retracted Publication",)]
    assert query(db_url, "SELECT ref_type, ref_pmid FROM comment_correction WHERE pmid = 1001") == [
        ("RetractionIn", 1005)
    ]
    # DeleteCitation: a held article is marked, an unknown PMID is recorded without error.
    assert query(db_url, "SELECT is_deleted FROM article WHERE pmid = 1002") == [(True,)] or query(
        db_url, "SELECT is_deleted FROM article WHERE pmid = 1002"
    ) == [(1,)]
    assert query(db_url, "SELECT pmid, was_present FROM deleted_citation ORDER BY pmid") in (
        [(1002, True), (9999, False)],
        [(1002, 1), (9999, 0)],
    )
    assert "[DELETED from PubMed]" in evidence("articles", "show", "1002").output


def test_full_text_index_follows_revisions_and_deletions(evidence: Invoker, db_url: str) -> None:
    evidence("ingest", str(BATCH1))
    engine = db.make_engine(db_url)
    with engine.connect() as conn:
        assert [h.pmid for h in search_index.search(conn, "mitragynine withdrawal")] == [1001]
        assert [h.pmid for h in search_index.search(conn, "kratom caffeine")] == [1002]
        assert search_index.search(conn, "retracted") == []
    evidence("ingest", str(BATCH2))
    with engine.connect() as conn:
        assert 1001 in [h.pmid for h in search_index.search(conn, "retracted mitragynine")]
        assert search_index.search(conn, "kratom caffeine") == []  # 1002 was deleted
    engine.dispose()


def test_articles_search_scores_are_relative_to_the_best_hit(evidence: Invoker) -> None:
    # On a handful of records FTS5's BM25 is about 1e-6, which printed as 0.00 for every hit.
    evidence("ingest", str(BATCH1))
    result = evidence("articles", "search", "kratom")
    assert result.exit_code == 0, result.output
    scores = re.findall(r"│ (\d+)\s+│ (\d\.\d\d)\s+│", result.output)
    assert scores and scores[0][1] == "1.00"
    assert all(0 < float(s) <= 1 for _, s in scores)


def test_articles_show(evidence: Invoker) -> None:
    evidence("ingest", str(BATCH1))
    result = evidence("articles", "show", "1001")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "PMID 1001 (version 1)"
    assert lines[1] == "Mitragynine at the mu-opioid receptor: a randomized trial."
    assert lines[2] == "Smith AB, Kratom Study Group"
    assert "BACKGROUND: Kratom is used to self-treat opioid withdrawal." in lines
    assert "RESULTS: Mitragynine reduced withdrawal scores in 120 adults." in lines
    assert "Publication types: Randomized Controlled Trial; Journal Article" in lines
    assert "MeSH (* major): Mitragyna*/pharmacology; Humans" in lines
    payload = json.loads(evidence("articles", "show", "1001", "--json").output)
    assert payload["doi"] == "10.1000/jtp.1001"
    assert payload["pmcid"] == "PMC1001"
    assert payload["entrez_date"] == "2021-04-21"


def test_unknown_and_malformed_pmid(evidence: Invoker) -> None:
    result = evidence("articles", "show", "424242")
    assert result.exit_code == 6
    assert result.output == (
        "Error: PMID 424242 is not in the database; fetch it with: "
        'evidence pubmed search "424242[pmid]"\n'
    )
    result = evidence("articles", "show", "12ab")
    assert result.exit_code == 2
    assert result.output.startswith("Error: not a PMID: '12ab'")


def _bad_inputs(tmp: Path) -> dict[str, Path]:
    """Each kind of bad file, made from a good one."""
    good = BATCH1.read_bytes()
    files = {
        "truncated_gzip": gzip.compress(good)[:-40],
        "truncated_xml": good[: len(good) * 2 // 3],
        "malformed_xml": good.replace(b"</ArticleTitle>", b"</ArticleTitl>", 1),
        "html": b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
        b"<body><h1>Bad Gateway</h1></body></html>",
        "non_utf8": good.replace(b"Kratom is used", b"Kratom \xff\xfe used"),
        "empty": b"",
    }
    paths = {}
    for name, data in files.items():
        path = tmp / f"{name}.xml{'.gz' if name.endswith('gzip') else ''}"
        path.write_bytes(data)
        paths[name] = path
    return paths


@pytest.mark.parametrize(
    "kind", ["truncated_gzip", "truncated_xml", "malformed_xml", "html", "non_utf8", "empty"]
)
def test_bad_file_is_one_line_error_and_writes_nothing(
    evidence: Invoker, db_url: str, tmp_path: Path, kind: str
) -> None:
    evidence("ingest", str(BATCH2))  # something already there must stay as it was
    before = table_counts(db_url)
    path = _bad_inputs(tmp_path)[kind]
    result = evidence("ingest", str(path))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path.name}"), lines
    assert table_counts(db_url) == before
    status, message = query(db_url, "SELECT status, message FROM ingest_run ORDER BY id DESC")[0]
    assert status == "failed"
    assert str(message).startswith(path.name)


def test_nul_character_reference_is_named_as_such(
    evidence: Invoker, db_url: str, tmp_path: Path
) -> None:
    # `&#x0;` is well-formed bytes naming a character XML forbids: not an encoding problem.
    text = BATCH1.read_text("utf-8")
    nul = tmp_path / "nul.xml"
    nul.write_text(text.replace("<ArticleTitle>", "<ArticleTitle>&#x0;", 1), "utf-8")
    result = evidence("ingest", str(nul))
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: nul.xml: a character reference to U+0000, which XML does not ")
    assert "encoding" not in line
    assert line.endswith("remove or replace that reference (e.g. &#x0;) in the file")
    assert query(db_url, "SELECT count(*) FROM article") == [(0,)]


def test_missing_file(evidence: Invoker, tmp_path: Path) -> None:
    result = evidence("ingest", str(tmp_path / "nope.xml.gz"))
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {tmp_path / 'nope.xml.gz'}: no such file")


def test_several_files_one_bad_keeps_the_good_ones(
    evidence: Invoker, db_url: str, tmp_path: Path
) -> None:
    bad = _bad_inputs(tmp_path)["truncated_xml"]
    result = evidence("ingest", str(BATCH1), str(bad), str(BATCH2))
    assert result.exit_code == 2
    assert query(db_url, "SELECT count(*) FROM article")[0][0] == 4
    statuses = query(db_url, "SELECT status FROM ingest_run ORDER BY id")
    assert statuses == [("succeeded",), ("failed",), ("succeeded",)]


def test_status_and_runs(evidence: Invoker) -> None:
    evidence("ingest", str(BATCH1), str(BATCH2))
    status = evidence("status").output
    assert "articles:  4 (3 current, 1 deleted)" in status
    assert "deletions: 2 PMIDs named by DeleteCitation" in status
    runs = evidence("runs").output
    assert "succeeded" in runs and "batch2_update.xml" in runs
