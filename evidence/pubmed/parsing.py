"""Stream PubMed XML into `ParsedArticle` / `Deletion` values, one record at a time.

Reads baseline and update files (`PubmedArticleSet`, plain or gzip), efetch responses (same root)
and pre-2017 MEDLINE files (`MedlineCitationSet`). Memory is bounded by one record: lxml's
`iterparse` hands over each finished record, which we turn into plain values and then free.

Offline by design: DOCTYPEs name `http(s)://dtd.nlm.nih.gov/...` DTDs, sometimes versions newer
than anything installed, so the parser never loads a DTD, resolves entities or touches the network.

Every problem with the input surfaces as one `PubMedXMLError` line naming the file, what is wrong
and what to do. Records before the problem have already been yielded by then; callers that need
all-or-nothing run the whole file in one transaction.
"""

from __future__ import annotations

import datetime as dt
import gzip
import html
import io
import os
import re
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from typing import BinaryIO

from lxml import etree

from evidence.errors import PubMedXMLError
from evidence.pubmed.dates import parse_date_parts, pub_date
from evidence.store.records import (
    AbstractSection,
    Author,
    CommentCorrection,
    Deletion,
    Keyword,
    MeshHeading,
    MeshQualifier,
    ParsedArticle,
    PubDate,
    PublicationType,
    Record,
)

__all__ = ["iter_records", "parse_bytes"]

_Element = etree._Element

# MedlineCitation is a record only in MedlineCitationSet; inside PubmedArticle it is skipped.
_RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle", "MedlineCitation", "DeleteCitation")
_PUBMED_ROOTS = frozenset({"PubmedArticleSet", "MedlineCitationSet"})
_GZIP_MAGIC = b"\x1f\x8b"
_HEAD_SIZE = 64 * 1024  # enough to see the root element (and an NCBI <ERROR>) before parsing
_HTML_HEAD = re.compile(
    rb"(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*"  # BOM, declaration, comments
    rb"<(?:!doctype\s+html|html)\b",
    re.I | re.S,
)
_POSITION_SUFFIX = re.compile(r",? line \d+, column \d+$")
_ORCID = re.compile(r"(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dXx])")
# libxml2 error codes: bad bytes for the declared encoding; namespace errors (200-299), which
# libxml2 reports only when the parse finishes, so they must not read as "file cut short".
_ENCODING_ERRORS = frozenset({9, 81})
_CHAR_REF = re.compile(r"xmlParseCharRef: invalid xmlChar value (\d+)")
_NAMESPACE_ERRORS = range(200, 300)


# --------------------------------------------------------------------------- input


class _Reader:
    """Reads through a binary stream after keeping its first bytes for sniffing.

    `eof` records that the stream ran dry: a syntax error raised only after that means the
    document was cut short, not that its middle is malformed.
    """

    def __init__(self, raw: BinaryIO | gzip.GzipFile | _Reader, head_size: int) -> None:
        self._raw = raw
        chunks: list[bytes] = []
        size = 0
        # Loop: pipes and HTTP bodies may return short reads before the end.
        while size < head_size:
            chunk = raw.read(head_size - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        self.head = b"".join(chunks)
        self._pending = self.head
        self.eof = False
        self.compressed = isinstance(raw, gzip.GzipFile)

    def read(self, size: int = -1) -> bytes:
        if self._pending:
            if 0 <= size < len(self._pending):
                data, self._pending = self._pending[:size], self._pending[size:]
            else:
                data, self._pending = self._pending, b""
            return data
        data = self._raw.read(size)
        if not data:
            self.eof = True
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        # GzipFile wants a seek method but only calls it to rewind, which we never do.
        raise io.UnsupportedOperation("PubMed XML streams are read once, front to back")


def _open(raw: BinaryIO) -> _Reader:
    """Wrap `raw`, decompressing when it starts with the gzip magic (whatever its name says)."""
    outer = _Reader(raw, _HEAD_SIZE)
    if outer.head.startswith(_GZIP_MAGIC):
        return _Reader(gzip.GzipFile(fileobj=outer, mode="rb"), _HEAD_SIZE)
    return outer


def _sniff(head: bytes) -> tuple[str | None, str | None]:
    """The root element's tag and the first NCBI `<ERROR>` text found in the head, if any."""
    parser = etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=True,
    )
    try:
        parser.feed(head)
    except etree.XMLSyntaxError:
        pass  # the real parse reports it, with its line number
    root: str | None = None
    error: str | None = None
    for event, element in parser.read_events():
        tag = getattr(element, "tag", None)
        if not isinstance(tag, str) or not isinstance(element, etree._Element):
            continue
        if root is None:
            root = tag
        if event == "end" and tag == "ERROR" and error is None:
            error = " ".join("".join(map(str, element.itertext())).split())
    return root, error


