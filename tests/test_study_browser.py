"""The rater page in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against the real
server process (``s2sbench study serve``), at 1280x800 (desktop) and 390x844 (a phone: DPR 3, touch): the videos
load and play with sound, a vote needs a play-through, votes by click, tap and key land in the database, a double
key press votes once, keys do nothing while a video has focus, the tab order reaches Play both and the votes without
detours, the layout keeps every control on screen with integer-scaled videos and labels that match it, no key hints
on touch screens, the page honours ``study close``, and a wrong token sees nothing. Screenshots go to
``$STUDY_SCREENSHOTS`` (default: pytest's tmp dir) as desktop.png and phone.png."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from _study_fixtures import Server, make_runs

from s2sbench.study import store
from s2sbench.study.render import create_study

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package (dev extra)")
CONTROLS = ["#play", "[data-choice=left]", "[data-choice=tie]", "[data-choice=right]", "#next"]
PLAYED = "() => state.pairs[pos].played"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    _, a, b = make_runs(tmp)
    study, admin = create_study(a, b, tmp / "study", n=3, seed=1, progress=False)
    srv = Server(study, tmp / "server.log")
    shots = Path(os.environ.get("STUDY_SCREENSHOTS") or tmp)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield study, srv.url, admin, browser, shots
        finally:
            browser.close()
            srv.stop()
    log = (tmp / "server.log").read_text()
    assert "Traceback" not in log and admin not in log


def _invite(study, name):
    conn = store.open_study(study)
    try:
        return store.add_rater(conn, name)
    finally:
        conn.close()


def _vote(study, rater, pair):
    conn = store.open_study(study)
    row = conn.execute("SELECT v.choice FROM votes v JOIN raters r ON r.id = v.rater_id WHERE r.name = ? "
                       "AND v.pair_id = ?", (rater, pair)).fetchone()
    conn.close()
    return row and row[0]


def _open(page, url, token):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))  # e.g. a missing favicon
    assert page.goto(f"{url}/r/{token}/").status == 200
    page.wait_for_function("() => ['left', 'right'].every(s => document.getElementById(s).readyState >= 2)",
                           timeout=15000)
    return errors


def _on_screen(page, selectors):
    """Every element's bounding box lies inside the viewport; the page has no horizontal scroll."""
    vw, vh = page.viewport_size["width"], page.viewport_size["height"]
    for sel in selectors:
        box = page.locator(sel).bounding_box()
        assert box and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= vw + 0.5 \
            and box["y"] + box["height"] <= vh + 0.5, (sel, box, vw, vh)
    assert page.evaluate("document.documentElement.scrollWidth") <= vw


def _integer_scaled(page):
    """The videos show each video pixel as a whole number of device pixels (or half of one); CSS layout works in
    1/64 px, so 260 * 2 / 3 px lays out within 1/64 px of 520 device pixels."""
    f = page.evaluate("(() => { const v = document.getElementById('left'); "
                      "return v.getBoundingClientRect().width * devicePixelRatio / v.videoWidth; })()")
    assert min(abs(f - k) for k in (0.5, 1, 2, 3, 4)) < 1e-3, f
    return round(2 * f) / 2


