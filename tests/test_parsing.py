"""Tests for evidence.parsing (streaming PubMed XML) and evidence.pubdates.

Fixtures under tests/fixtures/pubmed/ are synthetic records written for these tests; broken inputs
(truncated, corrupt gzip, bad bytes ...) are made from them on the fly.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from evidence.errors import PubMedXMLError
from evidence.pubmed.dates import parse_date_parts, parse_free_text, pub_date
from evidence.pubmed.parsing import iter_records, parse_bytes
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

FIXTURES = Path(__file__).parent / "fixtures" / "pubmed"
ARTICLESET = FIXTURES / "articleset.xml"


def articles(source: Path | bytes) -> list[ParsedArticle]:
    """The articles of a file or document (deletions left out)."""
    records = parse_bytes(source) if isinstance(source, bytes) else list(iter_records(source))
    return [r for r in records if isinstance(r, ParsedArticle)]


def by_pmid(path: Path = ARTICLESET) -> dict[int, ParsedArticle]:
    return {a.pmid: a for a in articles(path)}


def one_article(title_xml: str, abstract_xml: str = "") -> ParsedArticle:
    """A minimal efetch document around a title (and abstract) given as raw XML."""
    abstract = f"<Abstract><AbstractText>{abstract_xml}</AbstractText></Abstract>"
    doc = (
        '<?xml version="1.0"?>\n<PubmedArticleSet><PubmedArticle><MedlineCitation>'
        f"<PMID>1</PMID><Article><ArticleTitle>{title_xml}</ArticleTitle>"
        f"{abstract if abstract_xml else ''}</Article></MedlineCitation></PubmedArticle>"
        "</PubmedArticleSet>"
    )
    (article,) = articles(doc.encode())
    return article


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any Python-level connection attempt (the parser must stay offline)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the parser tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# --------------------------------------------------------------------------- well-formed input


def test_articleset_yields_records_in_document_order() -> None:
    records = list(iter_records(ARTICLESET))
    assert [type(r).__name__ for r in records] == ["ParsedArticle"] * 5 + ["Deletion"]
    assert [r.pmid for r in records if isinstance(r, ParsedArticle)] == [
        90000001,
        90000002,
        90000003,
        90000004,
        90000005,
    ]
    assert records[-1] == Deletion(pmids=(90000900, 90000901))


def test_full_record_with_structured_abstract() -> None:
    assert by_pmid()[90000001] == ParsedArticle(
        pmid=90000001,
        version=1,
        record_type="article",
        status="MEDLINE",
        date_revised=dt.date(2020, 11, 2),
        date_completed=dt.date(2019, 3, 14),
        date_created=None,
        title="Kratom leaf extract and pain thresholds in adults: a randomised crossover trial.",
        vernacular_title=None,
        abstract=(
            "BACKGROUND: Kratom is used for pain relief.\n\n"
            "METHODS: Forty adults took extract or placebo.\n\n"
            "RESULTS: Thresholds rose by 12%.\n\n"
            "CONCLUSIONS: A modest effect."
        ),
        sections=(
            AbstractSection("Kratom is used for pain relief.", "BACKGROUND", "BACKGROUND"),
            AbstractSection("Forty adults took extract or placebo.", "METHODS", "METHODS"),
            AbstractSection("Thresholds rose by 12%.", "RESULTS", "RESULTS"),
            AbstractSection("A modest effect.", "CONCLUSIONS", "CONCLUSIONS"),
        ),
        journal_title="Journal of botanical pharmacology",
        journal_iso="J Bot Pharmacol",
        issn="1999-0001",
        volume="12",
        issue="4",
        pages="301-309",
        pub_date=PubDate("2019 Feb 15", dt.date(2019, 2, 15), 2019, "day"),
        article_date=dt.date(2019, 1, 20),
        entrez_date=dt.date(2019, 1, 21),
        doi="10.9999/jbp.2019.0001",
        pmcid="PMC9000001",
        pii="S1999-0001(19)30001-X",
        languages=("eng", "swe"),
        authors=(
            # ORCID URL normalised; only the first affiliation; the ValidYN="N" author dropped.
            Author(
                last_name="Okafor",
                fore_name="Adaeze N",
                initials="AN",
                affiliation="Department of Pharmacology, Example University, Lagos, Nigeria.",
                orcid="0000-0002-1825-009X",
            ),
            Author(
                last_name="Lindqvist", fore_name="Per", initials="P", orcid="0000-0002-1825-0097"
            ),
        ),
        publication_types=(
            PublicationType("Journal Article", "D016428"),
            PublicationType("Randomized Controlled Trial", "D016449"),
        ),
        mesh_headings=(
            MeshHeading("Adult", "D000328", False, ()),
            MeshHeading(
                "Pain Management",
                "D059408",
                True,
                (
                    MeshQualifier("methods", "Q000379", False),
                    MeshQualifier("adverse effects", "Q000009", True),
                ),
            ),
        ),
        keywords=(Keyword("kratom", False, "NOTNLM"), Keyword("mitragynine", True, "NOTNLM")),
        comments_corrections=(),
        publication_status="ppublish",
        history=(
            ("received", dt.date(2018, 9, 1)),
            ("entrez", dt.date(2019, 1, 21)),
            ("pubmed", dt.date(2019, 1, 22)),
        ),
    )


def test_inline_markup_and_mathml_flattened() -> None:
    article = by_pmid()[90000002]
    assert article.title == "Effect of Mitragyna speciosa alkaloids on Ca^2+ flux at 10^6 cells/mL."
    # alttext wins for MathML; without it the token texts are joined; tails are kept; a
    # superscript after a space (13C) or a mark (®) gets no caret.
    expected = (
        "We grew cells to 5 × 10^6 per well and measured [Ca^2+]i with a 13C probe (Probex®). "
        "The rate k_{on} rose, and R2 was 0.9; CO2 was not limiting."
    )
    assert article.abstract == expected
    assert article.sections == (AbstractSection(expected),)
    assert article.pub_date == PubDate("2021 5", dt.date(2021, 5, 1), 2021, "month")
    assert (article.doi, article.pmcid, article.pii) == (None, None, None)


@pytest.mark.parametrize(
    ("title_xml", "expected"),
    [
        ("plain   title\n  on two lines ", "plain title on two lines"),
        ("<i>in vivo</i> study", "in vivo study"),
        ("a <b>bold</b>, <u>under</u> and <i>nested <b>deep</b></i> tail", None),
        ("x<sup>n</sup> and cm<sup>-1</sup> and 10<sup>−3</sup>", "x^n and cm^-1 and 10^−3"),
        ("<sup>1</sup>H NMR", "1H NMR"),
        ("ref <sup>12</sup>", "ref 12"),
        ("Brand<sup>™</sup> device<sup>*</sup>", "Brand™ device*"),
        ("H<sub>2</sub>O", "H2O"),
        (
            '<mml:math xmlns:mml="http://www.w3.org/1998/Math/MathML" alttext="x^2">x</mml:math>',
            "x^2",
        ),
        ('<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>y</mi> <mn>2</mn></math>!', "y2!"),
        ("<!-- a comment -->kept<?pi data?> text", "kept text"),
    ],
)
def test_text_flattening(title_xml: str, expected: str | None) -> None:
    expected = expected or "a bold, under and nested deep tail"
    assert one_article(title_xml).title == expected


def test_letter_without_abstract_collective_author_and_medline_date() -> None:
    article = by_pmid()[90000003]
    assert (article.abstract, article.sections) == ("", ())
    assert article.authors == (
        Author(collective_name="Regional Poison Centre Study Group"),
        Author(last_name="Moreau", fore_name="Élise", initials="É"),
    )
    assert article.pub_date == PubDate("1998 Dec-1999 Jan", dt.date(1998, 12, 1), 1998, "month")
    assert article.publication_types == (PublicationType("Letter", "D016422"),)
    # DOI from the valid ELocationID; nothing taken from the ReferenceList's ArticleIdList.
    assert article.doi == "10.9999/aml.1998.88"
    assert article.pmcid is None
    assert article.entrez_date == dt.date(1998, 12, 20)  # no "entrez": falls back to "pubmed"


def test_versioned_pmid_and_season() -> None:
    article = by_pmid()[90000004]
    assert (article.pmid, article.version, article.status) == (90000004, 2, "Publisher")
    assert article.pub_date == PubDate("1998 Winter", dt.date(1998, 1, 1), 1998, "season")
    assert article.vernacular_title == "Usages traditionnels du kratom."
    assert article.journal_iso is None
    assert (article.history, article.entrez_date) == ((), None)


def test_retraction_and_comments_corrections() -> None:
    article = by_pmid()[90000005]
    assert article.publication_types == (
        PublicationType("Journal Article", "D016428"),
        PublicationType("Retracted Publication", "D016441"),
    )
    assert article.comments_corrections == (
        CommentCorrection("ExpressionOfConcernIn", "J Quest Results. 2016;41:5", 90000101),
        CommentCorrection("RetractionIn", "J Quest Results. 2017;42:1", 90000102),
        CommentCorrection("ErratumIn", "J Quest Results. 2015;40:99", None),
    )
    assert article.pub_date == PubDate("2015", dt.date(2015, 1, 1), 2015, "year")
    # "received" on 30 February is skipped, not fatal.
    assert article.history == (("pubmed", dt.date(2015, 3, 9)), ("retracted", dt.date(2017, 1, 5)))
    # The empty AbstractText is dropped; a labelled one keeps its label, whatever it says.
    assert article.sections == (
        AbstractSection("Too good to be true.", "UNLABELLED", "UNASSIGNED"),
    )
    assert article.abstract == "UNLABELLED: Too good to be true."


def test_book_article() -> None:
    (book,) = articles(FIXTURES / "book.xml")
    assert book == ParsedArticle(
        pmid=90000010,
        version=1,
        record_type="book",
        date_revised=dt.date(2024, 6, 13),
        title="Mitragyna speciosa (Kratom)",
        abstract="SUMMARY: Kratom is a tropical tree.\n\nUSES: Leaves are chewed or brewed.",
        sections=(
            AbstractSection("Kratom is a tropical tree.", "SUMMARY"),
            AbstractSection("Leaves are chewed or brewed.", "USES"),
        ),
        journal_title="HerbReviews®",
        pub_date=PubDate("2001", dt.date(2001, 1, 1), 2001, "year"),
        entrez_date=dt.date(2010, 3, 20),
        languages=("eng",),
        authors=(Author("Author", "Anna", "A", affiliation="Example University"),),  # no editors
        publication_types=(PublicationType("Review", "D016454"),),
        publication_status="ppublish",
        history=(("pubmed", dt.date(2010, 3, 20)), ("entrez", dt.date(2010, 3, 20))),
    )


def test_old_medline_citation_set() -> None:
    records = list(iter_records(FIXTURES / "medline_2016.xml"))
    assert len(records) == 3
    first, second, deletion = records
    assert isinstance(first, ParsedArticle) and isinstance(second, ParsedArticle)
    assert (first.pmid, first.status, first.date_created) == (
        90000030,
        "MEDLINE",
        dt.date(2015, 10, 18),
    )
    assert first.date_completed == dt.date(2016, 2, 7)
    assert first.pub_date == PubDate("2015 Summer", dt.date(2015, 6, 1), 2015, "season")
    assert first.sections == (AbstractSection("To test the old format.", "PURPOSE", "OBJECTIVE"),)
    assert first.mesh_headings == (MeshHeading("Humans", "D006801", False, ()),)
    assert (first.history, first.entrez_date, first.publication_status) == ((), None, None)
    assert second.pub_date == PubDate("1976 Nov 11-17", dt.date(1976, 11, 11), 1976, "day")
    assert (second.date_created, second.languages) == (dt.date(2016, 1, 4), ("ger",))
    assert deletion == Deletion((90000039,))


def test_empty_efetch_response_yields_nothing() -> None:
    assert list(iter_records(FIXTURES / "empty_set.xml")) == []
    assert parse_bytes(b"<PubmedArticleSet/>") == []


@pytest.mark.usefixtures("no_network")
def test_http_doctype_and_unknown_dtd_version_parse_offline() -> None:
    assert ARTICLESET.read_bytes().count(b'"http://dtd.nlm.nih.gov/') == 1
    assert len(list(iter_records(ARTICLESET))) == 6
    (article,) = articles(FIXTURES / "future_dtd.xml")
    assert b"pubmed_990101.dtd" in (FIXTURES / "future_dtd.xml").read_bytes()
    assert (article.pmid, article.title) == (90000020, "An element the parser has never seen.")
    assert article.pub_date == PubDate("2099 Jan", dt.date(2099, 1, 1), 2099, "month")


def test_dtd_and_entities_are_never_loaded(tmp_path: Path) -> None:
    # Were the DTD read, PMID would get Version="7" and &kratom; would expand.
    dtd = tmp_path / "local.dtd"
    dtd.write_text('<!ATTLIST PMID Version CDATA "7">\n<!ENTITY kratom "KRATOM">\n')
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    doc = (
        f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet SYSTEM "{dtd.as_uri()}" '
        f'[<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'
        "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>5</PMID><Article>"
        "<ArticleTitle>a &kratom; b &xxe;</ArticleTitle></Article></MedlineCitation>"
        "</PubmedArticle></PubmedArticleSet>"
    )
    (article,) = articles(doc.encode())
    assert article.version == 1
    assert article.title == "a &kratom; b &xxe;"


def test_gzip_is_detected_by_content_not_name(tmp_path: Path) -> None:
    expected = list(iter_records(ARTICLESET))
    compressed = tmp_path / "articleset.xml"  # gzip data under a plain name
    compressed.write_bytes(gzip.compress(ARTICLESET.read_bytes()))
    plain = tmp_path / "articleset.xml.gz"  # plain XML under a gzip name
    plain.write_bytes(ARTICLESET.read_bytes())
    assert list(iter_records(compressed)) == expected
    assert list(iter_records(plain)) == expected
    with compressed.open("rb") as stream:
        assert list(iter_records(stream)) == expected
    assert parse_bytes(gzip.compress(ARTICLESET.read_bytes())) == expected


def test_file_objects_and_short_reads() -> None:
    class Trickle(io.RawIOBase):
        """Returns at most 7 bytes per read, as a slow socket might."""

        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self._data.read(7 if size < 0 else min(size, 7))

    expected = list(iter_records(ARTICLESET))
    assert list(iter_records(io.BytesIO(ARTICLESET.read_bytes()))) == expected
    assert list(iter_records(Trickle(ARTICLESET.read_bytes()))) == expected  # type: ignore[arg-type]
    assert parse_bytes(ARTICLESET.read_bytes()) == expected


def test_memory_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Processed records are freed: the tree holds the current record, plus whatever lxml
    parsed ahead in the current read chunk (32 KiB), never the whole file."""
    record = (
        "<PubmedArticle><MedlineCitation><PMID>{:08d}</PMID><Article><ArticleTitle>t"
        "</ArticleTitle></Article></MedlineCitation></PubmedArticle>\n"
    )
    count = 5000
    doc = "<PubmedArticleSet>" + "".join(record.format(i) for i in range(1, count + 1))
    doc += "</PubmedArticleSet>"
    per_chunk = 2 * 65536 // len(record.format(1))
    real_iterparse = etree.iterparse
    widest = 0

    def watching_iterparse(*args: Any, **kwargs: Any) -> Iterator[Any]:
        nonlocal widest
        for event, element in real_iterparse(*args, **kwargs):
            widest = max(widest, len(element.getroottree().getroot()))
            yield event, element

    monkeypatch.setattr(etree, "iterparse", watching_iterparse)
    assert len(parse_bytes(doc.encode())) == count
    assert 1 <= widest <= per_chunk + 2 < count // 4


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1990 May-Jun", (dt.date(1990, 5, 1), 1990, "month")),
        ("1998 Dec-1999 Jan", (dt.date(1998, 12, 1), 1998, "month")),
        ("1979 Jul-Aug", (dt.date(1979, 7, 1), 1979, "month")),
        ("2000 Spring", (dt.date(2000, 3, 1), 2000, "season")),
        ("1977 Fall-Winter", (dt.date(1977, 9, 1), 1977, "season")),
        ("Summer 1995", (dt.date(1995, 6, 1), 1995, "season")),
        ("Winter-Spring 1990", (dt.date(1990, 1, 1), 1990, "season")),
        ("1981-1982", (dt.date(1981, 1, 1), 1981, "year")),
        ("1979-1980 Fall", (dt.date(1979, 1, 1), 1979, "year")),
        ("1976 Nov 11-17", (dt.date(1976, 11, 11), 1976, "day")),
        ("1977 Aug 27-Sep 3", (dt.date(1977, 8, 27), 1977, "day")),
        ("2021 Apr-Jun 01", (dt.date(2021, 4, 1), 2021, "month")),
        ("2021 3rd Quarter", (dt.date(2021, 7, 1), 2021, "season")),
        ("1985 September", (dt.date(1985, 9, 1), 1985, "month")),
        ("1985 Feb 30-31", (dt.date(1985, 2, 1), 1985, "month")),
        ("Spring", (None, None, "unknown")),
        ("n.d.", (None, None, "unknown")),
        ("0000", (None, None, "unknown")),
    ],
)
def test_medline_date_shapes(raw: str, expected: tuple[dt.date | None, int | None, str]) -> None:
    assert parse_free_text(raw) == PubDate(raw, *expected)
    assert pub_date(None, None, None, None, raw) == PubDate(raw, *expected)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("2020", "Jan", "15", None), PubDate("2020 Jan 15", dt.date(2020, 1, 15), 2020, "day")),
        (("2020", "06", None, None), PubDate("2020 06", dt.date(2020, 6, 1), 2020, "month")),
        (
            ("2020", "January", None, None),
            PubDate("2020 January", dt.date(2020, 1, 1), 2020, "month"),
        ),
        (("1979", None, None, None), PubDate("1979", dt.date(1979, 1, 1), 1979, "year")),
        (
            ("1998", None, None, "Winter"),
            PubDate("1998 Winter", dt.date(1998, 1, 1), 1998, "season"),
        ),
        (
            ("2011", None, None, "Autumn"),
            PubDate("2011 Autumn", dt.date(2011, 9, 1), 2011, "season"),
        ),
        (
            ("2019", None, None, "Jan-Mar"),
            PubDate("2019 Jan-Mar", dt.date(2019, 1, 1), 2019, "month"),
        ),
        (("2020", "Feb", "30", None), PubDate("2020 Feb 30", dt.date(2020, 2, 1), 2020, "month")),
        (("2020", "13", None, None), PubDate("2020 13", dt.date(2020, 1, 1), 2020, "year")),
        (("20xx", "Jan", None, None), PubDate("20xx Jan", None, None, "unknown")),
        ((None, None, None, None), None),
    ],
)
def test_structured_pub_dates(
    parts: tuple[str | None, str | None, str | None, str | None], expected: PubDate | None
) -> None:
    year, month, day, season = parts
    assert pub_date(year, month, day, season, None) == expected


