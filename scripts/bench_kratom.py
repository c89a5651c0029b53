"""Kratom audit benchmark: `evidence audit` on the labelled kratom corpus, scored against labels.

Route: the 60 studies of `tests/fixtures/kratom_eval/` become one PubmedArticleSet
(`tests/kratom_eval.py`), served by the loopback E-utilities stand-in (`tests/eutils_server.py`,
in this process). The real `evidence audit` runs as a subprocess against it
(`EVIDENCE_EUTILS_URL`) with a fresh SQLite database, exactly as a user would run it. Nothing is
ingested beforehand: what the audit sees is what the catalog's searches find (plus full-text
retrieval over those records).

Printed:
- verdict agreement with `labels.toml` (n / claims), and how many are *opposite* (supported
  where contradicted is expected, or the reverse);
- a stance confusion matrix over the labelled (claim, study) pairs: expected stance (rows) by
  the stance the grading counted (columns; a pair with no link, or a rejected one, is
  "unlinked"), plus a row for linked pairs the labels call not relevant;
- how many labelled pairs the claim's own searches found (`claim_hit`);
- the worst disagreements (opposite first), with the verdict's first reasons;
- wall time, and one JSON line last (for scripts and the issue log).

--oracle: after the audit, every labelled stance is recorded as a reviewer decision through the
review library (`evidence.review.decide`, the path `evidence review decide` takes), every other
link of the claim is rejected (not relevant), and the claims are regraded: the ceiling of the
grading rules given perfect stances. A labelled study the searches did not find is ingested
from the same XML, and a labelled pair with no link gets one (method "bench-oracle") so that a
decision can be recorded on it: a reviewer adding a study the linker missed.

Measured (lexical-nli v1 linker, grading as of commit fb96fd5):
  one query per claim (before issue 14): verdicts 3/26 agree, 0 opposite; labelled pairs found
    by search 152/220; stance as labelled 25/220; --oracle 13/26, 0 opposite; 20 s.
  62 searches with roles: verdicts 3/26 agree, 0 opposite; found by search 200/220; stance as
    labelled 29/220; --oracle 13/26, 0 opposite; 37 s.
Later runs (grading 2026.12.1, counter statements): lexical-nli v2 12/26, 0 opposite, 66/220;
  hybrid-stance 1.2.2 17/26, 0 opposite, 110/220, --oracle 23/26, 51 s.
Grading 2026.12.2: hybrid-stance 2.2.2 (the default) 19/26, 0 opposite, 112/220, --oracle 24/26;
  hybrid-stance 2.3.2 (lexical v3 inside) the same, 57 s; lexical-nli v3 12/26, 0, 66/220.

Usage:
  python scripts/bench_kratom.py [--claim ID ...] [--oracle] [--keep DIR] [--linker NAME]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from tests.eutils_server import EUtilsServer  # noqa: E402
from tests.kratom_eval import (  # noqa: E402
    CATALOG,
    Labels,
    article_set_xml,
    assign_ids,
    catalog_claim_ids,
    check_labels,
    load_labels,
    load_studies,
)

EXPECTED_ROWS = ("supports", "contradicts", "neutral")
GOT_COLUMNS = ("supports", "contradicts", "neutral", "unlinked")
ORACLE = "bench-oracle"
OPPOSITE = {("supported", "contradicted"), ("contradicted", "supported")}


def evidence(args: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the real CLI (this checkout's package) and fail loudly if it fails."""
    cmd = [sys.executable, "-m", "evidence", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"evidence {' '.join(args)} exited {done.returncode}")
    return done


def audit_env(workdir: Path, base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVIDENCE_", "NCBI_"))}
    env.update(
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        EVIDENCE_HOME=str(workdir),
        EVIDENCE_DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}",
        EVIDENCE_EUTILS_URL=base_url,
        NCBI_EMAIL="bench@example.org",
        # Any key: the stand-in takes it, and it lifts the client's limiter to 10 requests/s.
        NCBI_API_KEY="bench-key",
        COLUMNS="200",
    )
    return env


# --- reading the outcome -----------------------------------------------------------------------