def _check_root(label: str, root: str, ncbi_error: str | None = None) -> None:
    if root in _PUBMED_ROOTS:
        return
    if root.rpartition("}")[2].lower() == "html":
        raise _error(label, "got an HTML page, not PubMed XML", _FIX_HTML)
    if ncbi_error:
        raise _error(
            label,
            f"NCBI answered <{root}> with an error instead of records: {ncbi_error!r}",
            "fix the request and retry (an expired WebEnv needs a new search)",
        )
    raise _error(
        label,
        f"root element <{root}> is not PubMed XML (expected <PubmedArticleSet> or "
        "<MedlineCitationSet>)",
        "pass a baseline/update file or an efetch response with db=pubmed&retmode=xml",
    )


# --------------------------------------------------------------------------- errors

_FIX_DOWNLOAD = "re-download the file"
_FIX_HTML = "the server or a proxy sent an error or login page: retry later or re-download"


def _error(label: str, what: str, fix: str) -> PubMedXMLError:
    # One line, always: NCBI and libxml2 texts may carry newlines.
    return PubMedXMLError(" ".join(f"{label}: {what}; {fix}".split()))


def _after(count: int) -> str:
    return f"after {count:,} record{'' if count == 1 else 's'}"


def _syntax_error(label: str, exc: etree.XMLSyntaxError, eof: bool, count: int) -> PubMedXMLError:
    line, column = exc.position
    reason = _POSITION_SUFFIX.sub("", exc.msg or str(exc))
    where = f"line {line:,}, column {column:,}"
    code = getattr(exc, "code", None)  # libxml2's error number (missing from the type stubs)
    char_ref = _CHAR_REF.search(reason)
    if char_ref is not None:
        # Code 9 covers both bad bytes and a reference such as &#x0; to a character XML forbids.
        what = (
            f"a character reference to U+{int(char_ref.group(1)):04X}, which XML does not allow, "
            f"at {where}, {_after(count)}"
        )
        return _error(label, what, "remove or replace that reference (e.g. &#x0;) in the file")
    if code in _ENCODING_ERRORS:
        what = f"bytes that are not valid in the file's encoding (UTF-8 unless declared) at {where}"
        return _error(label, f"{what}, {_after(count)}", f"{_FIX_DOWNLOAD} or convert it to UTF-8")
    if eof and code not in _NAMESPACE_ERRORS:
        what = f"XML ends early at {where} (truncated download?) {_after(count)}: {reason}"
        return _error(label, what, _FIX_DOWNLOAD)
    return _error(label, f"malformed XML at {where} {_after(count)}: {reason}", _FIX_DOWNLOAD)


# --------------------------------------------------------------------------- public API


