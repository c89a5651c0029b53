"""The workbench through an in-process HTTP client (Starlette's TestClient), on both engines.

Security: every page but /login redirects to /login without a session; a POST without its CSRF
token is refused and writes nothing; a `<script>` in a title or abstract is shown as text; a
reviewer cannot change or delete another's decision; blind mode hides other reviewers'
decisions until both have decided; repeated failed logins are slowed. Workflow: a decision
regrades through the library and the page says what changed; exclusion reasons reach the
export; adjudication resolves a conflict.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from evidence.store import db
from evidence.web import create_app
from tests.conftest import Invoker, query
from tests.test_report import SCRIPT_TITLE
from tests.web_helpers import PASSWORDS, SCRIPT_CLAIM, SECRET, Bench, build_bench, csrf_of

DEPENDENCE = "long-term-use-dependence"


@pytest.fixture
def bench(evidence: Invoker, tmp_path: Path) -> Bench:
    return build_bench(evidence, tmp_path)


@pytest.fixture
def make_client(bench: Bench) -> Iterator[object]:
    engine = db.make_engine(bench.url)
    clients: list[TestClient] = []

    def make(name: str | None = None) -> TestClient:
        client = TestClient(create_app(engine, SECRET), follow_redirects=False)
        clients.append(client)
        if name is not None:
            login(client, name)
        return client

    yield make
    for c in clients:
        c.close()
    engine.dispose()


def login(client: TestClient, name: str, password: str | None = None) -> object:
    page = client.get("/login")
    assert page.status_code == 200
    response = client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "name": name, "password": password or PASSWORDS[name],
              "next": "/"},
    )  # fmt: skip
    return response


def post(client: TestClient, path: str, page_html: str, **data: str) -> object:
    return client.post(path, data={"csrf": csrf_of(page_html), **data})


def decisions(url: str) -> list[tuple[object, ...]]:
    return query(
        url,
        "SELECT link_id, reviewer, decision, stance, exclusion_reason, note, adjudication "
        "FROM review_decision ORDER BY id",
    )


PAGES = ["/", "/claims/long-term-use-dependence", "/conflicts", "/agreement", "/next",
         "/settings"]  # fmt: skip
ACTIONS = ["/logout", "/settings/blind", "/links/1/decide", "/links/1/resolve"]


def test_every_page_redirects_to_login_without_a_session(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    app = client.app
    routes = {r.path for r in app.app.routes if isinstance(r, Route)}  # type: ignore[attr-defined]
    tested = {p if not p.startswith("/claims/") else "/claims/{claim_id:str}" for p in PAGES}
    tested |= {a.replace("/links/1/", "/links/{link_id:int}/") for a in ACTIONS}
    # Every route is covered here except the login page and the static script.
    assert routes - tested == {"/login", "/static/keys.js"}
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    for path in ACTIONS:
        response = client.post(path, data={"csrf": "x", "action": "accept"})
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    # A forged session cookie is no session.
    client.cookies.set("evidence_session", "bm90LXNpZ25lZA.forged")
    assert client.get("/").status_code == 303
    page = client.get("/login")
    assert page.status_code == 200 and "<h1>Log in</h1>" in page.text
    assert "HttpOnly" in page.headers["set-cookie"] and "SameSite=lax" in page.headers["set-cookie"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/keys.js").status_code == 200


def test_login_sets_a_signed_httponly_cookie_and_logout_ends_it(bench: Bench, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    response = login(client, "alice")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("evidence_session=") and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    home = client.get("/")
    assert home.status_code == 200 and "Signed in as <strong>alice</strong>" in home.text
    # The token is stored only as a hash.
    (stored,) = query(bench.url, "SELECT token_hash FROM web_session")
    assert len(str(stored[0])) == 64 and str(stored[0]) not in cookie
    (hashed,) = query(bench.url, "SELECT password_hash FROM app_user WHERE name = 'alice'")
    assert str(hashed[0]).startswith("$argon2id$") and PASSWORDS["alice"] not in str(hashed[0])
    # Logging out needs the CSRF token too, and ends the session in the database.
    assert client.post("/logout", data={}).status_code == 403
    assert post(client, "/logout", home.text).status_code == 303
    assert query(bench.url, "SELECT count(*) FROM web_session") == [(0,)]
    assert client.get("/").status_code == 303
    # An open redirect through ?next= is refused.
    page = client.get("/login?next=//evil.example/")
    assert 'name="next" value="/"' in page.text


def test_failed_logins_are_slowed(bench: Bench, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    assert login(client, "alice", "wrong-1").status_code == 401
    assert login(client, "alice", "wrong-2").status_code == 401
    # After two failures in a row the name is locked for a while, even with the right password.
    locked = login(client, "alice")
    assert locked.status_code == 429 and "Too many failed logins" in locked.text
    assert int(locked.headers["retry-after"]) >= 1
    assert query(bench.url, "SELECT key, failures FROM login_failure ORDER BY key") == [
        ("addr:testclient", 2),
        ("user:alice", 2),
    ]
    # Another user from another address is not affected; an unknown user gets the same answer.
    other = make_client()
    other.headers["x-forwarded-for"] = "ignored"
    assert login(make_client(), "nobody", "whatever-1").status_code in (401, 429)


def test_post_without_csrf_is_refused_and_writes_nothing(bench: Bench, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client("alice")
    link = bench.links[DEPENDENCE]
    for data in ({"action": "accept"}, {"action": "accept", "csrf": "wrong"}):
        response = client.post(f"/links/{link}/decide", data=data)
        assert response.status_code == 403 and "CSRF" in response.text
    assert decisions(bench.url) == []
    # The login form needs its token too.
    fresh = make_client()
    refused = fresh.post("/login", data={"name": "alice", "password": PASSWORDS["alice"]})
    assert refused.status_code == 403
    admin = make_client("root")
    assert admin.post("/settings/blind", data={"blind": "on"}).status_code == 403
    assert query(bench.url, "SELECT count(*) FROM review_mode") == [(0,)]


def test_script_in_title_and_abstract_is_shown_as_text(bench: Bench, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client("alice")
    page = client.get(f"/claims/{SCRIPT_CLAIM}?show=all")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "Kratom &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; and withdrawal" in page.text
    assert "&lt;b&gt;reported&lt;/b&gt;" in page.text  # the abstract's markup, as text
    assert SCRIPT_TITLE not in page.text
    # Only our own script is referenced.
    assert page.text.count("<script") == 1 and '<script src="/static/keys.js">' in page.text


def test_decision_regrades_and_says_what_changed(bench: Bench, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client("alice")
    link = bench.links[DEPENDENCE]
    page = client.get(f"/claims/{DEPENDENCE}")
    assert f'id="link-{link}"' in page.text
    verdicts_before = query(bench.url, "SELECT count(*) FROM claim_verdict WHERE claim_id = :c",
                            c=DEPENDENCE)  # fmt: skip
    response = post(client, f"/links/{link}/decide", page.text, action="reject",
                    reason="wrong_population", note="a single case",
                    back=f"/claims/{DEPENDENCE}", reviewer="bob")  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == f"/claims/{DEPENDENCE}"
    # Recorded as the signed-in user (a `reviewer` field is ignored), with its reason.
    assert decisions(bench.url) == [
        (link, "alice", "reject", None, "wrong_population", "a single case", False)
    ]
    after = client.get(f"/claims/{DEPENDENCE}")
    assert f"Link {link} rejected (wrong population). Verdict: " in after.text
    assert " → " in after.text.split("<main>")[0]
    # The regrade went through the library: a new verdict row caused by this decision.
    rows = query(bench.url, "SELECT cause, cause_ref, actor FROM claim_verdict WHERE claim_id = :c "
                 "ORDER BY id", c=DEPENDENCE)  # fmt: skip
    assert len(rows) == verdicts_before[0][0] + 1
    (decision_id,) = query(bench.url, "SELECT max(id) FROM review_decision")[0]
    assert rows[-1] == ("review", f"decision {decision_id}", "alice")
    # The audit log has the user and the reason; the flash is shown once.
    assert query(bench.url, "SELECT actor, action, reason FROM audit_log") == [
        ("alice", "review.reject", "a single case")
    ]
    assert "Verdict: " not in client.get(f"/claims/{DEPENDENCE}").text.split("<main>")[0]
    # A reject without a reason, or "other" without a note, is not recorded.
    page = client.get(f"/claims/{DEPENDENCE}?show=all")
    for data in ({"action": "reject"}, {"action": "reject", "reason": "other"}):
        bad = post(client, f"/links/{link}/decide", page.text, back=f"/claims/{DEPENDENCE}",
                   **data)  # fmt: skip
        assert bad.status_code == 303
        assert "Not recorded" in client.get(f"/claims/{DEPENDENCE}").text
    assert len(decisions(bench.url)) == 1


def test_a_reviewer_cannot_change_or_delete_anothers_decision(bench: Bench, make_client) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_client("alice"), make_client("bob")
    link = bench.links[DEPENDENCE]
    page = alice.get(f"/claims/{DEPENDENCE}")
    assert post(alice, f"/links/{link}/decide", page.text, action="accept").status_code == 303
    page = bob.get(f"/claims/{DEPENDENCE}")
    # Bob deciding on the same link adds his own row; alice's stays as it was.
    post(bob, f"/links/{link}/decide", page.text, action="correct", stance="neutral",
         reviewer="alice")  # fmt: skip
    assert decisions(bench.url) == [
        (link, "alice", "accept", None, None, None, False),
        (link, "bob", "correct", "neutral", None, None, False),
    ]
    # There is no route that deletes or edits a decision, and a reviewer cannot adjudicate.
    for method in ("DELETE", "PUT", "PATCH"):
        assert bob.request(method, f"/links/{link}/decide").status_code == 405
    refused = post(bob, f"/links/{link}/resolve", page.text, action="reject", reason="off_topic")
    assert refused.status_code == 403
    assert len(decisions(bench.url)) == 2


def test_blind_mode_hides_others_decisions_until_both_decided(bench: Bench, make_client) -> None:  # type: ignore[no-untyped-def]
    alice, bob, carol = make_client("alice"), make_client("bob"), make_client("carol")
    link = bench.links[DEPENDENCE]
    page = alice.get(f"/claims/{DEPENDENCE}")
    assert "blind review" in page.text  # blind is the default
    post(alice, f"/links/{link}/decide", page.text, action="reject", reason="off_topic",
         note="secret-note-from-alice")  # fmt: skip
    # Bob has not decided: nothing of alice's decision shows anywhere on his pages.
    for path in (f"/claims/{DEPENDENCE}?show=all", "/", "/agreement"):
        text = bob.get(path).text
        assert "secret-note-from-alice" not in text and "alice" not in text, path
    assert (
        "other reviewers' decisions show once you have decided"
        in bob.get(f"/claims/{DEPENDENCE}?show=all").text
    )
    assert bob.get("/conflicts").status_code == 403
    # Nor through the flow's counts: alice's exclusion is not there for bob yet.
    assert "Excluded: 0" in bob.get(f"/claims/{DEPENDENCE}").text
    # The adjudicator sees everything.
    assert "secret-note-from-alice" in carol.get(f"/claims/{DEPENDENCE}?show=all").text
    assert "Excluded: 1" in carol.get(f"/claims/{DEPENDENCE}").text
    # Once bob decides, both see each other's decisions.
    page = bob.get(f"/claims/{DEPENDENCE}")
    post(bob, f"/links/{link}/decide", page.text, action="accept")
    text = bob.get(f"/claims/{DEPENDENCE}?show=all").text
    assert "secret-note-from-alice" in text and "alice" in text
    assert "bob" in alice.get(f"/claims/{DEPENDENCE}?show=all").text
    # With blind review off (admin only), others' decisions show before deciding.
    root = make_client("root")
    settings = root.get("/settings")
    assert post(root, "/settings/blind", settings.text).status_code == 303
    assert query(bench.url, "SELECT blind, set_by FROM review_mode") == [(False, "root")]
    other_link = bench.links["safe-short-term"]
    page = alice.get("/claims/safe-short-term")
    post(alice, f"/links/{other_link}/decide", page.text, action="accept", note="open-note")
    assert "open-note" in bob.get("/claims/safe-short-term?show=all").text


def test_conflict_adjudication_kappa_and_export(bench: Bench, make_client, evidence: Invoker,
                                               tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    alice, bob, carol = make_client("alice"), make_client("bob"), make_client("carol")
    dep, safe = bench.links[DEPENDENCE], bench.links["safe-short-term"]
    for client, link, data in (
        (alice, dep, {"action": "accept"}),
        (bob, dep, {"action": "reject", "reason": "not_a_finding"}),
        (alice, safe, {"action": "accept"}),
        (bob, safe, {"action": "accept"}),
    ):
        page = client.get("/")
        assert post(client, f"/links/{link}/decide", page.text, **data).status_code == 303
    conflicts = carol.get("/conflicts")
    assert f'id="link-{dep}"' in conflicts.text and f'id="link-{safe}"' not in conflicts.text
    # Kappa over (alice, bob): (supports, rejected), (contradicts, contradicts):
    # p_o = 1/2, p_e = (1*0 + 1*1 + 0*1)/4 = 1/4, kappa = (1/4)/(3/4) = 1/3.
    agreement = carol.get("/agreement").text
    assert '<tr data-scope="overall">' in agreement and "0.3333" in agreement
    resolved = post(carol, f"/links/{dep}/resolve", conflicts.text, action="reject",
                    reason="not_a_finding", back="/conflicts")  # fmt: skip
    assert resolved.status_code == 303
    assert f"Link {dep} resolved (not a finding)" in carol.get("/conflicts").text
    assert f'id="link-{dep}"' not in carol.get("/conflicts").text
    assert decisions(bench.url)[-1] == (dep, "carol", "reject", None, "not_a_finding", None, True)
    assert "0.3333" in carol.get("/agreement").text  # adjudications do not count
    # The export carries exclusion reasons.
    out = tmp_path
    result = evidence("export", "links", "-o", str(out / "links.csv"))
    assert result.exit_code == 0, result.output
    links_csv = (out / "links.csv").read_text()
    assert "exclusion_reason" in links_csv.splitlines()[0]
    assert "not_a_finding" in links_csv


def test_users_add_bad_input_and_serve_defaults(evidence: Invoker) -> None:
    from click.testing import CliRunner

    from evidence.cli import cli

    def users_add(*args: str, password: str) -> object:
        return CliRunner().invoke(
            cli, ["--database-url", evidence.url, "users", "add", *args, "--password-stdin"],
            input=password + "\n",
        )  # fmt: skip

    for args, password, message in (
        (("dave",), "short", "Error: the password is too short: at least 8 characters"),
        (("da ve",), "long-enough-1", "Error: invalid user name 'da ve'"),
        (("dave",), "", "Error: no password given"),
    ):
        result = users_add(*args, password=password)
        assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
        assert result.output.startswith(message)  # type: ignore[attr-defined]
    bad_role = users_add("dave", "--role", "boss", password="long-enough-1")
    assert bad_role.exit_code == 2  # type: ignore[attr-defined]
    assert query(evidence.url, "SELECT count(*) FROM app_user") == [(0,)]
    assert users_add("dave", password="long-enough-1").output == "user dave (reviewer) added\n"  # type: ignore[attr-defined]
    again = users_add("dave", "--role", "admin", password="another-one-2")
    assert again.output == "user dave (admin) updated\n"  # type: ignore[attr-defined]
    # The workbench listens on loopback unless told otherwise.
    serve = cli.get_command(click.Context(cli), "serve")  # loaded on first use
    assert serve is not None
    defaults = {p.name: p.default for p in serve.params}
    assert defaults["host"] == "127.0.0.1" and defaults["port"] == 8000


def test_static_report_draws_the_same_flow(bench: Bench, make_client, evidence: Invoker,
                                           tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    alice = make_client("alice")
    link = bench.links[DEPENDENCE]
    page = alice.get(f"/claims/{DEPENDENCE}")
    post(alice, f"/links/{link}/decide", page.text, action="reject", reason="duplicate")
    web_svg = alice.get(f"/claims/{DEPENDENCE}?show=all").text.split('<div id="flow">')[1]
    web_svg = web_svg.split("</svg>")[0] + "</svg>"
    assert "Excluded: 1" in web_svg and "duplicate: 1" in web_svg
    result = evidence("report", "--html", str(tmp_path / "report"))
    assert result.exit_code == 0, result.output
    html = (tmp_path / "report" / "claims" / f"{DEPENDENCE}.html").read_text("utf-8")
    assert "<h2>Evidence flow</h2>" in html
    assert web_svg in html  # the same drawing, from the same function and data


def test_pages_are_served_while_a_writer_holds_its_transaction(bench: Bench, make_client) -> None:  # type: ignore[no-untyped-def]
    """As while `evidence refresh` writes: readers are not blocked (SQLite WAL, PostgreSQL MVCC)."""
    from sqlalchemy import create_engine, text

    alice = make_client("alice")
    writer = create_engine(db.normalise_url(bench.url))
    with writer.begin() as conn:
        conn.execute(text("UPDATE article SET title = title || ' (revised)' WHERE pmid = 90000002"))
        # The write is not committed yet, and the pages still load (showing the committed data).
        page = alice.get(f"/claims/{DEPENDENCE}?show=all")
        assert page.status_code == 200 and "(revised)" not in page.text
        assert alice.get("/").status_code == 200
        assert alice.get("/next").status_code == 303
    writer.dispose()
    assert "(revised)" in alice.get(f"/claims/{DEPENDENCE}?show=all").text
