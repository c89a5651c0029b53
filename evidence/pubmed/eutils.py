"""E-utilities responses: parsing, verification and what a failure means.

Pure functions over response bytes and messages (no I/O), so `evidence.pubmed` keeps only the
client: which requests to send, with what pacing and retries. A response is classified as
worth retrying (`Transient`: a cut body, a transient <ERROR>, an unexpected document), an
expired history-server query (`WebEnvExpired`) or a refusal (`Permanent`).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.error import HTTPError

from lxml import etree

from evidence.clock import utcnow

MAX_RETRY_AFTER = 600.0  # seconds: a longer Retry-After is treated as this


class Transient(Exception):
    """A response worth trying again (cut body, transient <ERROR>, unexpected document)."""


class Permanent(Exception):
    """An <ERROR> that retrying cannot fix; becomes PubMedQueryError with the request's URL."""


class WebEnvExpired(Exception):
    """efetch says the history-server query is gone: re-create the window and resume."""


ErrorKind = Literal["transient", "expired", "permanent"]

# Checked in this order.  Permanent hints come before transient ones because NCBI wraps some
# permanent errors in "Search Backend failed: Exception: ... Position 15000 is out of acceptable
# range" (biopython #4189) while plain "Search Backend failed: ..." is an outage (biopython #5025).
EXPIRED_HINTS = ("unable to obtain query",)
PERMANENT_HINTS = ("cannot be larger than", "out of acceptable range", "invalid db name")
TRANSIENT_HINTS = (
    "search backend failed",
    "backend",
    "temporar",
    "try again",
    "timeout",
    "timed out",
    "unavailable",
    "proxy_stream",  # a relayed 502 page (pubmed-mcp-server #155)
    "failed to connect",
    "empty response",
    "internal server error",
)


def classify(message: str) -> ErrorKind:
    low = message.lower()
    if any(h in low for h in EXPIRED_HINTS):
        return "expired"
    if any(h in low for h in PERMANENT_HINTS):
        return "permanent"
    if any(h in low for h in TRANSIENT_HINTS):
        return "transient"
    return "permanent"


def raise_for_errors(util: str, messages: Sequence[str]) -> None:
    kinds = [classify(m) for m in messages]
    joined = "; ".join(" ".join(m.split()) for m in messages)
    if "permanent" in kinds:
        raise Permanent(joined)
    if "expired" in kinds:
        raise WebEnvExpired(joined)
    raise Transient(f"{util} <ERROR>: {joined}")


def xml_parser() -> etree.XMLParser:
    # Never load DTDs or touch the network: responses name NCBI's DTD URLs.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def parse_xml(body: bytes, util: str) -> etree._Element:
    try:
        return etree.fromstring(body, xml_parser())
    except etree.XMLSyntaxError as exc:
        raise Transient(f"{util} response is not complete XML ({exc}); cut mid-stream?") from None


def element_text(elem: etree._Element) -> str:
    text = etree.tostring(elem, method="text", encoding="unicode", with_tail=False)
    return " ".join(text.split())


@dataclass(frozen=True)
class SearchResult:
    count: int
    webenv: str
    query_key: str
    notes: tuple[str, ...]
    ids: tuple[int, ...]


def parse_esearch(body: bytes, retmax: int = 0) -> SearchResult:
    """Parse an eSearchResult; ``retmax`` is what was asked for, so a short IdList is caught."""
    root = parse_xml(body, "esearch")
    if root.tag != "eSearchResult":
        raise Transient(f"unexpected esearch response <{root.tag}>")
    errors = [element_text(e) for e in root.findall("ERROR")]
    if errors:
        raise_for_errors("esearch", errors)
    count_text = (root.findtext("Count") or "").strip()
    if not count_text.isdigit():
        raise Transient("esearch response has no Count")
    count = int(count_text)
    webenv = (root.findtext("WebEnv") or "").strip()
    query_key = (root.findtext("QueryKey") or "").strip()
    if count > 0 and not (webenv and query_key):
        raise Transient("esearch response has no WebEnv/QueryKey although usehistory=y")
    id_texts = [(e.text or "").strip() for e in root.iterfind("IdList/Id")]
    if not all(t.isdigit() for t in id_texts) or len(id_texts) != min(count, retmax):
        # The ids are how a refresh decides what to fetch: a partial list would miss records.
        raise Transient(f"esearch IdList holds {len(id_texts)} ids for Count {count}")
    # ErrorList (PhraseNotFound, FieldNotFound ...) and WarningList are warnings, not failures:
    # PubMed searched what it understood and the count says what it found.
    notes = tuple(
        f"{child.tag}: {element_text(child)}"
        for child in root.iterfind("ErrorList/*")
        if isinstance(child.tag, str)
    )
    return SearchResult(count, webenv, query_key, notes, tuple(map(int, id_texts)))


