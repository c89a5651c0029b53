"""PubMed E-utilities client: esearch (history server), efetch in batches or by id, epost.

This is the only module that imports ``Bio.Entrez``; Biopython is the transport, and this module
adds what Biopython does not do (see ``reference/pubmed.md``):

* **Host-wide rate limit.** Every HTTP attempt first takes a slot from
  :class:`evidence.ratelimit.RateLimiter` (a state file shared by all processes on the host).
* **Polite retries.** ``Entrez.max_tries`` is forced to 1 because Biopython retries 429/5xx at
  once without sleeping.  We retry HTTP 429 and 5xx, connection errors and timeouts, bodies cut
  mid-stream (``IncompleteRead`` or XML missing its end), and transient ``<ERROR>`` bodies
  ("Search Backend failed ...") with exponential backoff plus jitter, honouring ``Retry-After``.
  An expired WebEnv (efetch answers ``Unable to obtain query #1``) re-runs that window's esearch
  (or re-posts its ids) and resumes at the same ``retstart``.  Other ``<ERROR>``\\s and HTTP 4xx
  raise :class:`PubMedQueryError`; an exhausted retry budget raises :class:`PubMedUnavailable`.
  Nothing fails silently.
* **The 10,000 cap.** PubMed's esearch reaches only the first 10,000 hits of a query, so
  :meth:`PubMedClient.search` splits larger result sets into disjoint date windows.
* **Base URL override** (``EVIDENCE_EUTILS_URL``) by a urllib handler, since Biopython hard-codes
  NCBI's URL -- see :class:`_EUtilsRouter`.
* **Secrets.** The API key never appears in logs, exception messages or reprs (:func:`redact`).

Responses are returned as bytes; parsing PubMed XML into records is ``evidence.parsing``'s job.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import http.client
import logging
import random
import re
import threading
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar
from urllib.error import HTTPError
from urllib.parse import urlencode, urlsplit

from evidence.errors import ConfigError, InputError, PubMedQueryError, PubMedUnavailable
from evidence.provenance import NCBI_ENDPOINT
from evidence.pubmed import eutils
from evidence.pubmed.ratelimit import RateLimiter

__all__ = [
    "ESEARCH_CAP",
    "NCBI_EUTILS_URL",
    "PubMedClient",
    "RequestStats",
    "SearchWindow",
    "redact",
    "unknown_phrases",
]

logger = logging.getLogger("evidence.pubmed")

NCBI_EUTILS_URL = NCBI_ENDPOINT
#: esearch can page through only this many hits of one query; windows must stay below it.
ESEARCH_CAP = 10_000
#: epost stores at most this many ids per call; efetch returns at most this many per call.
EPOST_MAX = 10_000
EFETCH_MAX = 10_000
#: Date range searched when a query over the cap gives no dates of its own.  PubMed's oldest
#: records are dated 1781; publication dates run up to a year ahead (issues announced early).
DEFAULT_MINDATE = dt.date(1700, 1, 1)
DATETYPES = ("edat", "mdat", "pdat")
#: Upper bound on a server's Retry-After that we obey (a guard against absurd values).
_ENV_BASE_URL = "EVIDENCE_EUTILS_URL"

_T = TypeVar("_T")

#: One HTTP request to an E-utility: (utility name, query parameters including email, tool and
#: api_key) -> (response body, HTTP status). Failures raise `urllib.error.HTTPError` (an HTTP
#: error status) or `OSError` (network). The default is `EntrezTransport` (Biopython);
#: unit tests pass a function that answers from memory.
Transport = Callable[[str, dict[str, object]], tuple[bytes, int]]


# --------------------------------------------------------------------------------------------
# Secrets


_SECRET_RE = re.compile(
    r"""(?P<key>\bapi[_-]key\b["']?\s*[=:]\s*["']?)(?P<value>[^\s&"',;}\]]+)""", re.IGNORECASE
)


def redact(text: str) -> str:
    """Mask API-key values: ``api_key=abc`` -> ``api_key=***`` (also ``"api-key":"abc"``).

    Covers URLs, form bodies, dict reprs and NCBI's JSON 429 bodies (whose ``api-key`` field
    echoes the caller's key).
    """
    return _SECRET_RE.sub(lambda m: m.group("key") + "***", text)


class _Secret:
    """Holds the API key so that ``repr``/``vars`` dumps of the client never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"


