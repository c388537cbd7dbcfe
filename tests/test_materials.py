"""Teaching materials agree with the model: one set of numbers on the sheets, the plan and in the game.

The role sheets (HTML, and PDF where Chromium is present) and the lesson plan state each party's
no-deal value on day 0 as the mean and range over the scenario's worlds; the game shows the value of
the world played. Both are read back from the rendered text and checked against the engine's own
valuation (``NegotiationModel.value`` of what is in force, before the first meeting cycle).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from sim.api import load_scenario, play
from sim.experiments.chunks import chunk_bounds, chunk_model
from sim.scenario import find_scenarios, with_overrides
from sim.teaching.roles import role_sheets
from sim.teaching.values import BEGIN, END, nodeal_values, parse_range, table

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted(find_scenarios([ROOT / "scenarios"]))
REQUIRED = os.environ.get("NEGSIM_REQUIRE_BROWSER") == "1"


def engine_values(sc) -> dict[str, np.ndarray]:
    """Each party's value of the status quo on day 0 in every world, straight from the engine."""
    out: dict[str, list[np.ndarray]] = {pid: [] for pid in sc.parties}
    for a, b in chunk_bounds(sc.replications):
        model = chunk_model(sc, sc.seed, a, b)
        rows = np.arange(b - a)
        for pid, party in model.party.items():
            out[pid].append(model.value(party.values, party, rows, model.inforce[rows][:, None])[:, 0])
    return {pid: np.concatenate(v) for pid, v in out.items()}


def text_of_html(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def assert_agrees(text: str, values: np.ndarray, where: str) -> tuple[float, float]:
    mean, low, high, worlds = parse_range(text)
    assert worlds == values.size, where
    assert mean == pytest.approx(values.mean(), abs=5e-4), where
    assert low == pytest.approx(values.min(), abs=5e-4), where
    assert high == pytest.approx(values.max(), abs=5e-4), where
    return low, high


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_rendered_sheets_state_the_engines_no_deal_values(path, tmp_path):
    sc = load_scenario(path)
    values = engine_values(sc)
    files = role_sheets(sc).write(tmp_path)
    assert {f"confidential-{pid}.html" for pid in sc.parties} <= {f.name for f in files}
    for pid in sc.parties:
        page = (tmp_path / f"confidential-{pid}.html").read_text(encoding="utf-8")
        assert_agrees(text_of_html(page), values[pid], f"{sc.name}/{pid}")


def test_the_value_is_the_whole_status_quo_not_the_war_alone():
    """The sheet's value counts what is in force (the terms as they stand) as well as the war: the
    mean parameters' war alone over the window is a different number."""
    sc = load_scenario(ROOT / "scenarios" / "baseline.toml")
    mean = parse_range(role_sheets(sc).parties["russia"])[0]
    p, window, m0 = sc.parties["russia"], sc.valuation.window_days, sc.dynamics.momentum.initial
    war_only = window * sum(fv.mean + fv.momentum * m0 for fv in p.war.values())
    assert abs(mean - war_only) > 0.05


def test_the_game_shows_its_worlds_value_inside_the_sheets_range():
    sc = with_overrides(load_scenario(ROOT / "scenarios" / "baseline.toml"), 300, None)
    values = engine_values(sc)
    sheets = role_sheets(sc).parties
    for pid, world in (("russia", 0), ("ukraine", 17), ("us", 299)):
        low, high = assert_agrees(sheets[pid], values[pid], pid)
        out: list[str] = []
        play(sc, pid, world, moves=["refuse"] * 60 + ["lapse"] * 60, write=out.append)
        (line,) = [s for s in out if s.startswith("Your no-deal value on day 0")]
        shown = float(re.search(r": ([+-]\d+\.\d{3});", line)[1])
        assert shown == pytest.approx(values[pid][world], abs=5e-4)
        assert low <= shown <= high


def test_the_lesson_plan_shows_the_engines_values():
    sc = load_scenario(ROOT / "scenarios" / "baseline.toml")
    plan = (ROOT / "teaching" / "lesson-plan.md").read_text(encoding="utf-8")
    block = plan[plan.index(BEGIN) + len(BEGIN) : plan.index(END)].strip()
    assert block == table(sc), (
        "regenerate: python -m sim.teaching.values teaching/lesson-plan.md scenarios/baseline.toml"
    )
    values = nodeal_values(sc)
    for pid in sc.parties:
        (row,) = [line for line in block.splitlines() if f"(`{pid}`)" in line]
        assert_agrees(row, values[pid], pid)
    assert "+0.23" not in plan and "+0.23" not in (ROOT / "teaching" / "teachers-notes.md").read_text()


def _chromium_missing() -> str | None:
    try:
        import playwright  # noqa: F401
        import pypdf  # noqa: F401
    except ImportError as e:
        return f"{e.name} is not installed"
    if not (os.environ.get("NEGSIM_CHROMIUM") or shutil.which("chromium")):
        return "no Chromium (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def chromium():
    missing = _chromium_missing()
    if missing:
        if REQUIRED:
            pytest.fail(missing)
        pytest.skip(missing)


@pytest.mark.parametrize("name", ["baseline", "europe"])
def test_pdf_sheets_state_the_engines_values(chromium, name, tmp_path):
    from pypdf import PdfReader

    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    values = engine_values(sc)
    role_sheets(sc).write(tmp_path, pdf=True)
    for pid in sc.parties:
        reader = PdfReader(tmp_path / f"confidential-{pid}.pdf")
        # NFKC undoes the typographic ligatures of the printed font (fi, fl).
        text = unicodedata.normalize("NFKC", " ".join(page.extract_text() for page in reader.pages))
        assert f"Confidential: {sc.parties[pid].label}" in text
        assert_agrees(text, values[pid], f"{name}/{pid} (PDF)")
    assert len(PdfReader(tmp_path / "all.pdf").pages) > len(sc.parties)  # a page (or more) per sheet
