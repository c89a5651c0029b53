"""Bulk-ingest benchmark: evidence on SQLite and PostgreSQL beside two reference routes.

Routes, each in its own process so peak RSS is its own:
  lxml            bare lxml iterparse extracting the main fields, storing nothing (the floor)
  sqlite          `evidence ingest` into a fresh SQLite file: everything stored and indexed
  postgres        the same into a fresh PostgreSQL database
  pubmed_parser   pubmed_parser.parse_medline_xml -> pandas DataFrame -> to_sql (SQLite)

Targets (DESIGN.md): sqlite >= 0.5x lxml, postgres >= 0.35x lxml, sqlite >= 2x pubmed_parser,
peak RSS < 300 MB. Absolute rates drift between machines; compare routes within one run.

Usage:
  python scripts/bench_ingest.py [--file PATH] [--routes lxml,sqlite,postgres,pubmed_parser]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = ROOT.parent / "shared/data/pubmed/baseline/pubmed20n0014.xml.gz"
PG_ADMIN = os.environ.get("EVIDENCE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ROUTES = ("lxml", "sqlite", "postgres", "pubmed_parser")


def route_lxml(path: Path) -> int:
    from lxml import etree

    n = 0
    with gzip.open(path) if path.suffix == ".gz" else path.open("rb") as f:
        for _, el in etree.iterparse(f, tag="PubmedArticle", resolve_entities=False):
            cit = el.find("MedlineCitation")
            art = cit.find("Article")
            record = {
                "pmid": cit.findtext("PMID"),
                "title": "".join(art.find("ArticleTitle").itertext()),
                "abstract": " ".join(
                    "".join(t.itertext()) for t in art.iterfind("Abstract/AbstractText")
                ),
                "journal": art.findtext("Journal/Title"),
                "year": art.findtext("Journal/JournalIssue/PubDate/Year"),
                "authors": [
                    (a.findtext("LastName"), a.findtext("ForeName"))
                    for a in art.iterfind("AuthorList/Author")
                ],
                "mesh": [
                    m.text for m in cit.iterfind("MeshHeadingList/MeshHeading/DescriptorName")
                ],
                "pubtypes": [p.text for p in art.iterfind("PublicationTypeList/PublicationType")],
            }
            assert record["pmid"]
            n += 1
            el.clear()
            while el.getprevious() is not None:
                del el.getparent()[0]
    return n


def _evidence_ingest(path: Path, url: str) -> int:
    from evidence.jobs.ingest import ingest_file
    from evidence.store import db

    db.upgrade(url)
    start = time.perf_counter()
    result = ingest_file(db.make_engine(url), path)
    _evidence_ingest.seconds = time.perf_counter() - start  # type: ignore[attr-defined]
    return result.counts.new + result.counts.updated


def route_sqlite(path: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        return _evidence_ingest(path, f"sqlite:///{tmp}/bench.db")


def route_postgres(path: Path) -> int:
    from sqlalchemy import create_engine, make_url, text

    from evidence.store import db

    admin_url = db.normalise_url(PG_ADMIN)
    name = f"evidence_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        return _evidence_ingest(
            path, make_url(admin_url).set(database=name).render_as_string(False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


def route_pubmed_parser(path: Path) -> int:
    import pandas as pd
    import pubmed_parser as pp
    from sqlalchemy import create_engine

    records = pp.parse_medline_xml(str(path))
    frame = pd.DataFrame(records)
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/pp.db")
        frame.astype(str).to_sql("article", engine, index=False, chunksize=5000)
        engine.dispose()
    return len(frame)


def run_child(route: str, path: Path) -> dict[str, object]:
    start = time.perf_counter()
    n = globals()[f"route_{route}"](path)
    seconds = getattr(_evidence_ingest, "seconds", None) or time.perf_counter() - start
    # The larger of this process and its (joined) children: the ingest's parse worker counts.
    peak_kb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    peak_mb = peak_kb / 1024
    return {"route": route, "records": n, "seconds": seconds, "peak_rss_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--routes", default=",".join(ROUTES))
    parser.add_argument("--child", choices=ROUTES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args.file)))
        return
    if not args.file.exists():
        sys.exit(f"benchmark file not found: {args.file} (it lives in ../shared/data)")
    results = {}
    for route in args.routes.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--file", str(args.file), "--child", route],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        results[route] = json.loads(out.stdout.strip().splitlines()[-1])
        r = results[route]
        print(f"  {route}: {r['records']} records in {r['seconds']:.1f}s", file=sys.stderr)
    floor = results.get("lxml")
    print(f"\n{args.file.name}\n")
    print("| route | records | seconds | records/s | × lxml floor | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for route, r in results.items():
        rate = r["records"] / r["seconds"]
        ratio = f"{rate / (floor['records'] / floor['seconds']):.2f}" if floor else "-"
        print(f"| {route} | {r['records']:,} | {r['seconds']:.1f} | {rate:,.0f} | {ratio} | "
              f"{r['peak_rss_mb']:.0f} |")  # fmt: skip
    rates = {k: v["records"] / v["seconds"] for k, v in results.items()}
    checks = []
    if "lxml" in rates and "sqlite" in rates:
        checks.append(("sqlite >= 0.5x lxml", rates["sqlite"] / rates["lxml"], 0.5))
    if "lxml" in rates and "postgres" in rates:
        checks.append(("postgres >= 0.35x lxml", rates["postgres"] / rates["lxml"], 0.35))
    if "pubmed_parser" in rates and "sqlite" in rates:
        checks.append(("sqlite >= 2x pubmed_parser", rates["sqlite"] / rates["pubmed_parser"], 2))
    print()
    for label, value, target in checks:
        print(f"{'met' if value >= target else 'MISSED'}: {label} (measured {value:.2f}x)")
    for route in ("sqlite", "postgres"):
        if route in results:
            peak = results[route]["peak_rss_mb"]
            print(f"{'met' if peak < 300 else 'MISSED'}: {route} peak RSS < 300 MB ({peak:.0f} MB)")
    print(json.dumps({k: round(v, 1) for k, v in rates.items()}))


if __name__ == "__main__":
    main()
