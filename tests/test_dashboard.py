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

import numpy as np
import pytest

from sim.teaching.pdf import ARGS  # the flags the PDFs are printed with: one headless setup

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
    pressed = classroom(BASELINE, 50, pressure_russia=0.3, ratification_bar=0.1, momentum=0.5)
    assert pressed.spec.levers["classroom_pressure_russia"].strength == 0.3
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
    runs = [classroom(BASELINE, 200, **kw).run() for kw in ({}, {}, {"pressure_russia": 0.5})]
    assert (runs[0].inforce == runs[1].inforce).all()
    assert (runs[0].inforce != runs[2].inforce).any()


# ---------------------------------------------------------------------------- what it offers


def test_a_preset_per_worksheet_variant():
    from sim.api import load_scenarios, worksheet
    from sim.scenario import find_scenarios
    from sim.teaching.classroom import presets

    found = presets(BASELINE)
    variants = [sc for sc in load_scenarios(find_scenarios([ROOT / "scenarios"])) if sc.expect]
    assert found[0].name == "baseline" and found[0].reference == BASELINE.resolve()
    assert [p.name for p in found[1:]] == [sc.name for sc in variants if sc.parent == "baseline"]
    assert all(p.reference == BASELINE.resolve() for p in found[1:])
    # Every question of the worksheet has its variant among the presets.
    questions = worksheet([ROOT / "scenarios"]).split("# Teacher's key")[0].count("**Q")
    assert sum(p.questions for p in found) == questions == sum(len(sc.expect) for sc in variants)


def test_each_value_is_shown_with_its_unit():
    from sim.api import dashboard_controls, load_scenario
    from sim.teaching.classroom import shown

    controls = dashboard_controls(load_scenario(BASELINE))
    assert shown(controls["pressure_russia"], 0.3) == "0.30 of its daily war value"
    assert shown(controls["cost_of_war"], -0.0004) == "-0.0004 a day"
    assert shown(controls["ratification_bar"], 0.1) == "+0.10 of a deal"
    # The balance of power says whose way it leans, from the parties' own war values.
    assert shown(controls["momentum"], 0.2) == "+0.20, Russia's way"
    assert shown(controls["momentum"], -0.35) == "-0.35, Ukraine's way"
    assert shown(controls["momentum"], 0.0) == "+0.00"


def _small(replications=60):
    from sim.api import classroom
    from sim.teaching.classroom import reference, run_to

    model = classroom(BASELINE, replications, pressure_russia=0.5)
    run_to(model, 40)
    return model, reference(str(BASELINE.resolve()), replications)


def test_the_reference_is_on_both_plots_and_labels_stay_clear():
    import sim.dashboard as dashboard

    model, ref = _small()
    assert model.time == 40
    title, days, shares = ref
    assert days[-1] == model.spec.calendar.horizon_days  # the reference is played to its horizon
    fig = dashboard.day_by_day(model, ref)
    ax = fig.axes[0]
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1
    assert dashed[0].get_ydata() == pytest.approx(100 * (1 - shares["no_agreement"]))
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # beside the data, not on it
    assert ax.xaxis.label.get_text().startswith("day")
    assert "day 40 (22 Apr 2025)" in ax.get_title()

    fig = dashboard.outcome_shares(model, ref)
    ax = fig.axes[0]
    marks = list(np.asarray(ax.collections[-1].get_offsets())[:, 0])
    ids = model.space.class_order
    assert marks == pytest.approx([100 * shares[c][40] for c in ids])
    # Each percentage starts past its bar's interval, and the reference's marker is not under it.
    ends = [seg[:, 0].max() for seg in ax.collections[0].get_segments()]
    labels = [t for t in ax.texts if t.get_text().endswith("%")]
    assert len(labels) == len(ids)
    fig.canvas.draw()
    to_data = ax.transData.inverted()
    for text, end, mark in zip(labels, ends, marks, strict=True):
        box = text.get_window_extent().transformed(to_data)
        assert box.x0 > end and not box.x0 - 1 <= mark <= box.x1 + 1, (text.get_text(), end, mark)
        if not end - 1 <= mark <= box.x1 + 1:  # no marker in the way: right beside its interval
            assert box.x0 < end + 4, (text.get_text(), end, mark)
    assert max(t.get_fontsize() for t in labels) >= 14 and ax.title.get_fontsize() >= 16


# ---------------------------------------------------------------------------- headless


def _images(rc):
    import ipywidgets as w

    return [bytes(i.value) for i in rc.find(w.Image).widgets]


def _day(rc) -> str:
    import ipyvuetify as v

    return rc.find(v.Html, class_="negsim-day").widget.children[0]


