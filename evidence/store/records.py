"""Plain, immutable values for one parsed PubMed record: the contract between parsing and store.

`parsing` produces these from XML; `store` writes them; nothing here touches I/O.
Text fields are clean Unicode (inline markup and MathML flattened, whitespace collapsed).
Lists keep document order, because order is meaning in PubMed (first author, section order).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AbstractSection:
    """One `AbstractText`: label and NlmCategory are None for an unstructured abstract."""

    text: str
    label: str | None = None
    category: str | None = None  # BACKGROUND, OBJECTIVE, METHODS, RESULTS, CONCLUSIONS, UNASSIGNED


@dataclass(frozen=True, slots=True)
class Author:
    """A person (last/fore name) or a collective (collective_name set, names None)."""

    last_name: str | None = None
    fore_name: str | None = None
    initials: str | None = None
    collective_name: str | None = None
    affiliation: str | None = None  # the first affiliation, the one PubMed displays
    orcid: str | None = None


@dataclass(frozen=True, slots=True)
class MeshQualifier:
    name: str
    ui: str | None = None
    major: bool = False


@dataclass(frozen=True, slots=True)
class MeshHeading:
    descriptor: str
    ui: str | None = None
    major: bool = False  # the descriptor's own MajorTopicYN
    qualifiers: tuple[MeshQualifier, ...] = ()


@dataclass(frozen=True, slots=True)
class PublicationType:
    name: str
    ui: str | None = None


@dataclass(frozen=True, slots=True)
class Keyword:
    text: str
    major: bool = False
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class CommentCorrection:
    """A `CommentsCorrections` entry: RetractionIn, ErratumIn, ExpressionOfConcernIn ..."""

    ref_type: str
    ref_source: str | None = None
    pmid: int | None = None  # optional in the DTD: some entries carry only RefSource


@dataclass(frozen=True, slots=True)
class PubDate:
    """A publication date: the raw text as printed and the best normalised date we can derive.

    `date` is the first day the raw value can mean (Season -> first month of the season,
    MedlineDate "1998 Dec-1999 Jan" -> 1998-12-01); `precision` says how much of it is real.
    """

    raw: str
    date: dt.date | None
    year: int | None
    precision: str  # "day" | "month" | "season" | "year" | "unknown"


@dataclass(frozen=True, slots=True)
class ParsedArticle:
    """One `PubmedArticle` (or `PubmedBookArticle`, or pre-2017 `MedlineCitation`)."""

    pmid: int
    version: int = 1
    record_type: str = "article"  # "article" | "book"
    status: str | None = None  # MedlineCitation/@Status: MEDLINE, In-Process ...
    date_revised: dt.date | None = None
    date_completed: dt.date | None = None
    date_created: dt.date | None = None  # pre-2017 DateCreated
    title: str = ""
    vernacular_title: str | None = None
    abstract: str = ""  # all sections joined with a blank line; "LABEL: text" when labelled
    sections: tuple[AbstractSection, ...] = ()
    journal_title: str | None = None
    journal_iso: str | None = None
    issn: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    pub_date: PubDate | None = None
    article_date: dt.date | None = None  # ArticleDate (electronic publication)
    entrez_date: dt.date | None = None  # History/PubMedPubDate[@PubStatus="entrez"]: EDAT
    doi: str | None = None
    pmcid: str | None = None
    pii: str | None = None
    languages: tuple[str, ...] = ()
    authors: tuple[Author, ...] = ()
    publication_types: tuple[PublicationType, ...] = ()
    mesh_headings: tuple[MeshHeading, ...] = ()
    keywords: tuple[Keyword, ...] = ()
    comments_corrections: tuple[CommentCorrection, ...] = ()
    publication_status: str | None = None  # PubmedData/PublicationStatus: ppublish, epublish ...
    history: tuple[tuple[str, dt.date], ...] = field(default=())  # (PubStatus, date) pairs


@dataclass(frozen=True, slots=True)
class Deletion:
    """A `DeleteCitation` block: these PMIDs are withdrawn from PubMed."""

    pmids: tuple[int, ...]


#: What the streaming parser yields, in document order.
Record = ParsedArticle | Deletion
