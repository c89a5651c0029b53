"""The real PubMed files in ../shared/data, ingested end to end (skipped without them)."""

from __future__ import annotations

import pytest

from tests.conftest import Invoker, query, requires_shared

pytestmark = pytest.mark.shared


def test_update_file_twice_and_show(sqlite_url: str) -> None:
    path = requires_shared("pubmed", "updatefiles", "pubmed21n1298.xml.gz")
    evidence = Invoker(sqlite_url)
    first = evidence("ingest", str(path))
    assert first.exit_code == 0, first.output
    # 20,788 records: 20,783 PMIDs, five of them earlier versions of a PMID that comes again
    # (30271887 at versions 1-4); 20 deleted PMIDs that were never in the database.
    assert first.output.startswith(
        f"{path}: 20783 new, 5 updated, 0 unchanged, 0 older versions kept as history, "
        "0 deleted, 20 deletions of PMIDs not held (recorded)"
    )
    assert query(sqlite_url, "SELECT count(*) FROM article") == [(20783,)]
    assert query(
        sqlite_url, "SELECT version FROM article_revision WHERE pmid = 30271887 ORDER BY version"
    ) == [(1,), (2,), (3,)]
    assert query(sqlite_url, "SELECT version FROM article WHERE pmid = 30271887") == [(4,)]

    second = evidence("ingest", str(path))
    assert second.output.startswith(f"{path}: 0 new, 0 updated, 20783 unchanged")

    shown = evidence("articles", "show", "33847897").output
    assert "Oral Pharmacokinetics in Beagle Dogs of the Mitragynine Metabolite" in shown
    assert "RESULTS: Absorption of 7-HMG was rapid" in shown
    assert "Publication types: Journal Article" in shown
    with_mesh = evidence("articles", "show", "24111943").output
    assert "MeSH (* major): " in with_mesh


@pytest.mark.parametrize(
    ("parts", "articles", "deleted"),
    [
        (("pubmed", "baseline", "pubmed20n0014.xml.gz"), 30000, 0),
        # The 2016 MedlineCitationSet sample: its DeleteCitation names one PMID.
        (("pubmed", "medline_samples", "medline16n0902.xml.gz"), 604, 1),
    ],
)
def test_baseline_and_old_format(
    evidence: Invoker, db_url: str, parts: tuple[str, ...], articles: int, deleted: int
) -> None:
    path = requires_shared(*parts)
    result = evidence("ingest", str(path))
    assert result.exit_code == 0, result.output
    assert query(db_url, "SELECT count(*) FROM article") == [(articles,)]
    assert query(db_url, "SELECT count(*) FROM deleted_citation") == [(deleted,)]
