"""The E-utilities client against the loopback stand-in, over real HTTP.

Most tests use an API key (the server then allows 10 requests/s) and tiny backoffs to stay fast;
the >10,000-hit test and the two-process test use no key, so NCBI's 3 requests/s applies.
"""

from __future__ import annotations

import logging
import math
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from Bio import Entrez

from evidence.config import Settings
from evidence.errors import ConfigError, InputError, PubMedQueryError, PubMedUnavailable
from evidence.pubmed import client as pubmed
from evidence.pubmed import eutils
from evidence.pubmed.client import PubMedClient, SearchWindow, redact, unknown_phrases
from evidence.pubmed.ratelimit import RateLimiter

try:  # tests/ as a package (python -m pytest from the project root) ...
    from tests.eutils_server import EUtilsServer, make_article_xml, pmids_in
except ModuleNotFoundError:  # ... or pytest's rootdir-less import of tests/ modules
    from eutils_server import EUtilsServer, make_article_xml, pmids_in  # type: ignore[no-redef,import-not-found]

API_KEY = "SeCrEtKeY0123456789abcdef"
KRATOM = list(range(1001, 1031))  # 30 records matching "kratom"
COFFEE = list(range(2001, 2011))  # 10 that do not


def small_corpus(server: EUtilsServer) -> None:
    for i, pmid in enumerate(KRATOM):
        server.add_record(
            pmid,
            make_article_xml(
                pmid,
                f"Kratom and opioid withdrawal, cohort {i}",
                "Mitragynine relieved withdrawal symptoms in some participants.",
                year=2015 + i % 8,
                edat=date(2015, 1, 1) + timedelta(days=97 * i),
                mdat=date(2024, 1, 1),
                mesh=[("Mitragyna", True), "Humans"],
                pub_types=("Journal Article", "Review") if i % 5 == 0 else ("Journal Article",),
            ),
        )
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
                mesh=["Caffeine"],
            ),
        )


@pytest.fixture
def server() -> Iterator[EUtilsServer]:
    with EUtilsServer() as srv:
        small_corpus(srv)
        yield srv


ClientFactory = Callable[..., PubMedClient]


@pytest.fixture
def make_client(tmp_path: Path) -> ClientFactory:
    def factory(srv: EUtilsServer | None = None, **kwargs: Any) -> PubMedClient:
        options: dict[str, Any] = {
            "email": "tester@example.org",
            "api_key": API_KEY,
            "backoff": 0.01,
            "max_backoff": 0.05,
            "max_tries": 4,
            "batch_size": 10,
            "timeout": 10.0,
        }
        if srv is not None:
            options["base_url"] = srv.base_url
        options.update(kwargs)
        if "limiter" not in options:
            options["limiter"] = RateLimiter.for_ncbi(
                api_key=bool(options.get("api_key")), path=tmp_path / "eutils.ratelimit"
            )
        return PubMedClient(**options)

    return factory


def fetched(bodies: Iterator[bytes] | list[bytes]) -> list[int]:
    return [pmid for body in bodies for pmid in pmids_in(body)]


# --------------------------------------------------------------------------------------------
# Search and fetch


