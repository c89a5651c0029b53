"""Benchmark: the workbench's claim page on a database with 1,000,000 evidence links.

    .venv/bin/python scripts/bench_web.py [--links 1000000] [--claims 2000] [--sample 20]
                                          [--rounds 10] [--database-url URL]

Builds a generated database (SQLite in a temporary directory by default; `--database-url`
names an empty PostgreSQL database instead, migrated here): `--claims` claims times
links/claims articles (each with a two-sentence abstract), one link per pair with a stance,
relevance and a rationale sentence, reviewer decisions by two reviewers on 2% of the links
(some disagreeing: open conflicts), rows made by the database itself (`INSERT ... SELECT` over
a recursive CTE). `--sample` claims are graded (a verdict row each).

Then, in process through the whole ASGI stack (Starlette's TestClient: routing, cookie
check, session lookup, the page's queries, Jinja2 rendering), a signed-in reviewer requests
each sampled claim page `--rounds` times, after one warm-up pass. Prints one JSON line with
p50/p95/max in milliseconds, and the time of the claim list's first page (not a target).
Target: claim page p95 < 150 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_export import insert_synthetic  # noqa: E402  (the same generated rows)

ABSTRACT = (
    "Background: kratom is used for opioid withdrawal. "
    "Results: kratom use was associated with fewer withdrawal symptoms than placebo over "
    "twelve weeks."
)
RATIONALE = json.dumps(
    [{"index": 1, "start": 51, "end": len(ABSTRACT), "text": ABSTRACT[51:],
      "section": "RESULTS", "score": 0.61}]
)  # fmt: skip
SECRET = "bench-secret-" + "b" * 40


def build(url: str, links: int, claims: int, sample: int) -> None:
    import datetime as dt

    from sqlalchemy import text

    from evidence.grading.grades import grade_claims
    from evidence.grading.verdicts import Cause
    from evidence.store import db
    from evidence.web.auth import add_user

    db.upgrade(url)
    articles = links // claims
    now = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
    engine = db.make_engine(url)
    with engine.begin() as conn:
        insert_synthetic(conn, articles, claims, now, abstract=ABSTRACT, rationale=RATIONALE)
        # Two reviewers on 2% of the links; bob rejects a third of alice's accepts (conflicts).
        for reviewer, condition, decision, reason in (
            ("alice", "id % 50 = 0", "accept", None),
            ("bob", "id % 50 = 0 AND id % 150 <> 0", "accept", None),
            ("bob", "id % 150 = 0", "reject", "off_topic"),
        ):
            conn.execute(
                text(
                    "INSERT INTO review_decision (link_id, reviewer, decision, stance, note, "
                    "decided_at, exclusion_reason, adjudication) SELECT id, :who, :what, NULL, "
                    f"NULL, :now, :reason, false FROM evidence_link WHERE {condition}"
                ),
                {"who": reviewer, "what": decision, "now": now, "reason": reason},
            )
        if not db.is_sqlite(conn):
            # What autovacuum does after a bulk load; without statistics PostgreSQL's planner
            # takes the freshly filled tables for empty ones.
            conn.execute(text("ANALYZE"))
        add_user(conn, "alice", "reviewer", "bench-password")
        grade_claims(conn, [f"claim-{i}" for i in range(1, sample + 1)], cause=Cause("grade"))
    engine.dispose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(url: str, sample: int, rounds: int) -> dict[str, object]:
    import re

    from starlette.testclient import TestClient

    from evidence.store import db
    from evidence.web import create_app

    engine = db.make_engine(url)
    client = TestClient(create_app(engine, SECRET), follow_redirects=False)
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    login = client.post(
        "/login", data={"csrf": csrf, "name": "alice", "password": "bench-password", "next": "/"}
    )
    assert login.status_code == 303, login.text
    paths = [f"/claims/claim-{i}?show=all" for i in range(1, sample + 1)]
    for path in paths:  # warm-up: caches, template compilation
        assert client.get(path).status_code == 200
    times = []
    for _ in range(rounds):
        for path in paths:
            start = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200 and "Evidence flow" in response.text
    start = time.perf_counter()
    listing = client.get("/")  # the first page of the claim list (100 claims)
    list_ms = (time.perf_counter() - start) * 1000
    assert listing.status_code == 200
    client.close()
    engine.dispose()
    return {
        "claim_page_requests": len(times),
        "claim_page_p50_ms": round(statistics.median(times), 1),
        "claim_page_p95_ms": round(percentile(times, 0.95), 1),
        "claim_page_max_ms": round(max(times), 1),
        "claim_list_ms": round(list_ms, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=2_000)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--database-url", help="An empty PostgreSQL database (default: SQLite).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        start = time.perf_counter()
        build(url, args.links, args.claims, args.sample)
        built = time.perf_counter() - start
        result = {
            "engine": url.split(":", 1)[0],
            "links": args.links,
            "claims": args.claims,
            "links_per_claim": args.links // args.claims,
            "build_s": round(built, 1),
            **measure(url, args.sample, args.rounds),
        }
        print(json.dumps(result))
        p95 = result["claim_page_p95_ms"]
        print(f"claim page p95 {p95} ms (target < 150 ms) over {result['links']:,} links")


if __name__ == "__main__":
    main()