def read_outcome(url: str, claims: Sequence[str], key_of: dict[int, str]) -> dict[str, Any]:
    """Verdicts, stances per (claim, study key) and search hits, from the database.

    A pair's stance is what grading counts: the latest reviewer decision on its link, else the
    linker's suggestion (one linker run per bench database, so the newest link row); a rejected
    link counts as unlinked.
    """
    from evidence.grading.reviews import REJECTED, current_decisions, judged_stance
    from evidence.grading.verdicts import current_verdicts
    from evidence.store import db

    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            verdicts = current_verdicts(conn)
            hits = {
                (str(c), key_of.get(int(p), str(p)))
                for c, p in conn.execute(text("SELECT claim_id, pmid FROM claim_hit"))
            }
            links = conn.execute(
                text("SELECT id, claim_id, pmid, stance FROM evidence_link ORDER BY id")
            ).all()
            decided = {d.link_id: d for d in current_decisions(conn)}  # oldest first
    finally:
        engine.dispose()
    got: dict[tuple[str, str], str] = {}
    reviewed: dict[tuple[str, str], int] = {}
    for lid, cid, pmid, stance in links:
        pair = (str(cid), key_of.get(int(pmid), str(pmid)))
        d = decided.get(int(lid))
        if d is not None and d.id >= reviewed.get(pair, 0):
            got[pair], reviewed[pair] = judged_stance(str(stance), d.decision, d.stance), d.id
        elif pair not in reviewed:
            got[pair] = str(stance)
    got = {pair: s for pair, s in got.items() if s != REJECTED and pair[0] in claims}
    out: dict[str, Any] = {"verdicts": {}, "reasons": {}, "got": got, "hits": hits}
    for cid in claims:
        v = verdicts.get(cid)
        out["verdicts"][cid] = v.verdict if v else "(none)"
        whys = list(dict.fromkeys(r.why for r in v.reasons)) if v else []
        out["reasons"][cid] = whys[:2]
    return out


def score(outcome: dict[str, Any], labels: Labels, claims: Sequence[str]) -> dict[str, Any]:
    pairs = {k: v for k, v in labels.pairs().items() if k[0] in claims}
    agree = [c for c in claims if outcome["verdicts"][c] == labels.verdicts[c][0]]
    opposite = [c for c in claims if (labels.verdicts[c][0], outcome["verdicts"][c]) in OPPOSITE]
    matrix: Counter[tuple[str, str]] = Counter()
    for pair, expected in pairs.items():
        matrix[(expected, outcome["got"].get(pair, "unlinked"))] += 1
    for pair, stance in outcome["got"].items():
        if pair not in pairs:
            matrix[("not relevant", stance)] += 1
    found = sum(1 for pair in pairs if pair in outcome["hits"])
    stance_right = sum(n for (e, g), n in matrix.items() if e == g)
    return {
        "claims": len(claims),
        "agree": len(agree),
        "opposite": opposite,
        "matrix": matrix,
        "pairs": len(pairs),
        "found_by_search": found,
        "stance_right": stance_right,
    }


