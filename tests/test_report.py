"""The audit report: the static site's content and its behaviour in a real browser.

The database (both engines): the audit fixture records plus two hostile ones (a title with a
`<script>` element, a title starting with `=`), the shipped kratom catalog, `evidence link`,
two extra links to the hostile records, `evidence grade`. The browser test opens every page
in Debian's headless Chromium (`/usr/bin/chromium`, installed by the Makefile) through
Playwright, from `file://`, and fails on a console error, a page error, a dialog or any
request outside the site; it saves a screenshot of the index under `test-artifacts/`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.claims_helpers import CATALOG
from tests.conftest import FIXTURES, ROOT, Invoker, query
from tests.eutils_server import EUtilsServer, make_article_xml
from tests.test_audit import catalog_ids, env_for
from tests.test_audit import server as audit_server  # noqa: F401  (a fixture)
from tests.test_grading import article_set, insert_links

RECORDS = FIXTURES / "audit" / "records.xml"
SCRIPT_PMID, FORMULA_PMID = 93000001, 93000002
SCRIPT_TITLE = "Kratom <script>alert('x')</script> and withdrawal"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"


def hostile_records(path: Path) -> Path:
    day = date(2024, 1, 2)
    path.write_bytes(
        article_set(
            make_article_xml(
                SCRIPT_PMID,
                SCRIPT_TITLE,
                "Kratom users <b>reported</b> relief.",
                year=2024,
                edat=day,
                mdat=day,
                mesh=["Humans", "Mitragyna"],
            ),
            make_article_xml(
                FORMULA_PMID,
                '=HYPERLINK("http://x") kratom',
                "A survey.",
                year=2024,
                edat=day,
                mdat=day,
                synthetic=False,  # stands for a real record: it gets PubMed links
            ),
        )  # fmt: skip
    )
    return path


@pytest.fixture
def site(evidence: Invoker, tmp_path: Path) -> Path:
    assert evidence("ingest", str(RECORDS)).exit_code == 0
    assert evidence("ingest", str(hostile_records(tmp_path / "hostile.xml"))).exit_code == 0
    assert evidence("claims", "load", str(CATALOG)).exit_code == 0
    assert evidence("link").exit_code == 0
    insert_links(
        evidence.url,
        [("opioid-withdrawal-relief", SCRIPT_PMID, "supports"),
         ("safe-short-term", FORMULA_PMID, "neutral")],
    )  # fmt: skip
    assert evidence("grade").exit_code == 0
    out = tmp_path / "report"
    result = evidence("report", "--html", str(out))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"report written: {out / 'index.html'}"
    return out


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_site_pages_and_escaping(site: Path, evidence: Invoker) -> None:
    names = {p.relative_to(site).as_posix() for p in pages(site)}
    claim_ids = [c for (c,) in query(evidence.url, "SELECT id FROM claim ORDER BY id")]
    assert names == {"index.html", "article.html", "changes.html"} | {
        f"claims/{c}.html" for c in claim_ids
    }
    index = (site / "index.html").read_text("utf-8")
    for claim_id in claim_ids:
        assert f'href="claims/{claim_id}.html"' in index
    assert "<svg" in index and "Evidence map" in index
    # The map leaves room for the longest verdict label after a full bar (once cut short as
    # "insufficie"): about 7.5 px a character of its 12 px font.
    width = float(re.search(r'<svg[^>]* viewBox="0 0 ([\d.]+) ', index).group(1))
    labels = re.findall(r'<text x="[\d.]+" y="[\d.]+" class="label">([^<]+)</text>', index)
    assert labels and width >= 330 + 360 + 7.5 * max(len(label) for label in labels)
    page = (site / "claims" / "opioid-withdrawal-relief.html").read_text("utf-8")
    assert "<script>" not in page  # the hostile title is text, not markup
    assert "Kratom &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; and withdrawal" in page
    assert "&lt;b&gt;reported&lt;/b&gt;" in page  # abstracts are escaped too
    # A synthetic fixture record is never dressed as a PubMed study: no PubMed link, a badge.
    assert f"https://pubmed.ncbi.nlm.nih.gov/{SCRIPT_PMID}/" not in page
    assert f'PMID {SCRIPT_PMID} <span class="badge concern">SYNTHETIC FIXTURE</span>' in page
    safe = (site / "claims" / "safe-short-term.html").read_text("utf-8")
    assert f"https://pubmed.ncbi.nlm.nih.gov/{FORMULA_PMID}/" in safe
    # Every verdict is explained in a sentence first; unreviewed suggestions are marked.
    assert '<p class="summary"><strong>Insufficient (very low certainty): 1 ' in page
    assert "NOT YET REVIEWED" in page and "every stance below is the linker" in page
    assert "unreviewed</span>" in index
    assert "N=0" not in page
    for p in pages(site):
        html = p.read_text("utf-8")
        # Every page says plainly that fixture records are here.
        assert "<strong>Not PubMed data.</strong>" in html, p
        assert "synthetic test fixtures, not PubMed studies" in html, p
        # Nothing fetched at view time: no script, stylesheet, image, font or frame sources.
        assert not re.search(r"<(script|link|img|iframe|object|embed)\b", html), p
        assert "@import" not in html and "url(" not in html, p
        assert "@media print" in html, p


def test_article_highlights_quotes_linked_to_claims(site: Path, evidence: Invoker) -> None:
    article = (site / "article.html").read_text("utf-8")
    marks = re.findall(r'<mark class="quote"><a href="(claims/[^"]+)">', article)
    assert marks, "no highlighted quote"
    assert set(marks) <= {
        f"claims/{c}.html" for (c,) in query(evidence.url, "SELECT id FROM claim")
    }
    assert "claims/safe-short-term.html" in marks
    # One paragraph per line of the text (a web article saved as text), not one run-on block.
    lines = [line for line in (ROOT / "catalogs" / "kratom-withdrawal-article.txt")
             .read_text("utf-8").splitlines() if line.strip()]  # fmt: skip
    assert article.count("<p>") >= len(lines) > 10


def test_report_on_terminal_and_bad_input(evidence: Invoker, site: Path, tmp_path: Path) -> None:
    result = evidence("report")
    assert result.exit_code == 0, result.output
    assert "safe-short-term" in result.output and "26 claim(s)" in result.output
    unknown = evidence("report", "--document", "nope")
    assert unknown.exit_code == 6 and len(unknown.output.strip().splitlines()) == 1
    stranger = tmp_path / "not-a-report"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    refused = evidence("report", "--html", str(stranger))
    assert refused.exit_code == 2 and "not an evidence report" in refused.output
    assert sorted(p.name for p in stranger.iterdir()) == ["notes.txt"]  # untouched
    # Writing over an earlier report replaces it whole.
    again = evidence("report", "--html", str(site))
    assert again.exit_code == 0
    assert not [p for p in site.parent.iterdir() if p.name.startswith(".report-")]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is required: run `make test` (it installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


def test_report_in_headless_chromium(site: Path, browser: object) -> None:
    from playwright.sync_api import Browser, Dialog, Request

    assert isinstance(browser, Browser)
    page = browser.new_page()
    problems: list[str] = []
    outside: list[str] = []
    root = site.resolve().as_uri()

    def on_request(request: Request) -> None:
        if not request.url.startswith(root + "/"):
            outside.append(request.url)

    def on_dialog(dialog: Dialog) -> None:
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", on_request)
    page.on("dialog", on_dialog)
    for path in pages(site):
        page.goto(path.resolve().as_uri())
        assert page.locator("h1").count() == 1, path
    assert problems == [] and outside == []

    page.goto((site / "index.html").resolve().as_uri())
    page.get_by_role("link", name="opioid-withdrawal-relief", exact=True).click()
    assert page.url.endswith("/claims/opioid-withdrawal-relief.html")
    assert page.locator("h1").inner_text() == "Kratom relieves opioid withdrawal symptoms."
    assert SCRIPT_TITLE in page.locator("main").inner_text()
    page.get_by_role("link", name="Article").click()
    page.locator("mark.quote a").first.click()
    assert "/claims/" in page.url
    assert problems == [] and outside == []

    ARTIFACTS.mkdir(exist_ok=True)
    page.goto((site / "index.html").resolve().as_uri())
    shot = ARTIFACTS / f"report-index-{site.parent.name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


def test_audit_writes_the_report_and_chromium_shows_every_verdict(
    db_url: str,
    audit_server: EUtilsServer,  # noqa: F811  (the fixture imported above)
    browser: object,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    result = Invoker(db_url)("audit", env=env_for(audit_server))
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("report: ")
    index = Path(last.removeprefix("report: "))
    assert index == tmp_path / "home" / "report" / "index.html" and index.is_file()
    verdicts = dict(
        query(db_url, "SELECT claim_id, verdict FROM claim_verdict ORDER BY id")
    )  # one row per claim after one audit: claim -> verdict
    page = browser.new_page()
    page.goto(index.resolve().as_uri())
    rows = page.locator("main table tbody tr")
    shown = {}
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        shown[cells.nth(0).locator("a").inner_text()] = cells.nth(1).inner_text()
    assert sorted(shown) == sorted(catalog_ids())
    for claim_id, label in shown.items():
        verdict, *marks = label.splitlines()
        assert verdict.split(" (")[0] == verdicts[claim_id], claim_id
        # No reviewer has judged anything after an audit: every verdict says so.
        assert marks == ["unreviewed"] or verdicts[claim_id] == "insufficient", (claim_id, marks)
    # The stand-in is not NCBI, and its records are the project's fixtures: said plainly, in
    # the browser and on the terminal.
    banner = page.locator("aside.provenance").inner_text()
    assert f"other than NCBI's ({audit_server.base_url})" in banner
    assert "synthetic test fixtures" in banner
    assert "Not PubMed data: Evidence was fetched from E-utilities other than NCBI's " in (
        result.output
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"audit-report-index-{tmp_path.name}.png"), full_page=True)
    page.close()
