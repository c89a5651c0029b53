"""A killed ingest (SIGKILL, mid-file) leaves the database consistent; a rerun completes it."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from evidence.store import db
from tests.conftest import ROOT

N_RECORDS = 40_000


def synthetic_file(path: Path, n: int) -> Path:
    parts = [b'<?xml version="1.0" encoding="utf-8"?>\n<PubmedArticleSet>\n']
    for pmid in range(1, n + 1):
        parts.append(
            f"""<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM">
<PMID Version="1">{pmid}</PMID>
<DateRevised><Year>2020</Year><Month>01</Month><Day>{1 + pmid % 28:02d}</Day></DateRevised>
<Article PubModel="Print"><Journal><JournalIssue><PubDate><Year>{1990 + pmid % 30}</Year>
</PubDate></JournalIssue><Title>Synthetic Journal</Title></Journal>
<ArticleTitle>Synthetic study {pmid} of opioid receptor binding.</ArticleTitle>
<Abstract><AbstractText Label="METHODS" NlmCategory="METHODS">We measured {pmid} samples.
</AbstractText><AbstractText Label="RESULTS" NlmCategory="RESULTS">Binding was observed.
</AbstractText></Abstract>
<AuthorList><Author><LastName>Author{pmid}</LastName><ForeName>A</ForeName><Initials>A</Initials>
</Author><Author><LastName>Second</LastName><Initials>B</Initials></Author></AuthorList>
<Language>eng</Language><PublicationTypeList><PublicationType UI="D016428">Journal Article
</PublicationType></PublicationTypeList></Article>
<MeshHeadingList><MeshHeading><DescriptorName UI="D011957" MajorTopicYN="Y">Receptors, Opioid
</DescriptorName><QualifierName UI="Q000378" MajorTopicYN="N">metabolism</QualifierName>
</MeshHeading></MeshHeadingList></MedlineCitation>
<PubmedData><ArticleIdList><ArticleId IdType="pubmed">{pmid}</ArticleId></ArticleIdList>
</PubmedData></PubmedArticle>
""".encode()
        )
    parts.append(b"</PubmedArticleSet>\n")
    path.write_bytes(gzip.compress(b"".join(parts)))
    return path


def fingerprint(url: str) -> tuple[int, str, int, int]:
    engine = create_engine(db.normalise_url(url))
    with engine.connect() as conn:
        n, hashes = conn.execute(
            text("SELECT count(*), coalesce(sum(length(content_hash)), 0) FROM article")
        ).one()
        joined = "".join(
            row[0] for row in conn.execute(text("SELECT content_hash FROM article ORDER BY pmid"))
        )
        authors = conn.execute(text("SELECT count(*) FROM author")).scalar_one()
        quals = conn.execute(text("SELECT count(*) FROM mesh_qualifier")).scalar_one()
    engine.dispose()
    return int(n), joined, int(authors), int(quals)


def run_status(url: str) -> list[str]:
    engine = create_engine(db.normalise_url(url))
    with engine.connect() as conn:
        rows = [r[0] for r in conn.execute(text("SELECT status FROM ingest_run ORDER BY id"))]
    engine.dispose()
    return rows


def test_kill_mid_ingest_then_rerun(db_url: str, tmp_path: Path) -> None:
    path = synthetic_file(tmp_path / "big.xml.gz", N_RECORDS)
    env = {**os.environ, "EVIDENCE_DATABASE_URL": db_url}
    # Small batches: many writes, so the kill lands between two of them or inside one.
    cmd = [sys.executable, "-m", "evidence", "ingest", "--batch-size", "200", str(path)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while run_status(db_url) != ["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # well into the file (the whole file takes several seconds)
    assert proc.poll() is None, "ingest finished before it could be killed; make the file bigger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    assert fingerprint(db_url)[0] == 0  # the file's transaction never committed
    rerun = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{N_RECORDS} new" in rerun.stdout
    assert run_status(db_url) == ["interrupted", "succeeded"]

    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    clean = subprocess.run(
        cmd, env={**env, "EVIDENCE_DATABASE_URL": clean_url}, cwd=ROOT, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    assert clean.returncode == 0, clean.stderr
    assert fingerprint(db_url) == fingerprint(clean_url)
    assert fingerprint(db_url)[2:] == (2 * N_RECORDS, N_RECORDS)