def test_full_dates_reject_impossible_values() -> None:
    assert parse_date_parts("2019", "02", "28") == dt.date(2019, 2, 28)
    assert parse_date_parts("2019", "Feb", "28") == dt.date(2019, 2, 28)
    assert parse_date_parts("2019", "02", "29") is None
    assert parse_date_parts("2019", "13", "01") is None
    assert parse_date_parts("2019", None, "01") is None
    assert parse_date_parts("x", "1", "1") is None
    assert parse_date_parts("2019", "1", "99999999999999999999") is None


# --------------------------------------------------------------------------- bad input


def read_error(source: Path | io.BytesIO, **kwargs: str) -> tuple[str, list[Record]]:
    """Records yielded before the failure, and the (single-line) error message."""
    seen: list[Record] = []
    with pytest.raises(PubMedXMLError) as caught:
        for record in iter_records(source, **kwargs):
            seen.append(record)
    message = str(caught.value)
    assert "\n" not in message and message == message.strip()
    return message, seen


def _records_before(message: str) -> int:
    found = re.search(r"after (\d+) records?\b", message)
    assert found, message
    return int(found.group(1))


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    text = ARTICLESET.read_text(encoding="utf-8")
    bad.write_text(text.replace("<Volume>7</Volume>", "<Volume>7</Volum>"))
    message, seen = read_error(bad)
    line = text[: text.index("<Volume>7</Volume>")].count("\n") + 1
    assert message.startswith(f"{bad}: malformed XML at line {line}, column ")
    assert "re-download" in message
    # The count is what the parser handed over before the error, which depends on how far
    # libxml2 reads ahead in one chunk (a whole small file, with recent lxml): never more than
    # the records before the bad one, and the message says exactly how many.
    done = _records_before(message)
    assert done <= 1 and [r.pmid for r in seen if isinstance(r, ParsedArticle)] == [90000001][:done]