def print_scores(title: str, outcome: dict[str, Any], s: dict[str, Any], labels: Labels) -> None:
    print(f"\n== {title}")
    print(
        f"verdicts agreeing with labels: {s['agree']}/{s['claims']}; "
        f"opposite (supported <-> contradicted): {len(s['opposite'])}"
        + (f" ({', '.join(s['opposite'])})" if s["opposite"] else "")
    )
    got_counts = Counter(outcome["verdicts"].values())
    want_counts = Counter(labels.verdicts[c][0] for c in outcome["verdicts"])
    print("verdicts got:      " + ", ".join(f"{n} {v}" for v, n in sorted(got_counts.items())))
    print("verdicts expected: " + ", ".join(f"{n} {v}" for v, n in sorted(want_counts.items())))
    print(
        f"labelled pairs found by the claims' searches: {s['found_by_search']}/{s['pairs']}; "
        f"stance as labelled: {s['stance_right']}/{s['pairs']}"
    )
    print("\nstance confusion (rows: expected, columns: the link's stance after review)")
    width = 14
    print("expected".ljust(width) + "".join(c.rjust(12) for c in GOT_COLUMNS) + "total".rjust(8))
    for row in (*EXPECTED_ROWS, "not relevant"):
        cells = [s["matrix"].get((row, col), 0) for col in GOT_COLUMNS]
        if row == "not relevant":
            cells[-1] = 0  # unlabelled and unlinked: not counted (everything else in PubMed)
        line = row.ljust(width) + "".join(str(n).rjust(12) for n in cells)
        print(line + str(sum(cells)).rjust(8))
    worst = sorted(
        (c for c in outcome["verdicts"] if outcome["verdicts"][c] != labels.verdicts[c][0]),
        key=lambda c: (c not in s["opposite"], c),
    )
    if worst:
        print("\nworst disagreements (opposite first): claim | expected | got | reason")
        for cid in worst[:12]:
            reason = "; ".join(outcome["reasons"][cid]) or "-"
            mark = "!! " if cid in s["opposite"] else "   "
            print(
                f"{mark}{cid} | {labels.verdicts[cid][0]} | {outcome['verdicts'][cid]} | "
                f"{reason[:160]}"
            )


# --- the oracle ----------------------------------------------------------------------------------


def run_oracle(
    url: str, xml_path: Path, labels: Labels, claims: Sequence[str], ids: dict[str, int]
) -> dict[str, int]:
    """Record every labelled stance as a reviewer decision, reject the rest, regrade."""
    from evidence.grading.grades import grade_claims
    from evidence.grading.reviews import decide
    from evidence.grading.verdicts import Cause
    from evidence.jobs.ingest import ingest_file
    from evidence.store import db

    engine = db.make_engine(url)
    counts: Counter[str] = Counter()
    try:
        pairs = {k: v for k, v in labels.pairs().items() if k[0] in claims}
        wanted = {ids[key] for _, key in pairs}
        with engine.connect() as conn:
            held = {int(p) for (p,) in conn.execute(text("SELECT pmid FROM article"))}
        if wanted - held:
            # Studies no search found: ingest the whole file (held records are no-ops).
            ingest_file(engine, xml_path)
            counts["ingested"] = len(wanted - held)
        now = dt.datetime.now(dt.UTC)
        with engine.connect() as conn, conn.begin():
            links: dict[tuple[str, int], list[tuple[int, str]]] = {}
            for lid, cid, pmid, stance in conn.execute(
                text("SELECT id, claim_id, pmid, stance FROM evidence_link ORDER BY id")
            ):
                if cid in claims:
                    links.setdefault((str(cid), int(pmid)), []).append((int(lid), str(stance)))
            for (cid, key), stance in sorted(pairs.items()):
                pmid = ids[key]
                if (cid, pmid) not in links:
                    lid = conn.execute(
                        text(
                            "INSERT INTO evidence_link (claim_id, pmid, origin, retrieval_score, "
                            "relevance, stance, confidence, rationale, method, method_version, "
                            "created_at, updated_at) VALUES (:c, :p, 'query', 0, 0, :s, 0, '[]', "
                            ":m, '1', :now, :now) RETURNING id"
                        ),
                        {"c": cid, "p": pmid, "s": stance, "m": ORACLE, "now": now},
                    ).scalar_one()
                    links[(cid, pmid)] = [(int(lid), stance)]
                    counts["links added"] += 1
            key_of = {v: k for k, v in ids.items()}
            for (cid, pmid), rows in sorted(links.items()):
                expected = pairs.get((cid, key_of.get(pmid, "")))
                for lid, suggested in rows:
                    if expected is None:
                        decide(conn, lid, ORACLE, "reject", note="not relevant (labels.toml)")
                        counts["rejected"] += 1
                    elif suggested == expected:
                        decide(conn, lid, ORACLE, "accept", note="as labelled")
                        counts["accepted"] += 1
                    else:
                        decide(conn, lid, ORACLE, "correct", expected, note="as labelled")
                        counts["corrected"] += 1
            grade_claims(conn, list(claims), cause=Cause("review", "bench oracle", ORACLE))
    finally:
        engine.dispose()
    return dict(counts)


