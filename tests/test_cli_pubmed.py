"""`evidence pubmed search` end to end: CLI -> PubMedClient -> loopback E-utilities -> database.

Every test drives the real click command in-process (`Invoker`, on SQLite and PostgreSQL) with
``EVIDENCE_EUTILS_URL`` pointing at a real HTTP stand-in (`tests/eutils_server.py`), and then
checks three independent witnesses: what the command printed, what the server logged, and what
the database holds.  `tests/test_pubmed.py` covers the client at library level; here the
question is whether the product, wired together by the CLI, keeps its promises.

Timing: tests with a single transient fault per request keep the default 1 s backoff; tests
that must exhaust every retry set `EVIDENCE_EUTILS_BACKOFF` small (`fast_retries`), since a real
exhausted budget costs 15-31 s per run.
"""

from __future__ import annotations

import _thread
import json
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import create_engine, inspect, text

from evidence.store import db
from tests.conftest import TABLES, Invoker, query
from tests.eutils_server import EUtilsServer, RequestRecord, make_article_xml

EMAIL = "tester@example.org"
TERM = "kratom"
#: 40 records match TERM; 10 others must never be fetched.
KRATOM = list(range(30_001, 30_041))
COFFEE = list(range(40_001, 40_011))
#: The stand-in answers esearch most recent (highest PMID) first; efetch follows that order.
KRATOM_DESC = sorted(KRATOM, reverse=True)
KRATOM_MDAT = date(2024, 1, 1)

#: Child tables: rows that hold only record content (no timestamps or run ids).
CHILD_TABLES = (
    "abstract_section",
    "author",
    "publication_type",
    "mesh_heading",
    "mesh_qualifier",
    "keyword",
    "comment_correction",
)


# --------------------------------------------------------------------------------------------
# Corpus and servers


def kratom_xml(
    pmid: int, *, title: str | None = None, version: int = 1, mdat: date = KRATOM_MDAT
) -> bytes:
    i = pmid - KRATOM[0]
    return make_article_xml(
        pmid,
        title or f"Kratom and opioid withdrawal, cohort {i}",
        "Mitragynine relieved withdrawal symptoms in some participants.",
        year=2015 + i % 8,
        # Spread over 2015-2024 so that --mindate/--maxdate can select a known subset.
        edat=date(2015, 1, 1) + timedelta(days=89 * i),
        mdat=mdat,
        mesh=[("Mitragyna", True), "Humans"],
        keywords=["kratom"],
        pub_types=("Journal Article", "Review") if i % 5 == 0 else ("Journal Article",),
        version=version,
    )


def kratom_edat(pmid: int) -> date:
    return date(2015, 1, 1) + timedelta(days=89 * (pmid - KRATOM[0]))


def fill_small_corpus(server: EUtilsServer) -> None:
    for pmid in KRATOM:
        server.add_record(pmid, kratom_xml(pmid))
    for pmid in COFFEE:
        server.add_record(
            pmid,
            make_article_xml(
                pmid,
                "Coffee and alertness",
                "Caffeine antagonises adenosine receptors.",
                year=2019,
                edat=date(2019, 5, 5),
                mdat=date(2019, 5, 5),
            ),
        )


@pytest.fixture
def server() -> Iterator[EUtilsServer]:
    with EUtilsServer() as srv:
        fill_small_corpus(srv)
        yield srv


@pytest.fixture(scope="module")
def host_limiter_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ratelimit") / "eutils.ratelimit"


