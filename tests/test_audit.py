"""`evidence audit` and `evidence link` end to end, on SQLite and PostgreSQL.

The E-utilities are a real HTTP server on loopback (`tests/eutils_server.py`) holding the
project's own records (`tests/fixtures/audit/records.xml`): three kratom records (mu-opioid
partial agonism in vitro, a withdrawal/dependence case report, postmortem toxicology), a
caffeine/adenosine record, a retraction notice naming kratom, a kratom survey without an
abstract, and three unrelated records (coffee and diabetes, statins, SSRIs). The unrelated ones
are also ingested as a file first, so full-text retrieval over the local corpus can find them:
the test is that the linker does not link them.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evidence.linking import stance as linking
from tests.claims_helpers import CATALOG
from tests.conftest import FIXTURES, ROOT, SHARED_DATA, Invoker, query, requires_shared
from tests.eutils_server import EUtilsServer

EMAIL = "tester@example.org"
RECORDS = FIXTURES / "audit" / "records.xml"
MU_AGONIST, DEPENDENCE, FATALITIES, CAFFEINE = 90000001, 90000002, 90000003, 90000004
RETRACTION, NO_ABSTRACT = 90000005, 90000009
UNRELATED = (90000006, 90000007, 90000008)


def catalog_ids() -> list[str]:
    import tomllib

    return [c["id"] for c in tomllib.loads(CATALOG.read_text("utf-8"))["claim"]]


def catalog_roles() -> dict[str, list[str]]:
    """claim id -> the roles of its searches, in order (a lone `query` is one direct search)."""
    import tomllib

    claims = tomllib.loads(CATALOG.read_text("utf-8"))["claim"]
    return {c["id"]: [s["role"] for s in c.get("search", [])] or ["direct"] for c in claims}


@pytest.fixture(scope="module")
def server() -> Iterator[EUtilsServer]:
    with EUtilsServer(rate_limit=False) as srv:
        srv.add_records(RECORDS)
        yield srv


def env_for(server: EUtilsServer) -> dict[str, str]:
    # The audit is not about the rate limit (test_pubmed, test_cli_pubmed and test_refresh
    # are): the stand-in takes any key and any pace, so requests are spaced 5 ms apart.
    return {
        "NCBI_EMAIL": EMAIL,
        "NCBI_API_KEY": "test-key",
        "EVIDENCE_EUTILS_URL": server.base_url,
        "EVIDENCE_EUTILS_INTERVAL": "0.005",
    }


def links(url: str) -> list[dict[str, Any]]:
    rows = query(
        url,
        "SELECT claim_id, pmid, origin, stance, relevance, confidence, rationale, method, "
        "method_version, created_at, updated_at FROM evidence_link ORDER BY claim_id, pmid",
    )
    keys = (
        "claim_id pmid origin stance relevance confidence rationale method method_version "
        "created_at updated_at"
    ).split()
    return [dict(zip(keys, row, strict=True)) for row in rows]


def catalog_queries() -> dict[str, list[str]]:
    import tomllib

    claims = tomllib.loads(CATALOG.read_text("utf-8"))["claim"]
    return {c["id"]: [s["query"] for s in c.get("search", [])] or [c["query"]] for c in claims}


def stance_links(url: str) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for link in links(url):
        if link["stance"] != "neutral":
            out.setdefault(int(link["pmid"]), set()).add(link["claim_id"])
    return out


def check_rationales(url: str) -> int:
    """Every rationale sentence is the slice of the abstract (or, without one, the title)."""
    texts = {
        int(p): (a or "", t or "")
        for p, t, a in query(url, "SELECT pmid, title, abstract FROM article")
    }
    checked = 0
    for link in links(url):
        abstract, title = texts[int(link["pmid"])]
        for sentence in json.loads(link["rationale"]):
            source = title if sentence["section"] == "TITLE" else abstract
            assert source[sentence["start"] : sentence["end"]] == sentence["text"], link
            checked += 1
    return checked


def check_verdicts(url: str, output: str) -> dict[str, str]:
    """Every catalog claim got one verdict row from the audit, printed in the output; a claim
    without a supports/contradicts link is insufficient, never supported."""
    rows = query(url, "SELECT claim_id, verdict, certainty, reasons, cause FROM claim_verdict")
    verdicts = {str(c): str(v) for c, v, _, _, _ in rows}
    assert sorted(verdicts) == sorted(catalog_ids()) and len(rows) == len(verdicts)
    assert all(cause == "audit" and json.loads(reasons) for *_, reasons, cause in rows)
    with_stance = {link["claim_id"] for link in links(url) if link["stance"] != "neutral"}
    for claim_id, verdict in verdicts.items():
        if claim_id not in with_stance:
            assert verdict == "insufficient", claim_id
    assert "verdicts: " in output and "certainty" in output
    assert "\nreport: " in output  # the audit ends by writing the HTML report
    return verdicts


def test_audit_links_kratom_records_with_rationale(db_url: str, server: EUtilsServer) -> None:
    evidence = Invoker(db_url)
    assert evidence("ingest", str(RECORDS)).exit_code == 0
    result = evidence("audit", env=env_for(server))
    assert result.exit_code == 0, result.output
    for claim_id in catalog_ids():  # every shipped claim is in the table
        assert claim_id in result.output
    assert "claims from kratom.toml: 26 new" in result.output
    roles = Counter(r for claim in catalog_roles().values() for r in claim)
    by_role = ", ".join(f"{roles[r]} {r}" for r in ("direct", "counter", "mechanism",
                                                   "background") if roles[r])  # fmt: skip
    assert f"{roles.total()} PubMed searches ({by_role}; " in result.output
    # Every search of every role ran, and the claims' hits remember which roles found them.
    terms = {r.params["term"] for r in server.requests_for("esearch")}
    assert len(terms) == len({s for c in catalog_queries().values() for s in c})
    assert set(terms) == {s for c in catalog_queries().values() for s in c}
    found = query(db_url, "SELECT DISTINCT search_roles FROM claim_hit")
    assert {"counter"} <= {r for (roles_,) in found for r in str(roles_).split(",")}
    check_verdicts(db_url, result.output)

    linked = stance_links(db_url)
    assert {"alkaloids-bind-opioid-receptors", "mixed-agonist-antagonist"} <= linked[MU_AGONIST]
    assert "long-term-use-dependence" in linked[DEPENDENCE]
    rows = {(link["claim_id"], link["pmid"]): link for link in links(db_url)}
    best = rows[("long-term-use-dependence", DEPENDENCE)]
    assert best["stance"] == "supports" and best["origin"] == "both"
    assert best["method"] == "lexical-nli" and best["method_version"] == linking.METHOD_VERSION
    rationale = json.loads(best["rationale"])
    assert any("dependence" in s["text"] for s in rationale)
    assert check_rationales(db_url) > 0

    # Unrelated records are in the corpus but linked to nothing; the retraction notice neither.
    held = {p for (p,) in query(db_url, "SELECT pmid FROM evidence_link")}
    assert not held & {*UNRELATED, RETRACTION}
    # At most 3 supports/contradicts per claim (SciFact's protocol).
    per_claim = query(
        db_url,
        "SELECT claim_id, count(*) FROM evidence_link WHERE stance <> 'neutral' GROUP BY claim_id",
    )
    assert all(n <= 3 for _, n in per_claim)
    # A record without an abstract is a neutral suggestion quoting its title, confidence 0.
    survey = [link for link in links(db_url) if link["pmid"] == NO_ABSTRACT]
    assert survey and all(link["stance"] == "neutral" for link in survey)
    assert all(link["confidence"] == 0 for link in survey)
    assert all(json.loads(link["rationale"])[0]["section"] == "TITLE" for link in survey)
    # Query hits are recorded per claim, with the run that saw them.
    hits = query(
        db_url,
        "SELECT pmid, first_seen_run_id FROM claim_hit WHERE claim_id = 'long-term-use-dependence'",
    )
    assert {p for p, _ in hits} >= {DEPENDENCE}
    assert all(run is not None for _, run in hits)


def test_audit_twice_changes_no_links(db_url: str, server: EUtilsServer) -> None:
    evidence = Invoker(db_url)
    assert evidence("audit", env=env_for(server)).exit_code == 0
    before = links(db_url)
    assert before
    again = evidence("audit", env=env_for(server))
    assert again.exit_code == 0, again.output
    assert "links: 0 new, 0 updated" in again.output
    assert "claims from" not in again.output  # the catalog is not loaded again
    assert links(db_url) == before
    # Nothing changed, so no verdict row was added.
    assert query(db_url, "SELECT count(*) FROM claim_verdict") == [(len(catalog_ids()),)]
    relinked = evidence("link")
    assert relinked.exit_code == 0, relinked.output
    assert "0 new, 0 updated" in relinked.output
    assert links(db_url) == before


def test_no_refresh_makes_no_request(db_url: str, server: EUtilsServer) -> None:
    evidence = Invoker(db_url)
    assert evidence("audit", env=env_for(server)).exit_code == 0
    before = links(db_url)
    count = len(server.requests)
    # No email needed either: nothing goes to PubMed.
    result = evidence("audit", "--no-refresh", env={"EVIDENCE_EUTILS_URL": server.base_url})
    assert result.exit_code == 0, result.output
    assert "no refresh" in result.output
    assert len(server.requests) == count
    assert links(db_url) == before


def test_audit_one_claim(db_url: str, server: EUtilsServer) -> None:
    evidence = Invoker(db_url)
    count = len(server.requests)
    result = evidence("audit", "--claim", "long-term-use-dependence", env=env_for(server))
    assert result.exit_code == 0, result.output
    n = len(catalog_roles()["long-term-use-dependence"])
    assert f"{n} PubMed searches" in result.output
    assert {link["claim_id"] for link in links(db_url)} == {"long-term-use-dependence"}
    esearches = [r for r in server.requests[count:] if r.util == "esearch"]
    assert len(esearches) == n  # each of its searches once
    missing = evidence("audit", "--claim", "no-such-claim", env=env_for(server))
    assert missing.exit_code == 6
    assert "no-such-claim" in missing.output


def test_unknown_claim_or_document_fails_before_the_catalog_is_loaded(db_url: str) -> None:
    evidence = Invoker(db_url)
    for option, name in (("--claim", "nonexistent"), ("--document", "no-such-document")):
        result = evidence("audit", "--no-refresh", option, name)
        assert result.exit_code == 6, result.output
        (line,) = result.stderr.splitlines()
        assert line.startswith("Error: no ") and name in line
        # Nothing written: the shipped catalog was not loaded as a side effect.
        assert query(db_url, "SELECT count(*) FROM claim") == [(0,)]
        assert query(db_url, "SELECT count(*) FROM document") == [(0,)]


def test_audit_with_a_second_document_reports_on_each(
    db_url: str, server: EUtilsServer, tmp_path: Path
) -> None:
    # The defect: with a second document in the database, the audit linked and graded, then
    # exited 2 asking for a --document option it did not have.
    evidence = Invoker(db_url)
    other = tmp_path / "coffee-article.txt"
    other.write_text("Coffee keeps you awake because caffeine blocks adenosine.\n", "utf-8")
    (tmp_path / "coffee.toml").write_text(
        '[document]\npath = "coffee-article.txt"\n\n[[claim]]\nid = "caffeine-adenosine"\n'
        'type = "mechanistic"\nstatement = "Caffeine blocks adenosine receptors."\n'
        'quotes = ["caffeine blocks adenosine"]\nquery = "caffeine[tiab] AND adenosine[tiab]"\n',
        "utf-8",
    )
    assert evidence("claims", "load", str(tmp_path / "coffee.toml")).exit_code == 0

    result = evidence("audit", "--report", str(tmp_path / "kratom"), env=env_for(server))

    assert result.exit_code == 0, result.output
    assert "report: " in result.stdout
    kratom_index = (tmp_path / "kratom" / "index.html").read_text("utf-8")
    assert "kratom-withdrawal-article" in kratom_index or "Kratom" in kratom_index
    assert "caffeine-adenosine" not in kratom_index  # the catalog's document only
    one = evidence("audit", "--no-refresh", "--document", "coffee-article",
                   "--report", str(tmp_path / "coffee"))  # fmt: skip
    assert one.exit_code == 0, one.output
    coffee_index = (tmp_path / "coffee" / "index.html").read_text("utf-8")
    assert "caffeine-adenosine" in coffee_index
    assert "opioid-withdrawal-relief" not in coffee_index
    assert "audit: 1 claim(s)" in one.stdout  # only that document's claims were audited


def test_first_run_prints_no_warning_and_one_line_per_empty_claim(
    sqlite_url: str, server: EUtilsServer
) -> None:
    # As a new user meets it (`make demo` on a fresh clone): a real process, real logging.
    env = {**os.environ, **env_for(server), "EVIDENCE_DATABASE_URL": sqlite_url}
    proc = subprocess.run(
        [sys.executable, "-m", "evidence", "audit"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr + proc.stdout
    empty = [line for line in proc.stdout.splitlines() if re.match(r"claim \S+: 0 hits", line)]
    hits = dict(query(sqlite_url, "SELECT claim_id, count(*) FROM claim_hit GROUP BY claim_id"))
    assert sorted(line.split()[1].rstrip(":") for line in empty) == sorted(
        set(catalog_ids()) - set(hits)
    )
    assert any("phrases PubMed did not know: " in line for line in empty)
    # A claim with some empty searches gets one line too, naming their roles: once per claim.
    partial = [line for line in proc.stdout.splitlines()
               if re.match(r"claim \S+: \d+ of \d+ searches found nothing \(", line)]  # fmt: skip
    named = [line.split()[1].rstrip(":") for line in empty + partial]
    assert len(named) == len(set(named)) and set(named) <= set(catalog_ids())
    assert partial and not set(named) - set(catalog_ids())
    assert "Not PubMed data: " in proc.stdout


def test_missing_email_is_a_config_error(db_url: str, server: EUtilsServer) -> None:
    result = Invoker(db_url)("audit", env={"EVIDENCE_EUTILS_URL": server.base_url})
    assert result.exit_code == 3
    assert "NCBI_EMAIL" in result.output


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_pubmed_unreachable_is_one_line_exit_5(db_url: str) -> None:
    env = {
        "NCBI_EMAIL": EMAIL,
        "EVIDENCE_EUTILS_URL": f"http://127.0.0.1:{_closed_port()}/entrez/eutils/",
        "EVIDENCE_EUTILS_MAX_TRIES": "1",
    }
    result = Invoker(db_url)("audit", "--claim", "anxiety", env=env)
    assert result.exit_code == 5, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1


def test_link_relinks_in_place_and_new_version_adds_rows(
    db_url: str, server: EUtilsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    evidence = Invoker(db_url)
    assert (
        evidence("audit", "--claim", "long-term-use-dependence", env=env_for(server)).exit_code == 0
    )
    first = links(db_url)
    # A stance changed behind the linker's back is put right in place, not duplicated.
    query_rows = query(db_url, "SELECT count(*) FROM evidence_link")[0][0]
    from sqlalchemy import create_engine, text

    from evidence.store import db as evidence_db

    engine = create_engine(evidence_db.normalise_url(db_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE evidence_link SET stance = 'neutral'"))
    engine.dispose()
    result = evidence("link", "--claim", "long-term-use-dependence")
    assert result.exit_code == 0, result.output
    assert "updated" in result.output
    after = links(db_url)
    assert [(r["pmid"], r["stance"]) for r in after] == [(r["pmid"], r["stance"]) for r in first]
    assert query(db_url, "SELECT count(*) FROM evidence_link")[0][0] == query_rows
    # A new method version adds rows and keeps the old ones.
    old = linking.METHOD_VERSION
    new = f"{old}-test"
    monkeypatch.setattr("evidence.linking.stance.METHOD_VERSION", new)
    assert evidence("link", "--claim", "long-term-use-dependence").exit_code == 0
    versions = query(db_url, "SELECT method_version, count(*) FROM evidence_link GROUP BY 1")
    assert dict(versions) == {old: query_rows, new: query_rows}


# --- the real update file (third-party data, not shipped) -------------------------------------

KRATOM_FILE_PMIDS = {33342583, 33847897, 34091497}
RETRACTED_STUDY = 33847897  # retracted in a test revision (it is not retracted in PubMed)
#: Claims each of the file's kratom records bears on (any one link is enough).
RELEVANT = {
    33342583: {"long-term-use-dependence", "opioid-withdrawal-relief"},  # withdrawal, gabapentin
    33847897: {  # 7-hydroxymitragynine pharmacokinetics in dogs
        "main-active-compounds",
        "kratom-contains-alkaloids",
        "alkaloids-bind-opioid-receptors",
        "safe-short-term",
    },
    34091497: {  # kratom-associated fatalities, mitragynine levels
        "safe-short-term",
        "main-active-compounds",
        "kratom-from-mitragyna-speciosa",
    },
}


@pytest.fixture(scope="module")
def update_file_server() -> Iterator[EUtilsServer]:
    path = SHARED_DATA / "pubmed" / "updatefiles" / "pubmed21n1298.xml.gz"
    if not path.exists():
        pytest.skip("needs ../shared/data/pubmed/updatefiles/pubmed21n1298.xml.gz")
    with EUtilsServer(rate_limit=False) as srv:
        srv.add_records(path)  # ~20,783 records, about 10 s
        yield srv


@pytest.mark.shared
def test_audit_against_update_file(
    db_url: str, update_file_server: EUtilsServer, tmp_path: Path
) -> None:
    requires_shared("pubmed", "updatefiles", "pubmed21n1298.xml.gz")
    evidence = Invoker(db_url)
    result = evidence("audit", env=env_for(update_file_server))
    assert result.exit_code == 0, result.output
    for claim_id in catalog_ids():
        assert claim_id in result.output
    check_verdicts(db_url, result.output)
    linked: dict[int, set[str]] = {}
    for link in links(db_url):
        linked.setdefault(int(link["pmid"]), set()).add(link["claim_id"])
    # The database holds only what the claims' searches fetched: the kratom records, and what
    # the searches that need not name kratom (OUD treatment, caffeine's pharmacology) find.
    found = {
        pmid
        for queries in catalog_queries().values()
        for q in queries
        for pmid in update_file_server.search(q)
    }
    held = {p for (p,) in query(db_url, "SELECT pmid FROM article")}
    assert KRATOM_FILE_PMIDS <= held == found
    # No claim is linked to any of the thousands of unrelated records: beyond the kratom
    # records, a claim is linked only to what its own searches returned.
    hits: dict[str, set[int]] = {}
    for claim_id, pmid in query(db_url, "SELECT claim_id, pmid FROM claim_hit"):
        hits.setdefault(str(claim_id), set()).add(int(pmid))
    for pmid, claims in linked.items():
        if pmid not in KRATOM_FILE_PMIDS:
            assert all(pmid in hits.get(c, set()) for c in claims), (pmid, claims)
    for pmid, claims in RELEVANT.items():
        assert linked.get(pmid, set()) & claims, (pmid, linked.get(pmid))
    assert check_rationales(db_url) >= len(KRATOM_FILE_PMIDS)
    # Its time is measured by scripts/bench_audit.py, not here.
    check_retraction(evidence, tmp_path)


def retracted_revision(path: Path, pmid: int) -> bytes:
    """The record of `pmid` in a PubMed XML file, revised as NCBI marks a retraction: the
    "Retracted Publication" type, a RetractionIn correction, a later DateRevised."""
    from lxml import etree

    with gzip.open(path, "rb") as fh:
        for _, elem in etree.iterparse(fh, tag="PubmedArticle"):
            if elem.findtext("MedlineCitation/PMID") == str(pmid):
                break
            elem.clear()
        else:
            raise AssertionError(f"{pmid} not in {path}")
    citation = elem.find("MedlineCitation")
    types = citation.find("Article/PublicationTypeList")
    etree.SubElement(types, "PublicationType", UI="D016441").text = "Retracted Publication"
    revised = citation.find("DateRevised")
    for tag, value in (("Year", "2025"), ("Month", "01"), ("Day", "15")):
        revised.find(tag).text = value
    corrections = citation.find("CommentsCorrectionsList")
    if corrections is None:
        corrections = etree.Element("CommentsCorrectionsList")
        # The DTD puts it after MedlineJournalInfo / ChemicalList / SupplMeshList.
        anchor = citation.find("MeshHeadingList")
        if anchor is not None:
            anchor.addprevious(corrections)
        else:
            citation.append(corrections)
    ref = etree.SubElement(corrections, "CommentsCorrections", RefType="RetractionIn")
    etree.SubElement(ref, "RefSource").text = "Retraction notice (test)"
    etree.SubElement(ref, "PMID", Version="1").text = "39999999"
    body = etree.tostring(elem)
    return b'<?xml version="1.0" ?>\n<PubmedArticleSet>\n' + body + b"\n</PubmedArticleSet>\n"


def check_retraction(evidence: Invoker, tmp_path: Path) -> None:
    """Issue 4's done-when: a linked study revised as retracted leaves its claims' assessments,
    adds a verdict row naming it, and is flagged in `claims show`."""
    update = SHARED_DATA / "pubmed" / "updatefiles" / "pubmed21n1298.xml.gz"
    linked = query(
        evidence.url,
        "SELECT claim_id FROM evidence_link WHERE pmid = :p AND stance <> 'neutral' "
        "ORDER BY claim_id",
        p=RETRACTED_STUDY,
    )
    assert linked, "the study to retract must be linked with a stance"
    claim_id = str(linked[0][0])
    before = query(evidence.url, "SELECT count(*) FROM claim_verdict WHERE claim_id = :c",
                   c=claim_id)[0][0]  # fmt: skip
    revised = tmp_path / "retracted.xml"
    revised.write_bytes(retracted_revision(update, RETRACTED_STUDY))
    result = evidence("ingest", str(revised))
    assert result.exit_code == 0, result.output
    assert "1 updated" in result.output and "regraded" in result.output
    rows = query(
        evidence.url,
        "SELECT cause, why FROM claim_verdict WHERE claim_id = :c ORDER BY id",
        c=claim_id,
    )
    assert len(rows) == before + 1
    cause, why = rows[-1]
    assert cause == "ingest" and f"PMID {RETRACTED_STUDY}" in why and "retracted" in why
    shown = evidence("claims", "show", claim_id, "--json")
    evidence_rows = json.loads(shown.output)["assessment"]["evidence"]
    study = next(e for e in evidence_rows if e["pmid"] == RETRACTED_STUDY)
    assert study["status"] == "retracted" and study["role"] == "excluded"
    assert "RETRACTED" in evidence("claims", "show", claim_id).output


def test_candidates_or_semantics_deleted_and_notices(db_url: str) -> None:
    """The library on each engine: FTS5 / tsquery OR retrieval and the exclusions."""
    from sqlalchemy import text

    from evidence.clock import utcnow
    from evidence.jobs.ingest import ingest_file
    from evidence.linking.suggestions import candidates_for, fulltext, record_hits
    from evidence.store import db as evidence_db
    from evidence.store.models import Claim

    engine = evidence_db.make_engine(db_url)
    run = ingest_file(engine, RECORDS)
    now = utcnow()
    claim = Claim(id="c", statement="Caffeine and statins", created_at=now, updated_at=now)
    with engine.begin() as conn:
        # Words ORed: records that share any one word with the claim are found.
        assert {CAFFEINE, 90000007} <= set(fulltext(conn, claim.statement, limit=None))
        conn.execute(
            text("INSERT INTO claim (id, statement, source, revision, created_at, updated_at) "
                 "VALUES ('c', 'Caffeine and statins', 'import', 1, :n, :n)"),
            {"n": now},
        )  # fmt: skip
        record_hits(conn, "c", [RETRACTION, MU_AGONIST, 123], run.run_id, now)  # 123: not held
        conn.execute(text(f"UPDATE article SET is_deleted = true WHERE pmid = {MU_AGONIST}"))
        assert MU_AGONIST not in fulltext(conn, "mitragynine", limit=None)
        pool = candidates_for(conn, claim)
    engine.dispose()
    keys = {c.key for c in pool.candidates}
    assert MU_AGONIST not in keys and RETRACTION not in keys
    assert pool.excluded == {
        MU_AGONIST: "deleted",
        RETRACTION: "not evidence: Retraction of Publication",
    }
    assert pool.origins[CAFFEINE] == "fulltext"