# --------------------------------------------------------------------------------------------
# Routing Biopython's hard-coded NCBI URLs to EVIDENCE_EUTILS_URL


@dataclass(frozen=True)
class _Route:
    base_url: str | None  # None: leave NCBI's URL alone
    timeout: float


# The route of the client whose Entrez call is running in this thread/context.  Outside our
# calls it is None and the router does nothing, so other urllib users are never affected.
_ROUTE: contextvars.ContextVar[_Route | None] = contextvars.ContextVar(
    "evidence_pubmed_route", default=None
)


class _EUtilsRouter(urllib.request.BaseHandler):
    """Rewrites ``https://eutils.ncbi.nlm.nih.gov/entrez/eutils/...`` to the client's base URL.

    Why a handler: Biopython builds NCBI's URL itself (there is no base-URL setting) and sends it
    with ``urllib.request.urlopen``, which goes through the globally installed opener.  A request
    pre-processor (``<scheme>_request``) may replace ``req.full_url``; ``OpenerDirector.open``
    reads ``req.type`` again after pre-processing, so ``https://`` NCBI can become
    ``http://127.0.0.1:8080/`` for a loopback stand-in.  Only URLs under NCBI's E-utilities base
    are touched, and only while one of our calls is running (``_ROUTE``).  ``handler_order`` is
    below the HTTP(S) handlers' (500) so their own pre-processing (Host header) sees the new URL.
    The handler also applies the client's timeout: Biopython passes none to ``urlopen``.
    """

    handler_order = 100

    def _route(self, req: urllib.request.Request) -> urllib.request.Request:
        route = _ROUTE.get()
        url = req.full_url
        if route is None or not url.startswith(NCBI_EUTILS_URL):
            return req
        req.timeout = route.timeout  # OpenerDirector.open set it to urlopen's (absent) timeout
        if route.base_url is not None:
            req.full_url = route.base_url + url[len(NCBI_EUTILS_URL) :]
        return req

    https_request = _route
    http_request = _route


_ROUTER = _EUtilsRouter()
_ROUTER_LOCK = threading.Lock()


def _ensure_router_installed() -> None:
    """Make sure the global urllib opener carries our router (idempotent, cheap per call).

    One handler serves every client and base URL (the route is per call), so it is installed
    once per process.  If someone else has installed an opener since, the router is added to
    theirs rather than replacing it, so their proxies or auth handlers keep working.
    """
    with _ROUTER_LOCK:
        opener = getattr(urllib.request, "_opener", None)
        if opener is None:
            urllib.request.install_opener(urllib.request.build_opener(_ROUTER))
        elif _ROUTER not in getattr(opener, "handlers", ()):
            opener.add_handler(_ROUTER)


class EntrezTransport:
    """The real transport: ``Bio.Entrez`` over urllib, routed to the client's base URL."""

    def __init__(self, route: _Route, *, email: str, tool: str, api_key: str | None) -> None:
        from Bio import Entrez  # here, not at import: Biopython is slow to import

        self._route = route
        # Module-wide Biopython settings.  Each call also passes email/tool/api_key explicitly,
        # so several clients in one process cannot pick up each other's identity.
        # (Biopython declares these as None-initialised globals, hence the type: ignores.)
        Entrez.email = email  # type: ignore[assignment]
        Entrez.tool = tool
        Entrez.api_key = api_key  # type: ignore[assignment]
        Entrez.max_tries = 1

    def __call__(self, util: str, kwargs: dict[str, object]) -> tuple[bytes, int]:
        """One HTTP request through Biopython (which must not retry: ``max_tries = 1``)."""
        from Bio import Entrez

        Entrez.max_tries = 1
        if self._route.base_url is not None and not self._route.base_url.startswith(
            NCBI_EUTILS_URL
        ):
            # Biopython spaces its own calls to NCBI's pace (0.1 s with a key, 0.37 s
            # without), per process. Our host-wide limiter already paces every request, at
            # NCBI's rate unless a mirror or stand-in was given its own (EVIDENCE_EUTILS_INTERVAL):
            # for those, Biopython's pause would override the limit the user chose.
            Entrez._open.previous = 0  # never waits: 0 is long past
        token = _ROUTE.set(self._route)
        try:
            _ensure_router_installed()
            if util == "esearch":
                handle = Entrez.esearch(**kwargs)  # type: ignore[no-untyped-call]
            elif util == "efetch":
                handle = Entrez.efetch(**kwargs)  # type: ignore[no-untyped-call]
            elif util == "epost":
                handle = Entrez.epost(**kwargs)  # type: ignore[no-untyped-call]
            else:  # pragma: no cover - programming error
                raise ValueError(f"unknown E-utility {util!r}")
            # Biopython wraps text/plain responses in a TextIOWrapper; read the bytes beneath.
            raw = getattr(handle, "buffer", handle)
            try:
                body = raw.read()
                status = int(getattr(raw, "status", 200) or 200)
            finally:
                handle.close()
        finally:
            _ROUTE.reset(token)
        if isinstance(body, str):  # pragma: no cover - defensive
            body = body.encode("utf-8")
        return bytes(body), status