def test_search_and_fetch_return_every_pmid_once(
    server: EUtilsServer, make_client: ClientFactory
) -> None:
    client = make_client(server)
    windows = client.search("kratom")
    assert len(windows) == 1
    assert windows[0].count == 30 and windows[0].webenv.startswith("MCID_")
    bodies = list(client.fetch(windows))
    got = fetched(bodies)
    assert sorted(got) == KRATOM
    assert len(got) == len(set(got))
    for body in bodies:
        assert body.startswith(b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC')
        assert body.rstrip().endswith(b"</PubmedArticleSet>")
    assert server.served_pmids() == got
    assert client.stats.records == 30
    assert client.stats.retries == 0 and client.stats.throttled == 0


@pytest.mark.parametrize(
    ("n", "batch"), [(1, 10), (10, 10), (11, 10), (30, 7), (30, 30), (30, 500)]
)
def test_batch_math(server: EUtilsServer, make_client: ClientFactory, n: int, batch: int) -> None:
    client = make_client(server, batch_size=batch)
    term = " OR ".join(f"{p}[pmid]" for p in KRATOM[:n])
    windows = client.search(term)
    got = fetched(client.fetch(windows))
    assert sorted(got) == KRATOM[:n]
    assert len(server.requests_for("esearch")) == client.stats.esearch == 1
    assert len(server.requests_for("efetch")) == client.stats.efetch == math.ceil(n / batch)
    assert [int(r.params["retmax"]) for r in server.requests_for("efetch")][-1] == (
        n - batch * (math.ceil(n / batch) - 1)
    )


def test_max_records_caps_positions(server: EUtilsServer, make_client: ClientFactory) -> None:
    client = make_client(server, batch_size=10)
    windows = client.search("kratom")
    got = fetched(client.fetch(windows, max_records=15))
    assert len(got) == 15
    assert client.stats.efetch == 2
    assert list(client.fetch(windows, max_records=0)) == []


def test_date_limits_and_partial_dates(server: EUtilsServer, make_client: ClientFactory) -> None:
    client = make_client(server)
    windows = client.search("kratom", mindate="2016", maxdate="2017/02", datetype="edat")
    assert [(w.mindate, w.maxdate, w.datetype) for w in windows] == [
        ("2016/01/01", "2017/02/28", "edat")
    ]
    expected = server.search("kratom", datetype="edat", mindate="2016", maxdate="2017/02")
    assert sorted(fetched(client.fetch(windows))) == sorted(expected)
    params = server.requests_for("esearch")[0].params
    assert (params["mindate"], params["maxdate"], params["datetype"]) == (
        "2016/01/01",
        "2017/02/28",
        "edat",
    )
    with pytest.raises(InputError, match="not YYYY"):
        client.search("kratom", mindate="16/01/2020", maxdate="2020")
    with pytest.raises(InputError, match="after"):
        client.search("kratom", mindate="2021", maxdate="2020")
    with pytest.raises(InputError, match="datetype"):
        client.search("kratom", datetype="xdat")
    with pytest.raises(InputError, match="empty"):
        client.search("   ")


def test_phrase_not_found_travels_with_the_window_not_as_a_warning(
    server: EUtilsServer, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # Not an error, and no warning either: the caller says once per claim what found nothing
    # (`claim X: 0 hits; phrases PubMed did not know: ...`); the detail is at -v (INFO).
    client = make_client(server)
    with caplog.at_level(logging.INFO, logger="evidence.pubmed"):
        windows = client.search("zzzunknownword")
    assert [w.count for w in windows] == [0]
    assert list(client.fetch(windows)) == []
    assert client.stats.efetch == 0
    assert windows[0].notes == ("PhraseNotFound: zzzunknownword",)
    assert unknown_phrases(windows) == ["zzzunknownword"]
    assert "PhraseNotFound: zzzunknownword" in caplog.text
    assert all(r.levelno < logging.WARNING for r in caplog.records)


# --------------------------------------------------------------------------------------------
# More than 10,000 hits


BIG_START = date(2015, 1, 1)
BIG_N = 12_500
SAME_DAY_N = 10_000


@pytest.fixture(scope="module")
def big_server() -> Iterator[EUtilsServer]:
    """12,500 "caffeine" records over ten years of entrez dates, plus 10,000 "guarana" records
    entered on a single day (for the cannot-split case)."""
    records = [
        make_article_xml(
            pmid,
            f"Caffeine trial {pmid}",
            None,
            year=2015 + pmid % 10,
            edat=BIG_START + timedelta(days=(pmid * 7919) % 3650),
            mdat=date(2024, 6, 1),
        )
        for pmid in range(1, BIG_N + 1)
    ]
    records += [
        make_article_xml(
            pmid, f"Guarana note {pmid}", None, year=2020, edat=date(2020, 3, 3), mdat="2020/03/03"
        )
        for pmid in range(100_001, 100_001 + SAME_DAY_N)
    ]
    with EUtilsServer() as srv:
        srv.add_records(b"<PubmedArticleSet>" + b"".join(records) + b"</PubmedArticleSet>")
        yield srv


def test_more_than_10000_hits_fetched_in_date_windows_at_3_per_second(
    big_server: EUtilsServer, make_client: ClientFactory
) -> None:
    big_server.clear_requests()
    client = make_client(big_server, api_key=None, batch_size=5000)
    windows = client.search("caffeine", datetype="edat")
    assert len(windows) > 1
    assert all(w.count < 10_000 for w in windows)
    assert sum(w.count for w in windows) == BIG_N
    # Disjoint and gap-free: each window starts the day after the previous one ends.
    for before, after in zip(windows, windows[1:], strict=False):
        assert before.maxdate is not None and after.mindate is not None
        end = date(*map(int, before.maxdate.split("/")))
        assert date(*map(int, after.mindate.split("/"))) == end + timedelta(days=1)
    assert windows[0].mindate == "1700/01/01"

    got = fetched(client.fetch(windows))
    assert len(got) == BIG_N
    assert set(got) == set(range(1, BIG_N + 1))

    log = big_server.requests
    assert all(r.status == 200 for r in log)  # in particular: no 429
    assert big_server.max_requests_in_window(1.0) <= 3
    nonempty = [w for w in windows if w.count]
    assert client.stats.efetch == sum(math.ceil(w.count / 5000) for w in nonempty)
    assert client.stats.retries == 0


def test_a_single_day_over_the_cap_cannot_be_split(
    big_server: EUtilsServer, make_client: ClientFactory
) -> None:
    client = make_client(big_server)
    with pytest.raises(PubMedQueryError, match="2020/03/03 alone") as info:
        client.search("guarana", mindate="2020/03/01", maxdate="2020/03/06")
    assert "\n" not in str(info.value)


def test_stand_in_enforces_the_esearch_cap(big_server: EUtilsServer) -> None:
    def esearch(**params: str) -> bytes:
        query = urllib.parse.urlencode({"db": "pubmed", "term": "caffeine", **params})
        url = f"{big_server.base_url}esearch.fcgi?{query}"
        time.sleep(0.4)  # stay under the stand-in's own 3/s limit
        with urllib.request.urlopen(url) as response:
            return bytes(response.read())

    assert b"'retstart' cannot be larger than 9998" in esearch(retstart="9999")
    body = esearch(retstart="9990", retmax="100")
    assert b"<RetMax>9</RetMax>" in body and b"Restrictions achieved" in body
    assert b"<Count>12500</Count>" in body
    body = esearch(retmax="10000", usehistory="y")  # the ids come with the history entry
    assert body.count(b"<Id>") == 9999 and b"<WebEnv>MCID_" in body


# --------------------------------------------------------------------------------------------
# Faults


def clean_run(server: EUtilsServer, make_client: ClientFactory) -> list[int]:
    client = make_client(server)
    return sorted(fetched(client.fetch(client.search("kratom"))))


@pytest.mark.parametrize(
    "kind", ["429", "500", "502", "503", "cut", "cut_unframed", "error", "reset", "expire"]
)
def test_efetch_fault_mid_stream_recovers(
    server: EUtilsServer, make_client: ClientFactory, kind: str
) -> None:
    expected = clean_run(server, make_client)
    server.clear_requests()
    client = make_client(server)
    stream = client.fetch(client.search("kratom"))
    first = next(stream)
    server.faults.queue("efetch", kind)  # hits the second batch (retstart=10)
    got = sorted(fetched([first, *stream]))
    assert got == expected
    assert client.stats.retries == 1
    assert server.faults.injected == [("efetch", kind)]
    assert len(server.served_pmids()) == len(expected)  # nothing served twice
    efetches = server.requests_for("efetch")
    if kind == "expire":
        # Re-searched, then resumed at the same retstart.
        assert client.stats.webenv_renewals == 1 and client.stats.esearch == 2
        assert efetches[1].status == 200 and efetches[1].pmids == ()
        assert efetches[2].params["retstart"] == "10"
        assert efetches[2].params["WebEnv"] != efetches[0].params["WebEnv"]
    else:
        assert client.stats.webenv_renewals == 0
        assert [r.params["retstart"] for r in efetches] == ["0", "10", "10", "20"]
    if kind == "429":
        assert client.stats.throttled == 1


@pytest.mark.parametrize("kind", ["429", "500", "cut", "cut_unframed", "error", "reset"])
def test_esearch_and_epost_faults_recover(
    server: EUtilsServer, make_client: ClientFactory, kind: str
) -> None:
    client = make_client(server)
    server.faults.queue("esearch", kind)
    windows = client.search("kratom")
    assert windows[0].count == 30
    server.faults.queue("epost", kind)
    got = fetched(client.fetch_pmids([1001, 1002, 999_999]))
    assert sorted(got) == [1001, 1002]
    assert client.stats.retries == 2
    assert client.stats.esearch == 2 and client.stats.epost == 2


def test_other_transient_error_texts_are_retried(
    server: EUtilsServer, make_client: ClientFactory
) -> None:
    client = make_client(server)
    windows = client.search("kratom")
    server.faults.queue(
        "efetch",
        "error",
        message=" Error: External viewer error: Empty Response. Bytes read: 0 Status: Timeout",
    )
    assert len(fetched(client.fetch(windows))) == 30
    assert client.stats.retries == 1


def test_retry_after_is_honoured(server: EUtilsServer, make_client: ClientFactory) -> None:
    client = make_client(server)
    windows = client.search("kratom")
    server.faults.queue("efetch", "429", retry_after=0.6)
    list(client.fetch(windows))
    first, second = server.requests_for("efetch")[:2]
    assert first.status == 429
    assert second.time - first.time >= 0.55


def test_read_timeout_is_retried(server: EUtilsServer, make_client: ClientFactory) -> None:
    client = make_client(server, timeout=0.3)
    windows = client.search("kratom")
    server.faults.queue("efetch", "stall", delay=1.0)
    assert len(fetched(client.fetch(windows))) == 30
    assert client.stats.retries == 1


def test_random_faults_same_records_as_clean_run(
    server: EUtilsServer, make_client: ClientFactory
) -> None:
    expected = clean_run(server, make_client)
    server.faults.random(0.3, seed=11)
    client = make_client(server, max_tries=10, batch_size=3)
    got = fetched(client.fetch(client.search("kratom")))
    assert sorted(got) == expected
    assert len(got) == len(set(got))
    assert server.faults.injected  # something did go wrong on the way
    assert client.stats.retries == len(server.faults.injected)


def test_non_transient_errors_raise_query_error(
    server: EUtilsServer, make_client: ClientFactory
) -> None:
    client = make_client(server)
    with pytest.raises(PubMedQueryError, match="unbalanced parentheses") as info:
        client.search("(kratom AND withdrawal")
    assert "\n" not in str(info.value)
    assert client.stats.esearch == 1 and client.stats.retries == 0  # not retried

    server.faults.queue("efetch", "400", message="Invalid parameter: retmode")
    with pytest.raises(PubMedQueryError, match=r"HTTP 400.*Invalid parameter"):
        list(client.fetch(client.search("kratom")))
    server.faults.queue("esearch", "414")
    with pytest.raises(PubMedQueryError, match="HTTP 414"):
        client.search("kratom")


def test_retstart_cap_error_is_not_mistaken_for_a_backend_outage() -> None:
    classify = eutils.classify
    assert classify("Search Backend failed: Database is not supported: pubmed") == "transient"
    assert (
        classify("Search Backend failed: Exception:\nPosition 15000 is out of acceptable range")
        == "permanent"
    )
    assert classify("'retstart' cannot be larger than 9998. For PubMed, ...") == "permanent"
    assert classify("Invalid db name specified: fleegle") == "permanent"
    assert classify("Unable to obtain query #1") == "expired"
    assert classify("Failed to connect to PubOne service in proxy_stream()") == "transient"


def test_exhausted_retries_raise_unavailable_with_one_line(
    server: EUtilsServer, make_client: ClientFactory
) -> None:
    client = make_client(server, max_tries=3)
    server.faults.queue("esearch", "503", times=3)
    with pytest.raises(PubMedUnavailable) as info:
        client.search("kratom")
    message = str(info.value)
    assert "\n" not in message
    assert f"{server.base_url}esearch.fcgi?" in message
    assert "HTTP 503" in message and "3 time(s)" in message
    assert API_KEY not in message
    assert client.stats.esearch == 3 and client.stats.retries == 2


def test_unreachable_host_raises_unavailable(make_client: ClientFactory) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(None, base_url=f"http://127.0.0.1:{port}/entrez/eutils", max_tries=2)
    with pytest.raises(PubMedUnavailable, match="URLError|Connection refused") as info:
        client.search("kratom")
    assert "\n" not in str(info.value)


def test_webenv_that_keeps_expiring_gives_up(
    server: EUtilsServer, make_client: ClientFactory
) -> None:
    client = make_client(server, max_tries=2)
    windows = client.search("kratom")
    server.faults.queue("efetch", "expire", times=10)
    with pytest.raises(PubMedUnavailable, match="history server"):
        list(client.fetch(windows))


# --------------------------------------------------------------------------------------------
# epost


def test_epost_and_fetch_pmids(server: EUtilsServer, make_client: ClientFactory) -> None:
    client = make_client(server, batch_size=4)
    wanted = [1005, 1001, 2003, 1005, 424242]  # a duplicate and an unknown PMID
    got = fetched(client.fetch_pmids(wanted))
    assert sorted(got) == [1001, 1005, 2003]
    posts = server.requests_for("epost")
    assert len(posts) == 1 and posts[0].method == "POST"
    assert posts[0].params["id"] == "1005,1001,2003,424242"
    assert client.stats.efetch == 1  # 4 distinct ids, batch 4

    window = client.post([1010, 1011])
    assert window.is_posted and window.count == 2
    assert sorted(fetched(client.fetch([window]))) == [1010, 1011]
    with pytest.raises(ValueError):
        client.post([])
    with pytest.raises(ValueError):
        client.post(range(1, 10_002))


def test_expired_posted_window_is_posted_again(
    server: EUtilsServer, make_client: ClientFactory
) -> None:
    client = make_client(server, batch_size=2)
    stream = client.fetch_pmids([1001, 1002, 1003, 1004])
    first = next(stream)
    server.faults.queue("efetch", "expire")
    got = fetched([first, *stream])
    assert sorted(got) == [1001, 1002, 1003, 1004]
    assert client.stats.epost == 2 and client.stats.webenv_renewals == 1


def test_fetch_pmids_posts_at_most_10000_per_call(
    server: EUtilsServer, make_client: ClientFactory
) -> None:
    client = make_client(server, batch_size=10_000)
    ids = list(range(100_000, 110_000)) + KRATOM  # 10,000 unknown PMIDs, then 30 known
    got = fetched(client.fetch_pmids(ids))
    assert sorted(got) == KRATOM
    posts = server.requests_for("epost")
    assert [len(r.params["id"].split(",")) for r in posts] == [10_000, 30]
    assert client.stats.efetch == 2


# --------------------------------------------------------------------------------------------
# Ids: esearch that returns them, efetch by explicit id lists (what a refresh uses)


def test_search_with_ids_carries_each_windows_pmids(
    server: EUtilsServer, make_client: ClientFactory
) -> None:
    client = make_client(server)
    [plain] = client.search("kratom")
    [window] = client.search("kratom", with_ids=True)
    assert plain.ids == () and plain.count == window.count == 30
    assert window.ids == tuple(sorted(KRATOM, reverse=True))  # PubMed's order
    assert "ids" not in repr(window)
    esearches = server.requests_for("esearch")
    assert len(esearches) == client.stats.esearch == 2  # one per search, ids included
    assert [(r.params["usehistory"], r.params["retmax"]) for r in esearches] == [
        ("y", "0"),
        ("y", "9999"),
    ]
    assert client.search_ids("kratom OR coffee") == sorted(KRATOM + COFFEE)
    assert client.search_ids("kratom", mindate="2016", maxdate="2017/02") == sorted(
        server.search("kratom", datetype="edat", mindate="2016", maxdate="2017/02")
    )
    assert client.search_ids("zzzunknownword") == []


def test_search_ids_past_the_cap_one_esearch_per_window(
    big_server: EUtilsServer, make_client: ClientFactory
) -> None:
    big_server.clear_requests()
    client = make_client(big_server)
    windows = client.search("caffeine", datetype="edat", with_ids=True)
    assert len(windows) > 1
    for window in windows:
        expected = big_server.search(
            "caffeine", datetype="edat", mindate=window.mindate, maxdate=window.maxdate
        )
        assert window.ids == tuple(expected) and len(window.ids) == window.count
    esearches = [(r.params.get("mindate"), r.params.get("maxdate")) for r in big_server.requests]
    assert all(esearches.count((w.mindate, w.maxdate)) == 1 for w in windows)
    assert {r.util for r in big_server.requests} == {"esearch"}
    assert all(r.params["retmax"] == "9999" for r in big_server.requests)
    assert client.search_ids("caffeine", datetype="edat") == list(range(1, BIG_N + 1))


def test_expired_window_with_ids_is_searched_again_with_ids(
    server: EUtilsServer, make_client: ClientFactory
) -> None:
    client = make_client(server)
    windows = client.search("kratom", with_ids=True)
    server.faults.queue("efetch", "expire")
    assert sorted(fetched(client.fetch(windows))) == KRATOM
    assert client.stats.webenv_renewals == 1
    assert [r.params["retmax"] for r in server.requests_for("esearch")] == ["9999", "9999"]


def test_an_incomplete_id_list_is_retried_not_trusted() -> None:
    body = (
        b"<eSearchResult><Count>3</Count><RetMax>2</RetMax><RetStart>0</RetStart>"
        b"<QueryKey>1</QueryKey><WebEnv>MCID_x</WebEnv>"
        b"<IdList><Id>3</Id><Id>2</Id></IdList></eSearchResult>"
    )
    assert eutils.parse_esearch(body, retmax=2).ids == (3, 2)
    with pytest.raises(eutils.Transient, match="2 ids for Count 3"):
        eutils.parse_esearch(body, retmax=9999)


@pytest.mark.parametrize(("n", "batch"), [(1, 10), (10, 10), (11, 10), (30, 7), (30, 500)])
def test_fetch_ids_costs_one_efetch_per_batch_and_nothing_else(
    server: EUtilsServer, make_client: ClientFactory, n: int, batch: int
) -> None:
    client = make_client(server, batch_size=batch)
    wanted = KRATOM[:n][::-1]
    got = fetched(client.fetch_ids(wanted + wanted[:3]))  # duplicates asked for once
    assert got == wanted  # order kept
    efetches = server.requests_for("efetch")
    assert len(server.requests) == len(efetches) == client.stats.requests == math.ceil(n / batch)
    assert [r.params["id"] for r in efetches] == [
        ",".join(map(str, wanted[i : i + batch])) for i in range(0, n, batch)
    ]
    assert {r.method for r in efetches} == {"GET"}
    assert client.stats.records == n
    assert list(client.fetch_ids([])) == [] and client.stats.efetch == len(efetches)


def test_fetch_ids_sends_long_lists_by_post(
    server: EUtilsServer, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="evidence.pubmed")
    client = make_client(server, batch_size=250)
    wanted = KRATOM + list(range(500_000, 500_270))  # 300 ids; 270 unknown to PubMed
    assert sorted(fetched(client.fetch_ids(wanted))) == KRATOM
    efetches = server.requests_for("efetch")
    # Biopython POSTs 200+ ids; the last 50 fit in a URL.
    assert [(r.method, len(r.params["id"].split(","))) for r in efetches] == [
        ("POST", 250),
        ("GET", 50),
    ]
    assert "<250 ids>" in caplog.text  # logged in short ...
    assert API_KEY not in caplog.text  # ... and without the key
    assert all(r.params["api_key"] == "***" for r in efetches)


def test_fetch_ids_warns_about_missing_pmids(
    server: EUtilsServer, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(server, batch_size=3)
    server.remove_record(1002)  # deleted at NCBI since it was found
    with caplog.at_level(logging.WARNING, logger="evidence.pubmed"):
        got = fetched(client.fetch_ids([1001, 1002, 1003, 424242]))
    assert got == [1001, 1003]
    assert "efetch by id: 1 of 3 PMIDs were not returned" in caplog.text
    assert "1 of 1 PMIDs" in caplog.text  # a batch of nothing but deleted PMIDs is no error
    assert client.stats.efetch == 2 and client.stats.retries == 0


@pytest.mark.parametrize("kind", ["429", "500", "cut", "cut_unframed", "error", "reset"])
def test_fetch_ids_faults_recover_to_the_same_bodies(
    server: EUtilsServer,
    make_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    expected = list(make_client(server).fetch_ids(KRATOM))
    server.clear_requests()
    caplog.set_level(logging.DEBUG, logger="evidence.pubmed")
    client = make_client(server)
    stream = client.fetch_ids(KRATOM)
    first = next(stream)
    server.faults.queue("efetch", kind, retry_after=0.3 if kind == "429" else None)
    assert [first, *stream] == expected
    assert client.stats.retries == 1 and client.stats.records == 30
    efetches = server.requests_for("efetch")
    assert [r.params["id"].split(",")[0] for r in efetches] == ["1001", "1011", "1011", "1021"]
    assert len(server.requests) == 4  # no esearch, no epost
    if kind == "429":
        assert client.stats.throttled == 1
        assert efetches[2].time - efetches[1].time >= 0.25  # Retry-After honoured
    assert API_KEY not in caplog.text  # the 429 body echoes the key


def test_uid_or_query_in_an_mdat_window_finds_the_revised_records(
    server: EUtilsServer, make_client: ClientFactory
) -> None:
    for pmid in (1003, 2004):
        server.replace_record(
            pmid,
            make_article_xml(
                pmid, "Retracted study", None, year=2019, edat="2019/01/01", mdat="2025/03/04"
            ),
        )
    client = make_client(server)
    linked = "(1001[uid] OR 1003[uid] OR 1005[pmid] OR 2004[pmid] OR 424242[uid])"
    window = {"mindate": "2025/03/01", "maxdate": "2025/03/07", "datetype": "mdat"}
    assert client.search_ids(linked, **window) == [1003, 2004]
    assert client.search_ids(linked) == [1001, 1003, 1005, 2004]
    assert server.search(linked, **window) == [2004, 1003]
    assert fetched(client.fetch_ids(client.search_ids(linked, **window))) == [1003, 2004]


# --------------------------------------------------------------------------------------------
# Routing, configuration, secrets


def test_evidence_eutils_url_routes_every_request_to_the_stand_in(
    server: EUtilsServer,
    make_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVIDENCE_EUTILS_URL", server.base_url)
    connections: list[tuple[str, int]] = []
    real_create_connection = socket.create_connection

    def recording(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        connections.append(address)
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    # The environment reaches the client through Settings (the client never reads it itself).
    client = make_client(None, base_url=Settings().eutils_url)
    assert client.base_url == server.base_url
    got = fetched(client.fetch(client.search("kratom")))
    assert len(got) == 30
    assert connections and set(connections) == {("127.0.0.1", server.port)}
    assert len(server.requests) == len(connections) == client.stats.requests


def test_client_does_not_read_the_environment(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVIDENCE_EUTILS_URL", "http://127.0.0.1:9/entrez/eutils/")
    assert make_client(None).base_url == pubmed.NCBI_EUTILS_URL


def test_router_rewrites_only_ncbi_urls_and_only_inside_a_call() -> None:
    router = pubmed._EUtilsRouter()
    route = pubmed._Route(base_url="http://127.0.0.1:9/entrez/eutils/", timeout=7.0)
    ncbi = urllib.request.Request(pubmed.NCBI_EUTILS_URL + "efetch.fcgi?db=pubmed")
    other = urllib.request.Request("https://example.org/eutils/efetch.fcgi")
    assert router.https_request(ncbi).full_url.startswith("https://eutils")  # no route: no-op
    token = pubmed._ROUTE.set(route)
    try:
        rewritten = router.https_request(ncbi)
        assert rewritten.full_url == "http://127.0.0.1:9/entrez/eutils/efetch.fcgi?db=pubmed"
        assert rewritten.type == "http" and rewritten.host == "127.0.0.1:9"
        assert rewritten.timeout == 7.0
        assert router.https_request(other).full_url == "https://example.org/eutils/efetch.fcgi"
    finally:
        pubmed._ROUTE.reset(token)


def test_router_is_installed_once() -> None:
    for _ in range(3):
        pubmed._ensure_router_installed()
    opener = urllib.request._opener  # type: ignore[attr-defined]
    assert opener is not None
    assert sum(h is pubmed._ROUTER for h in opener.handlers) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"email": ""}, "NCBI_EMAIL"),
        ({"email": "not-an-address"}, "NCBI_EMAIL"),
        ({"email": "a@example.org", "tool": "two words"}, "tool"),
        ({"email": "a@example.org", "batch_size": 0}, "batch_size"),
        ({"email": "a@example.org", "batch_size": 10_001}, "batch_size"),
        ({"email": "a@example.org", "max_tries": 0}, "max_tries"),
        ({"email": "a@example.org", "base_url": "ftp://mirror/"}, "base URL"),
        ({"email": "a@example.org", "api_key": "has space"}, "NCBI_API_KEY"),
    ],
)
def test_configuration_errors(tmp_path: Path, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        PubMedClient(limiter=RateLimiter(path=tmp_path / "rl"), **kwargs)


def test_biopython_is_configured(make_client: ClientFactory) -> None:
    client = make_client(None, email="someone@example.org", tool="evidence-tests")
    assert Entrez.email == "someone@example.org"
    assert Entrez.tool == "evidence-tests"
    assert Entrez.max_tries == 1
    assert client.limiter.interval == 0.105  # API key: 10/s
    assert make_client(None, api_key=None).limiter.interval == 0.35
    assert client.base_url == pubmed.NCBI_EUTILS_URL or client.base_url.endswith("/")


def test_api_key_never_leaks(
    server: EUtilsServer, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="evidence.pubmed")
    client = make_client(server, max_tries=2)
    # A 429 whose JSON body echoes the key (as NCBI's does), a failed request, a refused one.
    server.faults.queue("esearch", "429")
    windows = client.search("kratom")
    list(client.fetch(windows))
    server.faults.queue("efetch", "500", times=2)
    with pytest.raises(PubMedUnavailable) as unavailable:
        list(client.fetch(windows))
    with pytest.raises(PubMedQueryError) as refused:
        client.search("((")
    assert caplog.records  # requests were logged ...
    assert any("esearch status=429" in r.getMessage() for r in caplog.records)
    for text in (caplog.text, str(unavailable.value), str(refused.value), repr(client)):
        assert API_KEY not in text  # ... without the key
    assert API_KEY not in repr(vars(client))
    assert all(r.params.get("api_key") == "***" for r in server.requests)
    assert "api_key=set" in repr(client)


def test_redact() -> None:
    assert redact("esearch.fcgi?db=pubmed&api_key=abc123&term=x") == (
        "esearch.fcgi?db=pubmed&api_key=***&term=x"
    )
    assert redact('{"error":"API rate limit exceeded","api-key":"abc123"}') == (
        '{"error":"API rate limit exceeded","api-key":"***"}'
    )
    assert redact("{'api_key': 'abc123', 'db': 'pubmed'}") == "{'api_key': '***', 'db': 'pubmed'}"
    assert redact("API_KEY=abc123") == "API_KEY=***"
    assert redact("nothing secret") == "nothing secret"


# --------------------------------------------------------------------------------------------
# Two processes, one limiter file


def test_two_processes_sharing_a_limiter_stay_within_3_per_second(
    server: EUtilsServer, tmp_path: Path
) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from evidence.pubmed.client import PubMedClient
        from evidence.pubmed.ratelimit import RateLimiter
        base_url, limiter_path, start_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
        client = PubMedClient(
            email="worker@example.org", base_url=base_url, backoff=0.01, max_tries=2,
            limiter=RateLimiter.for_ncbi(api_key=False, path=limiter_path),
        )
        time.sleep(max(0.0, start_at - time.time()))
        for _ in range(5):
            client.search("kratom")
        print(client.stats.esearch, client.stats.throttled)
        """
    )
    start_at = time.time() + 2.0  # both processes begin together, after their imports
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                script,
                server.base_url,
                str(tmp_path / "shared.ratelimit"),
                repr(start_at),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert [out.split() for out, _ in outputs] == [["5", "0"], ["5", "0"]]
    log = server.requests
    assert len(log) == 10
    assert all(r.status == 200 for r in log)
    assert server.max_requests_in_window(1.0) <= 3
    assert log[-1].time - log[0].time >= 9 * 0.35 - 0.05


# --------------------------------------------------------------------------------------------
# The stand-in itself (other tests rely on its behaviour)


def test_stand_in_query_language(server: EUtilsServer) -> None:
    assert len(server.search("kratom")) == 30
    assert server.search("kratom") == sorted(KRATOM, reverse=True)  # most recent first
    assert len(server.search('"opioid withdrawal"')) == 30
    assert server.search('"withdrawal opioid"') == []
    assert len(server.search("withdraw*[tiab]")) == 30
    assert len(server.search("kratom OR coffee")) == 40
    assert len(server.search("kratom NOT review[pt]")) == 24
    assert len(server.search("mitragyna[majr]")) == 30
    assert server.search("humans[majr]") == []
    assert len(server.search("caffeine[mh] AND coffee[ti]")) == 10
    assert server.search("caffeine[ti]") == []
    assert len(server.search("(kratom OR coffee) AND 2019[dp]")) == 14  # 10 coffee + 4 kratom
    assert server.search("1001[pmid] OR 2001[uid]") == [2001, 1001]
    assert len(server.search("kratom opioid")) == 30  # implicit AND
    assert len(server.search("NOT kratom")) == 10
    assert len(server.search("KRATOM")) == 30  # case-insensitive
    assert server.search("krat") == []  # word boundaries
    for bad in ["(kratom", "kratom)", "AND kratom", "kratom OR", '"open phrase']:
        with pytest.raises(ValueError):
            server.search(bad)


def test_stand_in_dates_reldate_and_revisions(server: EUtilsServer) -> None:
    server.today = date(2019, 5, 10)
    assert len(server.search("coffee", datetype="edat", reldate=7)) == 10
    assert server.search("coffee", datetype="edat", reldate=3) == []
    assert server.search("coffee", datetype="mdat", mindate="2024", maxdate="2024") == []
    server.replace_record(
        2001,
        make_article_xml(
            2001, "Coffee revised", None, year=2019, edat=date(2000, 1, 1), mdat=date(2024, 2, 2)
        ),
    )
    assert server.search("coffee", datetype="mdat", mindate="2024", maxdate="2024") == [2001]
    assert (
        server.search("coffee", datetype="edat", mindate="2019/05/05", maxdate="2019/05/05")[-1]
        == 2001
    )  # the entrez date of a revision stays
    assert server.remove_record(2001) and not server.remove_record(2001)
    with pytest.raises(KeyError):
        server.replace_record(2001, b"<PubmedArticle/>")


def test_stand_in_http_details(server: EUtilsServer) -> None:
    def get(util: str, **params: str) -> tuple[int, bytes]:
        query = urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(f"{server.base_url}{util}.fcgi?{query}") as response:
                return response.status, bytes(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, bytes(exc.read())

    status, body = get("esearch", db="pubmed", term="kratom", usehistory="y", retmax="3")
    assert status == 200 and b"<Count>30</Count><RetMax>3</RetMax>" in body
    assert b"<QueryKey>1</QueryKey><WebEnv>MCID_" in body
    assert b"<Id>1030</Id>" in body
    status, body = get("esearch", db="fleegle", term="x")
    assert b"<ERROR>Invalid db name specified: fleegle</ERROR>" in body
    status, body = get("esearch", db="pubmed", term="kratom", retstart="10", retmax="2")
    assert b"<Id>1020</Id>\n<Id>1019</Id>\n</IdList>" in body
    # The stand-in's own rate limit: the 4th request within a second is refused.
    status, body = get("efetch", db="pubmed", id="abc")
    assert status == 429 and b'"limit":"3"' in body
    time.sleep(1.1)
    status, body = get("efetch", db="pubmed", id="1001,424242")
    assert status == 200 and pmids_in(body) == [1001]
    status, body = get("efetch", db="pubmed", id="abc")
    assert status == 400 and b"ID list is empty" in body
    status, body = get("efetch", db="pubmed", WebEnv="MCID_nope", query_key="1")
    assert status == 200 and b"<ERROR>Unable to obtain query #1</ERROR>" in body
    time.sleep(1.1)
    status, body = get("epost", db="pubmed", id="")
    assert b"Empty ID list; Nothing to store" in body
    status, body = get("nonsense")
    assert status == 404


def test_stand_in_efetch_by_id_over_get_and_post(server: EUtilsServer) -> None:
    url = f"{server.base_url}efetch.fcgi"
    ids = ",".join(map(str, [1003, 1001, 424242, *range(600_000, 600_300)]))
    form = urllib.parse.urlencode({"db": "pubmed", "retmode": "xml", "id": ids})
    with urllib.request.urlopen(url, data=form.encode()) as response:  # POST
        assert pmids_in(response.read()) == [1003, 1001]
    with urllib.request.urlopen(f"{url}?db=pubmed&id=1002,1001") as response:  # GET
        assert pmids_in(response.read()) == [1002, 1001]
    assert [r.method for r in server.requests] == ["POST", "GET"]


def test_stand_in_loads_files_and_delete_citations(tmp_path: Path) -> None:
    import gzip

    doc = (
        b'<?xml version="1.0"?>\n<PubmedArticleSet>'
        + make_article_xml(5, "Old title", None, year=2000, edat="2000/01/01", mdat="2000/01/01")
        + make_article_xml(6, "Doomed", None, year=2000, edat="2000/01/01", mdat="2000/01/01")
        + make_article_xml(5, "New title", None, year=2000, edat="2000/01/01", mdat="2001/01/01")
        + b"<DeleteCitation><PMID>6</PMID></DeleteCitation></PubmedArticleSet>"
    )
    path = tmp_path / "update.xml.gz"
    path.write_bytes(gzip.compress(doc))
    srv = EUtilsServer()
    assert srv.add_records(path) == 3
    assert srv.pmids == [5]
    assert b"New title" in srv.record_xml(5)


def test_windows_are_plain_values() -> None:
    window = SearchWindow("kratom", "edat", None, None, 3, "MCID_x", "1")
    assert not window.is_posted
    with pytest.raises(AttributeError):
        window.count = 4  # type: ignore[misc]