def iter_records(
    source: str | os.PathLike[str] | BinaryIO, *, name: str | None = None
) -> Iterator[Record]:
    """Yield each record of a PubMed XML file or stream, in document order.

    `source` is a path (plain XML or gzip, told apart by content) or a binary file object, which
    is read but not closed. `name` labels error messages (default: the path or the file's name).
    Raises PubMedXMLError for any unusable input, possibly after yielding earlier records.
    """
    if isinstance(source, str | os.PathLike):
        label = name or os.fspath(source)
    else:
        label = name or (source.name if isinstance(getattr(source, "name", None), str) else "")
        label = label or "<stream>"
    count = 0
    reader: _Reader | None = None
    try:
        with ExitStack() as stack:
            if isinstance(source, str | os.PathLike):
                raw: BinaryIO = stack.enter_context(open(source, "rb"))
            else:
                raw = source
            reader = _open(raw)
            if not reader.head.strip():
                if reader.compressed:
                    empty = "decompresses to nothing" if not reader.head else "holds only spaces"
                else:
                    empty = "is empty (0 bytes)" if not reader.head else "holds only spaces"
                raise _error(label, f"file {empty}, not PubMed XML", _FIX_DOWNLOAD)
            start = reader.head.lstrip(b"\xef\xbb\xbf \t\r\n")
            if not start.startswith((b"<", b"\xff\xfe", b"\xfe\xff")):  # UTF-16 BOMs aside
                # A JSON error (NCBI's 429 body), plain text, or some other binary format.
                what = f"not XML: it starts with {start[:40]!r}"
                raise _error(label, what, "pass a PubMed XML file or efetch response")
            if _HTML_HEAD.match(reader.head):
                raise _error(label, "got an HTML page, not PubMed XML", _FIX_HTML)
            root, ncbi_error = _sniff(reader.head)
            if root is not None:
                _check_root(label, root, ncbi_error)
            medline_set = root == "MedlineCitationSet"
            # No DTD, no entity expansion, no network: offline with any DTD version, and safe on
            # hostile input. huge_tree lifts libxml2's limits on text node size and depth.
            context = etree.iterparse(
                reader,
                events=("end",),
                tag=_RECORD_TAGS,
                resolve_entities=False,
                load_dtd=False,
                no_network=True,
                huge_tree=True,
            )
            for _event, element in context:
                if root is None:  # the head held no start tag (huge DOCTYPE): check it now
                    root = element.getroottree().getroot().tag
                    _check_root(label, root)
                    medline_set = root == "MedlineCitationSet"
                tag = element.tag
                record: Record
                if tag == "PubmedArticle":
                    record = _article(element, label)
                elif tag == "MedlineCitation":
                    if not medline_set:
                        continue  # part of a PubmedArticle: read with it at its end
                    record = _citation(element, None, label)
                elif tag == "PubmedBookArticle":
                    record = _book(element, label)
                else:
                    record = Deletion(tuple(_int_pmid(p, label) for p in element.iter("PMID")))
                # Free the record and everything before it: memory holds one record (plus what
                # lxml parsed ahead in its current 32 KiB read), whatever the file size.
                element.clear()
                while element.getprevious() is not None:
                    del element.getparent()[0]
                count += 1
                yield record
            if root is None:
                _check_root(label, str(context.root.tag))
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(label, exc, reader is not None and reader.eof, count) from exc
    except EOFError as exc:
        what = f"gzip stream ends early (truncated download?) {_after(count)}"
        raise _error(label, what, _FIX_DOWNLOAD) from exc
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise _error(label, f"corrupt gzip data ({exc}) {_after(count)}", _FIX_DOWNLOAD) from exc
    except OSError as exc:
        what = f"cannot read the file ({exc.strerror or exc})"
        raise _error(label, what, "check the path and permissions") from exc


def parse_bytes(data: bytes, *, name: str = "<response>") -> list[Record]:
    """All records of an in-memory document (an efetch body); errors as for `iter_records`."""
    return list(iter_records(io.BytesIO(data), name=name))


# --------------------------------------------------------------------------- text


def _text(element: _Element | None) -> str:
    """Clean text: inline markup flattened, MathML as its alttext, whitespace collapsed."""
    if element is None:
        return ""
    if len(element) == 0:  # the common case: plain text, no markup
        text = element.text
        return " ".join(text.split()) if text else ""
    parts: list[str] = []
    _flatten(element, parts)
    return " ".join("".join(parts).split())


def _flatten(element: _Element, parts: list[str]) -> None:
    """Append the text of `element`'s content (not its tail) to `parts`; parts are never empty."""
    if element.text:
        parts.append(element.text)
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            if isinstance(child, etree._Entity):  # an undeclared entity we did not resolve
                parts.append(html.unescape(str(child.text)))
        elif tag == "math" or tag.endswith(("}math", ":math")):
            # Whitespace between MathML tags means nothing, so join token texts without tails.
            math = child.get("alttext") or "".join(map(str, child.itertext(with_tail=False)))
            if math:
                parts.append(math)
        else:
            if tag == "sup" and parts and not parts[-1][-1].isspace() and _is_power(child):
                parts.append("^")
            _flatten(child, parts)
        if child.tail:
            parts.append(child.tail)


