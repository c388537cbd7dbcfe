"""The class in real browsers: Debian's Chromium through Playwright, every non-loopback request refused.

Three browser contexts take the envoy's, Moscow's and Kyiv's seats at table 1 and a fourth is the
teacher's console; a fifth takes Kyiv's seat at table 2, whose two other seats are the model's. The
envoy drafts a text, Moscow refuses it naming a change, Kyiv accepts; play goes on until a truce is
banked; the teacher injects an event; Moscow's browser is closed mid-game and reopened on the same
state; the server is restarted and both tables resume; the games are played to the end and the
class's debrief lists every seat of both tables. Every seat's websocket frames are recorded, and
none carries another party's numbers. Screenshots of each page, at 1280x800 and 1024x768, go to
``$NEGSIM_ARTIFACTS/classserver/`` (``.ci/run``: results/), else to the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from classclients import Served
from test_class_server import numbers

from sim.api import load_scenario
from sim.scenario import with_overrides
from sim.teaching.pdf import ARGS  # the flags the PDFs are printed with: one headless setup

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
REQUIRED = os.environ.get("NEGSIM_REQUIRE_BROWSER") == "1"
SIZES = {"1280x800": {"width": 1280, "height": 800}, "1024x768": {"width": 1024, "height": 768}}


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed (apt-get install -y chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


class Seat:
    """One browser context at one seat, with its websocket frames recorded."""

    def __init__(self, browser, url: str, port: int, outside: list[str]) -> None:
        self.ctx = browser.new_context(viewport=SIZES["1280x800"])
        self.port, self.outside, self.frames = port, outside, []
        self.ctx.route("**/*", self._only_local)
        self.page = self._open(url)

    def _only_local(self, route) -> None:
        url = route.request.url
        if url.startswith(f"http://127.0.0.1:{self.port}/") or url.startswith("data:"):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def _open(self, url: str):
        page = self.ctx.new_page()
        page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: self.frames.append(payload)))
        page.goto(url)
        return page

    def reopen(self, path: str = "/seat") -> None:
        self.page.close()
        self.page = self._open(f"http://127.0.0.1:{self.port}{path}")

    def join(self, code: str, table: int, seat: str, name: str) -> None:
        p = self.page
        p.fill("#code", code)
        p.click("#look")
        p.wait_for_selector("#pick:not([hidden])")
        p.fill("#name", name)
        p.select_option("#table", str(table))
        p.select_option("#seat", seat)
        p.click("#join")
        p.wait_for_url("**/seat?token=*")
        p.wait_for_selector("#status:not(:empty)")

    def act(self, refuse_with_change: bool = False) -> str | None:
        """Answer whatever is asked now, as a person would click; what was done (None: nothing)."""
        from playwright.sync_api import Error

        p = self.page
        for sel, what in (("#table-it", "draft"), ("#accept", "accept"), ("#extend", "extend")):
            button = p.locator(sel)
            try:  # the page may redraw between looking and clicking: then look again later
                if button.count() and button.is_visible() and button.is_enabled(timeout=500):
                    if what == "accept" and refuse_with_change:
                        p.click("#refuse-change", timeout=2000)
                        return "refuse"
                    button.click(timeout=2000)
                    return what
            except Error:
                return None
        return None

    def status(self) -> str:
        return self.page.inner_text("#status").strip().lower()

    def shot(self, folder: Path, name: str) -> None:
        for size, viewport in SIZES.items():
            self.page.set_viewport_size(viewport)
            self.page.screenshot(path=str(folder / f"{name}-{size}.png"), full_page=False)
        self.page.set_viewport_size(SIZES["1280x800"])


def test_the_class_in_real_browsers(tmp_path):
    missing = _missing()
    if missing:
        if REQUIRED:
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    sc = with_overrides(load_scenario(ROOT / "scenarios" / "baseline.toml"), 200, None)
    db = tmp_path / "class.sqlite"
    served = Served(sc, db, tables=2)
    port, code, token = served.port, served.server.code, served.token
    shots = Path(os.environ.get("NEGSIM_ARTIFACTS") or tmp_path) / "classserver"
    shots.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            seats = {
                p: Seat(browser, f"{base}/?code={code}", port, outside) for p in ("us", "russia", "ukraine")
            }
            for pid, seat in seats.items():
                seat.join(code, 1, pid, f"student {pid}")
            solo = Seat(browser, f"{base}/?code={code}", port, outside)
            solo.join(code, 2, "ukraine", "student at table 2")
            teacher = Seat(browser, f"{base}/teacher?token={token}", port, outside)
            teacher.page.wait_for_selector("[data-table='2']")
            teacher.page.click("[data-all=start]")

            envoy = seats["us"].page
            envoy.wait_for_selector("#table-it")
            envoy.select_option("[data-issue=prisoners]", "all_for_all")
            envoy.wait_for_function("document.querySelector('#preview').textContent.includes('believed')")
            seats["us"].shot(shots, "envoy-drafting")
            envoy.click("#table-it")
            seats["russia"].page.wait_for_selector("#accept")
            seats["russia"].shot(shots, "student-seat")
            assert "All for all" in seats["russia"].page.inner_text("#question").replace(
                "all for all", "All for all"
            )

            def play(until, refuse_first=True, limit=240.0):
                """Click through the questions until ``until()`` holds."""
                end = time.monotonic() + limit
                refused = not refuse_first
                while not until():
                    assert time.monotonic() < end, "the browsers' game did not get there"
                    did = False
                    for pid, seat in seats.items():
                        what = seat.act(refuse_with_change=(pid == "russia" and not refused))
                        refused |= what == "refuse"
                        did |= what is not None
                    did |= solo.act() is not None
                    if not did:
                        time.sleep(0.05)

            def truce_banked() -> bool:
                return "truce ends" in seats["ukraine"].page.inner_text("#inforce")

            play(truce_banked)
            event = next(iter(sc.events))
            teacher.page.select_option("[data-table='1'] [data-inject]", event)
            teacher.page.click("[data-table='1'] [data-cmd=inject]")
            teacher.page.wait_for_selector("#msg:has-text('inject: 1 table')")
            teacher.shot(shots, "console")

            # Moscow's browser closes mid-game and comes back to the same seat and state.
            before = seats["russia"].page.inner_text("#clock")
            seats["russia"].reopen()
            seats["russia"].page.wait_for_function(
                f"document.querySelector('#clock').textContent === {json.dumps(before)}"
            )

            # The server restarts on the same database; every page reconnects to the same state.
            days = {pid: s.page.inner_text("#clock") for pid, s in seats.items()}
            served.stop()
            served = Served(sc, db, tables=2, port=port)
            for pid, s in seats.items():
                s.page.wait_for_function(
                    f"document.querySelector('#clock').textContent === {json.dumps(days[pid])}"
                    " && !document.querySelector('#msg').textContent.includes('reconnecting')",
                    timeout=30_000,
                )
            play(lambda: all(s.status() == "over" for s in (*seats.values(), solo)), refuse_first=False)

            teacher.page.click("#debrief")
            teacher.page.wait_for_selector("#debrief-link a", timeout=120_000)
            teacher.reopen("/debrief/handout.html")
            handout = teacher.page.inner_text("body")
            teacher.shot(shots, "debrief")
            teacher.reopen(f"/teacher?token={token}")
            teacher.page.wait_for_selector("[data-table='2'] .status.over")
            teacher.shot(shots, "console-finished")
            seats["russia"].shot(shots, "student-seat-over")
            browser.close()
    finally:
        served.stop()
    assert not outside, f"a page asked the network for {outside}"
    assert "4 games" in handout  # three seats of table 1, one of table 2
    # No seat's frames carry another seat's numbers.
    all_seats = {**{p: s for p, s in seats.items()}, "solo": solo}
    own = {}
    for name, s in all_seats.items():
        frames = [json.loads(f) for f in s.frames if f.startswith("{")]
        own[name] = set().union(
            *(numbers(f.get("private")) for f in frames),
            *(numbers(f) for f in frames if f["type"] == "preview"),
        )
        assert own[name], f"{name} saw no numbers of its own"
    for name, s in all_seats.items():
        seen = set().union(*(numbers(json.loads(f)) for f in s.frames if f.startswith("{")))
        for other in all_seats:
            if other != name and {name, other} != {"ukraine", "solo"}:  # the same party in one world
                assert not own[other] & seen, f"{name}'s frames carry {other}'s numbers"
    for name in ("envoy-drafting", "student-seat", "console", "debrief"):
        for size in SIZES:
            assert (shots / f"{name}-{size}.png").stat().st_size > 5_000