def test_truncated_mid_record(tmp_path: Path) -> None:
    data = ARTICLESET.read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[: data.index(b'<PMID Version="1">90000003')])
    message, seen = read_error(cut, name="pubmed-cut.xml")
    assert message.startswith("pubmed-cut.xml: XML ends early at line ")
    assert "(truncated download?) after 2 records" in message
    assert message.endswith("; re-download the file")
    assert len(seen) == 2


def test_missing_closing_root_tag(tmp_path: Path) -> None:
    data = ARTICLESET.read_bytes()
    cut = tmp_path / "noroot.xml"
    cut.write_bytes(data[: data.rindex(b"</PubmedArticleSet>")])
    message, seen = read_error(cut)
    assert "XML ends early" in message and "after 6 records" in message
    assert "PubmedArticleSet" in message
    assert len(seen) == 6  # every complete record still arrives before the error


def test_gzip_cut_short(tmp_path: Path) -> None:
    data = gzip.compress(ARTICLESET.read_bytes() * 1)
    cut = tmp_path / "pubmed.xml.gz"
    cut.write_bytes(data[: len(data) - 40])
    message, _ = read_error(cut)
    assert message.startswith(f"{cut}: gzip stream ends early (truncated download?) after ")
    assert message.endswith("; re-download the file")