def _normalise_base_url(base_url: str) -> str:
    base = base_url.strip()
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"E-utilities base URL {redact(base)!r} is not an http(s) URL like {NCBI_EUTILS_URL}; "
            f"fix {_ENV_BASE_URL} or the base_url setting"
        )
    return base if base.endswith("/") else base + "/"


# --------------------------------------------------------------------------------------------
# Public values


@dataclass(frozen=True)
class SearchWindow:
    """One result set stored on NCBI's history server, fetchable by ``webenv``/``query_key``.

    For an esearch window, ``term``/``datetype``/``mindate``/``maxdate`` (``YYYY/MM/DD``
    inclusive, or None for no date limit) re-create it if the WebEnv expires.  A window made by
    :meth:`PubMedClient.post` has ``term == ""`` and ``datetype == ""``; ``count`` is then the
    number of distinct ids posted.  A window with ``count == 0`` has nothing to fetch (and may
    have an empty ``webenv``).  ``ids`` holds the window's PMIDs (all of them: a window is below
    the cap) when it was searched ``with_ids``, so a caller can pick the new ones before fetching;
    it is left out of the repr, where up to 9,999 ids would drown a log line.
    """

    term: str
    datetype: str
    mindate: str | None
    maxdate: str | None
    count: int
    webenv: str
    query_key: str
    ids: tuple[int, ...] = field(default=(), repr=False)
    #: What esearch said it could not use ("PhraseNotFound: ..."), from its ErrorList.
    notes: tuple[str, ...] = field(default=(), repr=False)

    @property
    def is_posted(self) -> bool:
        return self.term == "" and self.datetype == ""


def unknown_phrases(windows: Sequence[SearchWindow]) -> list[str]:
    """The phrases and fields PubMed did not know, over `windows`, each once, in order."""
    seen: dict[str, None] = {}
    for window in windows:
        for note in window.notes:
            seen.setdefault(note.split(": ", 1)[-1], None)
    return list(seen)


@dataclass
class RequestStats:
    """What a client has sent and received. ``esearch``/``efetch``/``epost`` count HTTP
    attempts (so they match the server's log), ``retries`` the attempts that were repeated
    (including WebEnv renewals), ``throttled`` the HTTP 429s seen."""

    esearch: int = 0
    efetch: int = 0
    epost: int = 0
    retries: int = 0
    throttled: int = 0
    webenv_renewals: int = 0
    records: int = 0  # PubmedArticle/PubmedBookArticle elements in verified efetch bodies
    bytes_received: int = 0

    @property
    def requests(self) -> int:
        return self.esearch + self.efetch + self.epost


# --------------------------------------------------------------------------------------------
# Dates


_DATE_RE = re.compile(r"^(\d{4})(?:[/-](\d{1,2})(?:[/-](\d{1,2}))?)?$")


def _parse_date(text: str, *, end: bool) -> dt.date:
    """``YYYY``, ``YYYY/MM`` or ``YYYY/MM/DD`` -> the first (or, with ``end``, last) day."""
    match = _DATE_RE.match(text.strip())
    if match is None:
        raise InputError(f"date {text!r} is not YYYY, YYYY/MM or YYYY/MM/DD; e.g. 2021/05")
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        if month is None:
            return dt.date(year, 12, 31) if end else dt.date(year, 1, 1)
        if day is None:
            if not end:
                return dt.date(year, month, 1)
            following = dt.date(year + (month == 12), month % 12 + 1, 1)
            return following - dt.timedelta(days=1)
        return dt.date(year, month, day)
    except ValueError as exc:
        raise InputError(f"date {text!r} is not a calendar date ({exc}); fix the date") from None


