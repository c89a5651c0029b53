"""A stand-in for NCBI's E-utilities (esearch, efetch, epost) over real HTTP on loopback.

Tests point the client at ``server.base_url`` (``EVIDENCE_EUTILS_URL``) and get what NCBI would
send: eSearchResult / ePostResult / PubmedArticleSet documents in NCBI's shapes, the history
server (WebEnv + query_key), the 10,000 cap of PubMed's esearch, HTTP 429 with NCBI's JSON body
when a client sends more than 3 requests in any second (10 with an ``api_key``), and faults on
demand: 429, 5xx, bodies cut mid-stream (with or without Content-Length), transient ``<ERROR>``
bodies, expired WebEnvs, connection resets and stalls.  Every request is logged (with
``api_key`` redacted) so tests can assert on rate, counts and the exact PMIDs served.

Usage::

    with EUtilsServer() as server:
        server.add_records(Path("pubmed_sample.xml.gz"))     # or bytes, or add_record(...)
        server.faults.queue("efetch", "cut")
        client = PubMedClient(email="t@example.org", base_url=server.base_url, ...)
        ...
        assert server.max_requests_in_window(1.0) <= 3

Standalone, for demos: ``python -m tests.eutils_server --xml FILE [--port N]``.

Search semantics (a subset of PubMed's, enough for tests): boolean AND / OR / NOT (upper case,
evaluated left to right as PubMed does), parentheses, quoted phrases, trailing ``*`` wildcards,
implicit AND between terms, field tags ``[ti] [ab] [tiab] [mh] [majr] [pt] [ot] [ta] [au] [all]``,
``[pmid]``/``[uid]`` (``123[uid]`` is that one record) and date tags ``[dp] [edat] [mdat]``
(``2020[dp]``, ``2020/01:2020/06[edat]``).  Matching is case-insensitive on word boundaries;
unknown tags search all fields.  No automatic term mapping or MeSH explosion.  Results are
sorted by PMID, descending (PubMed: most recent first).
"""

from __future__ import annotations

import argparse
import bisect
import calendar
import gzip
import io
import json
import os
import random
import re
import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from lxml import etree

__all__ = [
    "EUtilsServer",
    "Fault",
    "Faults",
    "QuerySyntaxError",
    "RequestRecord",
    "make_article_xml",
    "parse_query",
    "pmids_in",
]

PUBMED_DOCTYPE = (
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">'
)
_EFETCH_HEAD = b'<?xml version="1.0" ?>\n' + PUBMED_DOCTYPE.encode() + b"\n<PubmedArticleSet>\n"
_EFETCH_TAIL = b"</PubmedArticleSet>\n"
_ESEARCH_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n'
    '<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
)
_EPOST_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n'
    '<!DOCTYPE ePostResult PUBLIC "-//NLM//DTD epost 20090526//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20090526/epost.dtd">'
)
_EFETCH_ERROR_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n'
    '<!DOCTYPE eEfetchResult PUBLIC "-//NLM//DTD efetch 20131226//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20131226/efetch.dtd">\n'
)

#: PubMed's esearch cap: ``retstart`` above 9998 is an error and the ids it can return stop at
#: 9,999 (biopython #4189, #4353; pubmed-mcp-server #95 quotes the current wording).
MAX_RETSTART = 9998
IDLIST_CAP = 9999
RETSTART_ERROR = (
    "'retstart' cannot be larger than 9998. For PubMed, ESearch can only retrieve the first "
    "9,999 records matching the query. To obtain more than 9,999 PubMed records, consider using "
    "EDirect that contains additional logic to batch PubMed search results automatically so "
    "that an arbitrary number can be retrieved. For details see "
    "https://www.ncbi.nlm.nih.gov/books/NBK25499/"
)
#: A transient backend error as NCBI sent it during the July 2025 outage (biopython #5025).
TRANSIENT_ERROR = "Search Backend failed: Database is not supported: pubmed"
UTILS = ("esearch", "efetch", "epost")
DATETYPES = ("edat", "mdat", "pdat")
_DATETYPE_LABEL = {
    "edat": "Date - Entry",
    "mdat": "Date - Modification",
    "pdat": "Date - Publication",
}
_MAX_UID = 18446744073709551615


# --------------------------------------------------------------------------------------------
# Synthesising records


_PUB_TYPE_UI = {
    "Journal Article": "D016428",
    "Review": "D016454",
    "Systematic Review": "D000078182",
    "Meta-Analysis": "D017418",
    "Randomized Controlled Trial": "D016449",
    "Clinical Trial": "D016430",
    "Observational Study": "D064888",
    "Case Reports": "D002363",
    "Letter": "D016422",
    "Editorial": "D016421",
    "Comment": "D016420",
    "Published Erratum": "D016425",
    "Retracted Publication": "D016441",
    "Retraction of Publication": "D016440",
}


def _as_date(value: date | str) -> date:
    if isinstance(value, date):
        return value
    parsed = _parse_date(value, end=False)
    if parsed is None:
        raise ValueError(f"not a date: {value!r}")
    return parsed


def _date_xml(tag: str, day: date, attrs: str = "", *, time_of_day: bool = False) -> str:
    extra = "<Hour>6</Hour><Minute>0</Minute>" if time_of_day else ""
    return (
        f"<{tag}{attrs}><Year>{day.year:04d}</Year><Month>{day.month:02d}</Month>"
        f"<Day>{day.day:02d}</Day>{extra}</{tag}>"
    )


#: The keyword list that marks one of the project's invented records (`evidence.provenance`).
FIXTURE_KEYWORDS = (
    '<KeywordList Owner="EVIDENCE-FIXTURE"><Keyword MajorTopicYN="N">synthetic test record'
    "</Keyword></KeywordList>"
)


