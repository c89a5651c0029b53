"""The E-utilities client with its transport, sleep and clock injected: retries and backoff
without a server or a real wait. (End-to-end behaviour: tests/test_pubmed.py, loopback server.)"""

from __future__ import annotations

import io
from email.message import Message
from pathlib import Path
from urllib.error import HTTPError

import pytest

from evidence.errors import PubMedUnavailable
from evidence.pubmed.client import PubMedClient
from evidence.pubmed.ratelimit import RateLimiter
from tests.test_ratelimit import FakeClock as FakeTime

EPOST_OK = (
    b'<?xml version="1.0" encoding="UTF-8" ?>\n<ePostResult>\n\t<QueryKey>1</QueryKey>\n'
    b"\t<WebEnv>MCID_unit</WebEnv>\n</ePostResult>\n"
)


class Script:
    """A transport that answers from a list: bytes are a 200 body, an int an HTTP error."""

    def __init__(self, *answers: bytes | int) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, dict[str, object]]] = []

    def __call__(self, util: str, kwargs: dict[str, object]) -> tuple[bytes, int]:
        self.calls.append((util, kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, int):
            raise HTTPError("https://eutils", answer, "error", Message(), io.BytesIO(b"busy"))
        return answer, 200


def client(tmp_path: Path, transport: Script, time: FakeTime, **kwargs: object) -> PubMedClient:
    limiter = RateLimiter.for_ncbi(
        api_key=False, path=tmp_path / "rl", clock=time, sleep=time.sleep
    )
    return PubMedClient(
        email="unit@example.org",
        limiter=limiter,
        transport=transport,
        sleep=time.sleep,
        clock=time,
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_5xx_is_retried_with_backoff_and_no_real_wait(tmp_path: Path) -> None:
    time, script = FakeTime(), Script(503, 502, EPOST_OK)
    window = client(tmp_path, script, time, backoff=2.0).post([1, 2, 3])
    assert (window.webenv, window.query_key) == ("MCID_unit", "1")
    assert [util for util, _ in script.calls] == ["epost"] * 3
    backoffs = [s for s in time.sleeps if s >= 1.0]  # rate-limit spacing is 0.35 s
    assert len(backoffs) == 2 and 1.0 <= backoffs[0] <= 2.0 and 2.0 <= backoffs[1] <= 4.0


def test_the_transport_gets_identity_and_no_key_when_none(tmp_path: Path) -> None:
    time, script = FakeTime(), Script(EPOST_OK)
    client(tmp_path, script, time).post([7])
    ((_, sent),) = script.calls
    assert sent["email"] == "unit@example.org" and sent["tool"] == "evidence"
    assert sent["api_key"] is None and sent["id"] == "7"


def test_every_try_failing_is_unavailable_after_max_tries(tmp_path: Path) -> None:
    time, script = FakeTime(), Script(*([503] * 3))
    with pytest.raises(PubMedUnavailable, match="failed 3 time"):
        client(tmp_path, script, time, max_tries=3).post([1])
    assert len(script.calls) == 3


def test_requests_are_spaced_by_the_limiter_on_the_injected_clock(tmp_path: Path) -> None:
    time, script = FakeTime(), Script(*([EPOST_OK] * 4))
    c = client(tmp_path, script, time)
    start = time.now
    for pmid in range(4):
        c.post([pmid + 1])
    assert time.now - start >= 3 * RateLimiter.for_ncbi(api_key=False).interval - 1e-9


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:9/entrez/eutils/", 0.005),
        ("https://eutils.ncbi.nlm.nih.gov/entrez/eutils/", 0.35),  # NCBI keeps its limit
        (None, 0.35),
    ],
)
def test_eutils_interval_paces_only_a_mirror(url: str | None, expected: float) -> None:
    from evidence.cli.app import App
    from evidence.config import Settings

    settings = Settings(ncbi_email="unit@example.org", eutils_url=url, eutils_interval=0.005)
    assert App(settings).pubmed_client().limiter.interval == expected
