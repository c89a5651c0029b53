"""evidence.parsing against real PubMed files in ../shared/data (skipped when that is absent).

Counts were established by hand (grep/zcat) on the files; the two big files take a few seconds.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

import pytest

from evidence.errors import PubMedXMLError
from evidence.pubmed.parsing import iter_records
from evidence.store.records import Deletion, ParsedArticle, Record

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PUBMED = SHARED / "pubmed"

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared test data not found at {SHARED}"),
]


def split(records: list[Record]) -> tuple[list[ParsedArticle], list[Deletion]]:
    articles = [r for r in records if isinstance(r, ParsedArticle)]
    deletions = [r for r in records if isinstance(r, Deletion)]
    assert len(articles) + len(deletions) == len(records)
    return articles, deletions


def test_baseline_file() -> None:
    articles, deletions = split(list(iter_records(PUBMED / "baseline" / "pubmed20n0014.xml.gz")))
    assert (len(articles), len(deletions)) == (30_000, 0)
    assert len({a.pmid for a in articles}) == 30_000
    assert all(a.title for a in articles)
    # Thousands of MedlineDates in dozens of shapes: every one yields a year.
    assert all(a.pub_date is not None and a.pub_date.year is not None for a in articles)
    precisions = Counter(a.pub_date.precision for a in articles if a.pub_date)
    assert precisions["unknown"] == 0 and precisions["month"] > 10_000


def test_update_file() -> None:
    articles, deletions = split(list(iter_records(PUBMED / "updatefiles" / "pubmed21n1298.xml.gz")))
    assert len(articles) == 20_788
    assert len({a.pmid for a in articles}) == 20_783
    assert len(deletions) == 1 and len(deletions[0].pmids) == 20
    assert sorted(a.version for a in articles if a.pmid == 30271887) == [1, 2, 3, 4]

    pk = next(a for a in articles if a.pmid == 33847897)
    assert pk.title == (
        "Oral Pharmacokinetics in Beagle Dogs of the Mitragynine Metabolite, 7-Hydroxymitragynine."
    )
    assert pk.journal_iso == "Eur J Drug Metab Pharmacokinet"
    assert [t.name for t in pk.publication_types] == ["Journal Article"]
    assert pk.status == "In-Process" and pk.mesh_headings == ()  # not indexed yet: no MeSH
    assert [s.label for s in pk.sections] == [
        "BACKGROUND AND OBJECTIVES",
        "METHODS",
        "RESULTS",
        "CONCLUSIONS",
    ]
    assert (pk.doi, pk.pmcid) == ("10.1007/s13318-021-00684-2", "PMC8179724")
    assert pk.entrez_date == dt.date(2021, 4, 13)
    assert pk.authors[-1].orcid == "0000-0003-0553-4039"

    indexed = next(a for a in articles if a.pmid == 24111943)  # a MEDLINE record with MeSH
    assert indexed.status == "MEDLINE"
    assert indexed.mesh_headings[0].descriptor == "Acid Phosphatase"
    assert [q.name for q in indexed.mesh_headings[0].qualifiers] == ["metabolism"]
    assert [(c.ref_type, c.pmid) for c in indexed.comments_corrections] == [("ErratumIn", 34096043)]
    assert indexed.pub_date is not None and indexed.pub_date.raw == "2014 Jan"
    # 24111943 cites many papers; none of their ids leak in from its ReferenceList.
    assert (indexed.doi, indexed.pmcid) == ("10.1111/bph.12434", "PMC3874700")


def test_old_medline_file() -> None:
    records = list(iter_records(PUBMED / "medline_samples" / "medline16n0902.xml.gz"))
    articles, deletions = split(records)
    assert len(articles) == 604
    assert deletions == [Deletion((26432306,))]
    assert isinstance(records[-1], Deletion)
    assert all(a.date_created is not None for a in articles)


EFETCH = sorted(p for p in (PUBMED / "efetch").rglob("*") if p.is_file()) if SHARED.is_dir() else []


def test_efetch_corpus_size() -> None:
    assert len(EFETCH) == 175


@pytest.mark.parametrize("path", EFETCH, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_efetch_response(path: Path) -> None:
    if path.suffix == ".html":
        with pytest.raises(PubMedXMLError, match=r"got an HTML page, not PubMed XML"):
            list(iter_records(path))
        return
    articles, deletions = split(list(iter_records(path)))
    assert deletions == []
    assert all(a.pmid > 0 and a.title for a in articles)
    if path.name == "37909814.xml":  # a deleted PMID: NCBI answers with an empty set
        assert articles == []
    elif path.name == "sample_article_20301577.xml":
        ((book),) = articles
        assert (book.pmid, book.record_type) == (20301577, "book")
        assert book.title == "CACNA1C-Related Disorders"
    elif path.parent.name == "metapub_fixtures":
        # Files are named after the PMID they hold.
        (article,) = articles
        assert article.pmid == int(re.findall(r"\d+", path.stem)[-1])
    else:
        assert articles