def make_article_xml(
    pmid: int,
    title: str,
    abstract: str | None,
    *,
    year: int,
    edat: date | str,
    mdat: date | str,
    mesh: Iterable[str | tuple[str, bool]] = (),
    pub_types: Iterable[str] = ("Journal Article",),
    version: int = 1,
    comments: Iterable[tuple[str, int] | tuple[str, int | None, str]] = (),
    keywords: Iterable[str] = (),
    journal: str = "Journal of Synthetic Evidence",
    status: str = "MEDLINE",
    synthetic: bool = True,
) -> bytes:
    """One ``<PubmedArticle>`` element (bytes) in the DTD's element order.

    ``mesh`` items are descriptor names or ``(name, major)``; ``comments`` items are
    ``(RefType, pmid)`` or ``(RefType, pmid_or_None, RefSource)``, e.g. ``("RetractionIn", 42)``.
    Text is escaped; pass plain text.  ``edat``/``mdat`` become the History ``entrez`` date and
    ``DateRevised``; ``year`` the journal issue's PubDate.  ``synthetic`` adds the keyword list
    that marks an invented record (`evidence.provenance.FIXTURE_OWNER`), so no report shows it
    as a PubMed study.
    """
    entrez = _as_date(edat)
    revised = _as_date(mdat)
    parts = [
        "<PubmedArticle>",
        f'<MedlineCitation Status="{escape(status)}" Owner="NLM">',
        f'<PMID Version="{int(version)}">{int(pmid)}</PMID>',
        _date_xml("DateRevised", revised),
        '<Article PubModel="Print">',
        "<Journal>",
        '<ISSN IssnType="Electronic">0000-0000</ISSN>',
        '<JournalIssue CitedMedium="Internet"><Volume>1</Volume><Issue>1</Issue>',
        f"<PubDate><Year>{int(year):04d}</Year></PubDate></JournalIssue>",
        f"<Title>{escape(journal)}</Title>",
        "</Journal>",
        f"<ArticleTitle>{escape(title)}</ArticleTitle>",
        f"<Pagination><MedlinePgn>{int(pmid) % 997 + 1}</MedlinePgn></Pagination>",
    ]
    if abstract:
        parts.append(f"<Abstract><AbstractText>{escape(abstract)}</AbstractText></Abstract>")
    parts += [
        '<AuthorList CompleteYN="Y"><Author ValidYN="Y"><LastName>Tester</LastName>'
        "<ForeName>Ann</ForeName><Initials>A</Initials></Author></AuthorList>",
        "<Language>eng</Language>",
        "<PublicationTypeList>",
    ]
    for pub_type in pub_types:
        ui = _PUB_TYPE_UI.get(pub_type, "D000000")
        parts.append(f'<PublicationType UI="{ui}">{escape(pub_type)}</PublicationType>')
    parts += [
        "</PublicationTypeList>",
        "</Article>",
        "<MedlineJournalInfo><Country>United States</Country>"
        f"<MedlineTA>{escape(journal)}</MedlineTA><NlmUniqueID>000000000</NlmUniqueID>"
        "</MedlineJournalInfo>",
    ]
    comment_items = list(comments)
    if comment_items:
        parts.append("<CommentsCorrectionsList>")
        for item in comment_items:
            ref_type, ref_pmid = item[0], item[1]
            source = item[2] if len(item) > 2 else f"J Synth Evid. {ref_pmid}"
            pmid_xml = f'<PMID Version="1">{int(ref_pmid)}</PMID>' if ref_pmid else ""
            parts.append(
                f'<CommentsCorrections RefType="{escape(ref_type)}">'
                f"<RefSource>{escape(str(source))}</RefSource>{pmid_xml}</CommentsCorrections>"
            )
        parts.append("</CommentsCorrectionsList>")
    mesh_items = [(m, False) if isinstance(m, str) else m for m in mesh]
    if mesh_items:
        parts.append("<MeshHeadingList>")
        for name, major in mesh_items:
            flag = "Y" if major else "N"
            parts.append(
                f'<MeshHeading><DescriptorName UI="D000000" MajorTopicYN="{flag}">'
                f"{escape(name)}</DescriptorName></MeshHeading>"
            )
        parts.append("</MeshHeadingList>")
    keyword_items = list(keywords)
    if keyword_items:
        parts.append('<KeywordList Owner="NOTNLM">')
        parts += [f'<Keyword MajorTopicYN="N">{escape(k)}</Keyword>' for k in keyword_items]
        parts.append("</KeywordList>")
    if synthetic:
        parts.append(FIXTURE_KEYWORDS)
    parts += [
        "</MedlineCitation>",
        "<PubmedData><History>",
        _date_xml("PubMedPubDate", entrez, ' PubStatus="entrez"', time_of_day=True),
        _date_xml("PubMedPubDate", entrez, ' PubStatus="pubmed"', time_of_day=True),
        _date_xml("PubMedPubDate", entrez, ' PubStatus="medline"', time_of_day=True),
        "</History>",
        "<PublicationStatus>ppublish</PublicationStatus>",
        f'<ArticleIdList><ArticleId IdType="pubmed">{int(pmid)}</ArticleId></ArticleIdList>',
        "</PubmedData>",
        "</PubmedArticle>",
    ]
    return "".join(parts).encode("utf-8")


# --------------------------------------------------------------------------------------------
# Indexing records


_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_SEASONS = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}
_WORD_RE = re.compile(r"\w+")
_DATE_RE = re.compile(r"^(\d{4})(?:[/-](\d{1,2})(?:[/-](\d{1,2}))?)?$")
_ALL_FIELDS = ("title", "abstract", "mesh", "keywords", "pt", "journal", "authors")


def _parse_date(text: str, *, end: bool) -> date | None:
    match = _DATE_RE.match(text.strip())
    if match is None:
        return None
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        if month is None:
            return date(year, 12, 31) if end else date(year, 1, 1)
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return date(year, month, last if end else 1)
        return date(year, month, day)
    except ValueError:
        return None


def _month(text: str | None) -> int:
    if not text:
        return 1
    text = text.strip().lower()
    if text.isdigit():
        return min(max(int(text), 1), 12)
    return _MONTHS.get(text[:3], _SEASONS.get(text, 1))


def _date_of(elem: etree._Element | None) -> date | None:
    """A PubMed date element (Year/Month/Day, Season, or MedlineDate) as a date."""
    if elem is None:
        return None
    year_text = elem.findtext("Year")
    if year_text and year_text.strip().isdigit():
        month = _month(elem.findtext("Month") or elem.findtext("Season"))
        day_text = (elem.findtext("Day") or "1").strip()
        day = int(day_text) if day_text.isdigit() else 1
        year = int(year_text)
        try:
            return date(year, month, min(max(day, 1), calendar.monthrange(year, month)[1]))
        except ValueError:
            return None
    medline = elem.findtext("MedlineDate") or ""
    match = re.search(r"(\d{4})(?:\s+([A-Za-z]+))?", medline)
    if match is None:
        return None
    return date(int(match.group(1)), _month(match.group(2)), 1)