def _is_power(sup: _Element) -> bool:
    """Whether a superscript glued to the preceding text gets a "^".

    "10<sup>6</sup>" -> "10^6", "Ca<sup>2+</sup>" -> "Ca^2+", "cm<sup>-1</sup>" -> "cm^-1": a
    superscript right after a non-space is an exponent or a charge, and plain "106" would change
    the number. After a space ("the <sup>13</sup>C signal") it is a label and stays plain text.
    Marks such as "Stryker<sup>®</sup>" or "p<sup>*</sup>" are not powers and get no caret.
    """
    lead = (sup.text or "".join(map(str, sup.itertext()))).lstrip()[:1]
    return bool(lead) and (lead.isalnum() or lead in "+-\u2212(")


def _clean(text: str | None) -> str | None:
    """Whitespace-collapsed text, or None for missing/blank."""
    if not text:
        return None
    return " ".join(text.split()) or None


def _int_pmid(element: _Element, label: str) -> int:
    text = (element.text or "").strip()
    if not text.isdigit():
        line = element.sourceline
        raise _error(label, f"PMID {text!r} at line {line} is not a number", _FIX_DOWNLOAD)
    return int(text)


def _pmid(element: _Element | None, parent: _Element, label: str) -> tuple[int, int]:
    if element is None:
        where = f"<{parent.tag}> at line {parent.sourceline}"
        raise _error(label, f"{where} has no PMID", "re-download the file; report it if it stays")
    version = element.get("Version", "1")
    return _int_pmid(element, label), int(version) if version.isdigit() else 1


def _child_text(element: _Element, tag: str) -> str | None:
    """The text of the first child called `tag`.

    A loop over children: `findtext` goes through ElementPath and costs several times more,
    which adds up over millions of calls.
    """
    for child in element:
        if child.tag == tag:
            return child.text
    return None


# --------------------------------------------------------------------------- fields

# Small caches of immutable values that repeat across records (a few hundred distinct dates,
# qualifiers and publication types per file). Building a frozen dataclass costs more than a
# dict lookup; the caches are emptied when they grow, so memory stays bounded.
_CACHE_LIMIT = 20_000
_DATES: dict[tuple[str | None, str | None, str | None], dt.date | None] = {}
_QUALIFIERS: dict[tuple[str | None, str | None, str | None], MeshQualifier] = {}
_PUBLICATION_TYPES: dict[tuple[str | None, str | None], PublicationType] = {}


def _date(element: _Element) -> dt.date | None:
    """Year/Month/Day children (DateRevised, ArticleDate, PubMedPubDate ...); None if invalid."""
    # The DTD fixes the order (Year, Month, Day, then optional Hour ...): index, don't search.
    if len(element) < 3:
        return None
    key = (element[0].text, element[1].text, element[2].text)
    try:
        return _DATES[key]
    except KeyError:
        pass
    if len(_DATES) > _CACHE_LIMIT:
        _DATES.clear()
    value = _DATES[key] = parse_date_parts(*key)
    return value


def _pub_date(element: _Element | None) -> PubDate | None:
    if element is None:
        return None
    year = month = day = season = medline = None
    for child in element:
        tag = child.tag
        if tag == "Year":
            year = child.text
        elif tag == "Month":
            month = child.text
        elif tag == "Day":
            day = child.text
        elif tag == "Season":
            season = child.text
        elif tag == "MedlineDate":
            medline = child.text or ""
    return pub_date(year, month, day, season, medline)


def _abstract(element: _Element) -> tuple[str, tuple[AbstractSection, ...]]:
    sections = []
    for part in element:
        if part.tag == "AbstractText" and (text := _text(part)):  # skip empty sections
            sections.append(AbstractSection(text, part.get("Label"), part.get("NlmCategory")))
    joined = "\n\n".join(f"{s.label}: {s.text}" if s.label else s.text for s in sections)
    return joined, tuple(sections)


def _orcid(text: str | None) -> str | None:
    """ORCID iDs come bare, hyphen-less or as URLs: keep the canonical 0000-0000-0000-000X."""
    if not text:
        return None
    match = _ORCID.search(text)
    if match is None:
        return text.strip() or None
    return "-".join(match.groups()).upper()


