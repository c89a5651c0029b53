#!/usr/bin/env bash
# The main job, as `make demo` runs it: create the database, ingest PubMed files, load the
# kratom claim catalog, summarise. (It becomes `evidence audit` as linking and grading land.)
# Uses the embedded SQLite default (EVIDENCE_HOME, else the user data directory) unless
# EVIDENCE_DATABASE_URL says otherwise. Reads real PubMed files from ../shared when present,
# else the project's own small fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
evidence=.venv/bin/evidence
shared=../shared/data/pubmed

files=()
if [ -f "$shared/updatefiles/pubmed21n1298.xml.gz" ]; then
  files+=("$shared/updatefiles/pubmed21n1298.xml.gz")
else
  echo "(../shared/data not found: ingesting the project's fixtures instead)"
  files+=(tests/fixtures/ingest/batch1.xml tests/fixtures/ingest/batch2_update.xml)
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
