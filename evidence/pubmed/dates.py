"""Normalise PubMed publication dates (`JournalIssue/PubDate`, `Book/PubDate`) to `PubDate` values.

A PubDate is either structured (`Year [Month [Day]]`, `Year Season`) or a free-text `MedlineDate`.
Real MedlineDates come in dozens of shapes; the ones seen in baseline and update files are::

    1990 May-Jun        1998 Dec-1999 Jan     1976 Nov 11-17      1977 Aug 27-Sep 3
    1981-1982           2000 Spring           1979-1980 Fall      2021 3rd Quarter
    2021 Apr-Jun 01     Summer 1995 (rare)    Winter-Spring 1990 (rare)

Rule: `date` is the first day the value can mean, read from the part before the first hyphen
(the start of a range), and `precision` says how much of that date is real: "day", "month",
"season" (seasons and quarters), "year" or "unknown". Nothing here raises on odd input: a value
we cannot read keeps its raw text with `date=None` and precision "unknown".

Seasons map to the first month of the season *within the stated year*: Spring -> March,
Summer -> June, Fall/Autumn -> September, Winter -> January. Winter is the odd one: meteorological
winter starts in December of the year before, but a journal's "Winter 1998" issue is filed under
1998, and keeping the date inside the stated year keeps `date.year == year` for year filters.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from evidence.store.records import PubDate

__all__ = ["parse_date_parts", "parse_free_text", "pub_date"]

_MONTHS: dict[str, int] = {}
for _number, _name in enumerate(
    (
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ),
    start=1,
):
    _MONTHS[_name] = _number
    _MONTHS[_name[:3]] = _number
_MONTHS["sept"] = 9

_SEASONS = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 1}

# Words, and numbers that are not glued to letters ("3rd" is handled by _QUARTER instead).
_TOKEN = re.compile(r"[A-Za-z]+|\d+")
_QUARTER = re.compile(r"\b([1-4])(?:st|nd|rd|th)\s+quarter\b", re.IGNORECASE)


def _month(text: str) -> int | None:
    """A month given as a name ("Jan", "January") or a number ("1", "06")."""
    month = _MONTHS.get(text.lower())
    if month is not None:
        return month
    if text.isdigit():
        number = int(text)
        if 1 <= number <= 12:
            return number
    return None


def _year(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    if len(text) == 4 and text.isdigit():
        return int(text)
    return None


def _build(raw: str, year: int | None, month: int | None, day: int | None, kind: str) -> PubDate:
    """The PubDate for the most precise valid prefix of year/month/day."""
    if year is None or year < 1:
        return PubDate(raw=raw, date=None, year=None, precision="unknown")
    if month is None:
        return PubDate(raw=raw, date=dt.date(year, 1, 1), year=year, precision="year")
    if day is not None:
        try:
            return PubDate(raw=raw, date=dt.date(year, month, day), year=year, precision="day")
        except (ValueError, OverflowError):
            pass  # "Feb 30": keep the month, which is still right
    return PubDate(raw=raw, date=dt.date(year, month, 1), year=year, precision=kind)


def parse_free_text(raw: str) -> PubDate:
    """Read a MedlineDate (or a structured date we could not read field by field)."""
    start = raw.split("-", 1)[0]
    tokens = _TOKEN.findall(start)
    year = next((int(t) for t in tokens if len(t) == 4 and t.isdigit()), None)
    if year is None:  # "Winter-Spring 1990": the year is after the range
        year = next((int(t) for t in _TOKEN.findall(raw) if len(t) == 4 and t.isdigit()), None)
    quarter = _QUARTER.search(raw)
    if quarter is not None:
        return _build(raw, year, (int(quarter.group(1)) - 1) * 3 + 1, None, "season")
    month: int | None = None
    kind = "month"
    day: int | None = None
    for index, token in enumerate(tokens):
        if token.isdigit():
            continue
        lowered = token.lower()
        if lowered in _MONTHS:
            month = _MONTHS[lowered]
            # A day is the 1-2 digit number right after the month name ("1976 Nov 11-17").
            following = tokens[index + 1] if index + 1 < len(tokens) else ""
            if following.isdigit() and len(following) <= 2:
                day = int(following)
            break
        if lowered in _SEASONS:
            month = _SEASONS[lowered]
            kind = "season"
            break
    else:
        # "1990 05": a bare 1-2 digit number right after the year is a month.
        if len(tokens) >= 2 and len(tokens[0]) == 4 and tokens[1].isdigit() and len(tokens[1]) <= 2:
            month = _month(tokens[1])
    return _build(raw, year, month, day, kind)


@lru_cache(maxsize=4096)
def pub_date(
    year: str | None,
    month: str | None,
    day: str | None,
    season: str | None,
    medline_date: str | None,
) -> PubDate | None:
    """The PubDate for the texts of a PubDate element's children; None when it has none.

    Cached: a file has a few thousand distinct dates at most, and PubDate is immutable.
    """
    if medline_date is not None:
        raw = " ".join(medline_date.split())
        return parse_free_text(raw) if raw else None
    parts = [" ".join(p.split()) for p in (year, month or season, day) if p]
    raw = " ".join(p for p in parts if p)
    if not raw:
        return None
    parsed_year = _year(year)
    if parsed_year is None:
        return parse_free_text(raw)
    if season is not None and not month:
        season_month = _SEASONS.get(season.strip().lower())
        if season_month is None:  # "Jan-Mar", "Winter-Spring": read it as free text
            return parse_free_text(raw)
        return _build(raw, parsed_year, season_month, None, "season")
    if not month:
        return _build(raw, parsed_year, None, None, "year")
    parsed_month = _month(month.strip())
    if parsed_month is None:
        return parse_free_text(raw)
    parsed_day = int(day) if day is not None and day.strip().isdigit() else None
    return _build(raw, parsed_year, parsed_month, parsed_day, "month")


def parse_date_parts(year: str | None, month: str | None, day: str | None) -> dt.date | None:
    """A date from Year/Month/Day texts (DateRevised, ArticleDate, History); None if invalid."""
    if not year or not month or not day:
        return None
    try:
        month_number = int(month)
    except ValueError:
        month_number = _MONTHS.get(month.strip().lower(), 0)
    try:
        return dt.date(int(year), month_number, int(day))
    except (ValueError, OverflowError):  # bad digits, month 13, day 31 in February ...
        return None
