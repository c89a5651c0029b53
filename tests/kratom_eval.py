"""The kratom evaluation corpus (`tests/fixtures/kratom_eval/`) as PubMed XML, with its labels.

`studies.jsonl` holds 60 real study records gathered from public pages (PROVENANCE.md says how);
`labels.toml` holds an expected verdict for each claim of `catalogs/kratom.toml` and the stance
of each relevant (claim, study) pair. This module turns the records into a PubmedArticleSet that
the normal ingest path parses (the bench serves it through the loopback E-utilities server) and
maps record ids back to study keys.

Ids: a study keeps its PMID when the page read showed one. The others get local ids from
`LOCAL_ID_BASE + 1` up, in `study_key` order, so that an id never changes while the set of
PMID-less studies stays the same. Those ids are far above any PMID NCBI has issued (about
40 million in 2026), so they can never collide with a real record.

The records are real studies, so they do not carry the synthetic-fixture keyword list
(`evidence.provenance`); what marks them as not PubMed's is the endpoint they came from (a
loopback stand-in), which every report names.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

__all__ = [
    "CATALOG",
    "EVAL_DIR",
    "LABELS",
    "LOCAL_ID_BASE",
    "STUDIES",
    "Labels",
    "Study",
    "article_set_xml",
    "catalog_claim_ids",
    "assign_ids",
    "check_labels",
    "load_labels",
    "load_studies",
]

ROOT = Path(__file__).resolve().parents[1]
EVAL_DIR = ROOT / "tests" / "fixtures" / "kratom_eval"
STUDIES = EVAL_DIR / "studies.jsonl"
LABELS = EVAL_DIR / "labels.toml"
CATALOG = ROOT / "catalogs" / "kratom.toml"
LOCAL_ID_BASE = 990_000_000
VERDICTS = ("supported", "contradicted", "contested", "insufficient")
STANCES = ("supports", "contradicts", "neutral")

_DOCTYPE = (
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">'
)


@dataclass(frozen=True)
class Study:
    key: str
    pmid: int | None  # as recorded (None: the pages showed no PMID)
    record: dict[str, Any]  # the studies.jsonl line


@dataclass(frozen=True)
class StanceLabel:
    claim: str
    study_key: str
    stance: str
    reason: str


@dataclass(frozen=True)
class Labels:
    verdicts: dict[str, tuple[str, str]]  # claim id -> (expected verdict, reason)
    stances: tuple[StanceLabel, ...]

    def pairs(self) -> dict[tuple[str, str], str]:
        """(claim, study_key) -> expected stance."""
        return {(s.claim, s.study_key): s.stance for s in self.stances}


def load_studies(path: Path = STUDIES) -> list[Study]:
    studies = []
    for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        key = record.get("study_key")
        if not isinstance(key, str) or not key:
            raise ValueError(f"{path.name}:{n}: a study without a study_key")
        pmid = record.get("pmid")
        studies.append(Study(key, int(pmid) if pmid is not None else None, record))
    return studies


def assign_ids(studies: Sequence[Study]) -> dict[str, int]:
    """study_key -> the id it is served under (its PMID, else a stable local id)."""
    ids = {s.key: s.pmid for s in studies if s.pmid is not None}
    local = sorted(s.key for s in studies if s.pmid is None)
    ids.update({key: LOCAL_ID_BASE + n for n, key in enumerate(local, 1)})
    return ids


def load_labels(path: Path = LABELS) -> Labels:
    data = tomllib.loads(path.read_text("utf-8"))
    verdicts = {
        cid: (str(entry["expected"]), str(entry.get("reason", "")))
        for cid, entry in data.get("claim", {}).items()
    }
    stances = tuple(
        StanceLabel(str(s["claim"]), str(s["study_key"]), str(s["stance"]), str(s.get("reason")))
        for s in data.get("stance", [])
    )
    return Labels(verdicts, stances)


def catalog_claim_ids(path: Path = CATALOG) -> list[str]:
    return [str(c["id"]) for c in tomllib.loads(path.read_text("utf-8"))["claim"]]


def check_labels(labels: Labels, studies: Sequence[Study], claim_ids: Iterable[str]) -> list[str]:
    """Problems that make the labels unusable for the bench (empty when consistent)."""
    problems = []
    claims = list(claim_ids)
    by_key = {s.key: s for s in studies}
    if len(by_key) != len(studies):
        dupes = [k for k, n in Counter(s.key for s in studies).items() if n > 1]
        problems.append(f"duplicate study_key(s): {', '.join(dupes)}")
    if sorted(labels.verdicts) != sorted(claims):
        missing = sorted(set(claims) - set(labels.verdicts))
        extra = sorted(set(labels.verdicts) - set(claims))
        problems.append(f"verdict labels differ from the catalog: missing {missing}, extra {extra}")
    for cid, (verdict, _) in labels.verdicts.items():
        if verdict not in VERDICTS:
            problems.append(f"claim {cid}: unknown verdict {verdict!r}")
    seen: set[tuple[str, str]] = set()
    for s in labels.stances:
        if s.claim not in claims:
            problems.append(f"stance for unknown claim {s.claim!r}")
        if s.study_key not in by_key:
            problems.append(f"stance for unknown study {s.study_key!r}")
        if s.stance not in STANCES:
            problems.append(f"{s.claim}/{s.study_key}: unknown stance {s.stance!r}")
        if (s.claim, s.study_key) in seen:
            problems.append(f"{s.claim}/{s.study_key}: labelled twice")
        seen.add((s.claim, s.study_key))
    return problems


# --- PubMed XML ------------------------------------------------------------------------------


def _date(tag: str, year: int, attrs: str = "") -> str:
    return f"<{tag}{attrs}><Year>{year:04d}</Year><Month>01</Month><Day>01</Day></{tag}>"


def _author(name: str) -> str:
    """ "Last FM" -> LastName + Initials (a multi-word last name keeps its words)."""
    last, _, initials = name.rpartition(" ")
    if not last or not initials.isupper() or len(initials) > 4:
        last, initials = name, ""
    parts = [f"<LastName>{escape(last)}</LastName>"]
    if initials:
        parts.append(f"<Initials>{escape(initials)}</Initials>")
    return '<Author ValidYN="Y">' + "".join(parts) + "</Author>"


def article_xml(study: Study, pmid: int) -> str:
    """One <PubmedArticle> in the DTD's element order, from a studies.jsonl record."""
    r = study.record
    year = int(r["year"])
    journal = str(r.get("journal") or "Unknown journal")
    parts = [
        '<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM">',
        f'<PMID Version="1">{pmid}</PMID>',
        _date("DateRevised", year),
        '<Article PubModel="Print"><Journal>',
        '<JournalIssue CitedMedium="Internet">',
        f"<PubDate><Year>{year:04d}</Year></PubDate></JournalIssue>",
        f"<Title>{escape(journal)}</Title></Journal>",
        f"<ArticleTitle>{escape(str(r['title']))}</ArticleTitle>",
    ]
    if r.get("doi"):
        parts.append(f'<ELocationID EIdType="doi" ValidYN="Y">{escape(r["doi"])}</ELocationID>')
    sections = [s for s in r.get("abstract_sections", []) if s.get("text")]
    if sections:
        parts.append("<Abstract>")
        for s in sections:
            label = f" Label={quoteattr(str(s['label']))}" if s.get("label") else ""
            parts.append(f"<AbstractText{label}>{escape(str(s['text']))}</AbstractText>")
        parts.append("</Abstract>")
    authors = r.get("authors") or []
    if authors:
        complete = "N" if r.get("authors_et_al") else "Y"
        parts.append(f'<AuthorList CompleteYN="{complete}">')
        parts += [_author(str(a)) for a in authors]
        parts.append("</AuthorList>")
    parts.append(f"<Language>{escape(str(r.get('language') or 'eng'))}</Language>")
    parts.append("<PublicationTypeList>")
    parts += [
        f'<PublicationType UI="D000000">{escape(str(t))}</PublicationType>'
        for t in r.get("publication_types") or ["Journal Article"]
    ]
    parts.append("</PublicationTypeList></Article>")
    parts.append(
        "<MedlineJournalInfo><Country>United States</Country>"
        f"<MedlineTA>{escape(journal)}</MedlineTA><NlmUniqueID>000000000</NlmUniqueID>"
        "</MedlineJournalInfo>"
    )
    mesh = r.get("mesh") or []
    if mesh:
        parts.append("<MeshHeadingList>")
        parts += [
            '<MeshHeading><DescriptorName UI="D000000" MajorTopicYN="N">'
            f"{escape(str(m))}</DescriptorName></MeshHeading>"
            for m in mesh
        ]
        parts.append("</MeshHeadingList>")
    parts.append("</MedlineCitation><PubmedData><History>")
    parts += [_date("PubMedPubDate", year, f' PubStatus="{s}"') for s in ("entrez", "pubmed")]
    parts.append("</History><PublicationStatus>ppublish</PublicationStatus><ArticleIdList>")
    parts.append(f'<ArticleId IdType="pubmed">{pmid}</ArticleId>')
    if r.get("doi"):
        parts.append(f'<ArticleId IdType="doi">{escape(r["doi"])}</ArticleId>')
    if r.get("pmcid"):
        parts.append(f'<ArticleId IdType="pmc">{escape(r["pmcid"])}</ArticleId>')
    parts.append("</ArticleIdList></PubmedData></PubmedArticle>")
    return "".join(parts)


def article_set_xml(studies: Sequence[Study], ids: dict[str, int] | None = None) -> bytes:
    """The studies as one PubmedArticleSet document (UTF-8 bytes)."""
    ids = ids or assign_ids(studies)
    body = "\n".join(article_xml(s, ids[s.key]) for s in studies)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{_DOCTYPE}\n<PubmedArticleSet>\n{body}\n'
        "</PubmedArticleSet>\n"
    ).encode()