def _authors(author_list: _Element) -> list[Author]:
    authors = []
    for author in author_list:
        # ValidYN="N" marks an erroneous name kept for the record; PubMed does not show it.
        if author.tag != "Author" or author.get("ValidYN") == "N":
            continue
        last = fore = initials = collective = affiliation = orcid = None
        for child in author:
            tag = child.tag
            if tag == "LastName":
                last = _clean(child.text)
            elif tag == "ForeName":
                fore = _clean(child.text)
            elif tag == "Initials":
                initials = _clean(child.text)
            elif tag == "CollectiveName":
                collective = _text(child) or None
            elif tag == "AffiliationInfo":
                if affiliation is None and len(child):
                    affiliation = _text(child[0]) or None  # Affiliation comes first
            elif tag == "Identifier":
                if orcid is None and child.get("Source") == "ORCID":
                    orcid = _orcid(child.text)
        authors.append(Author(last, fore, initials, collective, affiliation, orcid))
    return authors


def _mesh(mesh_list: _Element) -> tuple[MeshHeading, ...]:
    headings = []
    for heading in mesh_list:
        descriptor: _Element | None = None
        qualifiers: list[MeshQualifier] = []
        # MeSH names are a controlled vocabulary without stray whitespace: no cleaning needed.
        for child in heading:
            if child.tag == "QualifierName":
                key = (child.text, child.get("UI"), child.get("MajorTopicYN"))
                qualifier = _QUALIFIERS.get(key)
                if qualifier is None:
                    if len(_QUALIFIERS) > _CACHE_LIMIT:
                        _QUALIFIERS.clear()
                    qualifier = _QUALIFIERS[key] = MeshQualifier(
                        key[0] or "", key[1], key[2] == "Y"
                    )
                qualifiers.append(qualifier)
            elif child.tag == "DescriptorName":
                descriptor = child
        if descriptor is not None:
            headings.append(
                MeshHeading(
                    descriptor.text or "",
                    descriptor.get("UI"),
                    descriptor.get("MajorTopicYN") == "Y",
                    tuple(qualifiers),
                )
            )
    return tuple(headings)


def _keywords(keyword_list: _Element) -> list[Keyword]:
    owner = keyword_list.get("Owner")
    keywords = []
    for keyword in keyword_list:
        if keyword.tag == "Keyword" and (text := _text(keyword)):
            keywords.append(Keyword(text, keyword.get("MajorTopicYN") == "Y", owner))
    return keywords


def _comments(comment_list: _Element) -> tuple[CommentCorrection, ...]:
    entries = []
    for entry in comment_list:
        if entry.tag != "CommentsCorrections":
            continue
        source = pmid = None
        for child in entry:
            if child.tag == "RefSource":
                source = _clean(child.text)
            elif child.tag == "PMID":
                text = (child.text or "").strip()
                pmid = int(text) if text.isdigit() else None
        entries.append(CommentCorrection(entry.get("RefType", ""), source, pmid))
    return tuple(entries)


def _publication_type(element: _Element) -> PublicationType | None:
    key = (element.text, element.get("UI"))
    value = _PUBLICATION_TYPES.get(key)
    if value is None and key[0] and key[0].strip():
        if len(_PUBLICATION_TYPES) > _CACHE_LIMIT:
            _PUBLICATION_TYPES.clear()
        value = _PUBLICATION_TYPES[key] = PublicationType(key[0].strip(), key[1])
    return value


def _article_ids(id_list: _Element, ids: dict[str, str]) -> None:
    """Collect the first doi/pmc/pii of an ArticleIdList into `ids` (never from a ReferenceList)."""
    for article_id in id_list:
        id_type = article_id.get("IdType")
        if id_type in ("doi", "pmc", "pii") and id_type not in ids:
            value = _clean(article_id.text)
            if value:
                ids[id_type] = value