def test_gzip_cut_before_first_record(tmp_path: Path) -> None:
    data = gzip.compress(ARTICLESET.read_bytes())
    message, seen = read_error(io.BytesIO(data[:30]), name="tiny.gz")
    assert message.startswith(
        "tiny.gz: gzip stream ends early (truncated download?) after 0 records"
    )
    assert seen == []


def test_corrupt_gzip(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(ARTICLESET.read_bytes()))
    data[40] ^= 0xFF
    message, _ = read_error(io.BytesIO(bytes(data)), name="corrupt.xml.gz")
    assert message.startswith("corrupt.xml.gz: ")
    assert "gzip" in message and "re-download" in message


def test_gzip_with_bad_checksum_fails_after_the_records() -> None:
    text = ARTICLESET.read_bytes()
    body = text[text.index(b"<PubmedArticleSet>") + 18 : text.index(b"</PubmedArticleSet>")]
    doc = b"<PubmedArticleSet>" + body * 30 + b"</PubmedArticleSet>"  # 180 records, ~400 KiB
    data = bytearray(gzip.compress(doc))
    data[-6] ^= 0xFF  # inside the CRC-32 trailer: all data decompresses, then the check fails
    message, seen = read_error(io.BytesIO(bytes(data)), name="crc.xml.gz")
    assert re.fullmatch(
        r"crc\.xml\.gz: corrupt gzip data \(CRC check failed 0x[0-9a-f]+ != 0x[0-9a-f]+\) "
        r"after \d+ records; re-download the file",
        message,
    )
    assert 100 < len(seen) < 180