def _format_date(day: dt.date) -> str:
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}"


# --------------------------------------------------------------------------------------------
# The client


_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class PubMedClient:
    """E-utilities for PubMed over ``Bio.Entrez``: search to history windows, fetch raw XML.

    ``base_url`` (default: NCBI; `evidence.config.Settings.eutils_url` reads
    ``$EVIDENCE_EUTILS_URL``: the client never reads the environment) routes every request to a
    mirror or a local stand-in.  ``limiter`` defaults to the host-wide NCBI limiter
    (3 req/s, 10 with ``api_key``).  Retries: ``max_tries`` attempts per request, waiting
    ``backoff * 2**n`` seconds (half to full, randomised; capped at ``max_backoff``) between them.
    One client is meant for one thread at a time.

    ``transport``, ``sleep`` (backoff waits), ``clock`` (monotonic seconds, for request timings)
    and ``today`` default to the real ones; unit tests inject their own.
    """

    def __init__(
        self,
        *,
        email: str,
        api_key: str | None = None,
        tool: str = "evidence",
        base_url: str | None = None,
        batch_size: int = 200,
        max_tries: int = 6,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        limiter: RateLimiter | None = None,
        timeout: float = 60.0,
        transport: Transport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        email = (email or "").strip()
        if not _EMAIL_RE.match(email):
            raise ConfigError(
                "NCBI requires a contact email with every E-utilities request; "
                f"set NCBI_EMAIL to your address (got {email!r})"
            )
        tool = (tool or "").strip()
        if not tool or any(c.isspace() for c in tool):
            raise ConfigError(f"E-utilities tool name must be one word, got {tool!r}")
        key = (api_key or "").strip() or None
        if key is not None and any(c.isspace() or c in "&=#" for c in key):
            raise ConfigError("NCBI_API_KEY contains spaces or URL delimiters; check its value")
        if not 1 <= batch_size <= EFETCH_MAX:
            raise ConfigError(f"batch_size must be 1..{EFETCH_MAX}, got {batch_size}")
        if max_tries < 1:
            raise ConfigError(f"max_tries must be at least 1, got {max_tries}")
        if not (backoff >= 0 and max_backoff >= 0 and timeout > 0):
            raise ConfigError("backoff and max_backoff must be >= 0 and timeout > 0")

        self.base_url = _normalise_base_url(base_url) if base_url else NCBI_EUTILS_URL
        self.email = email
        self.tool = tool
        self._api_key = _Secret(key) if key is not None else None
        self.batch_size = batch_size
        self.max_tries = max_tries
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.timeout = float(timeout)
        self.limiter = limiter if limiter is not None else RateLimiter.for_ncbi(api_key=bool(key))
        self.stats = RequestStats()
        self._route = _Route(
            base_url=None if self.base_url == NCBI_EUTILS_URL else self.base_url,
            timeout=self.timeout,
        )
        # Ids behind posted windows, so an expired one can be posted again (bounded).
        self._posted: OrderedDict[tuple[str, str], tuple[int, ...]] = OrderedDict()
        self._rng = random.Random()
        self._sleep = sleep
        self._clock = clock
        self._today = today
        self._transport: Transport = (
            transport
            if transport is not None
            else EntrezTransport(self._route, email=email, tool=tool, api_key=key)
        )

    def __repr__(self) -> str:
        return (
            f"PubMedClient(email={self.email!r}, tool={self.tool!r}, base_url={self.base_url!r}, "
            f"api_key={'set' if self._api_key else 'none'}, batch_size={self.batch_size})"
        )

    @property
    def has_api_key(self) -> bool:
        return self._api_key is not None

    @property
    def endpoint(self) -> str:
        """The base URL without credentials, to record where records came from."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return f"{parts.scheme}://{host}{parts.path}"

    # -- public API --------------------------------------------------------------------------

    def search(
        self,
        term: str,
        *,
        mindate: str | None = None,
        maxdate: str | None = None,
        datetype: str = "edat",
        with_ids: bool = False,
    ) -> list[SearchWindow]:
        """Run ``term`` on the history server; return windows that each hold < 10,000 hits.

        Without dates the query is first run unbounded; if it has 10,000 hits or more, the range
        ``DEFAULT_MINDATE`` .. 31 December of next year is split.  With dates (``YYYY``,
        ``YYYY/MM`` or ``YYYY/MM/DD``, inclusive; a missing one defaults to that range's end),
        that range is split.  Splitting halves the range by days until each window is under the
        cap; the windows are disjoint, in date order, and together cover the range (windows with
        0 hits are kept).  A single day still over the cap raises :class:`PubMedQueryError`.

        ``with_ids`` makes each esearch return its PMIDs as well (``retmax`` 9,999), filling
        :attr:`SearchWindow.ids` in the same one request per window; esearches that only find a
        range over the cap carry ids that are thrown away, the price of not knowing beforehand.
        """
        term = " ".join((term or "").split())
        if not term:
            raise InputError("empty PubMed search term; give a query such as 'kratom'")
        if datetype not in DATETYPES:
            raise InputError(f"datetype must be one of {', '.join(DATETYPES)}, not {datetype!r}")
        lo = _parse_date(mindate, end=False) if mindate else None
        hi = _parse_date(maxdate, end=True) if maxdate else None
        default_hi = dt.date(self._today().year + 1, 12, 31)
        known: int | None = None
        unbounded: int | None = None
        if lo is None and hi is None:
            first = self._esearch(term, datetype, None, None, with_ids)
            if first.count < ESEARCH_CAP:
                return [first]
            known = unbounded = first.count
            logger.info(
                "%d hits for %r exceed esearch's %d cap; splitting by %s",
                first.count,
                term,
                ESEARCH_CAP,
                datetype,
            )
        lo = lo or DEFAULT_MINDATE
        hi = hi or max(default_hi, lo)
        if lo > hi:
            raise InputError(f"mindate {mindate} is after maxdate {maxdate}; swap them")
        windows = self._split(term, datetype, lo, hi, known, with_ids)
        total = sum(w.count for w in windows)
        if len(windows) > 1:
            logger.info("%r: %d hits in %d date windows", term, total, len(windows))
        if unbounded is not None and total != unbounded:
            # PubMed is live (records arrive between requests) and a record could carry a
            # date outside the default range; say so rather than pretend the sets agree.
            logger.warning(
                "%r: date windows hold %d hits but the unbounded search counted %d",
                term,
                total,
                unbounded,
            )
        return windows

    def search_ids(
        self,
        term: str,
        *,
        mindate: str | None = None,
        maxdate: str | None = None,
        datetype: str = "edat",
    ) -> list[int]:
        """The PMIDs matching ``term`` (sorted, distinct), beyond the cap: :meth:`search`'s
        windows ``with_ids``, one esearch each.  For an incremental refresh, which fetches only
        the ids it has not stored (:meth:`fetch_ids`)."""
        windows = self.search(
            term, mindate=mindate, maxdate=maxdate, datetype=datetype, with_ids=True
        )
        return sorted({pmid for window in windows for pmid in window.ids})

    def fetch(
        self, windows: Sequence[SearchWindow], *, max_records: int | None = None
    ) -> Iterator[bytes]:
        """Yield efetch bodies (each a complete, verified PubmedArticleSet document).

        Each window is read by WebEnv/query_key in ``batch_size`` slices, so N records cost
        ceil(N / batch_size) efetch calls per window when nothing fails.  ``max_records`` caps
        the number of result positions requested over all windows.  Windows are read newest
        first, as PubMed sorts within one, so a capped fetch takes the most recent records
        whether or not the query had to be split.
        """
        if max_records is not None and max_records < 0:
            raise ValueError(f"max_records must be >= 0, got {max_records}")
        remaining = max_records
        for original in sorted(windows, key=lambda w: w.mindate or "", reverse=True):
            window = original
            renewals = 0
            retstart = 0
            while True:
                end = window.count if remaining is None else min(window.count, retstart + remaining)
                if retstart >= end:
                    break
                retmax = min(self.batch_size, end - retstart)
                params: dict[str, object] = {
                    "db": "pubmed",
                    "retmode": "xml",
                    "WebEnv": window.webenv,
                    "query_key": window.query_key,
                    "retstart": retstart,
                    "retmax": retmax,
                }
                try:
                    body, records = self._request("efetch", params, _verify_efetch_pair)
                except eutils.WebEnvExpired as exc:
                    renewals += 1
                    if renewals > self.max_tries:
                        raise PubMedUnavailable(
                            self._one_line(
                                f"PubMed history server keeps losing results: efetch "
                                f"{self._url('efetch', params)} failed {renewals} times "
                                f"in a row; "
                                f"last error: {exc}"
                            )
                        ) from None
                    self.stats.retries += 1
                    self.stats.webenv_renewals += 1
                    logger.warning(
                        "WebEnv expired at retstart=%d of %d (%s); re-creating the window",
                        retstart,
                        window.count,
                        self._scrub(str(exc)),
                    )
                    renewed = self._renew(window)
                    if renewed.count != window.count:
                        logger.warning(
                            "window %s..%s now has %d hits (was %d); continuing at retstart=%d",
                            window.mindate,
                            window.maxdate,
                            renewed.count,
                            window.count,
                            retstart,
                        )
                    window = renewed
                    continue
                if records == 0 and retmax > 0:
                    logger.warning(
                        "efetch returned no records for retstart=%d retmax=%d", retstart, retmax
                    )
                self.stats.records += records
                retstart += retmax
                # The budget is for renewals in a row without progress: a long search whose
                # WebEnv keeps expiring still finishes, batch by batch.
                renewals = 0
                if remaining is not None:
                    remaining -= retmax
                yield body
            if remaining == 0:
                return

    def post(self, pmids: Sequence[int]) -> SearchWindow:
        """epost up to 10,000 PMIDs (always by POST); return a window to :meth:`fetch`."""
        ids = _unique_pmids(pmids)
        if not ids:
            raise ValueError("post() needs at least one PMID")
        if len(ids) > EPOST_MAX:
            raise ValueError(f"epost takes at most {EPOST_MAX} ids per call, got {len(ids)}")
        params: dict[str, object] = {"db": "pubmed", "id": ",".join(map(str, ids))}
        webenv, query_key, notes = self._request("epost", params, eutils.parse_epost)
        for note in notes:
            logger.warning("epost: %s", note)
        window = SearchWindow("", "", None, None, len(ids), webenv, query_key)
        self._posted[(webenv, query_key)] = ids
        while len(self._posted) > 64:
            self._posted.popitem(last=False)
        return window

    def fetch_pmids(self, pmids: Sequence[int]) -> Iterator[bytes]:
        """Fetch the given PMIDs (deduplicated): epost in chunks of 10,000, then efetch each.

        :meth:`fetch_ids` does the same without the epost requests."""
        ids = _unique_pmids(pmids)
        for start in range(0, len(ids), EPOST_MAX):
            window = self.post(ids[start : start + EPOST_MAX])
            try:
                yield from self.fetch([window])
            finally:
                self._posted.pop((window.webenv, window.query_key), None)

    def fetch_ids(self, pmids: Sequence[int]) -> Iterator[bytes]:
        """Yield verified efetch bodies for the given PMIDs (deduplicated, order kept).

        Asks by explicit ``id=`` lists of ``batch_size``: N ids cost ceil(N / batch_size)
        efetch requests and nothing else (no epost, no history server to expire).  Biopython
        sends a list of 200+ ids (or over 1,000 characters of parameters) by POST, so long
        lists do not hit URL limits.  PMIDs that NCBI no longer has are left out of its answer:
        that is logged as a warning, not an error.
        """
        ids = _unique_pmids(pmids)
        for start in range(0, len(ids), self.batch_size):
            chunk = ids[start : start + self.batch_size]
            params: dict[str, object] = {
                "db": "pubmed",
                "retmode": "xml",
                "id": ",".join(map(str, chunk)),
            }
            body, records = self._request("efetch", params, _verify_efetch_pair)
            if records < len(chunk):
                logger.warning(
                    "efetch by id: %d of %d PMIDs were not returned (deleted or unknown at NCBI)",
                    len(chunk) - records,
                    len(chunk),
                )
            self.stats.records += records
            yield body

    # -- searching ---------------------------------------------------------------------------

    def _esearch(
        self,
        term: str,
        datetype: str,
        lo: dt.date | str | None,
        hi: dt.date | str | None,
        with_ids: bool,
    ) -> SearchWindow:
        mindate = _format_date(lo) if isinstance(lo, dt.date) else lo
        maxdate = _format_date(hi) if isinstance(hi, dt.date) else hi
        # PubMed returns at most 9,999 ids (retstart + retmax <= 9,999): all of a window's.
        retmax = ESEARCH_CAP - 1 if with_ids else 0
        params: dict[str, object] = {
            "db": "pubmed",
            "term": term,
            "usehistory": "y",
            "retmax": retmax,
        }
        if mindate is not None or maxdate is not None:
            params.update(datetype=datetype, mindate=mindate, maxdate=maxdate)
        result = self._request("esearch", params, partial(eutils.parse_esearch, retmax=retmax))
        # A term PubMed did not know is routine in a long OR-query (-v shows each); the notes
        # travel with the window, so a caller whose search found nothing can say why, once.
        for note in result.notes:
            logger.info("esearch %r: %s", term, note)
        return SearchWindow(
            term,
            datetype,
            mindate,
            maxdate,
            result.count,
            result.webenv,
            result.query_key,
            result.ids,
            result.notes,
        )

    def _split(
        self,
        term: str,
        datetype: str,
        lo: dt.date,
        hi: dt.date,
        known: int | None,
        with_ids: bool,
    ) -> list[SearchWindow]:
        # ``known`` is a count inferred from the parent (parent - left sibling).  When it is
        # already over the cap the esearch is skipped; an inference can only cause an extra
        # split, never a missed record, because every window returned was searched itself.
        if known is None or known < ESEARCH_CAP or lo == hi:
            window = self._esearch(term, datetype, lo, hi, with_ids)
            if window.count < ESEARCH_CAP:
                return [window]
            known = window.count
            if lo == hi:
                raise PubMedQueryError(
                    f"{window.count} PubMed records match {term!r} with {datetype} "
                    f"{_format_date(lo)} alone, but esearch reaches only the first "
                    f"{ESEARCH_CAP}; narrow the query (add terms or filters) to fetch them all"
                )
        mid = lo + dt.timedelta(days=(hi - lo).days // 2)
        left = self._split(term, datetype, lo, mid, None, with_ids)
        left_count = sum(w.count for w in left)
        right = self._split(
            term, datetype, mid + dt.timedelta(days=1), hi, max(known - left_count, 0), with_ids
        )
        return left + right

    def _renew(self, window: SearchWindow) -> SearchWindow:
        if window.is_posted:
            ids = self._posted.get((window.webenv, window.query_key))
            if ids is None:
                raise PubMedUnavailable(
                    "the history-server set of a posted id list expired and this client no longer "
                    "holds its ids; post them again"
                )
            self._posted.pop((window.webenv, window.query_key), None)
            return self.post(ids)
        # A window searched with ids has some (only empty windows have none, and those are
        # never fetched), so its renewal asks for them again.
        return self._esearch(
            window.term, window.datetype, window.mindate, window.maxdate, bool(window.ids)
        )

    # -- one request, with limiter and retries -----------------------------------------------

    def _request(self, util: str, params: Mapping[str, object], parse: Callable[[bytes], _T]) -> _T:
        last_error = "no attempt made"
        for attempt in range(1, self.max_tries + 1):
            self.limiter.acquire()
            setattr(self.stats, util, getattr(self.stats, util) + 1)
            started = self._clock()
            retry_after: float | None = None
            throttled = False
            try:
                body, status = self._call(util, params)
            except HTTPError as exc:
                snippet, errors = eutils.http_error_detail(exc)
                self._log_request(util, params, exc.code, started, len(snippet))
                if exc.code == 429:
                    throttled = True
                    self.stats.throttled += 1
                    retry_after = eutils.retry_after(exc.headers.get("Retry-After"))
                    last_error = f"HTTP 429 Too Many Requests {snippet}".strip()
                elif exc.code >= 500:
                    retry_after = eutils.retry_after(exc.headers.get("Retry-After"))
                    last_error = f"HTTP {exc.code} {exc.reason} {snippet}".strip()
                elif errors and all(eutils.classify(e) == "transient" for e in errors):
                    last_error = f"HTTP {exc.code}: {'; '.join(errors)}"
                else:
                    detail = "; ".join(errors) or snippet or str(exc.reason)
                    raise PubMedQueryError(
                        self._one_line(
                            f"PubMed refused the request (HTTP {exc.code}): "
                            f"{util} {self._url(util, params)}: {detail}"
                        )
                    ) from None
            except (OSError, http.client.HTTPException) as exc:
                # URLError (refused, DNS), resets, timeouts, IncompleteRead, RemoteDisconnected.
                reason = getattr(exc, "reason", None) or exc
                self._log_request(util, params, None, started, 0)
                last_error = f"{type(exc).__name__}: {reason}"
            else:
                self.stats.bytes_received += len(body)
                self._log_request(util, params, status, started, len(body))
                try:
                    return parse(body)
                except eutils.Transient as exc:
                    last_error = str(exc)
                except eutils.WebEnvExpired as exc:
                    # Only a request that names a history-server set can renew it (`fetch`);
                    # from any other request ("Unable to obtain query" to an efetch by id
                    # list, or an esearch) it is a backend fault like any other: retried.
                    if "WebEnv" in params:
                        raise
                    last_error = f"{util} <ERROR>: {exc}"
                except eutils.Permanent as exc:
                    raise PubMedQueryError(
                        self._one_line(
                            f"PubMed rejected the request: {util} {self._url(util, params)}: {exc}"
                        )
                    ) from None
            if attempt >= self.max_tries:
                break
            delay = self._delay(attempt, retry_after)
            self.stats.retries += 1
            logger.warning(
                "%s attempt %d/%d failed (%s); retrying in %.2fs",
                util,
                attempt,
                self.max_tries,
                self._one_line(last_error),
                delay,
            )
            if throttled:
                # NCBI counts per IP/key: hold back every process sharing the limiter.
                self.limiter.defer(delay)
            self._sleep(delay)
        raise PubMedUnavailable(
            self._one_line(
                f"PubMed E-utilities unavailable: {util} {self._url(util, params)} failed "
                f"{self.max_tries} time(s); last error: {last_error}"
            )
        )

    def _call(self, util: str, params: Mapping[str, object]) -> tuple[bytes, int]:
        """One HTTP request through the transport (which must not retry)."""
        kwargs = dict(params)
        kwargs.update(
            email=self.email,
            tool=self.tool,
            # An explicit None also overrides a key another client left in Entrez.api_key.
            api_key=self._api_key.reveal() if self._api_key else None,
        )
        return self._transport(util, kwargs)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        base = min(self.max_backoff, self.backoff * 2.0 ** min(attempt - 1, 60))
        delay = base * (0.5 + 0.5 * self._rng.random())  # jitter: desynchronise processes
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    # -- messages ----------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        text = redact(text)
        if self._api_key is not None:
            text = text.replace(self._api_key.reveal(), "***")
        return text

    def _one_line(self, text: str) -> str:
        return self._scrub(" ".join(text.split()))

    def _url(self, util: str, params: Mapping[str, object]) -> str:
        """The request's URL for messages: no key, long values shortened."""
        return f"{self.base_url}{util}.fcgi?{urlencode(_summarise(params))}"

    def _log_request(
        self,
        util: str,
        params: Mapping[str, object],
        status: int | None,
        started: float,
        nbytes: int,
    ) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s status=%s %.3fs %d bytes params=%s",
                util,
                status if status is not None else "-",
                self._clock() - started,
                nbytes,
                self._scrub(repr(_summarise(params))),
            )


def _verify_efetch_pair(body: bytes) -> tuple[bytes, int]:
    return body, eutils.verify_efetch(body)


def _summarise(params: Mapping[str, object]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None or key.lower() == "api_key":
            continue
        text = str(value)
        if key == "id" and text.count(",") >= 10:
            text = f"<{text.count(',') + 1} ids>"
        elif len(text) > 200:
            text = text[:200] + "..."
        out[key] = text
    return out


def _unique_pmids(pmids: Sequence[int]) -> tuple[int, ...]:
    seen: dict[int, None] = {}
    for pmid in pmids:
        value = int(pmid)
        if value <= 0:
            raise ValueError(f"not a PMID: {pmid!r}")
        seen.setdefault(value, None)
    return tuple(seen)
