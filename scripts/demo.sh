#!/usr/bin/env bash
# The main job, as `make demo` runs it: create the database, ingest PubMed files, load the
# kratom claim catalog, summarise, then `evidence audit` (refresh each claim's PubMed query,
# link, table of claims by stance), and last print the `evidence serve` command to try next.
# Uses the embedded SQLite default (EVIDENCE_HOME, else the user data directory) unless
# EVIDENCE_DATABASE_URL says otherwise. Reads real PubMed files from ../shared when present,
# else the project's own small fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
evidence=.venv/bin/evidence
shared=../shared/data/pubmed

files=()
served=()  # what the loopback E-utilities stand-in serves to the audit
if [ -f "$shared/updatefiles/pubmed21n1298.xml.gz" ]; then
  files+=("$shared/updatefiles/pubmed21n1298.xml.gz")
  served+=(--xml "$shared/updatefiles/pubmed21n1298.xml.gz")
else
  echo "(../shared/data not found: ingesting the project's fixtures instead)"
  files+=(tests/fixtures/ingest/batch1.xml tests/fixtures/ingest/batch2_update.xml)
  served+=(--xml tests/fixtures/audit/records.xml)
fi

$evidence db upgrade
$evidence ingest "${files[@]}"
$evidence claims load catalogs/kratom.toml
$evidence status
echo
$evidence claims list
echo
if [ -f "$shared/updatefiles/pubmed21n1298.xml.gz" ]; then
  $evidence articles show 33847897
  echo
  $evidence articles search "kratom" --limit 5
else
  $evidence articles show 1001
fi
echo

# The audit. Without EVIDENCE_EUTILS_URL the project has no internet here, so PubMed is the
# loopback stand-in (tests/eutils_server.py) serving the same records; set EVIDENCE_EUTILS_URL
# (and NCBI_EMAIL) to audit against NCBI or a mirror instead.
if [ -z "${EVIDENCE_EUTILS_URL:-}" ]; then
  log=$(mktemp)
  .venv/bin/python -m tests.eutils_server "${served[@]}" >"$log" 2>&1 &
  server_pid=$!
  trap 'kill "$server_pid" 2>/dev/null || true; rm -f "$log"' EXIT
  for _ in $(seq 1 120); do
    url=$(sed -n 's/^export EVIDENCE_EUTILS_URL=//p' "$log")
    [ -n "$url" ] && break
    sleep 0.5
  done
  [ -n "$url" ] || { echo "the E-utilities stand-in did not start:"; cat "$log"; exit 1; }
  export EVIDENCE_EUTILS_URL="$url"
fi
NCBI_EMAIL="${NCBI_EMAIL:-demo@example.org}" $evidence audit

# Next: judge the suggested links in the browser (the reviewers' workbench).
echo
echo "Next, review the links in your browser: add an account, start the workbench, open"
echo "http://127.0.0.1:8000/ and log in:"
echo "  $evidence users add alice --role reviewer"
echo "  $evidence serve --host 127.0.0.1 --port 8000"
