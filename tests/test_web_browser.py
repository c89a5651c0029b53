"""The workbench end to end in Debian's headless Chromium (Playwright), on SQLite and PostgreSQL.

`evidence serve`'s app runs under uvicorn on a loopback socket in a thread. Two reviewers log
in and judge the same links blind (one with the `a` shortcut); the disagreement appears in the
adjudicator's conflicts queue and is resolved there; the claim's verdict and history change;
kappa on the agreement page matches a hand-computed value; the flow diagram's counts match
counts taken from the database with SQL of the test's own. The browser fails the test on a
page error or a console error (a CSP violation would be one). Screenshots go to
`test-artifacts/` (ignored by git).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from evidence.store import db
from evidence.web import create_app
from tests.conftest import ROOT, Invoker, query
from tests.web_helpers import PASSWORDS, SCRIPT_CLAIM, SECRET, Bench, build_bench

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
DEPENDENCE, SAFE, WITHDRAWAL = "long-term-use-dependence", "safe-short-term", SCRIPT_CLAIM
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is required: run `make test` (it installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def served(evidence: Invoker, tmp_path: Path) -> Iterator[tuple[str, Bench]]:
    """The workbench over a fresh bench database, on a loopback port; yields its base URL."""
    bench = build_bench(evidence, tmp_path)
    engine = db.make_engine(bench.url)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine, SECRET), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:  # start-up, not a timing assertion
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", bench
    server.should_exit = True
    thread.join()
    sock.close()
    engine.dispose()


def session(browser: Any, base: str, name: str, problems: list[str]) -> Any:
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.on(
        "console", lambda m: problems.append(f"{name}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(f"{name}: {e}"))
    page.on("dialog", lambda d: (problems.append(f"{name}: dialog {d.message}"), d.dismiss()))
    page.goto("/claims/" + DEPENDENCE)
    assert page.url.startswith(base + "/login?next=")  # no session: the login page
    page.fill("#name", name)
    page.fill("#password", PASSWORDS[name])
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    assert page.url == f"{base}/claims/{DEPENDENCE}"  # back where they were going
    return page


def shot(page: Any, name: str, engine: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"web-{name}-{engine}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000


def reject(page: Any, link: int, reason: str) -> None:
    card = page.locator(f"#link-{link}")
    card.locator("select[name=reason]").select_option(label=reason)
    with page.expect_navigation():
        card.get_by_role("button", name="Reject").click()


def accept(page: Any, link: int) -> None:
    with page.expect_navigation():
        page.locator(f"#link-{link}").locator('button[value="accept"]').click()


def flash(page: Any) -> str:
    return str(page.locator("p.flash").first.inner_text())


def database_flow(url: str, claim: str) -> dict[str, int]:
    """The flow's counts by the test's own SQL (one link per article in this fixture)."""
    counts = {
        "found-1": query(url, "SELECT count(*) FROM claim_hit WHERE claim_id = :c", c=claim)[0][0],
        "found-2": query(url, "SELECT count(*) FROM evidence_link WHERE claim_id = :c AND "
                         "origin IN ('fulltext', 'both')", c=claim)[0][0],
        "screened": query(url, "SELECT count(DISTINCT pmid) FROM evidence_link WHERE "
                          "claim_id = :c", c=claim)[0][0],
    }  # fmt: skip
    latest = query(
        url,
        "SELECT l.stance, d.decision, d.stance, d.exclusion_reason FROM evidence_link l "
        "LEFT JOIN review_decision d ON d.id = (SELECT max(e.id) FROM review_decision e "
        "WHERE e.link_id = l.id) WHERE l.claim_id = :c",
        c=claim,
    )
    counts["awaiting"] = sum(1 for _, decision, _, _ in latest if decision is None)
    for suggested, decision, corrected, reason in latest:
        if decision == "reject":
            key = "excluded-" + (reason or "").replace("_", " ")
        elif decision is not None:
            key = "included-" + (corrected or suggested)
        else:
            continue
        counts[key] = counts.get(key, 0) + 1
    return {k: int(v) for k, v in counts.items() if v or not k.startswith(("inc", "exc"))}


def page_flow(page: Any) -> dict[str, int]:
    cells = page.locator("table.flow-table td[data-count]")
    out = {}
    for i in range(cells.count()):
        cell = cells.nth(i)
        value = int(cell.inner_text())
        key = str(cell.get_attribute("data-count"))
        if value or not key.startswith(("inc", "exc")):
            out[key] = value
    return out


def test_two_reviewers_blind_a_conflict_adjudicated(
    served: tuple[str, Bench], browser: Any, request: pytest.FixtureRequest
) -> None:
    base, bench = served
    engine = "postgres" if "postgres" in request.node.name else "sqlite"
    dep, safe, withdrawal = bench.links[DEPENDENCE], bench.links[SAFE], bench.links[WITHDRAWAL]
    problems: list[str] = []
    alice = session(browser, base, "alice", problems)
    bob = session(browser, base, "bob", problems)

    # 1. alice accepts with the keyboard (a), and rejects the hostile record as off topic.
    assert alice.locator("section.card.current").get_attribute("id") == f"link-{dep}"
    with alice.expect_navigation():
        alice.keyboard.press("a")
    assert f"Link {dep} accepted." in flash(alice)
    assert "Verdict: " in flash(alice) and " → " in flash(alice)
    shot(alice, "alice-after-accept", engine)
    alice.goto(f"/claims/{SAFE}")
    accept(alice, safe)
    alice.goto(f"/claims/{WITHDRAWAL}")
    reject(alice, withdrawal, "off topic")

    # bob, blind: alice's decision is not on his page until he has decided.
    bob.reload()
    card = bob.locator(f"#link-{dep}")
    assert "show once you have decided" in card.inner_text()
    assert "alice" not in bob.locator("main").inner_text()
    shot(bob, "bob-blind", engine)
    reject(bob, dep, "not a finding")
    assert f"Link {dep} rejected (not a finding)." in flash(bob)
    bob.goto(f"/claims/{DEPENDENCE}?show=all")
    assert "alice: accept" in bob.locator(f"#link-{dep}").inner_text()
    bob.goto(f"/claims/{SAFE}")
    bob.keyboard.press("r")  # r: to the current link's exclusion reasons
    assert bob.evaluate("document.activeElement.name") == "reason"
    bob.locator("body").click(position={"x": 1, "y": 1})
    accept(bob, safe)
    bob.goto(f"/claims/{WITHDRAWAL}")
    reject(bob, withdrawal, "off topic")

    # n: the next link on the page, or past the last one, the next link awaiting me.
    with bob.expect_navigation():
        bob.keyboard.press("n")
    assert "Nothing left to review" in flash(bob) or "/claims/" in bob.url

    # 2. The conflict appears for carol, who resolves it (accept: the suggestion stands).
    carol = session(browser, base, "carol", problems)
    history_before = carol.locator("#history tbody tr").count()
    carol.goto("/conflicts")
    cards = carol.locator("section.card")
    assert cards.count() == 1 and cards.first.get_attribute("id") == f"link-{dep}"
    assert "alice: supports" in cards.first.inner_text()
    assert "bob: rejected" in cards.first.inner_text()
    shot(carol, "conflicts", engine)
    accept(carol, dep)
    # 3. The verdict and its history change.
    message = flash(carol)
    assert f"Link {dep} resolved. Verdict: insufficient → insufficient (leans support)" in message
    assert carol.locator("section.card").count() == 0
    carol.goto(f"/claims/{DEPENDENCE}?show=all")
    assert carol.locator("#verdict").inner_text() == "insufficient (leans support)"
    assert carol.locator("#history tbody tr").count() == history_before + 1
    assert "review.adjudicate" in carol.locator("#audit").inner_text()
    shot(carol, "claim-after-adjudication", engine)

    # 4. Kappa over (alice, bob): dep (supports, rejected), safe (contradicts, contradicts),
    # withdrawal (rejected, rejected): p_o = 2/3; rater 1 = {supports 1, contradicts 1,
    # rejected 1}, rater 2 = {rejected 2, contradicts 1}: p_e = (0 + 1*1 + 1*2)/9 = 1/3;
    # kappa = (2/3 - 1/3) / (1 - 1/3) = 1/2.
    carol.goto("/agreement")
    overall = carol.locator('tr[data-scope="overall"]').inner_text()
    assert re.search(r"overall\s+3\s+0\.6667\s+0\.3333\s+0\.5000", overall), overall
    shot(carol, "agreement", engine)

    # 5. The flow diagram's counts match the database.
    for claim in (DEPENDENCE, WITHDRAWAL):
        carol.goto(f"/claims/{claim}")
        assert page_flow(carol) == database_flow(bench.url, claim)
        svg = carol.locator("#flow svg").inner_html()
        assert f"Candidates screened: {database_flow(bench.url, claim)['screened']}" in svg
    assert "off topic: 1" in carol.locator("#flow svg").inner_html()
    shot(carol, "flow", engine)
    assert problems == []
