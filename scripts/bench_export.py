"""Benchmark: export 1,000,000 evidence links to CSV and Parquet, beside a bare pandas route.

    .venv/bin/python scripts/bench_export.py [--rows 1000000] [--claims 200]
                                             [--database-url URL] [--chunk-size N]

Builds a generated database (SQLite in a temporary directory by default; `--database-url`
names an empty PostgreSQL database instead, migrated here): `--claims` claims times
rows/claims articles, one link per pair with a stance, relevance and a one-sentence rationale,
and a reviewer decision on 1% of the links. The rows are made by the database itself
(`INSERT ... SELECT` over a recursive CTE), so building takes seconds.

Routes, each in its own process (peak RSS is the process's own `ru_maxrss`, imports
included), all in the same run:
  export-csv      `evidence.export.write_table(..., "links", fmt="csv")`: streamed in
                  chunks, effective stances and reviewer columns joined in, text neutralised
  export-parquet  the same, as Parquet (one row group per chunk, fixed schema)
  pandas-to-csv   `pandas.read_sql("SELECT * FROM evidence_link").to_csv(...)`: the bare
                  table, all rows in memory at once, no joins

Prints one JSON line, then a table (rows/s and peak RSS per route).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROUTES = ("export-csv", "export-parquet", "pandas-to-csv")
RATIONALE = json.dumps(
    [
        {
            "index": 2,
            "start": 120,
            "end": 212,
            "text": "Kratom use was associated with fewer withdrawal symptoms than placebo "
            "over twelve weeks.",
            "section": "RESULTS",
            "score": 0.61,
        }
    ]
)


def insert_synthetic(
    conn: Any,
    articles: int,
    claims: int,
    now: Any,
    *,
    abstract: str = "",
    rationale: str = RATIONALE,
) -> None:
    """`articles` synthetic articles, `claims` claims and a link from every claim to every
    article, generated inside the database (scripts/bench_web.py builds on it too)."""
    from sqlalchemy import text

    from evidence.linking import stance as linking

    numbers = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
    conn.execute(
        text(
            "INSERT INTO article (pmid, version, record_type, title, abstract, journal_title, "
            "pub_year, is_deleted, content_hash, created_at, updated_at) "
            + numbers
            + "SELECT 50000000 + i, 1, 'article', 'Synthetic trial ' || i || ' of kratom', "
            ":abstract, 'Journal of Synthetic Evidence', 1990 + i % 35, false, 'h' || i, "
            ":now, :now FROM n"
        ),
        {"count": articles, "now": now, "abstract": abstract},
    )
    conn.execute(
        text(
            "INSERT INTO claim (id, statement, claim_type, source, revision, created_at, "
            "updated_at) "
            + numbers
            + "SELECT 'claim-' || i, 'Generated claim ' || i, 'clinical', 'import', 1, "
            ":now, :now FROM n"
        ),
        {"count": claims, "now": now},
    )
    conn.execute(
        text(
            "INSERT INTO evidence_link (claim_id, pmid, origin, retrieval_score, relevance, "
            "stance, confidence, rationale, method, method_version, created_at, updated_at) "
            + numbers
            + "SELECT 'claim-' || n.i, a.pmid, "
            "CASE (a.pmid + n.i) % 3 WHEN 0 THEN 'query' WHEN 1 THEN 'fulltext' "
            "ELSE 'both' END, ((a.pmid * 7 + n.i) % 1000) / 100.0, "
            "((a.pmid * 13 + n.i) % 1000) / 1000.0, "
            "CASE (a.pmid * 3 + n.i) % 4 WHEN 0 THEN 'contradicts' WHEN 1 THEN 'neutral' "
            "ELSE 'supports' END, ((a.pmid + n.i * 11) % 1000) / 1000.0, :rationale, "
            ":method, :version, :now, :now FROM n CROSS JOIN article a"
        ),
        {
            "count": claims,
            "now": now,
            "rationale": rationale,
            "method": linking.METHOD,
            "version": linking.METHOD_VERSION,
        },
    )


def build(url: str, rows: int, claims: int) -> None:
    """Claims x articles links, generated inside the database."""
    import datetime as dt

    from sqlalchemy import text

    from evidence.store import db

    db.upgrade(url)
    now = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
    engine = db.make_engine(url)
    with engine.begin() as conn:
        insert_synthetic(conn, rows // claims, claims, now)
        conn.execute(
            text(
                "INSERT INTO review_decision (link_id, reviewer, decision, stance, note, "
                "decided_at) SELECT id, 'alice', 'correct', 'neutral', '=not about kratom', :now "
                "FROM evidence_link WHERE id % 100 = 0"
            ),
            {"now": now},
        )
    engine.dispose()


def run_route(route: str, url: str, out: Path, chunk_size: int) -> dict[str, Any]:
    """One route, timed, in this process (the parent runs each in a child)."""
    import pandas as pd
    from sqlalchemy import create_engine

    from evidence.outputs import export
    from evidence.store import db

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if route == "pandas-to-csv":
        engine = create_engine(db.normalise_url(url))
        frame = pd.read_sql("SELECT * FROM evidence_link", engine)
        frame.to_csv(out, index=False)
        rows = len(frame)
        engine.dispose()
    else:
        fmt = route.removeprefix("export-")
        rows = export.write_table(url, "links", out, fmt=fmt, chunk_size=chunk_size).rows
    seconds = time.perf_counter() - start
    return {
        "route": route,
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_after_imports_mb": round(before / 1024),
        "file_mb": round(out.stat().st_size / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--route", choices=ROUTES, help=argparse.SUPPRESS)  # a child's job
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.route:
        print(json.dumps(run_route(args.route, args.url, args.out, args.chunk_size)))
        return

    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        start = time.perf_counter()
        build(url, args.rows, args.claims)
        build_seconds = time.perf_counter() - start
        results = []
        for route in ROUTES:
            suffix = "parquet" if route == "export-parquet" else "csv"
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--route",
                    route,
                    "--url",
                    url,
                    "--out",
                    str(Path(tmp) / f"{route}.{suffix}"),
                    "--chunk-size",
                    str(args.chunk_size),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    backend = "postgresql" if args.database_url else "sqlite"
    baseline = next(r for r in results if r["route"] == "pandas-to-csv")
    for r in results:
        r["x_pandas"] = round(r["rows_per_s"] / baseline["rows_per_s"], 2)
    print(
        json.dumps(
            {
                "backend": backend,
                "rows": args.rows,
                "chunk_size": args.chunk_size,
                "build_seconds": round(build_seconds, 1),
                "routes": results,
            }
        )
    )
    print(f"\n{backend}, {args.rows:,} links (built in {build_seconds:.1f} s)")
    print(
        f"{'route':<16}{'rows':>11}{'s':>8}{'rows/s':>10}{'x pandas':>10}"
        f"{'peak RSS MB':>13}{'after imports':>15}{'file MB':>9}"
    )
    for r in results:
        print(
            f"{r['route']:<16}{r['rows']:>11,}{r['seconds']:>8.1f}{r['rows_per_s']:>10,}"
            f"{r['x_pandas']:>10.2f}{r['peak_rss_mb']:>13,}{r['rss_after_imports_mb']:>15,}"
            f"{r['file_mb']:>9.1f}"
        )


if __name__ == "__main__":
    main()