def test_gzip_magic_then_garbage() -> None:
    message, seen = read_error(io.BytesIO(b"\x1f\x8bnot really gzip at all"), name="x.gz")
    assert message.startswith("x.gz: corrupt gzip data (")
    assert message.endswith(") after 0 records; re-download the file")
    assert seen == []


@pytest.mark.parametrize(
    "body",
    [
        (FIXTURES / "error_page.html").read_bytes(),  # not well-formed XML
        b"<html><head><title>PmFetch response</title></head><body><pre>x</pre></body></html>",
        b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
    ],
)
def test_html_instead_of_xml(body: bytes) -> None:
    message, _ = read_error(io.BytesIO(body), name="efetch.fcgi")
    assert message.startswith("efetch.fcgi: got an HTML page, not PubMed XML; ")


def test_html_fixture_file() -> None:
    message, _ = read_error(FIXTURES / "error_page.html")
    assert message.startswith(f"{FIXTURES / 'error_page.html'}: got an HTML page")


def test_json_or_text_instead_of_xml() -> None:
    body = b'{"error":"API rate limit exceeded","api-key":"1.2.3.4","count":"4","limit":"3"}'
    message, _ = read_error(io.BytesIO(body), name="efetch")
    assert message == (
        'efetch: not XML: it starts with b\'{"error":"API rate limit exceeded","api-\'; '
        "pass a PubMed XML file or efetch response"
    )


