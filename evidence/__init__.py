"""evidence: an evidence-tracking literature database over PubMed.

The public API is `__all__` below (pinned by tests/test_public_api.py); each name is imported on
first use, so `import evidence` (and `evidence --version`) stays fast and importing any one
module never drags in the rest. The flow, stage by stage (README "Layout")::

    claims (documents, catalog) -> pubmed (search, fetch, parse) -> store
      -> linking (retrieval, stance) -> grading (reviews, appraisal, certainty, verdicts)
      -> outputs (report, export);  jobs run these as workflows; cli parses and prints.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it
_API = {
    # settings and errors
    "Settings": "evidence.config",
    "EvidenceError": "evidence.errors",
    "ConfigError": "evidence.errors",
    "DatabaseError": "evidence.errors",
    "InputError": "evidence.errors",
    "NotFound": "evidence.errors",
    "PubMedError": "evidence.errors",
    # the store
    "make_engine": "evidence.store.db",
    "connect": "evidence.store.db",
    "upgrade": "evidence.store.db",
    # PubMed
    "PubMedClient": "evidence.pubmed.client",
    "iter_records": "evidence.pubmed.parsing",
    # claims
    "add_document": "evidence.claims.documents",
    "parse_catalog": "evidence.claims.catalog",
    "parse_claim_file": "evidence.claims.catalog",
    "save_claims": "evidence.claims.catalog",
    "list_claims": "evidence.claims.catalog",
    "get_claim": "evidence.claims.catalog",
    # linking and grading
    "link_claim": "evidence.linking.suggestions",
    "appraise": "evidence.grading.appraisal",
    "assess": "evidence.grading.certainty",
    "assess_claim": "evidence.grading.grades",
    "grade_claims": "evidence.grading.grades",
    # workflows
    "ingest_file": "evidence.jobs.ingest",
    "ingest_search": "evidence.jobs.ingest",
    "run_audit": "evidence.jobs.audit",
    "refresh": "evidence.jobs.refresh",
    "decide_and_regrade": "evidence.jobs.review",
    "override_and_regrade": "evidence.jobs.review",
    # outputs
    "collect_report": "evidence.outputs.report:collect",
    "write_report": "evidence.outputs.report:write_site",
    # vocabularies
    "Stance": "evidence.vocab",
    "Verdict": "evidence.vocab",
    "Certainty": "evidence.vocab",
    "ClaimType": "evidence.vocab",
    "Design": "evidence.vocab",
    "Role": "evidence.vocab",
}

__all__ = [
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

if TYPE_CHECKING:
    from evidence.claims.catalog import (
        get_claim,
        list_claims,
        parse_catalog,
        parse_claim_file,
        save_claims,
    )
    from evidence.claims.documents import add_document
    from evidence.config import Settings
    from evidence.errors import (
        ConfigError,
        DatabaseError,
        EvidenceError,
        InputError,
        NotFound,
        PubMedError,
    )
    from evidence.grading.appraisal import appraise
    from evidence.grading.certainty import assess
    from evidence.grading.grades import assess_claim, grade_claims
    from evidence.jobs.audit import run_audit
    from evidence.jobs.ingest import ingest_file, ingest_search
    from evidence.jobs.refresh import refresh
    from evidence.jobs.review import decide_and_regrade, override_and_regrade
    from evidence.linking.suggestions import link_claim
    from evidence.outputs.report import collect as collect_report
    from evidence.outputs.report import write_site as write_report
    from evidence.pubmed.client import PubMedClient
    from evidence.pubmed.parsing import iter_records
    from evidence.store.db import connect, make_engine, upgrade
    from evidence.vocab import Certainty, ClaimType, Design, Role, Stance, Verdict


def __getattr__(name: str) -> Any:
    where = _API.get(name)
    if where is None:
        raise AttributeError(f"module 'evidence' has no attribute {name!r}")
    module, _, attr = where.partition(":")
    value = getattr(importlib.import_module(module), attr or name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
