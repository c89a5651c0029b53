"""The curated public API: `evidence.__all__` is pinned, and every name resolves."""

from __future__ import annotations

import subprocess
import sys

import evidence

PINNED = [
    "__version__",
    "Settings",
    "EvidenceError",
    "ConfigError",
    "DatabaseError",
    "InputError",
    "NotFound",
    "PubMedError",
    "make_engine",
    "connect",
    "upgrade",
    "PubMedClient",
    "iter_records",
    "add_document",
    "parse_catalog",
    "parse_claim_file",
    "save_claims",
    "list_claims",
    "get_claim",
    "link_claim",
    "appraise",
    "assess",
    "assess_claim",
    "grade_claims",
    "ingest_file",
    "ingest_search",
    "run_audit",
    "refresh",
    "decide_and_regrade",
    "override_and_regrade",
    "collect_report",
    "write_report",
    "Stance",
    "Verdict",
    "Certainty",
    "ClaimType",
    "Design",
    "Role",
]


def test_all_is_pinned() -> None:
    # A change here is a change of the public API: say so in the README and the changelog.
    assert evidence.__all__ == PINNED


def test_every_name_resolves() -> None:
    for name in evidence.__all__:
        assert getattr(evidence, name) is not None, name


def test_importing_the_package_imports_no_stage() -> None:
    code = "import sys, evidence; print(sorted(m for m in sys.modules if m.startswith('evidence')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['evidence']"


def test_every_public_name_has_a_home() -> None:
    assert set(evidence.__all__) == {"__version__", *evidence._API}
