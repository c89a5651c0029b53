"""Candidate retrieval for one claim over ~50,000 abstracts (DESIGN.md: "well under 100 ms").

Route: the 2020 baseline file (30,000 records) and the 2021 update file (20,783 more) are
ingested into a fresh database (SQLite by default, `--database-url` for PostgreSQL), the kratom
catalog is loaded, and for each of its 26 claims `linking.suggestions.candidates_for` (full-text
retrieval of the top 30 with the claim's words ORed, plus the claim's query hits, the articles'
rows and the non-evidence filter) is timed, warm, `--repeat` times. Prints one JSON line.

Usage:
  python scripts/bench_retrieval.py [--database-url URL] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from evidence.claims.catalog import parse_catalog
from evidence.jobs.audit import DEFAULT_CATALOG, ensure_catalog
from evidence.jobs.ingest import ingest_file
from evidence.jobs.steps import select_claims
from evidence.linking.suggestions import candidates_for
from evidence.store import db

ROOT = Path(__file__).resolve().parents[1]
PUBMED = ROOT.parent / "shared" / "data" / "pubmed"
FILES = (
    PUBMED / "baseline" / "pubmed20n0014.xml.gz",
    PUBMED / "updatefiles" / "pubmed21n1298.xml.gz",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    missing = [str(f) for f in FILES if not f.exists()]
    if missing:
        print(f"needs ../shared/data: missing {', '.join(missing)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db.upgrade(url)
        engine = db.make_engine(url)
        for path in FILES:
            ingest_file(engine, path)
        ensure_catalog(engine, parse_catalog(DEFAULT_CATALOG))
        claims = select_claims(engine)
        timings: list[float] = []
        sizes: list[int] = []
        with db.connect(engine) as conn:
            abstracts = conn.execute(
                text("SELECT count(*) FROM article WHERE abstract <> '' AND NOT is_deleted")
            ).scalar_one()
            for claim in claims:
                candidates_for(conn, claim)  # warm the page cache and the statement cache
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    pool = candidates_for(conn, claim)
                    timings.append((time.perf_counter() - started) * 1000)
                sizes.append(len(pool.candidates))
        engine.dispose()
    timings.sort()
    result = {
        "backend": url.split(":", 1)[0],
        "abstracts": abstracts,
        "claims": len(claims),
        "calls": len(timings),
        "median_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 2),
        "max_ms": round(timings[-1], 2),
        "mean_candidates": round(statistics.mean(sizes), 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
