"""A claim's evidence for reference managers: RIS (Zotero, EndNote) and BibTeX.

One record per article whose stance counts for the claim (the `links.counts` rows), rejected
ones left out: they are not evidence. The stance, who decided it, the study's grade, design,
population, size and retraction state go in the notes (RIS `N1`, BibTeX `annote`; Zotero
makes both a child note, EndNote reads `N1` into Notes) and as keywords (`KW`, `keywords`:
tags in Zotero), so a library can be filtered by stance and grade.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from evidence.outputs.export.dictionary import SPECS
from evidence.outputs.export.tables import collect
from evidence.store.db import batched

__all__ = ["Citation", "bibtex", "citations", "ris"]

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


@dataclass(frozen=True)
class Citation:
    pmid: int
    book: bool
    title: str
    authors: tuple[str, ...]  # "Last, Fore" or a group's name
    journal: str | None
    journal_iso: str | None
    year: int | None
    pub_date: dt.date | None
    volume: str | None
    issue: str | None
    pages: str | None
    doi: str | None
    claim_id: str
    stance: str
    origin: str  # suggested | reviewer
    reviewer: str | None
    rationale: str | None
    design: str | None
    population: str | None
    sample_size: int | None
    status: str | None
    grade: str | None

    def note(self) -> str:
        """The evidence note: claim, stance and who says so, the appraisal, the rationale."""
        by = f"reviewer {self.reviewer}" if self.origin == "reviewer" else "suggested by linker"
        n = f"n={self.sample_size}" if self.sample_size is not None else "n unknown"
        parts = [
            f"Evidence for claim {self.claim_id}: stance {self.stance} ({by})",
            f"grade {self.grade or 'ungraded'}; design {self.design or 'unappraised'}; "
            f"population {self.population or 'unknown'}; {n}; status {self.status or 'unknown'}",
        ]
        if self.rationale:
            parts.append(f"rationale: {self.rationale}")
        return ". ".join(parts)

    def keywords(self) -> list[str]:
        return [f"stance: {self.stance}", f"grade: {self.grade or 'ungraded'}"]


def _value(value: object) -> object:
    return None if value is None or value is pd.NA or value is pd.NaT else value


def _text(value: object) -> str | None:
    value = _value(value)
    return None if value is None else str(value)


def _int(value: object) -> int | None:
    value = _value(value)
    return None if value is None else int(str(value))


def citations(conn: Connection, claim: str, *, as_of: dt.datetime | None = None) -> list[Citation]:
    """The claim's evidence as citations, by PMID (the caller checked the claim exists)."""
    links = collect(conn, SPECS["links"], as_of=as_of, claim=claim)
    links = links[links["counts"].fillna(False) & (links["stance"] != "rejected")]
    studies = collect(conn, SPECS["studies"], as_of=as_of, claim=claim).set_index("pmid")
    pmids = sorted(int(p) for p in links["pmid"])
    authors, books = _authors_and_types(conn, pmids)
    out = []
    for link in links.to_dict("records"):
        pmid = int(link["pmid"])
        study = studies.loc[pmid]
        pub_date = study["pub_date"]
        out.append(
            Citation(
                pmid=pmid,
                book=pmid in books,
                title=str(_value(study["title"]) or ""),
                authors=tuple(authors.get(pmid, [])),
                journal=_text(study["journal"]),
                journal_iso=_text(study["journal_iso"]),
                year=_int(study["year"]),
                pub_date=pub_date.date() if isinstance(pub_date, pd.Timestamp) else None,
                volume=_text(study["volume"]),
                issue=_text(study["issue"]),
                pages=_text(study["pages"]),
                doi=_text(study["doi"]),
                claim_id=claim,
                stance=str(link["stance"]),
                origin=str(link["origin"]),
                reviewer=_text(link["reviewer"]),
                rationale=_text(link["rationale"]),
                design=_text(study["design"]),
                population=_text(study["population"]),
                sample_size=_int(study["sample_size"]),
                status=_text(study["status"]),
                grade=_text(study["grade"]),
            )
        )
    return sorted(out, key=lambda c: c.pmid)