def _text(elem: etree._Element | None) -> str:
    if elem is None:
        return ""
    return " ".join(
        etree.tostring(elem, method="text", encoding="unicode", with_tail=False).split()
    )


def _segments(texts: Iterable[str]) -> str:
    """Searchable form: lowercase word tokens, one segment per value, ``|`` between segments.

    Phrases are matched as `` w1 w2 `` substrings, so they never span two values (two MeSH
    descriptors, or title and abstract).
    """
    segs = [" ".join(_WORD_RE.findall(t.lower())) for t in texts if t]
    return " " + " | ".join(s for s in segs if s) + " "


@dataclass
class _Record:
    pmid: int
    xml: bytes
    fields: dict[str, str]
    pdat: date
    edat: date
    mdat: date
    edat_override: date | None = None
    mdat_override: date | None = None

    def date(self, datetype: str) -> date:
        return {"edat": self.edat, "mdat": self.mdat}.get(datetype, self.pdat)


def _history_date(history: etree._Element | None, status: str) -> date | None:
    if history is None:
        return None
    for item in history.iterfind("PubMedPubDate"):
        if item.get("PubStatus") == status:
            return _date_of(item)
    return None


def _index(
    elem: etree._Element, xml: bytes, *, edat: date | None = None, mdat: date | None = None
) -> _Record:
    if elem.tag == "PubmedArticle":
        cit = elem.find("MedlineCitation")
        if cit is None:
            raise ValueError("PubmedArticle without MedlineCitation")
        pmid_text = cit.findtext("PMID")
        art = cit.find("Article")
        title = [_text(art.find("ArticleTitle")) if art is not None else ""]
        if art is not None:
            title.append(_text(art.find("VernacularTitle")))
        abstract = [_text(a) for a in cit.iterfind("Article/Abstract/AbstractText")]
        abstract += [_text(a) for a in cit.iterfind("OtherAbstract/AbstractText")]
        journal = [
            cit.findtext("Article/Journal/Title") or "",
            cit.findtext("Article/Journal/ISOAbbreviation") or "",
            cit.findtext("MedlineJournalInfo/MedlineTA") or "",
        ]
        pub_date = _date_of(cit.find("Article/Journal/JournalIssue/PubDate")) or _date_of(
            cit.find("Article/ArticleDate")
        )
        revised = _date_of(cit.find("DateRevised"))
        history = elem.find("PubmedData/History")
        container = cit
    elif elem.tag == "PubmedBookArticle":
        doc = elem.find("BookDocument")
        if doc is None:
            raise ValueError("PubmedBookArticle without BookDocument")
        pmid_text = doc.findtext("PMID")
        title = [_text(doc.find("ArticleTitle")), _text(doc.find("Book/BookTitle"))]
        abstract = [_text(a) for a in doc.iterfind("Abstract/AbstractText")]
        journal = [_text(doc.find("Book/Publisher/PublisherName"))]
        pub_date = _date_of(doc.find("Book/PubDate"))
        revised = _date_of(doc.find("DateRevised"))
        history = elem.find("PubmedBookData/History")
        container = doc
    else:
        raise ValueError(f"not a PubMed record: <{elem.tag}>")
    if not pmid_text or not pmid_text.strip().isdigit():
        raise ValueError(f"<{elem.tag}> without a numeric PMID")
    mesh: list[str] = []
    majr: list[str] = []
    for heading in container.iterfind(".//MeshHeading"):
        descriptor = heading.find("DescriptorName")
        name = _text(descriptor)
        mesh.append(name)
        mesh += [_text(q) for q in heading.iterfind("QualifierName")]
        flags = [descriptor.get("MajorTopicYN") if descriptor is not None else None]
        flags += [q.get("MajorTopicYN") for q in heading.iterfind("QualifierName")]
        if "Y" in flags:
            majr.append(name)
    keywords = [_text(k) for k in container.iterfind(".//Keyword")]
    pub_types = [_text(p) for p in container.iterfind(".//PublicationType")]
    authors = []
    for author in container.iterfind(".//AuthorList/Author"):
        authors.append(
            " ".join(
                t
                for t in (
                    author.findtext("LastName"),
                    author.findtext("ForeName") or author.findtext("Initials"),
                    author.findtext("CollectiveName"),
                )
                if t
            )
        )
    entrez = edat or _history_date(history, "entrez") or _history_date(history, "pubmed")
    entrez = entrez or pub_date or revised or date(1900, 1, 1)
    fields = {
        "title": _segments(title),
        "abstract": _segments(abstract),
        "mesh": _segments(mesh),
        "majr": _segments(majr),
        "keywords": _segments(keywords),
        "pt": _segments(pub_types),
        "journal": _segments(journal),
        "authors": _segments(authors),
    }
    return _Record(
        pmid=int(pmid_text),
        xml=xml,
        fields=fields,
        pdat=pub_date or entrez,
        edat=entrez,
        mdat=mdat or revised or entrez,
        edat_override=edat,
        mdat_override=mdat,
    )