def _click(rc, name):
    import ipyvuetify as v

    rc.find(v.Btn, children=[name]).widget.click()


def _texts(widget) -> list[str]:
    """Every string in the widget tree (labels, children, items)."""
    import ipywidgets as w

    out, stack = [], [widget]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, w.Widget):
            for name in ("label", "children", "items", "v_model", "description"):
                value = getattr(node, name, None)
                if isinstance(value, str):
                    out.append(value)
                elif isinstance(value, list | tuple):
                    stack.extend(value)
    return out


def test_dashboard_shows_days_and_no_developer_controls():
    import ipyvuetify as v

    import sim.dashboard as dashboard

    box, rc = solara.render(solara.AppLayout(children=[dashboard.Page()]), handle_error=False)
    assert _day(rc) == "Day 0 of 182: 13 March 2025"
    words = " ".join(_texts(box)).lower()
    for developer in ("play interval", "render interval", "use threads", "page 0", "time:"):
        assert developer not in words
    assert not rc.find(v.Tab).widgets and not rc.find(v.Checkbox).widgets
    # Each slider has its value with a unit beside it.
    sliders = rc.find(v.Slider).widgets
    values = [h.children[0] for h in rc.find(v.Html, class_="negsim-value").widgets]
    assert len(values) == len(sliders) == 6
    assert values[2] == "0.00 of its daily war value" and values[3] == "+0.20, Russia's way"
    before = _images(rc)
    assert len(before) == 2
    _click(rc, "Next day")
    assert _day(rc) == "Day 1 of 182: 14 March 2025"
    after = _images(rc)
    assert after[0] != before[0] and after[1] != before[1]
    _click(rc, "Next week")
    assert _day(rc) == "Day 8 of 182: 21 March 2025"
    _click(rc, "Run to day 182")
    assert _day(rc) == "Day 182 of 182: 11 September 2025"
    assert all(rc.find(v.Btn, children=[b]).widget.disabled for b in ("Next day", "Run to day 182"))

    # A slider moved shows its new value at once; Reset builds the ensemble with it at day 0.
    rc.find(v.Slider, label="Pressure on Russia").widget.v_model = 0.5
    assert rc.find(v.Html, class_="negsim-value").widgets[2].children[0] == "0.50 of its daily war value"
    default = _images(rc)
    _click(rc, "Reset")
    assert _day(rc) == "Day 0 of 182: 13 March 2025"
    _click(rc, "Run to day 182")
    assert _images(rc)[1] != default[1]


def test_a_variant_preset_loads_that_scenario_against_its_reference(monkeypatch):
    import ipyvuetify as v

    import sim.dashboard as dashboard
    from sim.teaching.classroom import presets

    monkeypatch.setattr(dashboard, "REPLICATIONS", 200)  # fewer worlds: only the plots are compared
    box, rc = solara.render(solara.AppLayout(children=[dashboard.Page()]), handle_error=False)
    select = rc.find(v.Select, label="Worksheet variant").widget
    assert select.items == [p.title for p in presets(BASELINE)]
    _click(rc, "Run to day 182")
    baseline = _images(rc)
    select.v_model = "Four parties: European arms suppliers"
    assert _day(rc) == "Day 0 of 182: 13 March 2025"
    words = " ".join(_texts(box))
    assert "Four parties: European arms suppliers, 200 worlds" in words
    assert "Compared with: Baseline: positions of 13 March 2025" in words
    # The variant's own parties have their sliders.
    assert "Pressure on European arms suppliers" in [s.label for s in rc.find(v.Slider).widgets]
    _click(rc, "Run to day 182")
    assert _images(rc)[1] != baseline[1]


def test_settings_the_scenario_cannot_take_are_one_line_in_the_page():
    import ipyvuetify as v

    import sim.dashboard as dashboard

    _, rc = solara.render(solara.AppLayout(children=[dashboard.Page()]), handle_error=False)
    _click(rc, "Next week")
    # A browser message can carry any value, not only the slider's range.
    rc.find(v.Slider, label="Balance of power on day 0").widget.v_model = 500.0
    _click(rc, "Reset")
    shown = [a.children[0] for a in rc.find(v.Alert).widgets]
    assert len(shown) == 1 and "\n" not in shown[0]
    assert shown[0].endswith(
        "baseline.toml: dynamics.momentum.initial: Input should be less than or equal to 100"
    )
    assert _day(rc).startswith("Day 7 of 182")  # the ensemble on the screen is kept
    rc.find(v.Slider, label="Balance of power on day 0").widget.v_model = 0.5
    _click(rc, "Reset")
    assert not rc.find(v.Alert).widgets and _day(rc).startswith("Day 0 of 182")


