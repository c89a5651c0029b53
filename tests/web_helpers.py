"""Shared set-up for the workbench tests: a reviewed-ready database, users, a logged-in client.

The database (both engines): the audit fixture records plus a record whose title and abstract
carry a `<script>` element, the shipped kratom catalog, `evidence link` (three links to the
case report 90000002), two extra links to the hostile record, `evidence grade`; users alice and
bob (reviewers), carol (adjudicator) and root (admin), added through `evidence users add
--password-stdin`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from evidence.cli import cli
from tests.claims_helpers import CATALOG
from tests.conftest import FIXTURES, Invoker, query
from tests.test_grading import insert_links
from tests.test_report import SCRIPT_PMID, hostile_records

RECORDS = FIXTURES / "audit" / "records.xml"
SECRET = "test-secret-" + "x" * 40
PASSWORDS = {"alice": "alice-pass-1", "bob": "bob-pass-22", "carol": "carol-pass-333",
             "root": "root-pass-4444"}  # fmt: skip
ROLES = {"alice": "reviewer", "bob": "reviewer", "carol": "adjudicator", "root": "admin"}
SCRIPT_CLAIM = "opioid-withdrawal-relief"


@dataclass
class Bench:
    url: str
    links: dict[str, int]  # claim id -> its (first) link id


def build_bench(evidence: Invoker, tmp_path: Path) -> Bench:
    assert evidence("ingest", str(RECORDS)).exit_code == 0
    assert evidence("ingest", str(hostile_records(tmp_path / "hostile.xml"))).exit_code == 0
    assert evidence("claims", "load", str(CATALOG)).exit_code == 0
    result = evidence("link")
    assert result.exit_code == 0, result.output
    insert_links(evidence.url, [(SCRIPT_CLAIM, SCRIPT_PMID, "supports")])
    assert evidence("grade").exit_code == 0
    for name, role in ROLES.items():
        out = CliRunner().invoke(
            cli,
            ["--database-url", evidence.url, "users", "add", name, "--role", role,
             "--password-stdin"],
            input=PASSWORDS[name] + "\n",
        )  # fmt: skip
        assert out.exit_code == 0, out.output
        assert out.output == f"user {name} ({role}) added\n"
    rows = query(evidence.url, "SELECT claim_id, min(id) FROM evidence_link GROUP BY claim_id")
    return Bench(evidence.url, {str(c): int(i) for c, i in rows})


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)