def _open_source(source: bytes | str | os.PathLike[str]) -> io.BufferedIOBase:
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
        return io.BytesIO(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    path = Path(source)
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(path, "rb")
    return path.open("rb")


# --------------------------------------------------------------------------------------------
# Query language


class QuerySyntaxError(ValueError):
    """The term cannot be parsed (unbalanced parentheses, dangling operator, stray quote)."""


@dataclass(frozen=True)
class _Term:
    text: str
    tag: str  # normalised: "" when absent
    quoted: bool


@dataclass(frozen=True)
class _Op:
    op: str  # "AND" | "OR" | "NOT"
    left: Any  # _Term | _Op | _Everything
    right: Any


@dataclass(frozen=True)
class _Everything:
    """The left side of a leading NOT: every record."""


_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<lp>\()|(?P<rp>\))
      | "(?P<phrase>[^"]*)"(?:\s*\[(?P<ptag>[^\]]*)\])?
      | (?P<word>[^\s()"\[\]]+)(?:\s*\[(?P<wtag>[^\]]*)\])?
    )""",
    re.VERBOSE,
)
_OPERATORS = ("AND", "OR", "NOT")


def _tokenize(text: str) -> list[str | _Term]:
    tokens: list[str | _Term] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.end() == pos:
            snippet = text[pos:].strip()[:20]
            raise QuerySyntaxError(f"unexpected character at {snippet!r}")
        pos = match.end()
        if match.group("lp"):
            tokens.append("(")
        elif match.group("rp"):
            tokens.append(")")
        elif match.group("phrase") is not None:
            tag = (match.group("ptag") or "").strip().lower()
            tokens.append(_Term(match.group("phrase"), tag, True))
        else:
            word = match.group("word")
            tag = (match.group("wtag") or "").strip().lower()
            if word in _OPERATORS and not tag:
                tokens.append(word)
            else:
                tokens.append(_Term(word, tag, False))
    return tokens


def parse_query(text: str) -> Any:
    """Parse a PubMed-style term into a tree; raises :class:`QuerySyntaxError`.

    Operators are processed left to right with equal precedence, as PubMed does; parentheses
    group; adjacent terms are ANDed.
    """
    tokens = _tokenize(text)
    if not tokens:
        raise QuerySyntaxError("empty query")
    pos = 0

    def operand() -> Any:
        nonlocal pos
        if pos >= len(tokens):
            raise QuerySyntaxError("query ends where a term was expected")
        token = tokens[pos]
        pos += 1
        if token == "(":
            inner = expression()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise QuerySyntaxError("unbalanced parentheses: missing ')'")
            pos += 1
            return inner
        if token == ")":
            raise QuerySyntaxError("unbalanced parentheses: unexpected ')'")
        if token == "NOT":
            return _Op("NOT", _Everything(), operand())
        if token in ("AND", "OR"):
            raise QuerySyntaxError(f"{token} without a term before it")
        return token

    def expression() -> Any:
        nonlocal pos
        left = operand()
        while pos < len(tokens) and tokens[pos] != ")":
            token = tokens[pos]
            if token in _OPERATORS:
                pos += 1
                op = str(token)
            else:
                op = "AND"  # implicit
            left = _Op(op, left, operand())
        return left

    tree = expression()
    if pos < len(tokens):
        raise QuerySyntaxError("unbalanced parentheses: unexpected ')'")
    return tree


_FIELD_TAGS: dict[str, tuple[str, ...]] = {
    "ti": ("title",),
    "title": ("title",),
    "ab": ("abstract",),
    "abstract": ("abstract",),
    "tiab": ("title", "abstract", "keywords"),
    "title/abstract": ("title", "abstract", "keywords"),
    "tw": ("title", "abstract", "keywords", "mesh"),
    "text word": ("title", "abstract", "keywords", "mesh"),
    "mh": ("mesh",),
    "mesh": ("mesh",),
    "mesh terms": ("mesh",),
    "majr": ("majr",),
    "mesh major topic": ("majr",),
    "pt": ("pt",),
    "publication type": ("pt",),
    "ot": ("keywords",),
    "kw": ("keywords",),
    "keyword": ("keywords",),
    "other term": ("keywords",),
    "ta": ("journal",),
    "journal": ("journal",),
    "au": ("authors",),
    "author": ("authors",),
    "all": _ALL_FIELDS,
    "all fields": _ALL_FIELDS,
}
_DATE_TAGS = {
    "dp": "pdat",
    "pdat": "pdat",
    "publication date": "pdat",
    "date - publication": "pdat",
    "edat": "edat",
    "date - entry": "edat",
    "mdat": "mdat",
    "lr": "mdat",
    "date - modification": "mdat",
}


# --------------------------------------------------------------------------------------------
# Faults


@dataclass(frozen=True)
class Fault:
    """What to do to one request instead of (or on top of) answering it normally.

    ``kind``: an HTTP status ("429", "500", "502", "503", "400", "414" ...); "cut" (full
    Content-Length, half the body, then close: the client sees IncompleteRead); "cut_unframed"
    (no Content-Length, half the body, close: the client sees truncated XML); "error" (HTTP 200
    with a transient ``<ERROR>``, ``message`` to override); "expire" (forget every WebEnv, then
    answer normally -- a history efetch then gets "Unable to obtain query #N"); "reset" (close
    without answering); "stall" (sleep ``delay`` seconds, then answer normally).
    """

    kind: str
    retry_after: float | None = None
    message: str | None = None
    delay: float = 0.5


_FAULT_KINDS = frozenset({"cut", "cut_unframed", "error", "expire", "reset", "stall"})


def _check_kind(kind: str) -> None:
    if kind in _FAULT_KINDS:
        return
    if kind.isdigit() and 400 <= int(kind) <= 599:
        return
    raise ValueError(f"unknown fault kind {kind!r}")


class Faults:
    """Thread-safe fault switches; faults apply to the next matching request(s)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[tuple[str, Fault]] = []
        self._random: tuple[random.Random, float, tuple[str, ...], frozenset[str]] | None = None
        #: (util, kind) of every fault applied, in order.
        self.injected: list[tuple[str, str]] = []

    def queue(
        self,
        util: str,
        kind: str,
        *,
        times: int = 1,
        retry_after: float | None = None,
        message: str | None = None,
        delay: float = 0.5,
    ) -> None:
        """Apply ``kind`` to the next ``times`` requests to ``util`` ("*" for any utility)."""
        if util != "*" and util not in UTILS:
            raise ValueError(f"unknown utility {util!r}")
        _check_kind(kind)
        fault = Fault(kind, retry_after, message, delay)
        with self._lock:
            self._queue += [(util, fault)] * times

    def random(
        self,
        probability: float,
        *,
        seed: int = 0,
        kinds: Sequence[str] = ("429", "500", "502", "503", "cut", "cut_unframed", "error"),
        utils: Sequence[str] = UTILS,
    ) -> None:
        """After the queue is empty, fault each matching request with ``probability``."""
        for kind in kinds:
            _check_kind(kind)
        with self._lock:
            self._random = (random.Random(seed), probability, tuple(kinds), frozenset(utils))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._random = None

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def take(self, util: str) -> Fault | None:
        with self._lock:
            for i, (target, fault) in enumerate(self._queue):
                if target in ("*", util):
                    del self._queue[i]
                    self.injected.append((util, fault.kind))
                    return fault
            if self._random is not None:
                rng, probability, kinds, utils = self._random
                if util in utils and rng.random() < probability:
                    fault = Fault(rng.choice(kinds), delay=0.05)
                    self.injected.append((util, fault.kind))
                    return fault
        return None


# --------------------------------------------------------------------------------------------
# Request log


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it.  ``time`` is ``time.monotonic()`` at accept."""

    time: float
    util: str
    method: str
    params: dict[str, str]
    status: int  # 0: connection closed without an answer
    client: str
    fault: str | None = None
    pmids: tuple[int, ...] = ()  # records served (efetch)
    nbytes: int = 0


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str = "text/xml; charset=UTF-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    mode: str = "normal"  # normal | cut | cut_unframed | reset
    pmids: tuple[int, ...] = ()


def _redact_params(params: dict[str, str]) -> dict[str, str]:
    return {k: ("***" if k.lower() == "api_key" else v) for k, v in params.items()}


# --------------------------------------------------------------------------------------------
# The server


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: EUtilsServer) -> None:
        self.app = app
        self.accepted: dict[Any, float] = {}
        self.accepted_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Timestamp at accept, in the serving thread: closer to when the client sent the request
        # than anything a handler thread (subject to scheduling) could measure.
        with self.accepted_lock:
            self.accepted[request] = time.monotonic()
        super().process_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep test output clean; the server's .requests is the log

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        with self.server.accepted_lock:
            arrival = self.server.accepted.pop(self.request, time.monotonic())
        split = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            params.update({k: v[0] for k, v in form.items()})
        app = self.server.app
        response, util, fault = app._respond(method, split.path, params, self, arrival)
        # Log before answering: once a client has its response, the request is in the log.
        app._log(
            RequestRecord(
                time=arrival,
                util=util,
                method=method,
                params=_redact_params(params),
                status=0 if response.mode == "reset" else response.status,
                client=self.client_address[0],
                fault=fault,
                pmids=response.pmids,
                nbytes=len(response.body),
            )
        )
        try:
            self._send(response)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its read timed out during a "stall")

    def _send(self, response: _Response) -> None:
        if response.mode == "reset":
            self.close_connection = True
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.mode != "cut_unframed":
            self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if response.mode in ("cut", "cut_unframed"):
            self.wfile.write(response.body[: len(response.body) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.wfile.write(response.body)


class EUtilsServer:
    """An in-memory PubMed behind esearch/efetch/epost on ``http://127.0.0.1:<port>``.

    Use as a context manager (or ``start()``/``stop()``).  ``rate_limit`` enforces NCBI's
    3 requests per ``rate_window`` seconds per client (10 with an ``api_key``; clients are told
    apart by key, else by IP address, as NCBI does).  ``today`` fixes the date ``reldate``
    counts back from (default: the real date).
    """

    def __init__(
        self,
        records: bytes | str | os.PathLike[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: bool = True,
        rate_window: float = 1.0,
        today: date | None = None,
        max_url_length: int = 8192,
        webenv_max_uses: int | None = None,
    ) -> None:
        self.host = host
        #: A WebEnv is forgotten after this many efetches from it (a short-lived history
        #: server, as NCBI's is under load); None: kept until `expire_webenvs`.
        self.webenv_max_uses = webenv_max_uses
        self._webenv_uses: dict[str, int] = {}
        self.port = port
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.max_url_length = max_url_length
        self.faults = Faults()
        self._today = today
        self._lock = threading.RLock()
        self._records: dict[int, _Record] = {}
        self._term_cache: dict[tuple[tuple[str, ...], tuple[str, ...], bool], frozenset[int]] = {}
        self._history: dict[str, dict[int, tuple[int, ...]]] = {}
        self._arrivals: dict[str, list[float]] = {}
        self._requests: list[RequestRecord] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        if records is not None:
            self.add_records(records)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> EUtilsServer:
        if self._httpd is None:
            self._httpd = _HTTPServer((self.host, self.port), self)
            self.port = self._httpd.server_address[1]
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"eutils-server-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._httpd = None
            self._thread = None

    def __enter__(self) -> EUtilsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/entrez/eutils/`` (the server must be started)."""
        if self._httpd is None:
            raise RuntimeError("EUtilsServer is not running; use it as a context manager")
        return f"http://{self.host}:{self.port}/entrez/eutils/"

    @property
    def today(self) -> date:
        return self._today or date.today()

    @today.setter
    def today(self, value: date | None) -> None:
        self._today = value

    # -- corpus ------------------------------------------------------------------------------

    def add_records(self, source: bytes | str | os.PathLike[str]) -> int:
        """Add every record of a PubmedArticleSet (bytes, or a .xml/.xml.gz path).

        Splits it into raw ``<PubmedArticle>``/``<PubmedBookArticle>`` elements keyed by PMID
        (a later occurrence replaces an earlier one); ``DeleteCitation`` PMIDs are removed.
        Returns the number of records read.
        """
        count = 0
        stream = _open_source(source)
        try:
            context = etree.iterparse(
                stream,
                events=("end",),
                tag=("PubmedArticle", "PubmedBookArticle", "DeleteCitation"),
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
                huge_tree=True,
            )
            for _, elem in context:
                if elem.tag == "DeleteCitation":
                    for pmid in elem.iterfind("PMID"):
                        if pmid.text and pmid.text.strip().isdigit():
                            self.remove_record(int(pmid.text))
                else:
                    xml = etree.tostring(
                        elem, encoding="UTF-8", xml_declaration=False, with_tail=False
                    )
                    record = _index(elem, xml)
                    self._store(record)
                    count += 1
                elem.clear(keep_tail=True)
                parent = elem.getparent()
                while parent is not None and elem.getprevious() is not None:
                    del parent[0]
        finally:
            stream.close()
        return count

    def add_record(
        self,
        pmid: int,
        xml: bytes,
        *,
        edat: date | str | None = None,
        mdat: date | str | None = None,
    ) -> None:
        """Add (or overwrite) one record.  ``edat``/``mdat`` override the dates in its XML
        for searching (the XML served is unchanged)."""
        record = self._parse_one(pmid, xml, edat, mdat)
        self._store(record)

    def replace_record(
        self,
        pmid: int,
        xml: bytes,
        *,
        edat: date | str | None = None,
        mdat: date | str | None = None,
    ) -> None:
        """Revise an existing record: new XML, same entrez date unless ``edat`` is given.

        ``mdat`` defaults to the new XML's DateRevised.
        """
        with self._lock:
            old = self._records.get(int(pmid))
            if old is None:
                raise KeyError(f"PMID {pmid} is not in the corpus")
            keep_edat = edat if edat is not None else old.edat
        self._store(self._parse_one(pmid, xml, keep_edat, mdat))

    def remove_record(self, pmid: int) -> bool:
        with self._lock:
            removed = self._records.pop(int(pmid), None) is not None
            if removed:
                self._term_cache.clear()
            return removed

    @property
    def pmids(self) -> list[int]:
        """Every PMID in the corpus, descending."""
        with self._lock:
            return sorted(self._records, reverse=True)

    def record_xml(self, pmid: int) -> bytes:
        with self._lock:
            return self._records[int(pmid)].xml

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def _parse_one(
        self, pmid: int, xml: bytes, edat: date | str | None, mdat: date | str | None
    ) -> _Record:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        elem = etree.fromstring(xml, parser)
        record = _index(
            elem,
            etree.tostring(elem, encoding="UTF-8", xml_declaration=False, with_tail=False),
            edat=_as_date(edat) if edat is not None else None,
            mdat=_as_date(mdat) if mdat is not None else None,
        )
        if record.pmid != int(pmid):
            raise ValueError(f"PMID {pmid} given but the XML says {record.pmid}")
        return record

    def _store(self, record: _Record) -> None:
        with self._lock:
            self._records[record.pmid] = record
            self._term_cache.clear()

    # -- searching ---------------------------------------------------------------------------

    def search(
        self,
        term: str,
        *,
        datetype: str = "pdat",
        mindate: str | None = None,
        maxdate: str | None = None,
        reldate: int | None = None,
    ) -> list[int]:
        """The PMIDs esearch would find (all of them, no cap), most recent first."""
        tree = parse_query(term)
        lo, hi = self._date_range(datetype, mindate, maxdate, reldate)
        with self._lock:
            return self._evaluate(tree, datetype, lo, hi)[0]

    def _date_range(
        self,
        datetype: str,
        mindate: str | None,
        maxdate: str | None,
        reldate: int | None,
    ) -> tuple[date | None, date | None]:
        if datetype not in DATETYPES:
            raise QuerySyntaxError(f"Invalid datetype: {datetype}")
        if reldate is not None:
            return self.today - timedelta(days=reldate), self.today
        if mindate and maxdate:  # NCBI ignores one without the other
            lo = _parse_date(mindate, end=False)
            hi = _parse_date(maxdate, end=True)
            if lo is None or hi is None:
                raise QuerySyntaxError(f"Invalid date range: {mindate}:{maxdate}")
            return lo, hi
        return None, None

    def _evaluate(
        self, tree: Any, datetype: str, lo: date | None, hi: date | None
    ) -> tuple[list[int], list[str]]:
        not_found: list[str] = []
        hits = self._eval_node(tree, not_found)
        if lo is not None and hi is not None:
            hits = {p for p in hits if lo <= self._records[p].date(datetype) <= hi}
        return sorted(hits, reverse=True), not_found

    def _eval_node(self, node: Any, not_found: list[str]) -> set[int]:
        if isinstance(node, _Everything):
            return set(self._records)
        if isinstance(node, _Term):
            hits = set(self._eval_term(node))
            if not hits:
                not_found.append(node.text)
            return hits
        left = self._eval_node(node.left, not_found)
        right = self._eval_node(node.right, not_found)
        if node.op == "AND":
            return left & right
        if node.op == "OR":
            return left | right
        return left - right

    def _eval_term(self, term: _Term) -> frozenset[int]:
        tag = term.tag.split(":")[0].strip()
        if tag in ("pmid", "uid"):
            ids = {int(t) for t in re.findall(r"\d+", term.text)}
            return frozenset(ids & self._records.keys())
        if tag in _DATE_TAGS:
            datetype = _DATE_TAGS[tag]
            first, _, last = term.text.partition(":")
            lo = _parse_date(first, end=False)
            hi = _parse_date(last or first, end=True)
            if lo is None or hi is None:
                raise QuerySyntaxError(f"Invalid date: {term.text}[{term.tag}]")
            return frozenset(p for p, r in self._records.items() if lo <= r.date(datetype) <= hi)
        fields = _FIELD_TAGS.get(tag, _ALL_FIELDS)
        text = term.text.strip()
        wildcard = text.endswith("*")
        words = tuple(_WORD_RE.findall(text.lower()))
        if not words:
            return frozenset()
        key = (fields, words, wildcard)
        cached = self._term_cache.get(key)
        if cached is not None:
            return cached
        if wildcard:
            pattern = re.compile(
                " "
                + re.escape(" ".join(words[:-1]) + " " if len(words) > 1 else "")
                + re.escape(words[-1])
                + r"\w* "
            )

            def matches(haystack: str) -> bool:
                return pattern.search(haystack) is not None
        else:
            needle = " " + " ".join(words) + " "

            def matches(haystack: str) -> bool:
                return needle in haystack

        result = frozenset(
            pmid
            for pmid, record in self._records.items()
            if any(matches(record.fields[f]) for f in fields)
        )
        self._term_cache[key] = result
        return result

    # -- history -----------------------------------------------------------------------------

    def expire_webenvs(self) -> None:
        """Forget every stored query, as NCBI does after a while."""
        with self._lock:
            self._history.clear()

    def _store_history(self, webenv: str | None, ids: Sequence[int]) -> tuple[str, int]:
        with self._lock:
            if not webenv or webenv not in self._history:
                webenv = "MCID_" + secrets.token_hex(12)
                self._history[webenv] = {}
            queries = self._history[webenv]
            query_key = max(queries, default=0) + 1
            queries[query_key] = tuple(ids)
            return webenv, query_key

    # -- request log -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request so far, in arrival order (``api_key`` values shown as ``***``)."""
        with self._lock:
            return sorted(self._requests, key=lambda r: r.time)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
            self._arrivals.clear()

    def requests_for(self, util: str, *, status: int | None = None) -> list[RequestRecord]:
        return [
            r for r in self.requests if r.util == util and (status is None or r.status == status)
        ]

    def max_requests_in_window(self, window: float = 1.0, *, util: str | None = None) -> int:
        """The most requests that arrived within any ``window`` seconds (half-open)."""
        times = [r.time for r in self.requests if util is None or r.util == util]
        best = 0
        start = 0
        for end, t in enumerate(times):
            while t - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def served_pmids(self, *, include_faulted: bool = False) -> list[int]:
        """PMIDs of the records efetch returned, in order, duplicates included.

        Responses spoiled by a fault ("cut" ...) are left out unless ``include_faulted``.
        """
        return [
            p
            for r in self.requests
            if r.util == "efetch" and (include_faulted or r.fault is None)
            for p in r.pmids
        ]

    def _log(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(record)

    # -- answering ---------------------------------------------------------------------------

    def _respond(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        handler: BaseHTTPRequestHandler,
        arrival: float,
    ) -> tuple[_Response, str, str | None]:
        util = path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".fcgi")
        if not path.startswith("/entrez/eutils/") or util not in UTILS:
            return _Response(404, b"Not Found\n", "text/plain"), util or "?", None
        if len(handler.path) > self.max_url_length:
            return _Response(414, _html_error(414), "text/html"), util, None
        throttled = self._throttle(params, handler.client_address[0], arrival)
        if throttled is not None:
            return throttled, util, None
        fault = self.faults.take(util)
        if fault is not None and fault.kind.isdigit():
            identity = params.get("api_key") or handler.client_address[0]
            return _status_fault(util, fault, identity), util, fault.kind
        if fault is not None and fault.kind == "stall":
            time.sleep(fault.delay)
        if fault is not None and fault.kind == "expire":
            self.expire_webenvs()
        if fault is not None and fault.kind == "reset":
            return _Response(200, b"", mode="reset"), util, fault.kind
        if fault is not None and fault.kind == "error":
            return _error_fault(util, fault.message or TRANSIENT_ERROR), util, fault.kind
        if util == "esearch":
            response = self._esearch(params)
        elif util == "efetch":
            response = self._efetch(params)
        else:
            response = self._epost(params)
        if fault is not None and fault.kind in ("cut", "cut_unframed"):
            response.mode = fault.kind
        return response, util, fault.kind if fault is not None else None

    def _throttle(self, params: dict[str, str], client: str, arrival: float) -> _Response | None:
        key = params.get("api_key") or ""
        identity = key or client
        limit = 10 if key else 3
        with self._lock:
            times = self._arrivals.setdefault(identity, [])
            bisect.insort(times, arrival)
            while times and times[0] < arrival - 2 * self.rate_window:
                del times[0]
            lo = bisect.bisect_right(times, arrival - self.rate_window)
            hi = bisect.bisect_right(times, arrival)
            count = hi - lo
        if not self.rate_limit or count <= limit:
            return None
        # NCBI's body; its "api-key" field carries the key, or the caller's IP without one.
        body = json.dumps(
            {
                "error": "API rate limit exceeded",
                "api-key": identity,
                "count": str(count),
                "limit": str(limit),
            },
            separators=(",", ":"),
        ).encode()
        return _Response(429, body, "application/json")

    def _esearch(self, params: dict[str, str]) -> _Response:
        db = params.get("db", "pubmed")
        if db != "pubmed":
            return _esearch_error(f"Invalid db name specified: {db}")
        term = " ".join(params.get("term", "").split())
        if not term:
            return _esearch_error("Empty term and query_key - nothing todo")
        datetype = params.get("datetype") or "pdat"
        try:
            reldate = int(params["reldate"]) if params.get("reldate") else None
            retstart = int(params.get("retstart") or 0)
            retmax = int(params.get("retmax") or 20)
        except ValueError as exc:
            return _esearch_error(f"Invalid parameter value: {exc}")
        try:
            tree = parse_query(term)
            lo, hi = self._date_range(
                datetype, params.get("mindate"), params.get("maxdate"), reldate
            )
            with self._lock:
                ids, not_found = self._evaluate(tree, datetype, lo, hi)
        except QuerySyntaxError as exc:
            return _esearch_error(f"Invalid query: {exc}")
        count = len(ids)
        warnings: list[str] = []
        if retstart > MAX_RETSTART and count > IDLIST_CAP:
            return _esearch_error(RETSTART_ERROR)
        if retstart + retmax > IDLIST_CAP:
            retmax = max(0, IDLIST_CAP - retstart)
            warnings.append(
                f"Restrictions achieved. start and count adjusted to {retstart}, {retmax}"
            )
        page = ids[retstart : retstart + retmax]
        history = ""
        if params.get("usehistory", "").lower() == "y":
            webenv, query_key = self._store_history(params.get("WebEnv"), ids)
            history = f"<QueryKey>{query_key}</QueryKey><WebEnv>{webenv}</WebEnv>"
        id_list = (
            "<IdList>\n" + "".join(f"<Id>{p}</Id>\n" for p in page) + "</IdList>"
            if page
            else "<IdList/>"
        )
        translation = term
        if lo is not None and hi is not None:
            label = _DATETYPE_LABEL[datetype]
            translation = f"({term}) AND {_fmt(lo)}:{_fmt(hi)}[{label}]"
        tail = ""
        if not_found:
            tail += (
                "<ErrorList>"
                + "".join(f"<PhraseNotFound>{escape(t)}</PhraseNotFound>" for t in not_found)
                + "</ErrorList>"
            )
        if count == 0:
            warnings.append("No items found.")
        if warnings:
            tail += (
                "<WarningList>"
                + "".join(f"<OutputMessage>{escape(w)}</OutputMessage>" for w in warnings)
                + "</WarningList>"
            )
        xml = (
            f"{_ESEARCH_HEAD}<eSearchResult><Count>{count}</Count><RetMax>{len(page)}</RetMax>"
            f"<RetStart>{retstart}</RetStart>{history}{id_list}<TranslationSet/>"
            f"<QueryTranslation>{escape(translation)}</QueryTranslation>{tail}</eSearchResult>\n"
        )
        return _Response(200, xml.encode("utf-8"))

    def _efetch(self, params: dict[str, str]) -> _Response:
        db = params.get("db", "pubmed")
        if db != "pubmed":
            return _efetch_error(f"Invalid db name specified: {db}")
        retmode = params.get("retmode", "xml").lower()
        if retmode not in ("xml", ""):
            return _efetch_error(f"stand-in serves only retmode=xml, not {retmode}", status=400)
        try:
            retstart = int(params.get("retstart") or 0)
            retmax = min(int(params.get("retmax") or 20), 10_000)
        except ValueError as exc:
            return _efetch_error(f"Invalid parameter value: {exc}", status=400)
        if params.get("id", "").strip():
            ids = _parse_ids(params["id"])[0]
            if not ids:
                return _efetch_error(
                    "ID list is empty! Possibly it has no correct IDs.", status=400
                )
            selected: Sequence[int] = ids
        elif params.get("query_key") or params.get("WebEnv"):
            query_key = params.get("query_key", "")
            webenv = params.get("WebEnv", "")
            with self._lock:
                stored = self._history.get(webenv, {})
                ids_t = stored.get(int(query_key)) if query_key.isdigit() else None
                if ids_t is not None and self.webenv_max_uses is not None:
                    uses = self._webenv_uses[webenv] = self._webenv_uses.get(webenv, 0) + 1
                    if uses >= self.webenv_max_uses:
                        self._history.pop(webenv, None)  # this answer is its last
            if ids_t is None:
                return _efetch_error(f"Unable to obtain query #{query_key or 1}")
            if retstart > MAX_RETSTART and len(ids_t) > IDLIST_CAP:
                return _efetch_error(RETSTART_ERROR)
            selected = ids_t[retstart : retstart + retmax]
        else:
            return _efetch_error("Empty id list - nothing todo")
        with self._lock:
            found = [self._records[p] for p in selected if p in self._records]
        chunks = [_EFETCH_HEAD]
        for record in found:
            chunks += [record.xml, b"\n"]
        chunks.append(_EFETCH_TAIL)
        return _Response(200, b"".join(chunks), pmids=tuple(r.pmid for r in found))

    def _epost(self, params: dict[str, str]) -> _Response:
        db = params.get("db", "pubmed")
        if db != "pubmed":
            return _epost_response([f"Invalid db name specified: {db}"])
        ids, invalid = _parse_ids(params.get("id", ""))
        errors = []
        if not ids:
            errors.append("Empty ID list; Nothing to store")
        if invalid:
            errors.append(
                f"Some IDs have invalid value and were omitted. Maximum ID value {_MAX_UID}"
            )
        if not ids:
            return _epost_response(errors)
        webenv, query_key = self._store_history(params.get("WebEnv"), ids)
        return _epost_response(errors, webenv, query_key)


def _fmt(day: date) -> str:
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}"


