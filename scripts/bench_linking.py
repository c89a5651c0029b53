"""Linking the 26 kratom claims over a ~50,000-record corpus, per linker (DESIGN.md: under
3 minutes on 2 cores, peak memory under 1.5 GB, model included).

Route: the baseline file (30,000 records) and the 2021 update file (20,783) are ingested into a
fresh SQLite database; `evidence audit` runs once against a loopback E-utilities stand-in serving
both files, so every claim's searches record their hits as they would against PubMed; then
`evidence link --linker NAME` is timed as its own process (wall time and peak RSS from
/usr/bin/time): the lexical linker, then the hybrid (the default; it embeds the articles it
reads on first use), then the trained one (which embeds the rest of each claim's candidates).

Usage:
  python scripts/bench_linking.py [--linker lexical --linker hybrid --linker trained]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PUBMED = ROOT.parent / "shared" / "data" / "pubmed"
FILES = (
    PUBMED / "baseline" / "pubmed20n0014.xml.gz",
    PUBMED / "updatefiles" / "pubmed21n1298.xml.gz",
)
EVIDENCE = Path(sys.executable).with_name("evidence")


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, output) of one `evidence` process."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", str(EVIDENCE), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"evidence {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    peak_kb = int(done.stderr.strip().splitlines()[-1])
    return seconds, peak_kb / 1024, done.stdout


def main() -> int:
    from tests.eutils_server import EUtilsServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--linker", action="append", choices=("lexical", "hybrid", "trained"))
    args = parser.parse_args()
    for path in FILES:
        if not path.is_file():
            print(f"bench_linking: {path}: no such file", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="bench_linking_") as tmp:
        env = {
            **os.environ,
            "EVIDENCE_HOME": tmp,
            "EVIDENCE_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "NCBI_EMAIL": "bench@example.org",
            "NCBI_API_KEY": "bench-key",
            "EVIDENCE_EUTILS_INTERVAL": "0.005",
            "EVIDENCE_LINKER": "lexical",
        }
        ingest_s, _, _ = run(["ingest", *map(str, FILES)], env)
        with EUtilsServer(rate_limit=False) as server:
            for path in FILES:
                server.add_records(path)
            env["EVIDENCE_EUTILS_URL"] = server.base_url
            run(["audit", "--report", f"{tmp}/report"], env)
        results = {}
        for linker in args.linker or ["lexical", "hybrid", "trained"]:
            seconds, peak_mb, out = run(["link", "--linker", linker], env)
            results[linker] = {"seconds": round(seconds, 1), "peak_rss_mb": round(peak_mb)}
            print(f"{linker:8s} link 26 claims: {seconds:6.1f} s, peak RSS {peak_mb:5.0f} MB "
                  f"(target < 180 s, < 1536 MB); {out.strip().splitlines()[-1]}")  # fmt: skip
    print(json.dumps({"bench": "linking", "ingest_s": round(ingest_s, 1), **results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