def _authors_and_types(
    conn: Connection, pmids: Sequence[int]
) -> tuple[dict[int, list[str]], set[int]]:
    authors: dict[int, list[str]] = {}
    books: set[int] = set()
    for chunk in batched(list(pmids)):
        params = {"p": list(chunk)}
        rows = conn.execute(
            text(
                "SELECT pmid, last_name, fore_name, initials, collective_name FROM author "
                "WHERE pmid IN :p ORDER BY pmid, position"
            ).bindparams(bindparam("p", expanding=True)),
            params,
        )
        for pmid, last, fore, initials, group in rows:
            name = group or ", ".join(p for p in (last, fore or initials) if p)
            if name:
                authors.setdefault(int(pmid), []).append(str(name))
        rows = conn.execute(
            text("SELECT pmid FROM article WHERE pmid IN :p AND record_type = 'book'").bindparams(
                bindparam("p", expanding=True)
            ),
            params,
        )
        books.update(int(p) for (p,) in rows)
    return authors, books


# --- RIS ------------------------------------------------------------------------------------------


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _page_range(pages: str) -> tuple[str, str | None]:
    """MEDLINE abbreviates the last page ("123-9" is 123 to 129); reference managers don't."""
    first, sep, last = pages.partition("-")
    first, last = first.strip(), last.strip()
    if not sep or not last:
        return first, None
    if first.isdigit() and last.isdigit() and len(last) < len(first):
        last = first[: len(first) - len(last)] + last
    return first, last


def ris(records: Iterable[Citation]) -> str:
    """RIS text (CRLF line ends, as the format's specification has them)."""
    lines: list[str] = []

    def tag(name: str, value: object) -> None:
        if value is not None and str(value).strip():
            lines.append(f"{name}  - {_one_line(str(value))}")

    for c in records:
        tag("TY", "BOOK" if c.book else "JOUR")
        tag("TI", c.title)
        for author in c.authors:
            tag("AU", author)
        tag("T2", c.journal)
        tag("J2", c.journal_iso)
        tag("PY", c.year)
        if c.pub_date is not None:
            tag("DA", c.pub_date.strftime("%Y/%m/%d/"))
        tag("VL", c.volume)
        tag("IS", c.issue)
        if c.pages:
            first, last = _page_range(c.pages)
            tag("SP", first)
            tag("EP", last)
        tag("DO", c.doi)
        tag("AN", c.pmid)
        tag("DB", "PubMed")
        tag("UR", PUBMED_URL.format(pmid=c.pmid))
        for keyword in c.keywords():
            tag("KW", keyword)
        tag("N1", c.note())
        lines.append("ER  - ")
        lines.append("")
    return "\r\n".join(lines) + ("\r\n" if lines else "")


# --- BibTeX -------------------------------------------------------------------------------------

_LATEX = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX))
#: Fields that BibTeX tools read verbatim: escaping would change them.
_VERBATIM = frozenset({"doi", "url"})


def _latex(value: str) -> str:
    """Escaped so that braces stay balanced and TeX's specials print as themselves."""
    return _LATEX_RE.sub(lambda m: _LATEX[m.group(0)], _one_line(value))


def _verbatim(value: str) -> str:
    return _one_line(value).replace("{", "").replace("}", "")  # braces would end the field


def bibtex(records: Iterable[Citation]) -> str:
    """BibTeX entries keyed `pmidNNN` (UTF-8; Zotero and biber read it as is)."""
    entries = []
    for c in records:
        fields: list[tuple[str, str | None]] = [
            ("author", " and ".join(c.authors) or None),
            ("title", c.title),
            ("booktitle" if c.book else "journal", c.journal),
            ("year", str(c.year) if c.year is not None else None),
            ("volume", c.volume),
            ("number", c.issue),
            ("pages", "--".join(p for p in _page_range(c.pages) if p) if c.pages else None),
            ("doi", c.doi),
            ("pmid", str(c.pmid)),
            ("url", PUBMED_URL.format(pmid=c.pmid)),
            ("keywords", ", ".join(c.keywords())),
            ("annote", c.note()),
        ]
        body = ",\n".join(
            f"  {name} = {{{_verbatim(value) if name in _VERBATIM else _latex(value)}}}"
            for name, value in fields
            if value
        )
        kind = "book" if c.book else "article"
        entries.append(f"@{kind}{{pmid{c.pmid},\n{body}\n}}\n")
    return "\n".join(entries)