def parse_epost(body: bytes) -> tuple[str, str, tuple[str, ...]]:
    root = parse_xml(body, "epost")
    if root.tag != "ePostResult":
        raise Transient(f"unexpected epost response <{root.tag}>")
    errors = [element_text(e) for e in root.findall("ERROR")]
    webenv = (root.findtext("WebEnv") or "").strip()
    query_key = (root.findtext("QueryKey") or "").strip()
    if webenv and query_key:
        # Stored; ERRORs alongside ("Some IDs have invalid value and were omitted") are warnings.
        return webenv, query_key, tuple(errors)
    raise_for_errors("epost", errors or ["epost response has no WebEnv/QueryKey"])
    raise AssertionError("unreachable")  # pragma: no cover


RECORD_TAGS = frozenset({"PubmedArticle", "PubmedBookArticle"})


def verify_efetch(body: bytes) -> int:
    """Check that ``body`` is one complete PubmedArticleSet; return its number of records.

    Streams through the document (bounded memory) so a body cut mid-stream -- one that lacks its
    closing ``</PubmedArticleSet>`` or stops inside a record -- is caught even when the HTTP
    layer did not notice (a response without Content-Length).
    """
    if not body.strip():
        raise Transient("empty efetch response")
    parser = etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
    )
    root_tag = ""
    depth = 0
    records = 0
    errors: list[str] = []
    chunk = 1 << 20
    try:
        for offset in range(0, len(body), chunk):
            parser.feed(body[offset : offset + chunk])
            for event, elem in parser.read_events():
                if not isinstance(elem, etree._Element):
                    continue
                if event == "start":
                    depth += 1
                    if depth == 1:
                        root_tag = str(elem.tag)
                    continue
                depth -= 1
                if depth == 1:
                    if elem.tag in RECORD_TAGS:
                        records += 1
                    elif elem.tag == "ERROR":
                        errors.append(element_text(elem))
                    elem.clear()
                    parent = elem.getparent()
                    while parent is not None and elem.getprevious() is not None:
                        del parent[0]
        parser.close()
    except etree.XMLSyntaxError as exc:
        raise Transient(f"efetch body is not complete XML ({exc}); cut mid-stream?") from None
    if root_tag == "PubmedArticleSet":
        return records
    if root_tag == "eFetchResult" and errors:
        raise_for_errors("efetch", errors)
    raise Transient(f"unexpected efetch response <{root_tag}>")


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - utcnow()).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def http_error_detail(exc: HTTPError) -> tuple[str, list[str]]:
    """A short description of an HTTP error's body and any <ERROR> texts in it."""
    try:
        body = exc.read(65536) or b""
    except Exception:  # the body is a courtesy; a broken one must not mask the status
        body = b""
    errors: list[str] = []
    if b"<ERROR>" in body:
        try:
            root = etree.fromstring(body, xml_parser())
            errors = [element_text(e) for e in root.iter("ERROR")]
        except etree.XMLSyntaxError:
            errors = [
                " ".join(m.decode("utf-8", "replace").split())
                for m in re.findall(rb"<ERROR>(.*?)(?:</ERROR>|$)", body, re.S)
            ]
    snippet = " ".join(body[:200].decode("utf-8", "replace").split())
    return snippet, errors