def test_root_that_is_not_pubmed() -> None:
    message, _ = read_error(FIXTURES / "esearch_result.xml", name="esearch.xml")
    assert message == (
        "esearch.xml: root element <eSearchResult> is not PubMed XML (expected "
        "<PubmedArticleSet> or <MedlineCitationSet>); pass a baseline/update file or an "
        "efetch response with db=pubmed&retmode=xml"
    )


def test_ncbi_error_text_is_reported() -> None:
    message, _ = read_error(FIXTURES / "efetch_error.xml", name="efetch")
    assert message == (
        "efetch: NCBI answered <eFetchResult> with an error instead of records: "
        "'Unable to obtain query #1'; fix the request and retry (an expired WebEnv needs a "
        "new search)"
    )


def test_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    data = ARTICLESET.read_bytes().replace(
        b"Ethnobotany quarterly", "Ethnobotanique trimestrielle é".encode("latin-1")
    )
    bad = tmp_path / "latin1.xml"
    bad.write_bytes(data)
    line = data[: data.index(b"Ethnobotanique")].count(b"\n") + 1
    message, seen = read_error(bad)
    assert message.startswith(f"{bad}: bytes that are not valid in the file's encoding ")
    assert f"at line {line}, column " in message
    assert message.endswith("re-download the file or convert it to UTF-8")
    done = _records_before(message)  # read-ahead: see test_malformed_xml_names_file_and_line
    assert done <= 3 and len(seen) == done


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"", "file is empty (0 bytes), not PubMed XML"),
        (b"  \n\n", "file holds only spaces, not PubMed XML"),
        (gzip.compress(b"", mtime=0), "file decompresses to nothing, not PubMed XML"),
    ],
)
def test_empty_input(tmp_path: Path, data: bytes, what: str) -> None:
    empty = tmp_path / "empty.xml"
    empty.write_bytes(data)
    message, _ = read_error(empty)
    assert message == f"{empty}: {what}; re-download the file"


def test_missing_file(tmp_path: Path) -> None:
    message, _ = read_error(tmp_path / "nope.xml.gz")
    assert message.startswith(f"{tmp_path / 'nope.xml.gz'}: cannot read the file (")
    assert message.endswith("check the path and permissions")


def test_pmid_that_is_not_a_number() -> None:
    doc = b"<PubmedArticleSet><DeleteCitation><PMID>12a</PMID></DeleteCitation></PubmedArticleSet>"
    with pytest.raises(PubMedXMLError, match=r"^<response>: PMID '12a' at line 1 is not a number"):
        parse_bytes(doc)


def test_record_without_pmid() -> None:
    doc = b"<PubmedArticleSet>\n<PubmedArticle><MedlineCitation/></PubmedArticle>"
    doc += b"</PubmedArticleSet>"
    with pytest.raises(PubMedXMLError, match=r"^x: <MedlineCitation> at line 2 has no PMID"):
        parse_bytes(doc, name="x")
