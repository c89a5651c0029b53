"""Where the stored evidence came from, so that no output dresses test data as PubMed studies.

Two things make a report's evidence something other than PubMed's:
- **A non-NCBI E-utilities endpoint.** Each search records the base URL it used
  (`ingest_run.endpoint`); a mirror or a local stand-in may serve anything under real-looking
  PMIDs, so reports say which endpoints other than NCBI's were used.
- **Synthetic records.** The project's own test fixtures are invented records. Each one carries
  a keyword list owned by `FIXTURE_OWNER` (a name PubMed never uses), which the parser stores
  like any other keyword list; reports show a banner and no PubMed or DOI links for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

__all__ = ["FIXTURE_OWNER", "NCBI_ENDPOINT", "Provenance", "read_provenance"]

#: The keyword-list owner that marks a record as one of the project's synthetic fixtures.
FIXTURE_OWNER = "EVIDENCE-FIXTURE"
NCBI_ENDPOINT = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"


@dataclass(frozen=True)
class Provenance:
    endpoints: tuple[str, ...]  # E-utilities endpoints other than NCBI's that searches used
    synthetic: frozenset[int]  # PMIDs of the project's synthetic fixture records

    @property
    def warnings(self) -> list[str]:
        """Plain sentences for a banner or a terminal, one per concern."""
        out = []
        if self.synthetic:
            out.append(
                f"{len(self.synthetic)} record(s) here are the project's synthetic test "
                "fixtures, not PubMed studies: their PMIDs, journals and findings are invented."
            )
        if self.endpoints:
            out.append(
                "Evidence was fetched from E-utilities other than NCBI's ("
                + ", ".join(self.endpoints)
                + "): a mirror or a local stand-in, not PubMed itself."
            )
        return out


def read_provenance(conn: Connection) -> Provenance:
    endpoints = tuple(
        str(e)
        for (e,) in conn.execute(
            text(
                "SELECT DISTINCT endpoint FROM ingest_run WHERE endpoint IS NOT NULL "
                "AND endpoint <> :ncbi ORDER BY endpoint"
            ),
            {"ncbi": NCBI_ENDPOINT},
        )
    )
    synthetic = frozenset(
        int(p)
        for (p,) in conn.execute(
            text("SELECT DISTINCT pmid FROM keyword WHERE owner = :o"), {"o": FIXTURE_OWNER}
        )
    )
    return Provenance(endpoints, synthetic)
