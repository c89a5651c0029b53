"""`evidence refresh`, the nightly unattended job, end to end on SQLite and PostgreSQL.

PubMed is the loopback stand-in (`tests/eutils_server.py`) holding the project's kratom records
(`tests/fixtures/audit/records.xml`) and synthetic ones. Library-level tests call
`evidence.refresh.refresh(engine, client, today=...)` with the server's `today` set to the
same simulated day, so records appear over days and each refresh picks up exactly the new
ones; CLI tests (in-process, or as subprocesses where a process must be killed or run
alongside another) use the real date. Most tests import a three-claim set; the full kratom
catalog (26 claims) is used only for the new-records-and-retraction story. Library-level tests
that make many requests pass an API key (`FAST`) so that the client's limiter allows 10
requests/s; the rest run at NCBI's 3/s without one. The stand-in enforces both limits (a 429
would show in its log); retries back off for 0.01 s rather than 1 s.

What "the same database" means here (`content`): articles (pmid, version, content hash),
claim hits, evidence links (claim, pmid, stance, relevance rounded) and current verdicts;
run bookkeeping (run ids, timestamps, request counts) is left out.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from lxml import etree
from sqlalchemy import Engine, create_engine, inspect, text

from evidence.jobs.digest import render_markdown
from evidence.jobs.refresh import EXIT_NOTHING_NEW, refresh
from evidence.pubmed.client import PubMedClient
from evidence.pubmed.ratelimit import RateLimiter
from evidence.store import db
from tests.claims_helpers import CATALOG
from tests.conftest import (
    FIXTURES,
    ROOT,
    Invoker,
    create_pg_database,
    drop_pg_database,
    query,
)
from tests.eutils_server import EUtilsServer, RequestRecord, make_article_xml

EMAIL = "tester@example.org"
SECRET = "sekrit-refresh-key-0123456789"
#: An API key lets the client's limiter go to 10 requests/s (the stand-in takes any key); for
#: library-level tests with many requests, where the 3/s pace is not what is tested.
FAST = "test-key"
RECORDS = FIXTURES / "audit" / "records.xml"
MU_AGONIST, DEPENDENCE, FATALITIES, CAFFEINE, RETRACTION = range(90000001, 90000006)
NO_ABSTRACT = 90000009
#: Every fixture record a kratom-catalog query finds (the rest are coffee, statins, SSRIs).
KRATOM_FIXTURE_HITS = [MU_AGONIST, DEPENDENCE, FATALITIES, CAFFEINE, RETRACTION, NO_ABSTRACT]
#: Synthetic kratom-withdrawal records, so that a small batch size means many batches. Few
#: enough that no claim has more query hits than the linker keeps (3 stance + 10 neutral
#: links): see `test_relinking_many_hits_twice_adds_no_links`.
SYNTHETIC = list(range(91000001, 91000007))
#: Five kratom records that appear on day 2.
NEW_RECORDS: dict[int, tuple[str, str, tuple[str, ...]]] = {
    90000011: (
        "Long-term kratom use and dependence: a cohort study of daily users",
        "In a prospective cohort of 412 adults who used kratom daily for more than one year, "
        "long-term kratom use led to dependence in 38 percent of participants. Dependence was "
        "more common with higher daily doses.",
        ("Journal Article", "Observational Study"),
    ),
    90000012: (
        "Kratom for opioid withdrawal symptoms: a randomized controlled trial",
        "In a randomized controlled trial of 180 adults with opioid use disorder, kratom "
        "relieved opioid withdrawal symptoms compared with placebo. Withdrawal scores fell by "
        "half within three days.",
        ("Journal Article", "Randomized Controlled Trial"),
    ),
    90000013: (
        "Anxiety among regular kratom users: a cross-sectional survey",
        "Among 1,200 regular kratom users surveyed, kratom use was associated with anxiety and "
        "restlessness in a dose-dependent manner.",
        ("Journal Article",),
    ),
    90000014: (
        "Gastrointestinal adverse effects of kratom: constipation and nausea",
        "Kratom can cause gastrointestinal side effects: constipation and nausea were reported "
        "by most of 250 regular kratom users in this cohort.",
        ("Journal Article",),
    ),
    90000015: (
        "Kratom and insomnia in a cohort of daily users",
        "Daily kratom use was followed by insomnia and poor sleep quality in 30 percent of 300 "
        "users followed for six months.",
        ("Journal Article",),
    ),
}
NEW = sorted(NEW_RECORDS)

DAY1 = dt.date(2025, 3, 10)
DAY2 = DAY1 + dt.timedelta(days=1)
DAY3 = DAY2 + dt.timedelta(days=1)

#: The small claim set most tests import (`evidence claims import`).
CLAIMS: list[dict[str, str]] = [
    {
        "id": "caffeine-adenosine",
        "type": "mechanistic",
        "text": "Caffeine is an adenosine receptor antagonist.",
        "query": "caffeine[tiab] AND adenosine[tiab]",
    },
    {
        "id": "long-term-use-dependence",
        "type": "safety",
        "text": "Long-term kratom use can lead to dependence.",
        "query": "kratom[tiab] AND dependence[tiab]",
    },
    {
        "id": "opioid-withdrawal-relief",
        "type": "clinical",
        "text": "Kratom relieves opioid withdrawal symptoms.",
        "query": "(kratom[tiab] OR mitragynine[tiab]) AND withdraw*[tiab]",
    },
]
CLAIM_IDS = [c["id"] for c in CLAIMS]
QUERIES = {c["query"]: c["id"] for c in CLAIMS}
#: A query the stand-in refuses with an esearch <ERROR> (a dangling OR), as PubMed refuses
#: queries it cannot parse; the claim importer's own checks (quotes, parentheses) let it in.
REFUSED = {
    "id": "seizures",
    "type": "safety",
    "text": "Kratom can cause seizures.",
    "query": "kratom[tiab] AND seizure*[tiab] OR",
}


# --------------------------------------------------------------------------------------------
# Corpus, servers, clients, databases


def synthetic_xml(pmid: int, i: int | None = None) -> bytes:
    i = pmid - SYNTHETIC[0] if i is None else i
    return make_article_xml(
        pmid,
        f"Kratom and opioid withdrawal in an outpatient cohort ({i + 1})",
        f"Among {40 + 10 * i} adults who used kratom to self-treat opioid withdrawal, most "
        "reported fewer withdrawal symptoms.",
        year=2020 + i % 4,
        edat=dt.date(2020, 1, 15) + dt.timedelta(days=60 * i),
        mdat=dt.date(2024, 6, 1),
        mesh=[("Mitragyna", True), "Humans"],
    )


def new_xml(pmid: int, day: dt.date) -> bytes:
    title, abstract, pub_types = NEW_RECORDS[pmid]
    return make_article_xml(
        pmid,
        title,
        abstract,
        year=day.year,
        edat=day,
        mdat=day,
        mesh=[("Mitragyna", True), "Humans"],
        pub_types=pub_types,
    )


def retracted_xml(pmid: int, day: dt.date) -> bytes:
    """The fixture record of `pmid` revised as NCBI marks a retraction: the "Retracted
    Publication" type, a RetractionIn correction and DateRevised = `day`."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.parse(str(RECORDS), parser).getroot()
    record = next(r for r in root if r.findtext("MedlineCitation/PMID") == str(pmid))
    citation = record.find("MedlineCitation")
    types = citation.find("Article/PublicationTypeList")
    etree.SubElement(types, "PublicationType", UI="D016441").text = "Retracted Publication"
    revised = citation.find("DateRevised")
    for tag, value in (("Year", day.year), ("Month", day.month), ("Day", day.day)):
        revised.find(tag).text = f"{value:02d}"
    corrections = etree.Element("CommentsCorrectionsList")
    citation.find("MeshHeadingList").addprevious(corrections)  # the DTD's order
    ref = etree.SubElement(corrections, "CommentsCorrections", RefType="RetractionIn")
    etree.SubElement(ref, "RefSource").text = "J Synth Evid. 2025;1:99. Retraction notice."
    etree.SubElement(ref, "PMID", Version="1").text = "90000099"
    return etree.tostring(record)