def _pubmed_data(
    data: _Element | None,
) -> tuple[tuple[tuple[str, dt.date], ...], dt.date | None, str | None, dict[str, str]]:
    """History, entrez date, publication status and ids of a PubmedData/PubmedBookData."""
    ids: dict[str, str] = {}
    history: list[tuple[str, dt.date]] = []
    status = None
    entrez = pubmed = None
    for child in data if data is not None else ():
        tag = child.tag
        if tag == "History":
            for event in child:
                when = _date(event)
                if when is not None:  # skip impossible dates rather than fail the record
                    name = event.get("PubStatus", "")
                    history.append((name, when))
                    if name == "entrez" and entrez is None:
                        entrez = when
                    elif name == "pubmed" and pubmed is None:
                        pubmed = when
        elif tag == "PublicationStatus":
            status = _clean(child.text)
        elif tag == "ArticleIdList":  # ReferenceList holds other ArticleIdLists: not these
            _article_ids(child, ids)
    return tuple(history), entrez or pubmed, status, ids


def _eloc_doi(element: _Element) -> str | None:
    if element.get("EIdType") == "doi" and element.get("ValidYN") != "N":
        return _clean(element.text)
    return None


# --------------------------------------------------------------------------- records


class _Content:
    """What an Article and a BookDocument share, gathered from their children in one pass."""

    __slots__ = (
        "title",
        "vernacular",
        "abstract",
        "sections",
        "pages",
        "eloc_doi",
        "languages",
        "authors",
        "types",
        "keywords",
    )

    def __init__(self) -> None:
        self.title = self.abstract = ""
        self.sections: tuple[AbstractSection, ...] = ()
        self.vernacular: str | None = None
        self.pages: str | None = None
        self.eloc_doi: str | None = None
        self.languages: list[str] = []
        self.authors: list[Author] = []
        self.types: list[PublicationType] = []
        self.keywords: list[Keyword] = []

    def take(self, child: _Element, tag: str) -> None:
        """Read `child` if it is one of the shared elements; ignore it otherwise."""
        if tag == "ArticleTitle":
            self.title = _text(child)
        elif tag == "Abstract":  # OtherAbstract (translations) is left out on purpose
            self.abstract, self.sections = _abstract(child)
        elif tag == "AuthorList":
            if child.get("Type", "authors") == "authors":  # a book's editors are not its authors
                self.authors.extend(_authors(child))
        elif tag == "Language":
            if child.text and (language := child.text.strip()):
                self.languages.append(language)
        elif tag == "PublicationTypeList":  # articles; books have bare PublicationType elements
            self.types.extend(t for t in map(_publication_type, child) if t is not None)
        elif tag == "PublicationType":
            if (publication_type := _publication_type(child)) is not None:
                self.types.append(publication_type)
        elif tag == "Pagination":
            self.pages = _clean(_child_text(child, "MedlinePgn"))
        elif tag == "ELocationID":
            self.eloc_doi = self.eloc_doi or _eloc_doi(child)
        elif tag == "VernacularTitle":
            self.vernacular = _text(child) or None
        elif tag == "KeywordList":
            self.keywords.extend(_keywords(child))


def _article(record: _Element, label: str) -> ParsedArticle:
    citation = data = None
    for child in record:
        if child.tag == "MedlineCitation":
            citation = child
        elif child.tag == "PubmedData":
            data = child
    if citation is None:
        where = f"<PubmedArticle> at line {record.sourceline}"
        raise _error(label, f"{where} has no MedlineCitation", _FIX_DOWNLOAD)
    return _citation(citation, data, label)