def _parse_ids(text: str) -> tuple[list[int], list[str]]:
    """Ids from a comma/space separated list (order kept, duplicates dropped) and bad tokens."""
    ids: dict[int, None] = {}
    invalid: list[str] = []
    for token in re.split(r"[,\s]+", text.strip()):
        if not token:
            continue
        if token.isdigit() and 0 < int(token) <= _MAX_UID:
            ids.setdefault(int(token), None)
        else:
            invalid.append(token)
    return list(ids), invalid


def _esearch_error(message: str) -> _Response:
    xml = f"{_ESEARCH_HEAD}<eSearchResult><ERROR>{escape(message)}</ERROR></eSearchResult>\n"
    return _Response(200, xml.encode("utf-8"))


def _efetch_error(message: str, *, status: int = 200) -> _Response:
    xml = (
        f"{_EFETCH_ERROR_HEAD}<eFetchResult>\n\t<ERROR>{escape(message)}</ERROR>\n</eFetchResult>\n"
    )
    return _Response(status, xml.encode("utf-8"))


def _epost_response(errors: Sequence[str], webenv: str = "", query_key: int = 0) -> _Response:
    parts = [_EPOST_HEAD, "<ePostResult>\n"]
    if webenv:
        parts.append(f"\t<QueryKey>{query_key}</QueryKey>\n\t<WebEnv>{webenv}</WebEnv>\n")
    parts += [f"\t<ERROR>{escape(e)}</ERROR>\n" for e in errors]
    parts.append("</ePostResult>\n")
    return _Response(200, "".join(parts).encode("utf-8"))


