"""The rater page in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright): the personal link
opens, both videos load and play with sound, a vote by click and one by keyboard land in the database, the page
honours ``study close``, and a wrong token sees nothing. Saves a screenshot to /tmp/study_page.png."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from _study_fixtures import make_runs

from s2sbench.study import store
from s2sbench.study.render import create_study
from s2sbench.study.server import StudyServer

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package (dev extra)")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    _, a, b = make_runs(tmp)
    study, admin = create_study(a, b, tmp / "study", n=3, seed=1, progress=False)
    server = StudyServer(study, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield study, server.url, admin
    server.shutdown()
    server.server_close()


def _vote(study, rater, pair):
    conn = store.open_study(study)
    row = conn.execute("SELECT v.choice FROM votes v JOIN raters r ON r.id = v.rater_id WHERE r.name = ? "
                       "AND v.pair_id = ?", (rater, pair)).fetchone()
    conn.close()
    return row and row[0]


def test_rater_page_in_chromium(served):
    study, url, admin = served
    conn = store.open_study(study)
    token = store.add_rater(conn, "carol")
    conn.close()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 760})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            assert page.goto(f"{url}/r/{token}/").status == 200
            page.wait_for_function("() => ['left', 'right'].every(s => document.getElementById(s).readyState >= 2)",
                                   timeout=15000)
            assert page.evaluate("document.getElementById('left').duration") == pytest.approx(2.5, abs=0.1)
            page.click("#play")
            page.wait_for_function("() => ['left', 'right'].every(s => document.getElementById(s).currentTime > 0.4)",
                                   timeout=15000)
            assert page.evaluate("document.getElementById('left').webkitAudioDecodedByteCount") > 0
            page.screenshot(path="/tmp/study_page.png")
            order = page.evaluate("state.pairs.map(p => p.id)")
            assert page.text_content("#count") == "0 of 3 voted"

            page.click("[data-choice=left]")
            page.wait_for_function("() => document.getElementById('count').textContent === '1 of 3 voted'")
            assert _vote(study, "carol", order[0]) == "left"
            page.keyboard.press("2")
            page.wait_for_function("() => document.getElementById('count').textContent === '2 of 3 voted'")
            assert _vote(study, "carol", order[1]) == "right"
            page.keyboard.press("p")  # back to the pair voted by keyboard: change the vote to "can't tell"
            page.keyboard.press("ArrowDown")
            page.wait_for_function("() => document.getElementById('status').textContent.includes(\"can't tell\")")
            assert _vote(study, "carol", order[1]) == "tie"

            conn = store.open_study(study)
            store.close(conn)
            conn.close()
            page.reload()
            page.wait_for_selector("#closed:not([hidden])")
            assert page.is_disabled("[data-choice=left]")
            assert page.text_content("#count") == "2 of 3 voted"

            conn = store.open_study(study)
            first_left = conn.execute("SELECT left_run FROM pairs WHERE id = ?", (order[0],)).fetchone()[0]
            conn.close()
            page.goto(f"{url}/a/{admin}/")  # the admin's live tally: one vote for the left run, one tie
            page.wait_for_function("() => document.getElementById('what').textContent.includes('model-a')")
            row = page.locator("#summary tr", has_text="Votes A / B / tie").text_content()
            assert row == "Votes A / B / tie" + ("1 / 0 / 1" if first_left == "A" else "0 / 1 / 1")
            assert page.text_content("#raters").count("carol") == 1
            assert not errors

            bad = page.goto(f"{url}/r/{'A' * len(token)}/")
            assert bad.status == 404 and page.locator("video").count() == 0
            assert page.request.get(f"{url}/r/{'A' * len(token)}/media/p0001-L.mp4").status == 404
        finally:
            browser.close()