def fill(server: EUtilsServer) -> None:
    server.add_records(RECORDS)
    for pmid in SYNTHETIC:
        server.add_record(pmid, synthetic_xml(pmid))


def add_day2_records(server: EUtilsServer, day: dt.date = DAY2) -> None:
    """Five new kratom records entered on `day`, and the linked case report retracted."""
    for pmid in NEW:
        server.add_record(pmid, new_xml(pmid, day))
    server.replace_record(DEPENDENCE, retracted_xml(DEPENDENCE, day))


@pytest.fixture
def server() -> Iterator[EUtilsServer]:
    with EUtilsServer() as srv:  # NCBI's 3/s (10/s with a key) enforced: a 429 would show
        fill(srv)
        yield srv


def client_for(
    server: EUtilsServer,
    *,
    batch_size: int = 500,
    api_key: str | None = None,
    limiter: RateLimiter | None = None,
) -> PubMedClient:
    """As `App.pubmed_client` builds it, with retries 100 times faster; the limiter is the
    host-wide one at EVIDENCE_RATELIMIT_FILE (per test, in tmp_path) unless one is given."""
    return PubMedClient(
        limiter=limiter,
        email=EMAIL,
        api_key=api_key,
        base_url=server.base_url,
        batch_size=batch_size,
        max_tries=6,
        backoff=0.01,
    )


def cli_env(server: EUtilsServer, **extra: str) -> dict[str, str]:
    return {
        "NCBI_EMAIL": EMAIL,
        "EVIDENCE_EUTILS_URL": server.base_url,
        "EVIDENCE_EUTILS_BACKOFF": "0.01",
        **extra,
    }


def process_env(server: EUtilsServer, url: str, **extra: str) -> dict[str, str]:
    """A subprocess's environment: `isolated_env`'s (home, rate-limit file) plus the CLI's."""
    return {**os.environ, **cli_env(server, **extra), "EVIDENCE_DATABASE_URL": url}