def _citation(citation: _Element, data: _Element | None, label: str) -> ParsedArticle:
    """A MedlineCitation (with its PubmedData when inside a PubmedArticle)."""
    content = _Content()
    pmid_element = article = None
    completed = revised = created = None
    mesh: tuple[MeshHeading, ...] = ()
    comments: tuple[CommentCorrection, ...] = ()
    for child in citation:
        tag = child.tag
        if tag == "PMID":
            pmid_element = pmid_element if pmid_element is not None else child
        elif tag == "Article":
            article = child
        elif tag == "MeshHeadingList":
            mesh = _mesh(child)
        elif tag == "DateCompleted":
            completed = _date(child)
        elif tag == "DateRevised":
            revised = _date(child)
        elif tag == "DateCreated":
            created = _date(child)
        elif tag == "CommentsCorrectionsList":
            comments = _comments(child)
        elif tag == "KeywordList":
            content.take(child, tag)
    pmid, version = _pmid(pmid_element, citation, label)

    article_date: dt.date | None = None
    journal: _Element | None = None
    for child in article if article is not None else ():
        tag = child.tag
        if tag == "Journal":
            journal = child
        elif tag == "ArticleDate":
            article_date = article_date or _date(child)
        else:
            content.take(child, tag)

    journal_title = journal_iso = issn = volume = issue = None
    published: PubDate | None = None
    for child in journal if journal is not None else ():
        tag = child.tag
        if tag == "Title":
            journal_title = _clean(child.text)
        elif tag == "ISOAbbreviation":
            journal_iso = _clean(child.text)
        elif tag == "ISSN":
            issn = _clean(child.text)
        elif tag == "JournalIssue":
            for part in child:
                tag = part.tag
                if tag == "Volume":
                    volume = _clean(part.text)
                elif tag == "Issue":
                    issue = _clean(part.text)
                elif tag == "PubDate":
                    published = _pub_date(part)

    history, entrez, status, ids = _pubmed_data(data)
    return ParsedArticle(
        pmid=pmid,
        version=version,
        record_type="article",
        status=citation.get("Status"),
        date_revised=revised,
        date_completed=completed,
        date_created=created,
        title=content.title,
        vernacular_title=content.vernacular,
        abstract=content.abstract,
        sections=content.sections,
        journal_title=journal_title,
        journal_iso=journal_iso,
        issn=issn,
        volume=volume,
        issue=issue,
        pages=content.pages,
        pub_date=published,
        article_date=article_date,
        entrez_date=entrez,
        doi=ids.get("doi") or content.eloc_doi,
        pmcid=ids.get("pmc"),
        pii=ids.get("pii"),
        languages=tuple(content.languages),
        authors=tuple(content.authors),
        publication_types=tuple(content.types),
        mesh_headings=mesh,
        keywords=tuple(content.keywords),
        comments_corrections=comments,
        publication_status=status,
        history=history,
    )


def _book(record: _Element, label: str) -> ParsedArticle:
    """A PubmedBookArticle: a book, or a chapter of one (GeneReviews, StatPearls ...).

    The book stands where an article has its journal: `journal_title` is the book's title and
    `title` the chapter's (the book's own title when the record is the whole book).
    """
    document = data = None
    for child in record:
        if child.tag == "BookDocument":
            document = child
        elif child.tag == "PubmedBookData":
            data = child
    if document is None:
        where = f"<PubmedBookArticle> at line {record.sourceline}"
        raise _error(label, f"{where} has no BookDocument", _FIX_DOWNLOAD)
    content = _Content()
    pmid_element = book = None
    revised: dt.date | None = None
    ids: dict[str, str] = {}
    for child in document:
        tag = child.tag
        if tag == "PMID":
            pmid_element = pmid_element if pmid_element is not None else child
        elif tag == "Book":
            book = child
        elif tag == "ArticleIdList":
            _article_ids(child, ids)
        elif tag == "DateRevised":
            revised = _date(child)
        else:
            content.take(child, tag)
    pmid, version = _pmid(pmid_element, document, label)

    book_title = volume = None
    published: PubDate | None = None
    for child in book if book is not None else ():
        tag = child.tag
        if tag == "BookTitle":
            book_title = _text(child) or None
        elif tag == "Volume":
            volume = _clean(child.text)
        elif tag == "PubDate":
            published = _pub_date(child)

    history, entrez, status, data_ids = _pubmed_data(data)
    ids = data_ids | ids  # the BookDocument's own ids win
    return ParsedArticle(
        pmid=pmid,
        version=version,
        record_type="book",
        date_revised=revised,
        title=content.title or book_title or "",
        vernacular_title=content.vernacular,
        abstract=content.abstract,
        sections=content.sections,
        journal_title=book_title,
        volume=volume,
        pages=content.pages,
        pub_date=published,
        entrez_date=entrez,
        doi=ids.get("doi") or content.eloc_doi,
        pmcid=ids.get("pmc"),
        pii=ids.get("pii"),
        languages=tuple(content.languages),
        authors=tuple(content.authors),
        publication_types=tuple(content.types),
        keywords=tuple(content.keywords),
        publication_status=status,
        history=history,
    )
