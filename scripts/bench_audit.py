"""The audit against the 2021 update file (~20,783 records) through the loopback E-utilities.

The suite asserted "under 90 s" for this once; performance is measured here instead (DESIGN.md:
benchmarks, not timed tests). Route: a `tests/eutils_server.py` stand-in serves the update file
(no server-side rate limit; the client keeps its own 10 requests/s with a key), a fresh database
(SQLite by default, `--database-url` for PostgreSQL) runs `run_audit` for the shipped catalog,
and the wall time of the audit alone (not the stand-in's loading) is printed as one JSON line.

Usage:
  PYTHONPATH=. python scripts/bench_audit.py [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UPDATE_FILE = ROOT.parent / "shared" / "data" / "pubmed" / "updatefiles" / "pubmed21n1298.xml.gz"
BUDGET_S = 90.0  # the old test's bound


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args(argv)
    if not UPDATE_FILE.exists():
        print(f"needs ../shared/data: missing {UPDATE_FILE}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    from evidence.jobs.audit import run_audit
    from evidence.pubmed.client import PubMedClient
    from evidence.pubmed.ratelimit import RateLimiter
    from evidence.store import db
    from tests.eutils_server import EUtilsServer

    with tempfile.TemporaryDirectory() as tmp, EUtilsServer(rate_limit=False) as server:
        server.add_records(UPDATE_FILE)
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db.upgrade(url)
        engine = db.make_engine(url)
        client = PubMedClient(
            email="bench@example.org",
            api_key="bench-key",
            base_url=server.base_url,
            limiter=RateLimiter.for_ncbi(api_key=True, path=Path(tmp) / "eutils.ratelimit"),
        )
        started = time.perf_counter()
        report = run_audit(engine, client, report_dir=Path(tmp) / "report")
        seconds = time.perf_counter() - started
        engine.dispose()
    print(
        json.dumps(
            {
                "bench": "audit",
                "engine": url.split(":", 1)[0],
                "claims": len(report.grades),
                "requests": client.stats.requests,
                "seconds": round(seconds, 2),
                "budget_s": BUDGET_S,
                "within_budget": seconds < BUDGET_S,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