@pytest.fixture(autouse=True)
def host_wide_limiter(host_limiter_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One limiter state file for the whole module, as on a real host.

    `isolated_env` gives every test its own file, but the module-scoped big server counts
    requests per client IP across tests: without a shared limiter, the first requests of one
    test could land within a second of the last ones of the previous test and draw a 429.
    """
    monkeypatch.setenv("EVIDENCE_RATELIMIT_FILE", str(host_limiter_file))


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCE_EUTILS_BACKOFF", "0.01")


# --------------------------------------------------------------------------------------------
# Helpers


def search(
    evidence: Invoker,
    server: EUtilsServer,
    *args: str,
    env: dict[str, str] | None = None,
    email: bool = True,
    pre: tuple[str, ...] = (),
) -> Result:
    """`evidence [pre...] pubmed search args...` against `server`, with NCBI_EMAIL set unless
    `email` is false (`isolated_env` has removed every NCBI_* variable)."""
    full_env = {"EVIDENCE_EUTILS_URL": server.base_url}
    if email:
        full_env["NCBI_EMAIL"] = EMAIL
    full_env.update(env or {})
    return evidence(*pre, "pubmed", "search", *args, env=full_env)


def summary(
    term: str,
    *,
    new: int = 0,
    updated: int = 0,
    unchanged: int = 0,
    requests: int,
    run: int,
) -> str:
    return (
        f"{term}: {new} new, {updated} updated, {unchanged} unchanged, "
        f"0 older versions kept as history, 0 deleted, {requests} E-utilities "
        f"request{'s' if requests != 1 else ''} (run {run})"
    )


def article_pmids(url: str) -> list[int]:
    return [int(row[0]) for row in query(url, "SELECT pmid FROM article ORDER BY pmid")]


def content_state(url: str) -> dict[str, Any]:
    """What the records are, without bookkeeping (timestamps, run ids): comparable across
    databases and runs."""
    state: dict[str, Any] = {
        "article": query(
            url, "SELECT pmid, version, content_hash, title FROM article ORDER BY pmid"
        ),
        "revisions": query(
            url, "SELECT pmid, version, content_hash FROM article_revision ORDER BY pmid, id"
        ),
    }
    for table in CHILD_TABLES:
        state[table] = sorted(query(url, f"SELECT * FROM {table}"), key=repr)
    return state


def dump_all_tables(url: str, *, exclude: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """Every row of every table (SQLite's FTS5 tables and PostgreSQL's tsvector included),
    as sorted reprs."""
    engine = create_engine(db.normalise_url(url))
    try:
        with engine.connect() as conn:
            names = [n for n in inspect(conn).get_table_names() if n not in exclude]
            return {
                name: sorted(
                    repr(tuple(row)) for row in conn.execute(text(f'SELECT * FROM "{name}"'))
                )
                for name in names
            }
    finally:
        engine.dispose()


def json_strings(value: Any) -> Iterator[str]:
    """Every string value in a JSON document, at any depth."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)


def run_rows(url: str) -> list[tuple[Any, ...]]:
    return query(
        url,
        "SELECT id, kind, source, status, n_new, n_updated, n_unchanged, n_deleted, n_skipped, "
        "n_requests FROM ingest_run ORDER BY id",
    )


def delivered_pmids(server: EUtilsServer) -> list[int]:
    """PMIDs of efetch responses that reached the client whole, in order.

    A zero-second "stall" is how these tests leave a gap in the fault queue (faults apply to
    the *next* matching requests), so it counts as a normal answer here; `served_pmids()`
    would leave it out.
    """
    return [
        pmid
        for r in server.requests_for("efetch", status=200)
        if r.fault in (None, "stall")
        for pmid in r.pmids
    ]


def pass_through(server: EUtilsServer, util: str, times: int = 1) -> None:
    server.faults.queue(util, "stall", times=times, delay=0.0)


def fresh_database(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Another empty migrated database on the same engine as `db_url`."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "second.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    engine = create_engine(db.normalise_url(db_url))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return db_url


def efetch_windows(server: EUtilsServer) -> list[tuple[int, int]]:
    return [
        (int(r.params["retstart"]), int(r.params["retmax"])) for r in server.requests_for("efetch")
    ]


# --------------------------------------------------------------------------------------------
# 1. More than 10,000 hits


BIG_TERM = "caffeine"
BIG_N = 10_800
BIG_START = date(2016, 1, 1)
BIG_BATCH = 5000


@pytest.fixture(scope="module")
def big_server() -> Iterator[EUtilsServer]:
    """10,800 tiny "caffeine" records over eight years of entrez dates, plus 300 "tea" ones
    the query must not bring in."""
    records = [
        make_article_xml(
            pmid,
            f"Caffeine {pmid}",
            None,
            year=2016 + pmid % 8,
            edat=BIG_START + timedelta(days=(pmid * 7919) % 2922),
            mdat=date(2024, 6, 1),
        )
        for pmid in range(1, BIG_N + 1)
    ]
    records += [
        make_article_xml(pmid, f"Tea {pmid}", None, year=2020, edat="2020/02/02", mdat="2020/02/02")
        for pmid in range(50_001, 50_301)
    ]
    with EUtilsServer() as srv:
        srv.add_records(b"<PubmedArticleSet>" + b"".join(records) + b"</PubmedArticleSet>")
        yield srv


def test_more_than_10000_hits_are_all_stored_once_within_the_rate_limit(
    evidence: Invoker, db_url: str, big_server: EUtilsServer
) -> None:
    big_server.clear_requests()
    expected = set(big_server.search(BIG_TERM))
    assert len(expected) == BIG_N  # the stand-in agrees with the corpus: no cap on its side

    result = search(evidence, big_server, BIG_TERM, "--batch-size", str(BIG_BATCH))

    assert result.exit_code == 0, result.output
    log = big_server.requests
    assert result.stdout == summary(BIG_TERM, new=BIG_N, requests=len(log), run=1) + "\n"
    # Every hit exactly once, nothing else: the date windows are disjoint and gap-free.
    served = big_server.served_pmids()
    assert len(served) == len(set(served)) == BIG_N
    assert set(served) == expected
    assert set(article_pmids(db_url)) == expected
    # NCBI's 3 requests/s (no API key), measured by the server, and never a 429.
    assert [r.status for r in log] == [200] * len(log)
    assert big_server.max_requests_in_window(1.0) <= 3
    assert big_server.faults.injected == []
    # Economy per window: the windows fetched are the esearches under the cap; each costs
    # ceil(count / batch) efetches.
    counts = [
        len(
            big_server.search(
                BIG_TERM,
                datetype=r.params.get("datetype") or "pdat",
                mindate=r.params.get("mindate"),
                maxdate=r.params.get("maxdate"),
            )
        )
        for r in big_server.requests_for("esearch")
    ]
    windows = [c for c in counts if c < 10_000]
    assert len(windows) >= 2  # the query really was split
    assert sum(windows) == BIG_N
    assert len(big_server.requests_for("efetch")) == sum(math.ceil(c / BIG_BATCH) for c in windows)
    assert max(int(r.params["retmax"]) for r in big_server.requests_for("efetch")) <= BIG_BATCH
    assert run_rows(db_url) == [(1, "search", BIG_TERM, "succeeded", BIG_N, 0, 0, 0, 0, len(log))]


# --------------------------------------------------------------------------------------------
# 2. The same query twice


def test_same_query_twice_changes_nothing(
    evidence: Invoker, db_url: str, server: EUtilsServer
) -> None:
    first = search(evidence, server, TERM, "--batch-size", "20")
    assert first.exit_code == 0, first.output
    assert first.stdout == summary(TERM, new=40, requests=3, run=1) + "\n"
    before = dump_all_tables(db_url, exclude=frozenset({"ingest_run"}))
    assert len(before["article"]) == 40

    second = search(evidence, server, TERM, "--batch-size", "20")

    assert second.exit_code == 0, second.output
    assert second.stdout == summary(TERM, unchanged=40, requests=3, run=2) + "\n"
    # Byte-for-byte the same rows everywhere, bookkeeping included (an unchanged record does
    # not even get a new last_run_id or updated_at).
    assert dump_all_tables(db_url, exclude=frozenset({"ingest_run"})) == before
    assert run_rows(db_url) == [
        (1, "search", TERM, "succeeded", 40, 0, 0, 0, 0, 3),
        (2, "search", TERM, "succeeded", 0, 0, 40, 0, 0, 3),
    ]
    # The second run re-read every record: the server served them twice, no more.
    assert sorted(server.served_pmids()) == sorted(KRATOM * 2)


# --------------------------------------------------------------------------------------------
# 3. Faults end in the same database as a fault-free run


def test_faults_end_in_the_same_database_as_a_clean_run(
    evidence: Invoker,
    db_url: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    # Two identical servers: one clean, one faulty.
    with EUtilsServer() as clean, EUtilsServer() as faulty:
        fill_small_corpus(clean)
        fill_small_corpus(faulty)

        # The reference fetches in one batch: the result must not depend on batching either.
        reference = search(evidence, clean, TERM)
        assert reference.exit_code == 0, reference.output
        assert reference.stdout == summary(TERM, new=40, requests=2, run=1) + "\n"
        expected = content_state(db_url)
        assert [row[0] for row in expected["article"]] == KRATOM

        # One fault per attempt (the CLI's real 1 s backoff makes stacked faults slow), spaced
        # by pass-throughs so that each of the six batches meets a different one.
        faulty.faults.queue("esearch", "429")
        for kind in ("500", "503", "cut", "cut_unframed", "error"):
            faulty.faults.queue("efetch", kind)
            pass_through(faulty, "efetch")
        faulty.faults.queue("efetch", "expire")  # the 6th batch: WebEnv gone, search re-run
        other = Invoker(fresh_database(db_url, tmp_path, request))

        result = search(other, faulty, TERM, "--batch-size", "7")

        assert result.exit_code == 0, result.output
        log = faulty.requests
        # 2 esearch (429, ok) + 1 re-search after the expiry; 6 batches + 5 retries + 1 expired.
        assert len(faulty.requests_for("esearch")) == 3
        assert len(faulty.requests_for("efetch")) == 12
        assert len(log) == 15  # nothing else (no epost)
        assert result.stdout == summary(TERM, new=40, requests=len(log), run=1) + "\n"
        assert faulty.faults.pending() == 0
        assert faulty.faults.injected == [
            ("esearch", "429"),
            ("efetch", "500"),
            ("efetch", "stall"),
            ("efetch", "503"),
            ("efetch", "stall"),
            ("efetch", "cut"),
            ("efetch", "stall"),
            ("efetch", "cut_unframed"),
            ("efetch", "stall"),
            ("efetch", "error"),
            ("efetch", "stall"),
            ("efetch", "expire"),
        ]
        # Each retry asked for the batch it had lost, and every record arrived whole once.
        assert efetch_windows(faulty) == [
            (0, 7), (0, 7), (7, 7), (7, 7), (14, 7), (14, 7), (21, 7), (21, 7),
            (28, 7), (28, 7), (35, 5), (35, 5),
        ]  # fmt: skip
        delivered = delivered_pmids(faulty)
        assert sorted(delivered) == KRATOM and len(delivered) == len(set(delivered))
        assert content_state(other.url) == expected
        assert run_rows(other.url) == [(1, "search", TERM, "succeeded", 40, 0, 0, 0, 0, len(log))]


def test_a_long_search_finishes_while_webenvs_keep_expiring_and_5xx(
    evidence: Invoker, db_url: str, fast_retries: None
) -> None:
    # The defect: every renewal of an expiring WebEnv counted against one budget for the whole
    # window, never reset by progress, so a long search stopped at 280 of 400 every time.
    cancer = list(range(60_001, 60_421))
    with EUtilsServer(webenv_max_uses=2) as short_lived:
        for pmid in cancer:
            short_lived.add_record(
                pmid,
                make_article_xml(
                    pmid,
                    f"Cancer cohort {pmid}",
                    "Tumours grew.",
                    year=2020,
                    edat="2020/01/01",
                    mdat="2020/01/01",
                ),  # fmt: skip
            )
        short_lived.faults.random(0.1, seed=7, kinds=("500", "502", "503"), utils=("efetch",))

        result = search(evidence, short_lived, "cancer", "--max", "400", "--batch-size", "20")

        assert result.exit_code == 0, result.output
        renewals = len(short_lived.requests_for("esearch")) - 1
        assert renewals > 6  # a WebEnv lasts two batches: more renewals than the 6 tries
        assert short_lived.faults.injected  # 5xx answers too
        newest = sorted(cancer, reverse=True)[:400]
        assert article_pmids(db_url) == sorted(newest)
        delivered = delivered_pmids(short_lived)
        assert sorted(set(delivered)) == sorted(newest)
        assert result.stdout.startswith("cancer: 400 new, 0 updated, 0 unchanged")


# --------------------------------------------------------------------------------------------
# 4. Permanent failure


def test_permanent_503_fails_with_exit_5_and_keeps_committed_batches(
    evidence: Invoker, db_url: str, server: EUtilsServer, fast_retries: None
) -> None:
    # The first batch goes through; every attempt at the second answers 503.
    pass_through(server, "efetch")
    server.faults.queue("efetch", "503", times=6)

    result = search(evidence, server, TERM, "--batch-size", "10")

    assert result.exit_code == 5, result.output
    assert result.stdout == ""  # no summary line for a failed run
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    prefix = f"Error: PubMed E-utilities unavailable: efetch {server.base_url}efetch.fcgi?"
    assert line.startswith(prefix), line
    assert "retstart=10&retmax=10" in line
    assert "failed 6 time(s); last error: HTTP 503 Service Unavailable" in line
    # 1 esearch + the good batch + 6 attempts at the next one (CLI default: 6 tries).
    assert [(r.util, r.status) for r in server.requests] == [
        ("esearch", 200),
        ("efetch", 200),
    ] + [("efetch", 503)] * 6
    # The first batch was committed and is kept; nothing of the failed one.
    first_batch = KRATOM_DESC[:10]
    assert delivered_pmids(server) == first_batch
    assert article_pmids(db_url) == sorted(first_batch)
    ((run,),) = query(db_url, "SELECT message FROM ingest_run")
    assert run == line.removeprefix("Error: ")
    assert run_rows(db_url) == [(1, "search", TERM, "failed", 10, 0, 0, 0, 0, 8)]
    # `evidence runs` shows it too (counts: 10 new, 8 requests).
    runs = evidence("runs").stdout
    cells = r"│ 1\s+│ search │ failed\s+│[^│]+│[^│]+│ 10\s+│ 0\s+│ 0\s+│ 0\s+│ 0\s+│ 8\s+│ "
    assert re.search(cells + TERM, runs), runs

    # The server recovers: a rerun resumes from what is stored. Its esearch asks for the ids
    # too, and one efetch by id list brings the 30 records the failed run did not store.
    server.clear_requests()
    rerun = search(evidence, server, TERM)  # default batch: one efetch
    assert rerun.exit_code == 0, rerun.output
    assert rerun.stdout == (
        summary(TERM, new=30, requests=2, run=2).removesuffix(" (run 2)")
        + ", resumed run 1 (10 hits already stored) (run 2)\n"
    )
    assert [r.util for r in server.requests] == ["esearch", "efetch"]
    fetched = server.requests_for("efetch")[0].params["id"].split(",")
    assert sorted(map(int, fetched)) == sorted(set(KRATOM) - set(first_batch))
    assert article_pmids(db_url) == KRATOM
    # Resuming is only for an unfinished search: the next run reads every hit again.
    server.clear_requests()
    again = search(evidence, server, TERM)
    assert again.stdout == summary(TERM, unchanged=40, requests=2, run=3) + "\n"
    assert "id" not in server.requests_for("efetch")[0].params


def test_permanent_503_on_esearch_fails_before_anything_is_stored(
    evidence: Invoker, db_url: str, server: EUtilsServer, fast_retries: None
) -> None:
    server.faults.queue("esearch", "503", times=6)

    result = search(evidence, server, TERM)

    assert result.exit_code == 5, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"Error: PubMed E-utilities unavailable: esearch {server.base_url}esearch.fcgi?"
    )
    assert "failed 6 time(s); last error: HTTP 503 Service Unavailable <html>" in line
    assert article_pmids(db_url) == []
    assert run_rows(db_url) == [(1, "search", TERM, "failed", 0, 0, 0, 0, 0, 6)]


def test_query_pubmed_refuses_fails_at_once_with_exit_5(
    evidence: Invoker, db_url: str, server: EUtilsServer
) -> None:
    # An <ERROR> that retrying cannot fix: one request, no retries, no backoff.
    result = search(evidence, server, "((")

    assert result.exit_code == 5, result.output
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: PubMed rejected the request: esearch {server.base_url}esearch.fcgi?"
        "db=pubmed&term=%28%28&usehistory=y&retmax=0: Invalid query: query ends where a term "
        "was expected\n"
    )
    assert [(r.util, r.status) for r in server.requests] == [("esearch", 200)]
    assert run_rows(db_url) == [(1, "search", "((", "failed", 0, 0, 0, 0, 0, 1)]
    ((message,),) = query(db_url, "SELECT message FROM ingest_run")
    assert message == result.stderr.removeprefix("Error: ").rstrip("\n")


class InterruptingServer(EUtilsServer):
    """Simulates Ctrl-C in the main thread when the `at`-th efetch arrives.

    The flag is raised while the client is blocked reading that response (the server logs a
    request before answering it), so KeyboardInterrupt surfaces inside the fetch of that batch:
    deterministically after the earlier batches were committed and before this one is.
    """

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at
        self.efetches = 0

    def _log(self, record: RequestRecord) -> None:
        super()._log(record)
        if record.util == "efetch":
            self.efetches += 1
            if self.efetches == self.at:
                _thread.interrupt_main()


@pytest.fixture
def default_sigint() -> Iterator[None]:
    """Ctrl-C as a fresh `evidence` process gets it: Python's default SIGINT handler, whatever
    an earlier test in this worker process installed (`_thread.interrupt_main` calls the
    installed handler, and only the default one raises KeyboardInterrupt)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("default_sigint")
def test_interrupt_exits_130_and_keeps_committed_batches(evidence: Invoker, db_url: str) -> None:
    with InterruptingServer(at=2) as srv:
        fill_small_corpus(srv)

        result = search(evidence, srv, TERM, "--batch-size", "10")

        assert result.exit_code == 130, result.output
        assert result.stdout == ""
        assert result.stderr == "Interrupted; committed work is kept, rerun to continue.\n"
        assert article_pmids(db_url) == sorted(KRATOM_DESC[:10])
        assert run_rows(db_url) == [(1, "search", TERM, "interrupted", 10, 0, 0, 0, 0, 3)]


# --------------------------------------------------------------------------------------------
# 5. Configuration and usage errors


def test_missing_email_is_a_configuration_error(
    evidence: Invoker, db_url: str, server: EUtilsServer
) -> None:
    result = search(evidence, server, TERM, email=False)

    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    assert result.stderr == (
        "Error: NCBI asks every E-utilities user for a contact email; "
        "set NCBI_EMAIL or pass --email\n"
    )
    assert server.requests == []
    assert run_rows(db_url) == []


def test_malformed_email_is_a_configuration_error(
    evidence: Invoker, db_url: str, server: EUtilsServer
) -> None:
    result = search(evidence, server, TERM, env={"NCBI_EMAIL": "nobody"})

    assert result.exit_code == 3, result.output
    assert result.stderr == (
        "Error: NCBI requires a contact email with every E-utilities request; "
        "set NCBI_EMAIL to your address (got 'nobody')\n"
    )
    assert server.requests == []
    assert run_rows(db_url) == []


def test_email_flag_stands_in_for_the_variable(
    evidence: Invoker, db_url: str, server: EUtilsServer
) -> None:
    result = search(evidence, server, TERM, email=False, pre=("--email", "flag@example.org"))

    assert result.exit_code == 0, result.output
    assert {r.params["email"] for r in server.requests} == {"flag@example.org"}
    assert len(article_pmids(db_url)) == 40


TOGETHER = "--mindate and --maxdate go together (E-utilities needs both)"
RANGE = "Invalid value for '--batch-size': {} is not in the range 1<=x<=10000."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--mindate", "2020"), TOGETHER),
        (("--maxdate", "2020"), TOGETHER),
        (("--batch-size", "0"), RANGE.format(0)),
        (("--batch-size", "10001"), RANGE.format(10001)),
        (("--max", "0"), "Invalid value for '--max': 0 is not in the range x>=1."),
        (
            ("--datetype", "xdat"),
            "Invalid value for '--datetype': 'xdat' is not one of 'edat', 'mdat', 'pdat'.",
        ),
    ],
)
def test_usage_errors_exit_2_without_a_request(
    evidence: Invoker, db_url: str, server: EUtilsServer, args: tuple[str, ...], message: str
) -> None:
    result = search(evidence, server, TERM, *args)

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == f"Error: {message}"
    assert server.requests == []
    assert run_rows(db_url) == []


def test_bad_batch_size_setting_is_a_configuration_error(
    evidence: Invoker, db_url: str, server: EUtilsServer
) -> None:
    result = search(evidence, server, TERM, env={"EVIDENCE_BATCH_SIZE": "0"})

    assert result.exit_code == 3, result.output
    assert result.stderr == (
        "Error: invalid setting batch_size: Input should be greater than or equal to 1\n"
    )
    assert server.requests == []


def test_non_http_eutils_url_is_a_configuration_error(
    evidence: Invoker, db_url: str, server: EUtilsServer
) -> None:
    result = search(evidence, server, TERM, env={"EVIDENCE_EUTILS_URL": "ftp://example.org/"})

    assert result.exit_code == 3, result.output
    assert result.stderr == (
        "Error: E-utilities base URL 'ftp://example.org/' is not an http(s) URL like "
        "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/; fix EVIDENCE_EUTILS_URL or the "
        "base_url setting\n"
    )
    assert server.requests == []
    assert run_rows(db_url) == []


def test_unreachable_database_costs_no_eutils_request(server: EUtilsServer) -> None:
    nowhere = Invoker("postgresql://postgres@127.0.0.1:1/nowhere")

    result = search(nowhere, server, TERM)

    assert result.exit_code == 4, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ")
    assert server.requests == []


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        ((TERM, "--mindate", "yesterday", "--maxdate", "2021"), "'yesterday'"),
        ((TERM, "--mindate", "2020/13", "--maxdate", "2021"), "'2020/13'"),
        ((TERM, "--mindate", "2020", "--maxdate", "2019"), "2020"),
        (("  ",), "empty"),
    ],
    ids=["not-a-date", "month-13", "min-after-max", "empty-term"],
)
def test_unusable_dates_or_term_are_bad_input_exit_2(
    evidence: Invoker, db_url: str, server: EUtilsServer, args: tuple[str, ...], shown: str
) -> None:
    result = search(evidence, server, *args)

    # Checked locally, before any request: an unusable argument (2), not "PubMed refused" (5).
    assert result.exit_code == 2, result.output
    assert server.requests == []
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ") and shown in line


# --------------------------------------------------------------------------------------------
# 6. The API key stays secret


SECRET = "sekrit-key-123"


def test_api_key_is_sent_but_never_shown_logged_or_stored(
    evidence: Invoker,
    db_url: str,
    server: EUtilsServer,
    caplog: pytest.LogCaptureFixture,
    fast_retries: None,
) -> None:
    # Debug logging everywhere (-vv asks for it; pytest's handlers on the root logger make
    # the CLI's basicConfig a no-op, so the level is set here too).
    caplog.set_level(logging.DEBUG)
    env = {"NCBI_API_KEY": SECRET}
    # A 429 whose JSON body echoes the key back (as NCBI's does), then a 500 and a transient
    # <ERROR>: every retry path logs the failure.
    server.faults.queue("esearch", "429")
    server.faults.queue("efetch", "500")
    server.faults.queue("efetch", "error")

    ok = search(evidence, server, TERM, "--batch-size", "10", env=env, pre=("-vv",))

    assert ok.exit_code == 0, ok.output
    assert ok.stdout == summary(TERM, new=40, requests=len(server.requests), run=1) + "\n"
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("efetch status=200") for m in messages)  # debug lines were made
    assert any("esearch attempt 1/6 failed (HTTP 429" in m for m in messages)
    assert any('"api-key":"***"' in m for m in messages)  # the echoed key, redacted

    # A run that fails on persistent 429s: the error line and the run's stored message both
    # carry the server's body, which echoes the key.
    server.faults.queue("efetch", "429", times=6)
    failed = search(evidence, server, TERM, "--batch-size", "10", env=env, pre=("-vv",))
    assert failed.exit_code == 5, failed.output
    (line,) = failed.stderr.splitlines()
    assert line.startswith("Error: PubMed E-utilities unavailable: efetch ")
    assert line.endswith('last error: HTTP 429 Too Many Requests {"error":"API rate limit '
                         'exceeded","api-key":"***","count":"4","limit":"3"}')  # fmt: skip

    # The key went to the server with every request (its log shows it redacted) ...
    assert server.requests
    assert {r.params.get("api_key") for r in server.requests} == {"***"}
    # ... and the 10/s limit applied, so the client knew it had a key.
    assert server.max_requests_in_window(1.0) > 3
    assert server.max_requests_in_window(1.0) <= 10

    # ... but is nowhere else.
    for text_ in (ok.output, ok.stderr, failed.output, failed.stderr, caplog.text, *messages):
        assert SECRET not in text_
    for record in caplog.records:
        assert SECRET not in repr(record.args) and SECRET not in repr(record.__dict__)
    dump = json.dumps(dump_all_tables(db_url))
    assert TERM in dump and "Mitragynine" in dump  # the dump does reach stored text
    assert SECRET not in dump
    if db_url.startswith("sqlite:///"):
        # Bytes on disk too (free pages, WAL): the key was never written at all.
        path = Path(db_url.removeprefix("sqlite:///"))
        for part in (path, path.with_name(path.name + "-wal")):
            if part.exists():
                assert SECRET.encode() not in part.read_bytes()


def test_api_key_stays_out_of_real_stderr_in_a_subprocess(
    sqlite_url: str, server: EUtilsServer
) -> None:
    """Outside pytest's log capture the CLI's own logging setup writes to stderr: check it.

    (One engine: what is printed does not depend on it, and the database is checked above.)
    """
    server.faults.queue("esearch", "429")  # its body echoes the key
    env = dict(os.environ)
    env.update(
        EVIDENCE_EUTILS_URL=server.base_url,
        NCBI_EMAIL=EMAIL,
        NCBI_API_KEY=SECRET,
        EVIDENCE_DATABASE_URL=sqlite_url,
    )
    proc = subprocess.run(
        [sys.executable, "-m", "evidence", "-vv", "pubmed", "search", TERM],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == summary(TERM, new=40, requests=3, run=1) + "\n"
    assert "DEBUG evidence.pubmed: efetch status=200" in proc.stderr  # -vv did turn debug on
    assert "WARNING evidence.pubmed: esearch attempt 1/6 failed (HTTP 429" in proc.stderr
    assert SECRET not in proc.stdout and SECRET not in proc.stderr
    assert {r.params.get("api_key") for r in server.requests} == {"***"}


def test_malformed_api_key_is_refused_without_echoing_it(
    evidence: Invoker, db_url: str, server: EUtilsServer
) -> None:
    bad = "sekrit key&123"  # a space and a URL delimiter: it would corrupt the request

    result = search(evidence, server, TERM, env={"NCBI_API_KEY": bad})

    assert result.exit_code == 3, result.output
    assert result.stderr == (
        "Error: NCBI_API_KEY contains spaces or URL delimiters; check its value\n"
    )
    assert "sekrit" not in result.output
    assert server.requests == []
    assert run_rows(db_url) == []


# --------------------------------------------------------------------------------------------
# 7. --max


@pytest.mark.parametrize(
    ("max_records", "batch", "stored", "retmaxes"),
    [
        (12, 5, 12, [5, 5, 2]),
        (10, 5, 10, [5, 5]),
        (1, 5, 1, [1]),
        (100, 15, 40, [15, 15, 10]),  # more than there are: every hit, no empty request
    ],
)
def test_max_caps_records_and_efetch_requests(
    evidence: Invoker,
    db_url: str,
    server: EUtilsServer,
    max_records: int,
    batch: int,
    stored: int,
    retmaxes: list[int],
) -> None:
    result = search(evidence, server, TERM, "--max", str(max_records), "--batch-size", str(batch))

    assert result.exit_code == 0, result.output
    n_efetch = math.ceil(stored / batch)
    assert result.stdout == summary(TERM, new=stored, requests=1 + n_efetch, run=1) + "\n"
    assert [w[1] for w in efetch_windows(server)] == retmaxes
    assert len(retmaxes) == n_efetch
    # The first N hits in PubMed's order, and exactly those.
    assert server.served_pmids() == KRATOM_DESC[:stored]
    assert article_pmids(db_url) == sorted(KRATOM_DESC[:stored])


# --------------------------------------------------------------------------------------------
# 8. E-utilities economy


@pytest.mark.parametrize(
    ("args", "env", "batch"),
    [
        (("--batch-size", "16"), {}, 16),
        (("--batch-size", "40"), {}, 40),
        ((), {}, 500),  # the default: Settings.batch_size
        ((), {"EVIDENCE_BATCH_SIZE": "13"}, 13),
        (("--batch-size", "20"), {"EVIDENCE_BATCH_SIZE": "13"}, 20),  # the flag wins
    ],
)
def test_new_records_cost_one_esearch_and_ceil_n_over_batch_efetches(
    evidence: Invoker,
    db_url: str,
    server: EUtilsServer,
    args: tuple[str, ...],
    env: dict[str, str],
    batch: int,
) -> None:
    result = search(evidence, server, TERM, *args, env=env)

    assert result.exit_code == 0, result.output
    n = len(KRATOM)
    n_efetch = math.ceil(n / batch)
    assert [r.util for r in server.requests] == ["esearch"] + ["efetch"] * n_efetch
    assert efetch_windows(server) == [
        (start, min(batch, n - start)) for start in range(0, n, batch)
    ]
    # Every efetch reads the esearch's history-server set, not an id list.
    assert all("id" not in r.params and r.params["query_key"] == "1"
               for r in server.requests_for("efetch"))  # fmt: skip
    assert len({r.params["WebEnv"] for r in server.requests_for("efetch")}) == 1
    assert result.stdout == summary(TERM, new=n, requests=1 + n_efetch, run=1) + "\n"
    assert run_rows(db_url) == [(1, "search", TERM, "succeeded", n, 0, 0, 0, 0, 1 + n_efetch)]


def test_no_hits_cost_one_esearch_and_no_efetch(
    evidence: Invoker, db_url: str, server: EUtilsServer
) -> None:
    result = search(evidence, server, "nothingmatches")

    assert result.exit_code == 0, result.output
    assert result.stdout == summary("nothingmatches", requests=1, run=1) + "\n"
    assert [r.util for r in server.requests] == ["esearch"]
    assert article_pmids(db_url) == []
    assert run_rows(db_url) == [(1, "search", "nothingmatches", "succeeded", 0, 0, 0, 0, 0, 1)]


def test_date_limited_search_costs_one_esearch_for_its_window(
    evidence: Invoker, db_url: str, server: EUtilsServer
) -> None:
    # Entrez dates in 2017-2018 only: a known subset, chosen on the server's side.
    wanted = sorted(p for p in KRATOM if date(2017, 1, 1) <= kratom_edat(p) <= date(2018, 12, 31))
    assert 0 < len(wanted) < len(KRATOM)

    result = search(
        evidence, server, TERM, "--mindate", "2017", "--maxdate", "2018", "--batch-size", "3"
    )

    assert result.exit_code == 0, result.output
    (esearch,) = server.requests_for("esearch")
    assert (esearch.params["datetype"], esearch.params["mindate"], esearch.params["maxdate"]) == (
        "edat",
        "2017/01/01",
        "2018/12/31",
    )
    assert len(server.requests_for("efetch")) == math.ceil(len(wanted) / 3)
    assert article_pmids(db_url) == wanted
    n_requests = 1 + math.ceil(len(wanted) / 3)
    assert result.stdout == summary(TERM, new=len(wanted), requests=n_requests, run=1) + "\n"


# --------------------------------------------------------------------------------------------
# 9. A record revised on the server


@pytest.mark.parametrize(
    ("version", "mdat"),
    [(1, date(2025, 3, 4)), (2, KRATOM_MDAT)],
    ids=["later-DateRevised", "Version-2"],
)
def test_revised_record_updates_the_article_and_keeps_the_old_state(
    evidence: Invoker, db_url: str, server: EUtilsServer, version: int, mdat: date
) -> None:
    pmid = KRATOM[7]
    first = search(evidence, server, TERM)
    assert first.exit_code == 0, first.output
    ((old_title, old_hash),) = query(
        db_url, "SELECT title, content_hash FROM article WHERE pmid = :p", p=pmid
    )
    new_title = "Kratom and opioid withdrawal, cohort 7: corrected analysis"
    server.replace_record(pmid, kratom_xml(pmid, title=new_title, version=version, mdat=mdat))

    second = search(evidence, server, TERM)

    assert second.exit_code == 0, second.output
    assert second.stdout == summary(TERM, updated=1, unchanged=39, requests=2, run=2) + "\n"
    shown = evidence("articles", "show", str(pmid))
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == f"PMID {pmid} (version {version})"
    assert lines[1] == new_title
    entered = kratom_edat(pmid).isoformat()
    assert f"Status: MEDLINE; revised {mdat.isoformat()}; entered PubMed {entered}" in lines
    assert lines[-1] == f"Earlier states: v1 revised {KRATOM_MDAT.isoformat()}"
    # The replaced state is kept whole, under the hash it was stored with.
    ((rev_version, rev_date, rev_hash, snapshot, rev_run),) = query(
        db_url,
        "SELECT version, date_revised, content_hash, snapshot, run_id FROM article_revision",
    )
    assert (rev_version, str(rev_date), rev_hash, rev_run) == (1, "2024-01-01", old_hash, 2)
    # Whole: title, MeSH, keyword and author of the old state are all in it (checked by value,
    # so the test does not pin the snapshot's JSON layout).
    kept = set(json_strings(json.loads(snapshot)))
    assert {old_title, "Mitragyna", "kratom", "Tester"} <= kept
    assert new_title not in kept
    ((title, new_hash, first_run, last_run),) = query(
        db_url,
        "SELECT title, content_hash, first_run_id, last_run_id FROM article WHERE pmid = :p",
        p=pmid,
    )
    assert (title, first_run, last_run) == (new_title, 1, 2)
    assert new_hash != old_hash
    assert run_rows(db_url)[1] == (2, "search", TERM, "succeeded", 0, 1, 39, 0, 0, 2)