def _error_fault(util: str, message: str) -> _Response:
    if util == "esearch":
        return _esearch_error(message)
    if util == "epost":
        return _epost_response([message])
    return _efetch_error(message)


def _html_error(status: int) -> bytes:
    phrase = HTTPStatus(status).phrase
    # The shape of NCBI's "WWW Error 500 Diagnostic" page, shortened.
    return (
        f"<html><head><title>NCBI/eutils - WWW Error {status} Diagnostic</title></head><body>"
        f"<h1>{phrase}</h1><p>Your request could not be processed due to a problem on our Web "
        f"server. This could be a transient problem, please try the query again.</p>"
        f'<div class="diags">Error: {status}</div></body></html>\n'
    ).encode()


def _status_fault(util: str, fault: Fault, identity: str) -> _Response:
    status = int(fault.kind)
    headers = []
    if fault.retry_after is not None:
        headers.append(("Retry-After", f"{fault.retry_after:g}"))
    if status == 429:
        # Like NCBI's: "api-key" echoes the caller's key (or IP), so clients must redact it.
        body = json.dumps(
            {"error": "API rate limit exceeded", "api-key": identity, "count": "4", "limit": "3"},
            separators=(",", ":"),
        ).encode()
        return _Response(429, body, "application/json", headers)
    if status == 400 and fault.message:
        response = _error_fault(util, fault.message)
        response.status = 400
        response.headers = headers
        return response
    return _Response(status, _html_error(status), "text/html", headers)