def test_each_session_has_its_own_model():
    import sim.dashboard as dashboard

    _, one = solara.render(solara.AppLayout(children=[dashboard.Page()]), handle_error=False)
    _, two = solara.render(solara.AppLayout(children=[dashboard.Page()]), handle_error=False)
    start = _images(two)
    _click(one, "Next day")
    assert _images(two) == start and _day(two).startswith("Day 0 ")


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
    from playwright.sync_api import expect, sync_playwright

    from sim.api import serve_dashboard
    from sim.teaching.classroom import presets

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
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
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
            day = page.locator(".negsim-day")
            day.wait_for(timeout=90_000)
            page.wait_for_function("document.querySelectorAll('img').length >= 2", timeout=60_000)
            assert day.inner_text() == "Day 0 of 182: 13 March 2025"
            words = page.inner_text("body").lower()
            for developer in (
                "play interval",
                "render interval",
                "use threads",
                "page 0",
                "time:",
                "runs on",
            ):
                assert developer not in words
            assert page.get_by_role("tab").count() == 0
            first = _drawn(page)
            assert len(first) == 2, "the plots were not drawn"

            # A preset per worksheet variant, in the browser's own list.
            page.get_by_label("Worksheet variant").click(force=True)
            items = page.locator(".v-menu__content.menuable__content__active .v-list-item")
            items.first.wait_for()
            assert items.all_inner_texts() == [p.title for p in presets(BASELINE)]
            page.keyboard.press("Escape")

            def run_to_horizon(old):
                page.get_by_role("button", name="Run to day 182").click()
                page.wait_for_function(
                    "() => document.querySelector('.negsim-day').innerText.startsWith('Day 182 of 182')",
                    timeout=60_000,
                )
                page.wait_for_function(
                    "old => { const now = [...document.querySelectorAll('img')]"
                    ".filter(e => e.naturalWidth > 300).map(e => e.src);"
                    " return now.length >= 2 && now.some((s, i) => s !== old[i]); }",
                    arg=old,
                    timeout=60_000,
                )
                return _drawn(page)

            default = run_to_horizon(first)
            assert day.inner_text() == "Day 182 of 182: 11 September 2025"
            expect(page.get_by_role("button", name="Next day")).to_be_disabled()

            def usable(page, size):
                """No sideways scrolling; the plots at least half the window's width."""
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
                widths = page.eval_on_selector_all(
                    "img", "els => els.filter(e => e.naturalWidth > 300).map(e => e.clientWidth)"
                )
                assert len(widths) == 2 and min(widths) >= size[0] / 2, widths
                # Every slider can be dragged: its track spans most of the sidebar, whatever the
                # length of the value and unit shown with it.
                tracks = page.eval_on_selector_all(
                    ".negsim-control .v-slider", "els => els.map(e => e.getBoundingClientRect().width)"
                )
                assert len(tracks) >= 6 and min(tracks) >= 200, tracks
                page.screenshot(path=str(shots / f"horizon-{size[0]}x{size[1]}.png"))

            usable(page, (1280, 800))
            # A second session on a smaller screen: its own model, at day 0, until run.
            small = browser.new_page(viewport={"width": 1024, "height": 768})
            small.route("**/*", only_local)
            small.goto(url, timeout=90_000)
            small.locator(".negsim-day").wait_for(timeout=90_000)
            assert small.locator(".negsim-day").inner_text().startswith("Day 0 of 182")
            small.get_by_role("button", name="Run to day 182").click()
            small.wait_for_function(
                "() => document.querySelector('.negsim-day').innerText.startsWith('Day 182 of 182')",
                timeout=60_000,
            )
            small.wait_for_function(
                "document.querySelectorAll('img').length >= 2 && [...document.querySelectorAll('img')]"
                ".every(e => e.complete)",
                timeout=60_000,
            )
            usable(small, (1024, 768))
            small.close()

            # Move the pressure-on-Russia slider to its end: its value shows beside it at once.
            slider = page.get_by_role("slider", name="Pressure on Russia")
            slider.focus()
            slider.press("End")
            page.wait_for_function(
                "() => [...document.querySelectorAll('.negsim-value')]"
                ".some(e => e.innerText === '1.00 of its daily war value')"
            )
            page.get_by_role("button", name="Reset").click()
            page.wait_for_function(
                "() => document.querySelector('.negsim-day').innerText.startsWith('Day 0 of')", timeout=60_000
            )
            pressed = run_to_horizon(_drawn(page))
            page.screenshot(path=str(shots / "pressure-on-russia-1280x800.png"))
            assert pressed != default, "moving the slider changed nothing drawn"
            assert not outside, f"the page asked the network for {outside}"
            print(f"dashboard screenshots: {shots}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
