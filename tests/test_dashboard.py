"""The classroom dashboard: headless with solara.render, and in a real browser, offline.

The browser test drives Debian's Chromium through Playwright against ``negsim dashboard``'s server,
with every request that leaves 127.0.0.1 refused, so it passes only if the front-end files are
served locally (``negsim dashboard --setup`` fetches them once). ``.ci/run`` installs Chromium and
the files and sets NEGSIM_REQUIRE_BROWSER=1, which turns a missing piece into a failure; elsewhere
the test is skipped with the reason. Its screenshots are kept in ``$NEGSIM_ARTIFACTS/dashboard/``
(``.ci/run`` sets it to ``results``), else in the test's temporary folder.
"""

from __future__ import annotations

import os
import socket
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
CHROMIUM = "/usr/bin/chromium"
ASSETS = ROOT / ".cache" / "solara-assets"
REQUIRED = os.environ.get("NEGSIM_REQUIRE_BROWSER") == "1"

solara = pytest.importorskip("solara")


# ---------------------------------------------------------------------------- the model behind it


def test_classroom_settings_mean_what_a_scenario_file_would():
    from sim.api import classroom, dashboard_controls

    base = classroom(BASELINE, 50)
    pressed = classroom(BASELINE, 50, pressure_russia=0.002, ratification_bar=0.1, momentum=0.5)
    assert pressed.spec.levers["classroom_pressure_russia"].strength == 0.002
    assert pressed.spec.dynamics.momentum.initial == 0.5
    assert pressed.spec.parties["russia"].veto.threshold.mean == pytest.approx(0.1)
    controls = dashboard_controls(base.spec)
    assert {"pressure_russia", "pressure_ukraine", "momentum", "cost_of_war", "ratification_bar"} <= set(
        controls
    )
    assert controls["opening_freeze"]["values"] == ["no", "yes"]
    # A term that holds only during a truce is dropped from an opening without one, and said so.
    odd = classroom(BASELINE, 20, opening_scope="none", opening_freeze="yes")
    assert odd.spec.opening.package["freeze"] == "no" and odd.notes
    # The same settings give the same worlds; pressure on Russia changes them.
    runs = [classroom(BASELINE, 200, **kw).run() for kw in ({}, {}, {"pressure_russia": 0.002})]
    assert (runs[0].inforce == runs[1].inforce).all()
    assert (runs[0].inforce != runs[2].inforce).any()


# ---------------------------------------------------------------------------- headless


def _images(rc):
    import ipywidgets as w

    return [bytes(i.value) for i in rc.find(w.Image).widgets]


def test_dashboard_renders_headless_and_a_step_changes_the_plot():
    import ipyvuetify as v

    import sim.dashboard as dashboard

    _, rc = solara.render(solara.AppLayout(children=[dashboard.Page()]), handle_error=False)
    labels = [s.label for s in rc.find(v.Slider).widgets]
    for wanted in (
        "Pressure on Russia",
        "Pressure on Ukraine",
        "Balance of power on day 0",
        "Extra cost of war",
    ):
        assert wanted in labels
    assert "Hardliners' bar" in labels
    selects = [s.label for s in rc.find(v.Select).widgets]
    assert "Opening: Halt of foreign weapons shipments to Kyiv" in selects
    for button in ("Reset", "Step", "▶"):
        rc.find(v.Btn, children=[button]).assert_single()
    before = _images(rc)
    assert len(before) == 2
    rc.find(v.Btn, children=["Step"]).widget.click()
    after = _images(rc)
    assert after[0] != before[0] and after[1] != before[1]

    # A slider moved, then Reset and the same steps: what is drawn differs from the default's.
    def steps(n):
        for _ in range(n):
            rc.find(v.Btn, children=["Step"]).widget.click()
        return _images(rc)

    rc.find(v.Btn, children=["Reset"]).widget.click()
    default = steps(10)
    slider = rc.find(v.Slider, label="Pressure on Russia").widget
    slider.v_model = 0.003
    rc.find(v.Btn, children=["Reset"]).widget.click()
    pressed = steps(10)
    assert pressed[1] != default[1]


def test_each_session_has_its_own_model():
    import ipyvuetify as v

    import sim.dashboard as dashboard

    _, one = solara.render(solara.AppLayout(children=[dashboard.Page()]), handle_error=False)
    _, two = solara.render(solara.AppLayout(children=[dashboard.Page()]), handle_error=False)
    start = _images(two)
    one.find(v.Btn, children=["Step"]).widget.click()
    assert _images(two) == start


# ---------------------------------------------------------------------------- a real browser, offline


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed (apt-get install -y chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    from sim.teaching.assets import complete

    if not complete(ASSETS):
        return f"{ASSETS} lacks the front-end files (negsim dashboard --setup)"
    return None


def _drawn(page) -> list[str]:
    """The plots as drawn in the page (their image sources)."""
    return page.eval_on_selector_all("img", "els => els.filter(e => e.naturalWidth > 300).map(e => e.src)")


def test_dashboard_in_a_real_browser_offline(tmp_path):
    missing = _missing()
    if missing:
        if REQUIRED:
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    from sim.api import serve_dashboard

    port = _free_port()
    server = serve_dashboard(BASELINE, port=port, replications=200, assets=ASSETS)
    # Kept as an artifact where NEGSIM_ARTIFACTS says (.ci/run: results/), else in the test's tmp folder.
    shots = Path(os.environ.get("NEGSIM_ARTIFACTS") or tmp_path) / "dashboard"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(120):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                assert server.poll() is None, "the dashboard server stopped"
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            outside: list[str] = []

            def only_local(route):
                if route.request.url.startswith(f"http://127.0.0.1:{port}/") or route.request.url.startswith(
                    "data:"
                ):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            page.goto(url, timeout=90_000)
            page.get_by_role("button", name="Step").wait_for(timeout=90_000)
            page.wait_for_function("document.querySelectorAll('img').length >= 2", timeout=60_000)
            first = _drawn(page)
            assert len(first) >= 2, "the plots were not drawn"

            def click_and_wait(name, old):
                page.get_by_role("button", name=name).click()
                page.wait_for_function(
                    "old => { const now = [...document.querySelectorAll('img')]"
                    ".filter(e => e.naturalWidth > 300).map(e => e.src);"
                    " return now.length >= 2 && now.some((s, i) => s !== old[i]); }",
                    arg=old,
                    timeout=60_000,
                )
                return _drawn(page)

            stepped = click_and_wait("Step", first)
            assert stepped[0] != first[0] and stepped[1] != first[1]

            def nine_steps(after_reset):
                drawn = click_and_wait("Step", after_reset)
                for _ in range(8):
                    drawn = click_and_wait("Step", drawn)
                return drawn

            default = nine_steps(click_and_wait("Reset", stepped))
            # Move the pressure-on-Russia slider to its end, Reset, and play the same nine steps.
            slider = page.get_by_role("slider", name="Pressure on Russia")
            slider.focus()
            slider.press("End")
            page.wait_for_function(
                "() => document.querySelector('[role=slider][aria-label=\"Pressure on Russia\"]')"
                ".getAttribute('aria-valuenow') !== '0'"
            )
            assert float(slider.get_attribute("aria-valuenow")) == pytest.approx(0.004)
            pressed = nine_steps(click_and_wait("Reset", default))
            page.screenshot(path=str(shots / "after-slider-and-steps.png"))
            assert pressed != default, "moving the slider changed nothing drawn"
            assert not outside, f"the page asked the network for {outside}"
            print(f"dashboard screenshot: {shots / 'after-slider-and-steps.png'}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