# --------------------------------------------------------------------------------------------
# Standalone


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.eutils_server",
        description="Serve PubMed XML files through a loopback E-utilities stand-in.",
    )
    parser.add_argument(
        "--xml",
        action="append",
        required=True,
        type=Path,
        help="a PubmedArticleSet file (.xml or .xml.gz); repeat to load several",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="default: any free port")
    parser.add_argument(
        "--no-rate-limit", action="store_true", help="do not answer HTTP 429 above 3 req/s"
    )
    args = parser.parse_args(argv)
    server = EUtilsServer(host=args.host, port=args.port, rate_limit=not args.no_rate_limit)
    for path in args.xml:
        count = server.add_records(path)
        print(f"loaded {count} records from {path}", flush=True)
    with server:
        print(server.base_url, flush=True)
        print(f"export EVIDENCE_EUTILS_URL={server.base_url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def _iter_pmids(body: bytes) -> Iterator[int]:
    """PMIDs of the records in an efetch body (helper for tests)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(body, parser)
    for record in root:
        path = "MedlineCitation/PMID" if record.tag == "PubmedArticle" else "BookDocument/PMID"
        text = record.findtext(path)
        if text:
            yield int(text)


def pmids_in(body: bytes) -> list[int]:
    """PMIDs of the records in one efetch body, in document order."""
    return list(_iter_pmids(body))


if __name__ == "__main__":
    raise SystemExit(main())