# --- main ----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the database, XML and report in DIR (default: a temp dir)",
    )
    parser.add_argument(
        "--claim", action="append", metavar="ID", help="audit only this claim (repeatable)"
    )
    parser.add_argument(
        "--oracle",
        action="store_true",
        help="then record every labelled stance as a reviewer decision, regrade",
    )
    parser.add_argument(
        "--linker",
        metavar="NAME",
        help="pass --linker NAME to evidence audit (when it has that option)",
    )
    args = parser.parse_args(argv)

    studies = load_studies()
    labels = load_labels()
    catalog_ids = catalog_claim_ids()
    problems = check_labels(labels, studies, catalog_ids)
    if problems:
        raise SystemExit("labels are inconsistent: " + "; ".join(problems))
    claims = args.claim or catalog_ids
    unknown = sorted(set(claims) - set(catalog_ids))
    if unknown:
        raise SystemExit(f"unknown claim(s): {', '.join(unknown)}; see {CATALOG}")
    ids = assign_ids(studies)
    key_of = {pmid: key for key, pmid in ids.items()}

    tmp = None
    if args.keep:
        workdir = args.keep.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        if (workdir / "bench.db").exists():
            raise SystemExit(f"{workdir / 'bench.db'} exists; give an empty --keep DIR")
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench_kratom_")
        workdir = Path(tmp.name)
    xml_path = workdir / "kratom_eval.xml"
    xml_path.write_bytes(article_set_xml(studies, ids))
    url = f"sqlite:///{workdir / 'bench.db'}"

    started = time.perf_counter()
    with EUtilsServer(rate_limit=False) as server:
        server.add_records(xml_path)
        env = audit_env(workdir, server.base_url)
        extra: list[str] = []
        if args.linker:
            if "--linker" not in evidence(["audit", "--help"], env).stdout:
                raise SystemExit("evidence audit has no --linker option in this version")
            extra = ["--linker", args.linker]
        evidence(["db", "upgrade"], env)
        audit_runs = [["--claim", c] for c in args.claim] if args.claim else [[]]
        for narrow in audit_runs:
            done = evidence(
                [
                    "audit",
                    "--catalog",
                    str(CATALOG),
                    "--report",
                    str(workdir / "report"),
                    *narrow,
                    *extra,
                ],
                env,
            )
            summary = [line for line in done.stdout.splitlines() if line.startswith("audit: ")]
            print(summary[-1] if summary else done.stdout.strip().splitlines()[-1])
        served = len(server.requests)
    audit_seconds = time.perf_counter() - started

    outcome = read_outcome(url, claims, key_of)
    scores = score(outcome, labels, claims)
    print(
        f"corpus: {len(studies)} studies served, {len(labels.stances)} labelled pairs; "
        f"{served} E-utilities requests"
    )
    print_scores("audit (suggested stances)", outcome, scores, labels)
    result: dict[str, Any] = {
        "bench": "kratom",
        "claims": scores["claims"],
        "verdict_agree": scores["agree"],
        "opposite": len(scores["opposite"]),
        "pairs": scores["pairs"],
        "pairs_found_by_search": scores["found_by_search"],
        "stance_as_labelled": scores["stance_right"],
        "audit_seconds": round(audit_seconds, 1),
    }
    if args.oracle:
        counts = run_oracle(url, xml_path, labels, claims, ids)
        oracle = read_outcome(url, claims, key_of)
        oracle_scores = score(oracle, labels, claims)
        print(f"\noracle decisions: {json.dumps(counts, sort_keys=True)}")
        print_scores(
            "oracle (every labelled stance as a reviewer decision)", oracle, oracle_scores, labels
        )
        result.update(
            oracle_verdict_agree=oracle_scores["agree"],
            oracle_opposite=len(oracle_scores["opposite"]),
        )
    wall = time.perf_counter() - started
    result["wall_seconds"] = round(wall, 1)
    print(
        f"\nwall time: {wall:.1f} s (audit {audit_seconds:.1f} s)"
        + (f"; kept in {workdir}" if args.keep else "")
    )
    print(json.dumps(result, sort_keys=True))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