def start_cli(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "evidence", *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def import_claims(url: str, tmp_path: Path, claims: list[dict[str, str]] = CLAIMS) -> None:
    path = tmp_path / "claims.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in claims), encoding="utf-8")
    result = Invoker(url)("claims", "import", str(path))
    assert result.exit_code == 0, result.output


@pytest.fixture
def other_db(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second empty migrated database on the same engine, for a clean reference run."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "reference.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = create_pg_database()
    try:
        db.upgrade(url)
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = db.make_engine(db_url)
    yield eng
    eng.dispose()


# --------------------------------------------------------------------------------------------
# Witnesses


def content(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The database's evidence, without run bookkeeping: comparable across databases."""
    links = query(
        url,
        "SELECT claim_id, pmid, stance, relevance, method_version FROM evidence_link "
        "ORDER BY claim_id, pmid, method_version",
    )
    return {
        "articles": query(url, "SELECT pmid, version, content_hash FROM article ORDER BY pmid"),
        "hits": query(url, "SELECT claim_id, pmid FROM claim_hit ORDER BY claim_id, pmid"),
        "links": [(c, p, s, round(float(r), 6), v) for c, p, s, r, v in links],
        "verdicts": query(
            url,
            "SELECT v.claim_id, v.verdict, v.lean, v.certainty FROM claim_verdict v WHERE v.id = "
            "(SELECT max(w.id) FROM claim_verdict w WHERE w.claim_id = v.claim_id) "
            "ORDER BY v.claim_id",
        ),
    }


def row_counts(url: str) -> dict[str, int]:
    eng = create_engine(db.normalise_url(url))
    try:
        with eng.connect() as conn:
            names = inspect(conn).get_table_names()
            return {
                n: int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one())
                for n in names
            }
    finally:
        eng.dispose()


def dump(url: str) -> str:
    """Every row of every table, as text."""
    eng = create_engine(db.normalise_url(url))
    try:
        with eng.connect() as conn:
            return "\n".join(
                repr(tuple(row))
                for name in inspect(conn).get_table_names()
                for row in conn.execute(text(f'SELECT * FROM "{name}"'))
            )
    finally:
        eng.dispose()


def runs(url: str) -> list[tuple[Any, ...]]:
    return query(url, "SELECT id, status FROM refresh_run ORDER BY id")


def claim_rows(url: str, run_id: int) -> list[tuple[Any, ...]]:
    return query(
        url,
        "SELECT claim_id, mode, status FROM refresh_claim WHERE run_id = :r ORDER BY claim_id",
        r=run_id,
    )


def efetched_ids(requests: list[RequestRecord]) -> list[int]:
    """PMIDs the client asked efetch for (by id), over the given requests."""
    return [int(p) for r in requests if r.util == "efetch" for p in r.params["id"].split(",")]


def windows(requests: list[RequestRecord]) -> list[tuple[str, str | None, str | None, str | None]]:
    """(claim or term, datetype, mindate, maxdate) of each esearch, sorted."""
    out = []
    for r in requests:
        if r.util == "esearch":
            term = r.params["term"]
            out.append(
                (
                    QUERIES.get(term, "[uid]" if "[uid]" in term else term),
                    r.params.get("datetype"),
                    r.params.get("mindate"),
                    r.params.get("maxdate"),
                )
            )
    return sorted(out, key=repr)


def ymd(day: dt.date) -> str:
    return day.strftime("%Y/%m/%d")


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def wait_for(condition: Any, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 60  # a sanity bound, not a timing assertion
    while not condition():
        assert proc.poll() is None, f"exited {proc.returncode} before {what}: {log.read_text()}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def refresh_cli(evidence: Invoker, server: EUtilsServer, *args: str, **env: str) -> Result:
    return evidence("refresh", *args, env=cli_env(server, **env))


# --------------------------------------------------------------------------------------------
# 1. Nothing new, twice in a row


def test_second_refresh_in_a_row_reports_nothing_new_and_only_searches(
    db_url: str, server: EUtilsServer, tmp_path: Path
) -> None:
    evidence = Invoker(db_url)
    import_claims(db_url, tmp_path)

    first = refresh_cli(evidence, server)
    assert first.exit_code == 0, first.output
    assert "refresh run 1: succeeded; 3 claim(s)" in first.stdout
    held = query(db_url, "SELECT count(*) FROM article")[0][0]
    assert held > 0
    count = len(server.requests)

    second = refresh_cli(evidence, server)

    assert second.exit_code == EXIT_NOTHING_NEW == 10, second.output
    assert "Nothing new." in second.stdout
    assert "refresh run 2: nothing_new; 3 claim(s), 7 esearch, 0 efetch, 0 record(s)" in (
        second.stdout
    )
    later = server.requests[count:]
    assert {r.util for r in later} == {"esearch"}  # no efetch, no epost
    today = utc_today()
    since, until = ymd(today - dt.timedelta(days=2)), ymd(today)
    # One esearch per window: each claim's edat and mdat windows, one re-check of the linked.
    assert windows(later) == sorted(
        [(c, d, since, until) for c in CLAIM_IDS for d in ("edat", "mdat")]
        + [("[uid]", "mdat", since, until)],
        key=repr,
    )
    assert all(r.status == 200 for r in server.requests)
    assert query(db_url, "SELECT count(*) FROM article")[0][0] == held
    assert runs(db_url) == [(1, "succeeded"), (2, "nothing_new")]
    assert claim_rows(db_url, 2) == [(c, "incremental", "done") for c in CLAIM_IDS]


def test_relinking_many_hits_twice_adds_no_links(
    sqlite_url: str, server: EUtilsServer, tmp_path: Path
) -> None:
    for i, pmid in enumerate(range(91000101, 91000111)):  # the withdrawal claim: 20 hits
        server.add_record(pmid, synthetic_xml(pmid, i=len(SYNTHETIC) + i))
    evidence = Invoker(sqlite_url)
    import_claims(sqlite_url, tmp_path)
    assert refresh_cli(evidence, server).exit_code == 0
    links = content(sqlite_url)["links"]

    second = refresh_cli(evidence, server)

    assert content(sqlite_url)["links"] == links
    assert second.exit_code == EXIT_NOTHING_NEW, second.output


# --------------------------------------------------------------------------------------------
# 2. Records over simulated days: full, incremental (new + retracted), nothing new


@pytest.fixture
def kratom_server() -> Iterator[EUtilsServer]:
    """The fixture records only (the kratom catalog's queries find six of them)."""
    with EUtilsServer() as srv:
        srv.add_records(RECORDS)
        yield srv


@pytest.fixture
def unlimited_kratom_server() -> Iterator[EUtilsServer]:
    """The fixture records, served at any pace (for tests that are not about the limit)."""
    with EUtilsServer(rate_limit=False) as srv:
        srv.add_records(RECORDS)
        yield srv


def test_new_records_and_a_retraction_over_three_days(
    db_url: str, unlimited_kratom_server: EUtilsServer, engine: Engine
) -> None:
    server = unlimited_kratom_server
    loaded = Invoker(db_url)("claims", "load", str(CATALOG))
    assert loaded.exit_code == 0, loaded.output
    n_claims = query(db_url, "SELECT count(*) FROM claim")[0][0]
    assert n_claims == 26
    # Every role's search of every claim is searched: more searches than claims.
    n_searches = query(db_url, "SELECT count(*) FROM claim_search")[0][0]
    assert n_searches > n_claims

    def run(day: dt.date) -> tuple[Any, list[RequestRecord]]:
        server.today = day
        server.clear_requests()
        # 26 claims' 62 searches make over a hundred esearches per run; this test is about
        # windows and the digest, not the limit (the tests below are): 5 ms apart.
        client = client_for(
            server, batch_size=2, api_key=FAST, limiter=RateLimiter(interval=0.005, burst=0)
        )
        report = refresh(engine, client, today=day)
        log = server.requests
        assert client.stats.requests == len(log)  # the client's counts match the server's
        assert all(r.status == 200 for r in log), [(r.util, r.status) for r in log]
        return report, log

    # Day 1: every claim's first refresh is a full search; every hit is fetched once.
    day1, log = run(DAY1)
    assert day1.status == "succeeded" and day1.exit_code == 0
    assert {p.mode for p in day1.plans} == {"full"} and len(day1.plans) == n_claims
    assert sorted(day1.fetched) == KRATOM_FIXTURE_HITS
    assert [r.util for r in log].count("esearch") == n_searches  # one window each
    assert len(server.requests_for("efetch")) == math.ceil(6 / 2)  # ceil(N / batch size)
    assert sorted(server.served_pmids()) == KRATOM_FIXTURE_HITS
    linked_to_dependence = [
        str(c)
        for (c,) in query(
            db_url,
            "SELECT DISTINCT claim_id FROM evidence_link WHERE pmid = :p ORDER BY claim_id",
            p=DEPENDENCE,
        )
    ]
    assert "long-term-use-dependence" in linked_to_dependence

    # Day 2: five new kratom records, and a linked study revised as retracted.
    add_day2_records(server)
    day2, log = run(DAY2)
    assert day2.status == "succeeded"
    assert {(p.mode, p.since, p.until) for p in day2.plans} == {
        ("incremental", DAY1 - dt.timedelta(days=2), DAY2)
    }
    six = sorted([*NEW, DEPENDENCE])
    assert sorted(day2.fetched) == six
    assert sorted(server.served_pmids()) == six  # exactly those, each once
    assert sorted(efetched_ids(log)) == six
    assert len(server.requests_for("efetch")) == math.ceil(6 / 2)
    assert not server.requests_for("epost")
    assert [r.util for r in log].count("esearch") == 2 * n_searches + 1  # + the [uid] re-check
    assert (day2.new, day2.updated) == (5, 1)

    digest = day2.digest
    assert digest["today"] == DAY2.isoformat() and digest["run"] == day2.run_id
    counts = digest["counts"]
    assert counts["new_records"] == 5 and counts["updated_records"] == 1
    assert counts["fetched"] == 6 and counts["retractions"] == 1 and counts["notices"] == 1
    (notice,) = digest["notices"]
    assert notice["pmid"] == DEPENDENCE and notice["status"] == "retracted"
    assert notice["title"].startswith("Kratom dependence and withdrawal")
    assert notice["claims"] == linked_to_dependence  # every claim it was linked to
    new_evidence = {e["pmid"] for entry in digest["claims"].values() for e in entry["new_evidence"]}
    assert new_evidence == set(NEW)
    changes = {c: e["verdict_change"] for c, e in digest["claims"].items() if "verdict_change" in e}
    assert counts["verdict_changes"] == len(changes) > 0
    # The retraction is a reason in the verdict history of the claims it supported ...
    dependence = changes["long-term-use-dependence"]
    assert f"PMID {DEPENDENCE} no longer counts (retracted)" in dependence["why"]
    # ... and the new trial moves the withdrawal claim's assessment (one trial alone is not
    # yet a verdict: a verdict needs two agreeing studies, so its certainty moves).
    relief = changes["opioid-withdrawal-relief"]
    moved = (relief["from"], relief["certainty_from"]) != (relief["to"], relief["certainty_to"])
    assert moved and "PMID 90000012" in relief["why"]
    markdown = render_markdown(digest)
    assert "## Retractions and notices on linked studies" in markdown
    assert f"- PMID {DEPENDENCE} retracted: Kratom dependence" in markdown
    assert "## opioid-withdrawal-relief" in markdown and "new evidence: PMID 90000012" in markdown
    ((status, stored, n_fetches, n_new, n_updated),) = query(
        db_url,
        "SELECT status, digest, n_fetches, n_new, n_updated FROM refresh_run WHERE id = :r",
        r=day2.run_id,
    )
    assert (status, n_fetches, n_new, n_updated) == ("succeeded", 3, 5, 1)
    assert json.loads(stored) == digest
    ((pub_types,),) = query(
        db_url, "SELECT count(*) FROM publication_type WHERE pmid = :p AND name = :n",
        p=DEPENDENCE, n="Retracted Publication",
    )  # fmt: skip
    assert pub_types == 1

    # Day 3: nothing new: the windows are searched, nothing is fetched.
    day3, log = run(DAY3)
    assert day3.status == "nothing_new" and day3.exit_code == EXIT_NOTHING_NEW
    assert {r.util for r in log} == {"esearch"}
    assert len(log) == 2 * n_searches + 1
    assert day3.fetched == set() and (day3.new, day3.updated) == (0, 0)
    assert day3.digest["claims"] == {} and day3.digest["notices"] == []
    assert runs(db_url) == [(1, "succeeded"), (2, "succeeded"), (3, "nothing_new")]


def test_linked_study_outside_every_query_is_rechecked_from_the_last_good_recheck(
    db_url: str, server: EUtilsServer, engine: Engine, tmp_path: Path
) -> None:
    """A linked study no claim's query finds (ingested from a file, linked by full text) is
    seen to be retracted only by the [uid] re-check; when that re-check fails, the next one
    starts from the last run whose re-check did not, not from the failed run's day."""
    evidence = Invoker(db_url)
    assert evidence("ingest", str(RECORDS)).exit_code == 0
    dependence = {**CLAIMS[1], "query": "kratom[ti] AND cohort[ti]"}  # finds nothing
    import_claims(db_url, tmp_path, [CLAIMS[0], dependence])
    server.today = DAY1
    assert refresh(engine, client_for(server, api_key=FAST), today=DAY1).status == "succeeded"
    assert query(
        db_url,
        "SELECT origin, stance FROM evidence_link WHERE claim_id = :c AND pmid = :p",
        c=dependence["id"],
        p=DEPENDENCE,
    ) == [("fulltext", "supports")]
    day2 = DAY1 + dt.timedelta(days=1)
    server.replace_record(DEPENDENCE, retracted_xml(DEPENDENCE, day2))

    # Day 5: the claims' searches go through, every attempt at the re-check answers 503.
    day5 = DAY1 + dt.timedelta(days=4)
    server.today = day5
    server.faults.queue("esearch", "stall", times=4, delay=0.0)  # 2 claims x edat, mdat
    server.faults.queue("esearch", "503", times=6)
    failed = refresh(engine, client_for(server, api_key=FAST), today=day5)
    assert failed.status == "partial" and failed.exit_code == 11
    assert list(failed.failed) == ["(linked studies)"]
    assert "failed 6 time(s); last error: HTTP 503" in failed.failed["(linked studies)"]
    assert failed.fetched == set() and failed.digest["notices"] == []
    assert server.faults.pending() == 0

    # Day 6: the re-check's window starts from day 1's (minus the overlap), so it reaches
    # the revision of day 2 that a window from day 5 would not.
    day6 = day5 + dt.timedelta(days=1)
    server.today = day6
    server.clear_requests()
    report = refresh(engine, client_for(server, api_key=FAST), today=day6)
    assert report.status == "succeeded" and not report.failed
    (recheck,) = [r for r in server.requests_for("esearch") if "[uid]" in r.params["term"]]
    assert (recheck.params["mindate"], recheck.params["maxdate"]) == (
        ymd(DAY1 - dt.timedelta(days=2)),
        ymd(day6),
    )
    assert report.fetched == {DEPENDENCE} and report.updated == 1
    (notice,) = report.digest["notices"]
    assert (notice["pmid"], notice["status"]) == (DEPENDENCE, "retracted")
    assert dependence["id"] in notice["claims"]


# --------------------------------------------------------------------------------------------
# 3. Kill -9 and resume


def test_killed_refresh_resumes_to_the_same_database_as_a_clean_one(
    db_url: str, other_db: str, server: EUtilsServer, tmp_path: Path
) -> None:
    import_claims(db_url, tmp_path)
    # Batches of 1 (a dozen efetches), each held up a second: the kill lands mid-fetch.
    server.faults.queue("efetch", "stall", times=1000, delay=1.0)
    log = tmp_path / "killed.log"
    # Its own contact email tells its requests apart (the one it was killed in is logged late).
    env = process_env(server, db_url, EVIDENCE_BATCH_SIZE="1", NCBI_EMAIL="killed@example.org")
    proc = start_cli(["refresh"], env, log)
    try:
        wait_for(
            lambda: query(db_url, "SELECT count(*) FROM article")[0][0] >= 1,
            proc,
            log,
            "the first efetch batch to be committed",
        )
    finally:
        proc.kill()  # SIGKILL: no handler, no cleanup
        proc.wait(timeout=30)
    assert proc.returncode == -9
    held = query(db_url, "SELECT count(*) FROM article")[0][0]
    total = len(set().union(*(server.search(c["query"]) for c in CLAIMS)))
    assert 1 <= held < total  # killed mid-way (the records of later batches are missing)
    assert runs(db_url) == [(1, "running")]  # nobody finished it
    server.faults.clear()

    evidence = Invoker(db_url)
    deadline = time.monotonic() + 30
    while True:  # PostgreSQL frees the dead session's advisory lock when it notices
        rerun = refresh_cli(evidence, server, EVIDENCE_BATCH_SIZE="3")
        if rerun.exit_code != 75 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert rerun.exit_code == 0, rerun.output
    # No claim had finished, so each is searched in full again and every hit fetched once,
    # in ceil(N / 3) requests.
    again = [r for r in server.requests if r.params.get("email") == EMAIL]
    assert sorted(efetched_ids(again)) == sorted(
        set().union(*(server.search(c["query"]) for c in CLAIMS))
    )
    assert [r.util for r in again].count("efetch") == math.ceil(total / 3)
    assert runs(db_url) == [(1, "interrupted"), (2, "succeeded")]
    assert "running" not in {status for *_, status in claim_rows(db_url, 1)}
    listed = evidence("runs", "--refresh")
    assert listed.exit_code == 0, listed.output
    assert re.search(r"│ 2\s+│ succeeded\s+│", listed.stdout), listed.stdout
    assert re.search(r"│ 1\s+│ interrupted\s+│", listed.stdout), listed.stdout

    # The reference: one clean refresh of the same server state in a second database.
    import_claims(other_db, tmp_path)
    clean = refresh_cli(Invoker(other_db), server)
    assert clean.exit_code == 0, clean.output
    assert content(db_url) == content(other_db)
    assert content(db_url)["links"] and content(db_url)["verdicts"]


# --------------------------------------------------------------------------------------------
# 4. One refresh at a time


def test_second_refresh_exits_75_at_once_and_waits_with_wait(
    db_url: str, server: EUtilsServer, tmp_path: Path
) -> None:
    import_claims(db_url, tmp_path)
    server.faults.queue("esearch", "stall", delay=3.0)  # holds the first refresh open
    log = tmp_path / "first.log"
    first = start_cli(["refresh"], process_env(server, db_url), log)
    try:
        wait_for(lambda: runs(db_url) == [(1, "running")], first, log, "the lock")
        evidence = Invoker(db_url)

        busy = refresh_cli(evidence, server)

        assert first.poll() is None  # it did not wait for the first to finish
        assert busy.exit_code == 75, busy.output
        assert busy.stdout == ""
        (line,) = busy.stderr.splitlines()
        assert line.startswith(
            f"Error: another evidence refresh holds the lock on this database (pid {first.pid} "
            f"on host {socket.gethostname()} since "
        ), line
        assert line.endswith("; wait with --wait or try later")
        assert runs(db_url) == [(1, "running")]  # it wrote nothing

        waited = refresh_cli(evidence, server, "--wait")

        assert first.wait(timeout=60) == 0, log.read_text()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert waited.exit_code == EXIT_NOTHING_NEW, waited.output
    assert runs(db_url) == [(1, "succeeded"), (2, "nothing_new")]
    ((first_end, second_start),) = query(
        db_url,
        "SELECT a.finished_at, b.started_at FROM refresh_run a, refresh_run b "
        "WHERE a.id = 1 AND b.id = 2",
    )
    assert second_start >= first_end  # it ran after the first, not alongside


# --------------------------------------------------------------------------------------------
# 5. A refresh and a manual search share the host's rate limit


def test_refresh_and_manual_search_together_stay_within_3_per_second(
    db_url: str, server: EUtilsServer, tmp_path: Path
) -> None:
    import_claims(db_url, tmp_path)
    env = process_env(server, db_url)  # one EVIDENCE_RATELIMIT_FILE, as on one host
    procs = [
        start_cli(["refresh"], {**env, "EVIDENCE_BATCH_SIZE": "2"}, tmp_path / "refresh.log"),
        start_cli(
            ["pubmed", "search", "kratom", "--batch-size", "2"], env, tmp_path / "search.log"
        ),
    ]
    try:
        codes = [p.wait(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert codes == [0, 0], [(tmp_path / n).read_text() for n in ("refresh.log", "search.log")]
    log = server.requests
    # The refresh asks efetch by id with all of a search's ids; the manual search uses WebEnvs.
    mine = [r.time for r in log if "id" in r.params or r.params.get("retmax") == "9999"]
    theirs = [r.time for r in log if "query_key" in r.params or r.params.get("retmax") == "0"]
    assert len(mine) + len(theirs) == len(log) and len(mine) >= 6 and len(theirs) >= 6
    assert min(mine) < max(theirs) and min(theirs) < max(mine)  # they did run at once
    assert [r.status for r in log] == [200] * len(log)  # no 429
    assert server.max_requests_in_window(1.0) <= 3
    assert log[-1].time - log[0].time >= (len(log) - 1) * 0.35 - 0.05


# --------------------------------------------------------------------------------------------
# 6. Faults end in the same database as a clean refresh


def test_faults_during_refreshes_end_in_the_same_database_as_clean_ones(
    db_url: str, other_db: str, server: EUtilsServer, tmp_path: Path
) -> None:
    import_claims(db_url, tmp_path)
    import_claims(other_db, tmp_path)
    faulty, clean = db.make_engine(db_url), db.make_engine(other_db)

    def pass_through(util: str) -> None:
        server.faults.queue(util, "stall", delay=0.0)

    def both(day: dt.date, faults: list[tuple[str, str, float | None]]) -> None:
        server.today = day
        # About 50 requests over the two days and the two databases: at 10/s (FAST).
        reference = refresh(clean, client_for(server, batch_size=2, api_key=FAST), today=day)
        assert reference.status == "succeeded" and not reference.failed
        server.faults.injected.clear()
        for util, kind, retry_after in faults:
            if kind == "pass":
                pass_through(util)
            else:
                server.faults.queue(util, kind, retry_after=retry_after)
        client = client_for(server, batch_size=2, api_key=FAST)

        report = refresh(faulty, client, today=day)

        assert report.status == "succeeded" and not report.failed, report.failed
        assert server.faults.pending() == 0
        injected = [(u, k) for u, k in server.faults.injected if k != "stall"]
        assert injected == [(u, k) for u, k, _ in faults if k != "pass"]
        failing = [k for _, k in injected if k != "expire"]
        assert client.stats.retries == len(failing)  # each fault cost one retry, no more
        assert client.stats.throttled == failing.count("429")
        log = server.requests
        for i, r in enumerate(log):
            if r.fault == "429":  # the retry waited out Retry-After (the limiter: 0.105 s)
                retry = next(n for n in log[i + 1 :] if n.util == r.util)
                assert retry.time - r.time >= 0.2 - 0.01
        assert report.fetched == reference.fetched
        assert (report.new, report.updated) == (reference.new, reference.updated)
        assert content(db_url) == content(other_db)

    try:
        both(
            DAY1,
            [
                ("esearch", "429", 0.2),  # Retry-After honoured
                ("esearch", "pass", None),
                ("esearch", "500", None),
                ("esearch", "pass", None),
                ("esearch", "cut_unframed", None),  # an IdList cut short: the ids matter
                ("efetch", "503", None),
                ("efetch", "pass", None),
                ("efetch", "cut", None),
                ("efetch", "pass", None),
                ("efetch", "cut_unframed", None),
                ("efetch", "pass", None),
                ("efetch", "expire", None),  # by-id efetch needs no WebEnv: no effect
                ("efetch", "502", None),
            ],
        )
        add_day2_records(server)
        both(
            DAY2,
            [
                ("esearch", "cut", None),
                ("esearch", "pass", None),
                ("esearch", "expire", None),
                ("esearch", "502", None),
                ("esearch", "pass", None),
                ("esearch", "pass", None),
                ("esearch", "503", None),
                ("esearch", "pass", None),
                ("esearch", "pass", None),
                ("esearch", "429", 0.2),  # the [uid] re-check of linked studies
                ("efetch", "429", 0.2),
                ("efetch", "500", None),
                ("efetch", "cut_unframed", None),
            ],
        )
    finally:
        faulty.dispose()
        clean.dispose()
    final = content(db_url)
    assert final["articles"] and final["links"] and final["verdicts"]


# --------------------------------------------------------------------------------------------
# 7. Operations: dry run, one claim, digest files, configuration, secrets


def test_dry_run_prints_each_plan_and_touches_nothing(
    db_url: str, server: EUtilsServer, tmp_path: Path
) -> None:
    evidence = Invoker(db_url)
    import_claims(db_url, tmp_path)
    before = row_counts(db_url)

    dry = evidence("refresh", "--dry-run")  # no email needed: nothing goes to PubMed

    assert dry.exit_code == 0, dry.output
    lines = dry.stdout.splitlines()
    assert lines[:3] == [f"{c}: full search (first refresh or searches changed)" for c in CLAIM_IDS]
    assert lines[3].startswith("dry run: 3 claim(s) would be searched through ")
    assert server.requests == []
    assert row_counts(db_url) == before

    assert refresh_cli(evidence, server).exit_code == 0
    before = row_counts(db_url)
    count = len(server.requests)

    dry = refresh_cli(evidence, server, "--dry-run")

    assert dry.exit_code == 0, dry.output
    today = utc_today()
    window = f"edat and mdat {ymd(today - dt.timedelta(days=2))} .. {ymd(today)}"
    assert dry.stdout.splitlines()[:3] == [f"{c}: {window}" for c in CLAIM_IDS]
    assert len(server.requests) == count
    assert row_counts(db_url) == before


def test_claim_option_refreshes_one_claim_and_unknown_is_exit_6(
    db_url: str, server: EUtilsServer, tmp_path: Path
) -> None:
    evidence = Invoker(db_url)
    import_claims(db_url, tmp_path)

    one = refresh_cli(evidence, server, "--claim", "caffeine-adenosine")

    assert one.exit_code == 0, one.output
    assert "1 claim(s), 1 esearch, 1 efetch" in one.stdout
    assert windows(server.requests) == [("caffeine-adenosine", None, None, None)]
    assert query(db_url, "SELECT pmid FROM article") == [(CAFFEINE,)]
    assert claim_rows(db_url, 1) == [("caffeine-adenosine", "full", "done")]
    assert query(db_url, "SELECT claim_filter, status FROM refresh_run") == [
        ("caffeine-adenosine", "succeeded")
    ]
    assert {c for (c,) in query(db_url, "SELECT claim_id FROM claim_verdict")} == {
        "caffeine-adenosine"
    }
    count, before = len(server.requests), row_counts(db_url)

    missing = refresh_cli(evidence, server, "--claim", "no-such-claim")

    assert missing.exit_code == 6, missing.output
    (line,) = missing.stderr.splitlines()
    assert line.startswith("Error: ") and "no-such-claim" in line
    assert len(server.requests) == count and row_counts(db_url) == before


def test_digest_formats_and_files(db_url: str, server: EUtilsServer, tmp_path: Path) -> None:
    evidence = Invoker(db_url)
    import_claims(db_url, tmp_path)
    out = tmp_path / "out"
    out.mkdir()

    md = refresh_cli(evidence, server, "--digest-format", "md", "--digest-file", str(out / "d.md"))

    assert md.exit_code == 0, md.output
    text_ = (out / "d.md").read_text(encoding="utf-8")
    assert text_.startswith("# Refresh 1 (") and "\n## long-term-use-dependence\n" in text_
    assert "- new evidence: PMID" in text_
    assert md.stdout.rstrip().endswith(f"digest written to {out / 'd.md'}")
    assert sorted(p.name for p in out.iterdir()) == ["d.md"]  # no temporary file left

    js = refresh_cli(
        evidence, server, "--digest-format", "json", "--digest-file", str(out / "d.json")
    )

    assert js.exit_code == EXIT_NOTHING_NEW, js.output
    digest = json.loads((out / "d.json").read_text(encoding="utf-8"))
    ((stored,),) = query(db_url, "SELECT digest FROM refresh_run WHERE id = 2")
    assert digest == json.loads(stored)
    assert digest["run"] == 2 and digest["claims"] == {} and digest["failed"] == {}
    assert not any(digest["counts"][k] for k in ("new_records", "new_links", "verdict_changes"))

    # JSON on stdout is only JSON (the summary line goes to stderr), for chat hooks.
    piped = refresh_cli(evidence, server, "--digest-format", "json")
    assert piped.exit_code == EXIT_NOTHING_NEW
    assert json.loads(piped.stdout)["run"] == 3
    assert piped.stderr.startswith("refresh run 3: nothing_new")

    # A digest file in a directory that does not exist: exit 2 before anything happens.
    count, before = len(server.requests), row_counts(db_url)
    missing = tmp_path / "nowhere" / "d.json"
    bad = refresh_cli(evidence, server, "--digest-format", "json", "--digest-file", str(missing))
    assert bad.exit_code == 2, bad.output
    (line,) = bad.stderr.splitlines()
    assert line == f"Error: {missing.parent}: no such directory for --digest-file"
    assert not missing.parent.exists()
    assert len(server.requests) == count and row_counts(db_url) == before


def test_no_ncbi_email_is_exit_3_before_anything_happens(
    db_url: str, server: EUtilsServer, tmp_path: Path
) -> None:
    evidence = Invoker(db_url)
    import_claims(db_url, tmp_path)
    before = row_counts(db_url)

    result = evidence("refresh", env={"EVIDENCE_EUTILS_URL": server.base_url})

    assert result.exit_code == 3, result.output
    (line,) = result.stderr.splitlines()
    assert "NCBI_EMAIL" in line
    assert server.requests == [] and row_counts(db_url) == before


def test_api_key_never_reaches_digest_runs_or_logs(
    db_url: str, server: EUtilsServer, tmp_path: Path
) -> None:
    import_claims(db_url, tmp_path, [*CLAIMS, REFUSED])  # a failure message gets stored too
    server.faults.queue("esearch", "429")  # NCBI's 429 body echoes the key
    server.faults.queue("efetch", "500")
    digest_file = tmp_path / "digest.json"
    env = process_env(server, db_url, NCBI_API_KEY=SECRET)
    args = ["-m", "evidence", "-v", "refresh", "--digest-format", "json"]
    proc = subprocess.run(
        [sys.executable, *args, "--digest-file", str(digest_file)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 11, proc.stderr  # the refused claim: partial
    assert "INFO evidence.refresh: " in proc.stderr  # -v logging was on
    assert "esearch attempt 1/6 failed (HTTP 429" in proc.stderr
    assert "refresh seizures failed: PubMed rejected the request" in proc.stderr
    # The key was sent with every request (the stand-in logs it masked) ...
    assert {r.params.get("api_key") for r in server.requests} == {"***"}
    # ... and is nowhere else.
    digest = digest_file.read_text(encoding="utf-8")
    assert "seizures" in json.loads(digest)["failed"]
    stored = dump(db_url)
    assert "PubMed rejected the request" in stored  # the dump reaches the run rows
    for where in (proc.stdout, proc.stderr, digest, stored):
        assert SECRET not in where


# --------------------------------------------------------------------------------------------
# 8. Failures: one claim refused, PubMed unreachable


def test_refused_query_fails_its_claim_only_and_is_searched_again_next_run(
    db_url: str, server: EUtilsServer, tmp_path: Path
) -> None:
    evidence = Invoker(db_url)
    import_claims(db_url, tmp_path, [*CLAIMS, REFUSED])

    first = refresh_cli(evidence, server)

    assert first.exit_code == 11, first.output
    assert "refresh run 1: partial; 4 claim(s)" in first.stdout
    assert "Failed claims (searched again next run)" in first.stdout
    assert "seizures: PubMed rejected the request: esearch " in first.stdout
    assert "Invalid query: query ends where a term was expected" in first.stdout
    assert runs(db_url) == [(1, "partial")]
    assert claim_rows(db_url, 1) == sorted(
        [(c, "full", "done") for c in CLAIM_IDS] + [("seizures", "full", "failed")]
    )
    assert query(db_url, "SELECT count(*) FROM article")[0][0] > 0  # the others' records
    refused = [r for r in server.requests if r.params.get("term") == REFUSED["query"]]
    assert len(refused) == 1  # refused: no retries
    count = len(server.requests)

    second = refresh_cli(evidence, server)

    assert second.exit_code == 11, second.output
    # The failed claim's watermark did not move: it is searched again, in full; the others
    # search their windows since the first run.
    again = server.requests[count:]
    refused = [r for r in again if r.params.get("term") == REFUSED["query"]]
    assert len(refused) == 1 and "mindate" not in refused[0].params
    assert claim_rows(db_url, 2) == sorted(
        [(c, "incremental", "done") for c in CLAIM_IDS] + [("seizures", "full", "failed")]
    )
    assert runs(db_url) == [(1, "partial"), (2, "partial")]


def test_pubmed_unreachable_is_one_line_exit_5(
    db_url: str, server: EUtilsServer, tmp_path: Path
) -> None:
    evidence = Invoker(db_url)
    import_claims(db_url, tmp_path)
    assert refresh_cli(evidence, server).exit_code == 0
    env = cli_env(server, EVIDENCE_EUTILS_MAX_TRIES="2")
    server.stop()  # PubMed is gone: connections refused

    result = evidence("refresh", env=env)

    assert result.exit_code == 5, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: refresh run 2: every search failed; first error: PubMed ")
    assert runs(db_url) == [(1, "succeeded"), (2, "failed")]
    # No claim's watermark moved: each is searched again next time, as is the re-check.
    assert [s for _, _, s in claim_rows(db_url, 2)] == ["failed"] * len(CLAIMS)
    ((errors,),) = query(db_url, "SELECT errors FROM refresh_run WHERE id = 2")
    assert sorted(e.split(":")[0] for e in json.loads(errors)) == sorted(
        [*CLAIM_IDS, "(linked studies)"]
    )


@pytest.mark.parametrize("utils", [("efetch",), ("esearch", "efetch")], ids=["efetch", "every"])
def test_error_body_on_every_response_is_retried_then_one_line_exit_5(
    db_url: str, server: EUtilsServer, utils: tuple[str, ...]
) -> None:
    # The defect: "Unable to obtain query #1" (what NCBI says of a lost history-server set) to
    # an efetch by id list escaped as a traceback (exit 1). It is a backend fault like any other.
    evidence = Invoker(db_url)
    loaded = evidence("claims", "load", str(CATALOG))
    assert loaded.exit_code == 0, loaded.output
    for util in utils:
        server.faults.queue(util, "error", times=100, message="Unable to obtain query #1")

    result = refresh_cli(evidence, server, "--claim", "safe-short-term",
                         EVIDENCE_EUTILS_MAX_TRIES="2")  # fmt: skip

    assert result.exit_code == 5, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: refresh run 1: every search failed; first error: PubMed ")
    assert "failed 2 time(s); last error: " in line and "Unable to obtain query #1" in line
    failing = utils[0]  # the first request that fails ends the run
    # Retried like any transient error: two attempts at the request that kept failing.
    assert [r.util for r in server.requests if r.util == failing] == [failing] * 2
    assert runs(db_url) == [(1, "failed")]
    assert [s for _, _, s in claim_rows(db_url, 1)] == ["failed"]
    assert query(db_url, "SELECT count(*) FROM article") == [(0,)]


# --------------------------------------------------------------------------------------------
# Searches with roles: a refresh runs every role's search


ROLES_DOC = "Kratom relieves opioid withdrawal. Caffeine acts on opioid receptors like kratom.\n"
WITHDRAWAL_SEARCHES = {
    "direct": "(kratom[tiab] OR mitragynine[tiab]) AND withdraw*[tiab]",
    "counter": "kratom[tiab] AND (dependence[tiab] OR death*[tiab])",
    "background": "kratom[tiab] AND zzzunheardof[tiab]",  # finds nothing
}
CAFFEINE_SEARCHES = {
    "direct": "caffeine[tiab] AND opioid*[tiab]",
    "counter": "caffeine[tiab] AND adenosine[tiab]",
}


def roles_catalog(tmp_path: Path, *, caffeine_mechanism: bool = False) -> Path:
    def searches(roles: dict[str, str]) -> str:
        return "".join(
            f'\n[[claim.search]]\nrole = "{role}"\nintent = "The {role} angle."\nquery = \'{q}\'\n'
            for role, q in roles.items()
        )

    caffeine = dict(CAFFEINE_SEARCHES)
    if caffeine_mechanism:
        caffeine["mechanism"] = "adenosine[tiab] AND receptor*[tiab]"
    (tmp_path / "doc.txt").write_text(ROLES_DOC, encoding="utf-8")
    path = tmp_path / "roles.toml"
    path.write_text(
        '[document]\npath = "doc.txt"\n\n'
        '[[claim]]\nid = "opioid-withdrawal-relief"\ntype = "clinical"\n'
        'statement = "Kratom relieves opioid withdrawal symptoms."\n'
        'quotes = ["Kratom relieves opioid withdrawal"]\n'
        + searches(WITHDRAWAL_SEARCHES)
        + '\n[[claim]]\nid = "caffeine-opioid"\ntype = "comparative"\n'
        'statement = "Caffeine acts on opioid receptors like kratom."\n'
        'quotes = ["Caffeine acts on opioid receptors"]\n' + searches(caffeine),
        encoding="utf-8",
    )
    return path


def test_refresh_runs_every_role_and_remembers_which_found_each_hit(
    db_url: str, server: EUtilsServer, engine: Engine, tmp_path: Path
) -> None:
    evidence = Invoker(db_url)
    loaded = evidence("claims", "load", str(roles_catalog(tmp_path)))
    assert loaded.exit_code == 0, loaded.output
    every = {**dict.fromkeys(WITHDRAWAL_SEARCHES.values(), "opioid-withdrawal-relief"),
             **dict.fromkeys(CAFFEINE_SEARCHES.values(), "caffeine-opioid")}  # fmt: skip

    # Day 1: a full search of every role's query, once each.
    server.today = DAY1
    server.clear_requests()
    day1 = refresh(engine, client_for(server, api_key=FAST), today=DAY1)
    assert day1.status == "succeeded"
    terms = [r.params["term"] for r in server.requests_for("esearch")]
    assert sorted(terms) == sorted(every)
    # Each hit remembers the roles of the searches that returned it, as the server says.
    expected: dict[tuple[str, int], str] = {}
    for claim_roles, claim_id in ((WITHDRAWAL_SEARCHES, "opioid-withdrawal-relief"),
                                  (CAFFEINE_SEARCHES, "caffeine-opioid")):  # fmt: skip
        found: dict[int, set[str]] = {}
        for role, q in claim_roles.items():
            for pmid in server.search(q):
                found.setdefault(pmid, set()).add(role)
        expected.update({(claim_id, p): ",".join(sorted(r)) for p, r in found.items()})
    stored = {
        (str(c), int(p)): str(r)
        for c, p, r in query(db_url, "SELECT claim_id, pmid, search_roles FROM claim_hit")
    }
    assert stored == expected
    assert (("opioid-withdrawal-relief", DEPENDENCE), "counter,direct") in stored.items()
    assert stored[("opioid-withdrawal-relief", FATALITIES)] == "counter"  # only it found that
    # Counter hits are candidates like any other: linked, not set aside.
    linked = {
        (str(c), int(p)) for c, p in query(db_url, "SELECT claim_id, pmid FROM evidence_link")
    }
    assert any(stored[pair] == "counter" for pair in linked & stored.keys())
    # The empty background search is reported once for its claim, naming its role.
    assert day1.empty == {"opioid-withdrawal-relief": [("background", ["zzzunheardof"])]}
    assert day1.digest["empty_searches"] == {
        "opioid-withdrawal-relief": [{"role": "background", "unknown": ["zzzunheardof"]}]
    }
    assert "- opioid-withdrawal-relief: background (PubMed did not know: zzzunheardof)" in (
        render_markdown(day1.digest)
    )

    # Day 2: every role's query is searched in both windows; new evidence says who found it.
    add_day2_records(server)
    server.today = DAY2
    server.clear_requests()
    day2 = refresh(engine, client_for(server, api_key=FAST), today=DAY2)
    assert {p.mode for p in day2.plans} == {"incremental"}
    since, until = ymd(DAY1 - dt.timedelta(days=2)), ymd(DAY2)
    assert windows(server.requests) == sorted(
        [(QUERIES.get(q, q), d, since, until) for q in every for d in ("edat", "mdat")]
        + [("[uid]", "mdat", since, until)],
        key=repr,
    )  # (`windows` names the small claim set's queries by their claims)
    trial = day2.digest["claims"]["opioid-withdrawal-relief"]["new_evidence"]
    assert {e["pmid"]: e["found_by"] for e in trial}[90000012] == "direct"
    assert "found by the direct search) Kratom for opioid withdrawal" in (
        render_markdown(day2.digest)
    )
    assert day2.empty == {}  # an incremental window with nothing new is not a fault

    # Adding a search changes that claim's searches: its next refresh is a full one again.
    reloaded = evidence("claims", "load", str(roles_catalog(tmp_path, caffeine_mechanism=True)))
    assert reloaded.exit_code == 0, reloaded.output
    server.today = DAY3
    day3 = refresh(engine, client_for(server, api_key=FAST), today=DAY3)
    assert {p.claim_id: p.mode for p in day3.plans} == {
        "caffeine-opioid": "full",
        "opioid-withdrawal-relief": "incremental",
    }
    assert [s.role for p in day3.plans if p.claim_id == "caffeine-opioid" for s in p.searches] == [
        "direct", "counter", "mechanism",
    ]  # fmt: skip
