"""The kratom evaluation corpus's building blocks (`tests/kratom_eval.py`), not the whole bench.

`scripts/bench_kratom.py` runs the real audit over this corpus; here: the records become PubMed
XML that the project's parser reads back field for field, the ids are stable, the labels agree
with the catalog and the studies, and the loopback server finds the records by the catalog's
kind of query.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from evidence.pubmed.parsing import parse_bytes
from tests.eutils_server import EUtilsServer
from tests.kratom_eval import (
    LOCAL_ID_BASE,
    Labels,
    StanceLabel,
    article_set_xml,
    assign_ids,
    catalog_claim_ids,
    check_labels,
    load_labels,
    load_studies,
)

ROOT = Path(__file__).resolve().parents[1]


def test_xml_parses_back_to_the_recorded_studies() -> None:
    studies = load_studies()
    ids = assign_ids(studies)
    parsed = {a.pmid: a for a in parse_bytes(article_set_xml(studies, ids))}
    assert len(studies) == 60 and len(parsed) == 60
    for study in studies:
        record, article = study.record, parsed[ids[study.key]]
        assert article.title == record["title"]
        assert article.pub_date is not None and article.pub_date.year == record["year"]
        assert article.journal_title == record["journal"]
        assert [t.name for t in article.publication_types] == record["publication_types"]
        assert [m.descriptor for m in article.mesh_headings] == record["mesh"]
        sections = [s for s in record["abstract_sections"] if s["text"]]
        # The parser normalises runs of whitespace; the words are the recorded ones.
        assert [(s.label, " ".join(s.text.split())) for s in article.sections] == [
            (s["label"], " ".join(s["text"].split())) for s in sections
        ]
        assert article.doi == record.get("doi")
        assert len(article.authors) == len(record["authors"])
    hill = parsed[ids["hill2022"]]
    assert hill.sections[0].label == "Background and purpose" and hill.pmcid == "PMC9314834"


def test_ids_keep_pmids_and_number_the_rest_by_study_key() -> None:
    studies = load_studies()
    ids = assign_ids(studies)
    with_pmid = {s.key: s.pmid for s in studies if s.pmid is not None}
    assert len(with_pmid) == 31 and all(ids[k] == p for k, p in with_pmid.items())
    local = sorted(s.key for s in studies if s.pmid is None)
    assert [ids[k] for k in local] == list(range(LOCAL_ID_BASE + 1, LOCAL_ID_BASE + 30))
    assert ids["afzal2020"] == LOCAL_ID_BASE + 1  # first PMID-less key in order
    assert len(set(ids.values())) == 60
    assert assign_ids(list(reversed(studies))) == ids  # file order does not matter


def test_labels_agree_with_the_catalog_and_the_studies() -> None:
    studies, labels = load_studies(), load_labels()
    claims = catalog_claim_ids()
    assert len(claims) == 26 and len(labels.stances) == 220
    assert check_labels(labels, studies, claims) == []
    broken = Labels(
        {**{c: labels.verdicts[c] for c in claims[1:]}, "no-such-claim": ("maybe", "")},
        (*labels.stances, StanceLabel(claims[0], "nobody2099", "supports", ""), labels.stances[0]),
    )
    problems = check_labels(broken, studies, claims)
    assert any("missing ['" + claims[0] + "']" in p for p in problems)
    assert any("unknown verdict 'maybe'" in p for p in problems)
    assert any("unknown study 'nobody2099'" in p for p in problems)
    assert any("labelled twice" in p for p in problems)


def test_loopback_server_serves_the_corpus_to_a_search() -> None:
    studies = load_studies()
    ids = assign_ids(studies)
    with EUtilsServer(rate_limit=False) as server:
        assert server.add_records(article_set_xml(studies, ids)) == 60
        hits = server.search('caffeine[tiab] AND "adenosine"[tiab]')
    assert ids["huang2005"] in hits and ids["matsumoto1996"] not in hits


def test_bench_scores_verdicts_stances_and_coverage() -> None:
    spec = importlib.util.spec_from_file_location("bench_kratom", ROOT / "scripts/bench_kratom.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    labels = Labels(
        {"a": ("supported", ""), "b": ("contradicted", ""), "c": ("insufficient", "")},
        (
            StanceLabel("a", "s1", "supports", ""),
            StanceLabel("b", "s1", "contradicts", ""),
            StanceLabel("b", "s2", "neutral", ""),
        ),
    )
    outcome = {
        "verdicts": {"a": "supported", "b": "supported", "c": "contested"},
        "reasons": {"a": [], "b": [], "c": []},
        "got": {("a", "s1"): "supports", ("b", "s1"): "supports", ("c", "s9"): "neutral"},
        "hits": {("a", "s1"), ("b", "s2")},
    }
    s = bench.score(outcome, labels, ["a", "b", "c"])
    summary = {k: v for k, v in s.items() if k != "matrix"}
    assert summary == {
        "claims": 3,
        "agree": 1,
        "opposite": ["b"],
        "pairs": 3,
        "found_by_search": 2,
        "stance_right": 1,
    }
    assert dict(s["matrix"]) == {
        ("supports", "supports"): 1,
        ("contradicts", "supports"): 1,
        ("neutral", "unlinked"): 1,
        ("not relevant", "neutral"): 1,
    }
    json.dumps({k: v for k, v in s.items() if k != "matrix"})  # the JSON line can carry it