def test_desktop_flow(served):  # runs first: the phone test closes the study
    study, url, admin, browser, shots = served
    token = _invite(study, "carol")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors = _open(page, url, token)
    order = page.evaluate("state.pairs.map(p => p.id)")
    assert page.evaluate("document.documentElement.dataset.layout") == "side"
    assert page.text_content("figcaption >> nth=0") == "left" and _integer_scaled(page) == 1  # 260 px on 260 px
    assert page.is_visible("kbd >> nth=0")  # key hints with a mouse and keyboard
    assert page.is_disabled("[data-choice=left]") and page.is_visible("#hint")
    page.keyboard.press("1")  # not played yet: no vote
    page.wait_for_function("() => document.getElementById('status').textContent.includes('Play both')")
    assert _vote(study, "carol", order[0]) is None

    page.get_by_role("button", name="Play both", exact=True).click()
    page.wait_for_function(PLAYED, timeout=15000)
    assert page.evaluate("document.getElementById('left').webkitAudioDecodedByteCount") > 0
    # accessible names without key glyphs; the progress bar has a name
    for name in ("Left is more realistic", "Can't tell", "Right is more realistic", "Play both again"):
        assert page.get_by_role("button", name=name, exact=True).is_enabled()
    assert page.get_by_role("progressbar", name="Votes so far").count() == 1
    # tab order: Play both, the three votes, Next (Previous is disabled on the first pair); videos are not stops
    page.click("h1")  # start the tab sequence from the top of the page
    stops = []
    for _ in range(len(CONTROLS)):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("document.activeElement.id || document.activeElement.dataset.choice"))
    assert stops == ["play", "left", "tie", "right", "next"]
    page.evaluate("document.getElementById('left').focus()")  # keys do nothing while a video has focus
    page.keyboard.press("ArrowRight")
    assert page.evaluate("pos") == 0 and _vote(study, "carol", order[0]) is None
    _on_screen(page, ["#left", "#right", *CONTROLS, "#count"])
    page.screenshot(path=str(shots / "desktop.png"))

    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("1")
    page.keyboard.press("1")  # a double press votes once: the next pair is not played, and votes are debounced
    page.wait_for_function("() => document.getElementById('count').textContent === '1 of 3 voted'")
    page.wait_for_timeout(300)
    assert _vote(study, "carol", order[0]) == "left" and _vote(study, "carol", order[1]) is None
    page.keyboard.press("Space")  # play the second pair by key, vote "right" by key
    page.wait_for_function(PLAYED, timeout=15000)
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("2")
    page.wait_for_function("() => document.getElementById('count').textContent === '2 of 3 voted'")
    assert _vote(study, "carol", order[1]) == "right"

    page.reload()  # the votes survive a reload
    page.wait_for_function("() => document.getElementById('count').textContent === '2 of 3 voted'")
    conn = store.open_study(study)
    left_run = dict(conn.execute("SELECT id, left_run FROM pairs").fetchall())
    conn.close()
    n_a = (left_run[order[0]] == "A") + (left_run[order[1]] == "B")  # "left" on the first, "right" on the second
    page.goto(f"{url}/a/{admin}/")  # the admin's live tally, the pair-majority share with its denominator
    page.wait_for_function("() => document.getElementById('what').textContent.includes('model-a')")
    assert page.locator("#summary tr", has_text="Votes A / B / tie").text_content() == \
        f"Votes A / B / tie{n_a} / {2 - n_a} / 0"
    assert f"({n_a} of 2 pairs; of 2 voted)" in page.locator("#summary tr", has_text="Pair majority").text_content()
    assert not errors, errors
    bad = page.goto(f"{url}/r/{'A' * len(token)}/")
    assert bad.status == 404 and page.locator("video").count() == 0
    page.close()


def test_phone_flow(served):
    study, url, admin, browser, shots = served
    token = _invite(study, "dave")
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True,
                              has_touch=True)
    page = ctx.new_page()
    errors = _open(page, url, token)
    assert page.evaluate("document.documentElement.dataset.layout") == "side" and _integer_scaled(page) == 2
    assert not page.is_visible("kbd >> nth=0") and not page.is_visible(".keys")  # no key hints on a touch screen
    _on_screen(page, ["#left", "#right", *CONTROLS])
    page.tap("#play")
    page.wait_for_function(PLAYED, timeout=15000)
    page.screenshot(path=str(shots / "phone.png"))
    order = page.evaluate("state.pairs.map(p => p.id)")
    page.tap("[data-choice=right]")
    page.wait_for_function("() => document.getElementById('count').textContent === '1 of 3 voted'")
    assert _vote(study, "dave", order[0]) == "right"
    conn = store.open_study(study)
    store.close(conn)
    conn.close()
    page.reload()  # closed: the page says so and the votes are disabled
    page.wait_for_selector("#closed:not([hidden])")
    assert page.is_disabled("[data-choice=left]") and page.text_content("#count") == "1 of 3 voted"
    page.set_viewport_size({"width": 360, "height": 740})  # a small phone: still everything on screen
    page.wait_for_timeout(200)
    _on_screen(page, ["#left", "#right", "#play", "[data-choice=left]", "[data-choice=right]"])
    _integer_scaled(page)
    page.set_viewport_size({"width": 320, "height": 1200})  # narrow and tall: one above the other, named so
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.dataset.layout") == "stacked"
    assert page.text_content("figcaption >> nth=0") == "top"
    assert page.get_by_role("button", name="Bottom is more realistic", exact=True).count() == 1
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{url}/a/{admin}/")  # the admin tables scroll inside their box, the page does not overflow
    page.wait_for_function("() => document.getElementById('what').textContent.includes('model-a')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not errors, errors
    ctx.close()
