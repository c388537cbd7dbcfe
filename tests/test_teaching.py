"""Teaching: role sheets, playing one side, the worksheet, exercises and the debrief."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sim.api import load_scenario, model_moves, play, roles, run
from sim.cli import main
from sim.outputs.narrative import where
from sim.scenario import with_overrides

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"


@pytest.fixture(scope="module")
def small():
    """The baseline with 200 worlds: the same worlds 0..199 as the full ensemble."""
    return with_overrides(load_scenario(BASELINE), 200, None)


@pytest.fixture(scope="module")
def engine_outcomes(small):
    return run(small).outcomes


# ---------------------------------------------------------------------------- role sheets


def _provenance_follows(sheet: str, needle: str, sc, item) -> None:
    """``needle`` is on a line of ``sheet`` followed by the item's quote (with line) or assumption."""
    lines = sheet.splitlines()
    hits = [i for i, line in enumerate(lines) if needle in line]
    assert hits, f"{needle!r} not in the sheet"
    for i in hits:
        after = "\n".join(lines[i + 1 : i + 4])
        quote_ok = item.source is None or (item.source.quote in after and where(sc, item) in after)
        assumption_ok = item.assumption is None or item.assumption in after
        if quote_ok and assumption_ok:
            return
    raise AssertionError(f"{needle!r} is not followed by its source or assumption")


@pytest.mark.parametrize("name", ["baseline", "us_pressure_russia", "europe"])
def test_role_sheets_cover_every_party_issue_red_line_and_lever(name):
    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    sheets = roles(sc)
    assert set(sheets.parties) == set(sc.parties)
    for pid, party in sc.parties.items():
        assert party.label in sheets.public
        sheet = sheets.parties[pid]
        for issue, pos in party.positions.items():
            _provenance_follows(sheet, f"(`{issue}`, ", sc, pos)
        for rid, rl in party.red_lines.items():
            _provenance_follows(sheet, f"(`{rid}`)", sc, rl)
        for lid, lever in sc.levers.items():
            if lever.holder == pid:
                _provenance_follows(sheet.split("## Levers you hold")[1], f"(`{lid}`,", sc, lever)
        if party.veto is not None:
            _provenance_follows(sheet, party.veto.label, sc, party.veto)
        for front, fv in party.war.items():
            _provenance_follows(sheet, f"- {sc.fronts[front].label}:", sc, fv)
    for iid, issue in sc.issues.items():
        assert f"{issue.label} (`{iid}`)" in sheets.public
    for lid, lever in sc.levers.items():
        _provenance_follows(sheets.public, f"(`{lid}`,", sc, lever)


def test_roles_command_writes_markdown_and_printable_html(tmp_path, capsys):
    assert main(["roles", str(BASELINE), "--out", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "public.md",
        "public.html",
        "confidential-russia.md",
        "confidential-russia.html",
        "all.html",
    } <= names
    page = (tmp_path / "all.html").read_text()
    assert page.count('class="page"') == 3 and "<table>" in page and "<strong>Russia</strong>" in page


# ---------------------------------------------------------------------------- play


def _quiet(_line: str) -> None:
    pass


@pytest.mark.parametrize(("party", "world"), [("russia", 0), ("ukraine", 3), ("us", 17), ("russia", 111)])
def test_replaying_the_model_party_reaches_the_engine_outcome(small, engine_outcomes, party, world):
    moves = model_moves(small, party, world)
    result = play(small, party, world, moves=moves, write=_quiet)
    row = engine_outcomes.iloc[world]
    assert result.outcome == row["outcome"]
    assert result.in_force == {issue: row[issue] for issue in small.issues}
    assert result.model_outcome == row["outcome"] and result.utility == pytest.approx(result.model_utility)


def test_a_different_move_changes_the_outcome_where_it_should(small, engine_outcomes):
    # World 0: the model's Russia refuses the opening text (the US plan, which the US and Ukraine
    # accept) and tables its own; a Russia that accepts the plan gets a full ceasefire.
    moves = model_moves(small, "russia", 0)
    assert " table " in moves[0] and engine_outcomes.iloc[0]["outcome"] != "full_ceasefire"
    out: list[str] = []
    # Then refuse every text and extend every truce (a line that does not fit a prompt is asked again).
    accept = play(small, "russia", 0, moves=["accept", *["extend", "refuse"] * 60], write=out.append)
    assert "  Answers: United States accepts; Ukraine accepts; you accept." in out
    assert accept.outcome == "full_ceasefire" or any("Vetoed" in line for line in out)
    # Refusing everything leaves nothing agreed: every text needs Russia's consent.
    never = play(small, "russia", 0, moves=["refuse"] * 40 + ["lapse"] * 10, write=_quiet)
    assert never.outcome == "no_agreement"


def test_bad_input_is_asked_again_never_a_traceback(small):
    out: list[str] = []
    lines = [
        "",
        "hello",
        "refuse kursk",
        "refuse kursk=nowhere",
        "refuse scope=full_front",
        "use nothing",
        "help",
    ]
    result = play(small, "russia", 0, moves=[*lines, *["refuse"] * 60], write=out.append)
    assert result is not None and result.outcome == "no_agreement"
    text = "\n".join(out)
    assert text.count("  ? ") == 6 and "Answer with one of:" in text


def test_end_of_input_and_ctrl_c_end_cleanly(tmp_path):
    moves = tmp_path / "moves.txt"
    moves.write_text("# two answers only\nrefuse\nrefuse\n")
    log = tmp_path / "log.jsonl"
    cmd = [sys.executable, "-m", "sim", "play", str(BASELINE), "--as", "russia", "--log", str(log)]
    done = subprocess.run([*cmd, "--moves", str(moves)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1 and done.stderr == ""
    # the third contact (day 0, then two gamma intervals of 3.5 days on average) asks a third answer
    last = re.fullmatch(
        r"Game ended on day ([\d.]+) \(2025-0\d-\d\d \d\d:\d\d\): no more moves \(end of input\); "
        r"the game is not logged\.",
        done.stdout.strip().splitlines()[-1],
    )
    assert last and 0 < float(last[1]) < 30
    assert not log.exists()
    # Ctrl-C at the prompt: a terminal delivers SIGINT with the default handler in place.
    launcher = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", launcher, sys.executable, *cmd[1:]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    first = ""
    while "Your no-deal value" not in first:
        first = proc.stdout.readline()
        assert first, proc.stderr.read()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in err
    assert out.strip().splitlines()[-1] == "Game interrupted (Ctrl-C); the game is not logged."


def test_a_finished_game_is_one_line_of_the_class_log(small, tmp_path):
    log = tmp_path / "class.jsonl"
    moves = model_moves(small, "ukraine", 3)
    for _ in range(2):
        play(small, "ukraine", 3, moves=moves, log=log, write=_quiet)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == 2
    rec = records[0]
    assert rec["sha256"] == small.sha256 and rec["seed"] == small.seed and rec["moves"] == moves
    assert rec["party"] == "ukraine" and rec["world"] == 3 and 0 <= rec["model_better"] <= 1


def test_blind_hides_the_no_deal_value_and_the_day(small):
    out: list[str] = []
    play(small, "russia", 0, moves=["refuse"] * 60, blind=True, write=out.append)
    text = "\n".join(out[3:]).split("Game over")[0]
    assert "Contact 2\n" in text and "no-deal value" not in text and "day" not in text


def test_play_command_with_a_moves_file(tmp_path, capsys):
    moves = tmp_path / "moves.txt"
    moves.write_text("\n".join(["refuse"] * 60))
    log = tmp_path / "log.jsonl"
    assert (
        main(
            [
                "play",
                str(BASELINE),
                "--as",
                "ukraine",
                "--world",
                "2",
                "--moves",
                str(moves),
                "--log",
                str(log),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "World 2 of the 2,000 worlds of baseline" in out and "across the 2,000 worlds" in out
    assert json.loads(log.read_text())["outcome"] == "no_agreement"
    assert main(["play", str(BASELINE), "--as", "france"]) == 2


# ---------------------------------------------------------------------------- exercises

EXERCISES = ROOT / "teaching" / "exercises"
NUMBERS = [1, 2, 3, 4, 5, 6]
# Answers that are not the model's best but that the intervals cannot tell from it: each is accepted.
WITHIN_NOISE = {
    1: 0.4,  # 56.3% [52.3, 60.2], and one step below (0.35: 47.3 to 55.3) it can be at or below 50%
    3: 0.15,  # 50.8% [46.8, 54.8], and one step below (0.10: 32.7 to 40.4) it can be at or below 50%
    4: "valuation.window_days",  # a 21.5-point swing against 24.7 (the land war; the margin: 23.3)
    # 5: none: at 600 worlds 90 days (52.8% [48.8, 56.8]) is clearly above 120 (46.8%, the difference
    # +6.0 [+0.3, +11.6]) and every other length
    6: 8.0,  # within 5 points of +6.7 [+2.0, +11.3]
}


def test_there_are_at_least_six_exercises_each_with_a_worked_answer():
    from sim.api import exercises

    found = exercises(EXERCISES)
    assert len(found) >= 6 and set(NUMBERS) <= {ex.number for ex in found}
    for ex in found:
        assert (Path(ex.folder) / "answer.toml").is_file() and (Path(ex.folder) / ex.scenario).is_file()
        assert ex.check.wrong is not None, f"exercise {ex.number} names no wrong answer"


@pytest.mark.parametrize("number", NUMBERS)
def test_worked_answer_passes_and_a_wrong_answer_fails(number, tmp_path):
    from sim.api import check_exercise, exercise

    ex = exercise(number, EXERCISES)
    right = check_exercise(number, Path(ex.folder) / "answer.toml", EXERCISES, out=tmp_path)
    assert right.holds, right.text()
    assert (tmp_path / "check.png").stat().st_size > 1000 and "HOLDS" in right.text()
    wrong = check_exercise(number, ex.check.wrong, EXERCISES)
    assert not wrong.holds, wrong.text()
    assert "DOES NOT HOLD" in wrong.text()
    # The check runs at its stated precision: every share it weighs is known to within it.
    for share in [*right.evidence, *wrong.evidence]:
        lo, hi = share.interval
        assert (hi - lo) / 2 <= ex.precision / 100, share
    assert f"precision ± {ex.precision:g} points" in right.text()
    # The teacher's notes show the shares this very check weighed, the worked answer in bold.
    from sim.teaching.notes import block, table

    shown = block((ROOT / "teaching" / "teachers-notes.md").read_text(encoding="utf-8"), number)
    assert shown == table(right), (
        "regenerate: python -m sim.teaching.notes teaching/teachers-notes.md teaching/exercises"
    )
    bold = [line for line in shown.splitlines() if line.startswith("| **")]
    assert len(bold) == (1 if ex.check.kind == "most" else len(right.marks))


@pytest.mark.parametrize("number", sorted(WITHIN_NOISE))
def test_an_answer_inside_the_targets_interval_is_accepted(number):
    from sim.api import check_exercise, exercise

    verdict = check_exercise(number, WITHIN_NOISE[number], EXERCISES)
    assert verdict.holds, verdict.text()
    answer = exercise(number, EXERCISES).check
    assert WITHIN_NOISE[number] != read_worked(number)
    assert answer.wrong != WITHIN_NOISE[number]


def test_the_teachers_notes_state_each_worked_answer_and_no_number_by_hand():
    """Each exercise's section names the worked answer of its answer.toml, and the notes' prose (the
    generated tables aside) and the worked answers' reasons quote no share or interval by hand: those
    are the engine's, in the tables and in what the check prints, and move when the engine does."""
    from sim.teaching.notes import begin, end

    notes = (ROOT / "teaching" / "teachers-notes.md").read_text(encoding="utf-8")
    prose = notes
    for n in NUMBERS:
        worked = read_worked(n)
        (heading,) = re.findall(rf"^## {n}\. .* — answer (.+)$", notes, flags=re.M)
        named = re.sub(r"`|\+| points| days", "", heading).strip()
        if isinstance(worked, str):
            assert named == worked, (n, heading, worked)
        else:
            assert float(named) == pytest.approx(worked), (n, heading, worked)
        prose = prose[: prose.index(begin(n))] + prose[prose.index(end(n)) + len(end(n)) :]
    # a share (not the 50% target) or an interval
    by_hand = re.compile(r"(?<![\d.])(?!50%)\d+(\.\d+)?%|\[[+-]?\d")
    found = [m.group() for m in by_hand.finditer(prose)]
    assert not found, found
    from sim.api import exercise
    from sim.teaching.exercises import read_answer

    for n in NUMBERS:
        reason = read_answer(Path(exercise(n, EXERCISES).folder) / "answer.toml").get("reason", "")
        assert not by_hand.search(reason), (n, reason)


def read_worked(number: int):
    from sim.api import exercise
    from sim.teaching.exercises import read_answer

    return read_answer(Path(exercise(number, EXERCISES).folder) / "answer.toml")["answer"]


def test_an_exercise_must_state_enough_worlds_for_its_precision(tmp_path):
    from sim.errors import UserError
    from sim.teaching.exercises import load_exercise, worst_half_width

    assert worst_half_width(600) == pytest.approx(4.0, abs=0.01)  # 1.96 * 50 / sqrt(600)
    folder = tmp_path / "01-x"
    shutil.copytree(EXERCISES / "01-pressure-on-russia", folder)
    toml = (folder / "exercise.toml").read_text()
    (folder / "exercise.toml").write_text(toml.replace("replications = 600", "replications = 100"))
    with pytest.raises(UserError, match="use at least 385"):
        load_exercise(folder)


@pytest.mark.parametrize(
    ("number", "answer", "says"),
    [
        (1, "0.33", "multiple of the grid step 0.05"),
        (1, "-0.05", "answer is 0 or more"),
        (1, '"a lot"', "answer is a number"),
        (3, "0.12", "multiple of the grid step 0.05"),
        (5, "45", "one of 30, 60, 90, 120, 180"),
        (2, "3", "one of: no_rearming, baseline, fast_rearming"),
        (4, '"parties.russia.margin"', "one of: dynamics.momentum.initial"),
        (6, "true", "answer is a number"),
    ],
)
def test_an_answer_that_is_no_answer_is_a_one_line_error_with_exit_2(number, answer, says, tmp_path, capsys):
    path = tmp_path / "answer.toml"
    path.write_text(f"answer = {answer}\n")
    argv = ["exercise", "check", str(number), str(path), "--dir", str(EXERCISES), "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and err.startswith("negsim: error:")
    assert not (tmp_path / "01-pressure-on-russia").exists()


def test_exercise_commands(tmp_path, capsys):
    assert main(["exercise", "list", "--dir", str(EXERCISES)]) == 0
    assert "The smallest pressure on Russia" in capsys.readouterr().out
    assert main(["exercise", "show", "2", "--dir", str(EXERCISES)]) == 0
    out = capsys.readouterr().out
    assert "fast_rearming" in out and "within ± 5 points" in out
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('answer = "no_rearming"\n')
    assert main(["exercise", "check", "2", str(wrong), "--dir", str(EXERCISES), "--out", str(tmp_path)]) == 1
    assert "DOES NOT HOLD" in capsys.readouterr().out
    assert main(["exercise", "check", "2", str(tmp_path / "missing.toml"), "--dir", str(EXERCISES)]) == 2
    wrong.write_text("answer = 'maybe'\n")
    assert main(["exercise", "check", "2", str(wrong), "--dir", str(EXERCISES)]) == 2
    assert main(["exercise", "show", "99", "--dir", str(EXERCISES)]) == 2


# ---------------------------------------------------------------------------- worksheet and debrief


def test_worksheet_lists_every_hypothesis_and_is_the_checked_in_copy():
    from sim.api import find_scenarios, load_scenarios, worksheet

    text = worksheet([ROOT / "scenarios"])
    scenarios = load_scenarios(find_scenarios([ROOT / "scenarios"]))
    hypotheses = [(sc.name, xid) for sc in scenarios for xid in sc.expect]
    assert len(hypotheses) >= 10
    for name, xid in hypotheses:
        assert f"`{name}` ({xid})" in text
    assert text.count("**Q") == len(hypotheses)
    assert (ROOT / "teaching" / "prediction-worksheet.md").read_text() == text, (
        "run: negsim worksheet > teaching/prediction-worksheet.md"
    )


def test_the_key_sets_each_verdict_beside_what_theory_expects():
    from sim.experiments.hypotheses import Verdict
    from sim.teaching.worksheet import worksheet

    scenarios = [load_scenario(ROOT / "scenarios" / f) for f in ("baseline.toml", "hardliners.toml")]
    first, second = scenarios[1].expect  # fewer_full_truces (down), more_humanitarian (up)

    def verdict(xid, diff, lo, hi, word):
        ex = scenarios[1].expect[xid]
        return Verdict(
            "hardliners",
            xid,
            "baseline",
            ex.outcome,
            ex.direction,
            182,
            0.3 + diff,
            0.3,
            diff,
            lo,
            hi,
            word,
            "",
        )

    # Given in the other order: each verdict goes to its own question.
    text = worksheet(
        scenarios,
        [verdict(second, 0.02, -0.01, 0.05, "inconclusive"), verdict(first, -0.1, -0.12, -0.08, "held")],
        "10 worlds",
    )
    key = text.split("# Teacher's key")[1]
    q1, q2 = (line for line in key.splitlines() if re.match(r"\| Q\d", line))
    assert q1.startswith(f"| Q1 | `hardliners` ({first}) | full ceasefire | less likely | **held** |")
    assert "20.0% vs 30.0%: -10.0 [-12.0, -8.0] pts" in q1
    assert (
        f"({second})" in q2 and "| more likely | **inconclusive** |" in q2 and "+2.0 [-1.0, +5.0] pts" in q2
    )
    assert "(10 worlds)" in key
    # A question whose comparison did not run says so; without verdicts the key points to --key.
    assert "| not run |" in worksheet(scenarios, [verdict(first, -0.1, -0.12, -0.08, "held")], "")
    plain = worksheet(scenarios).split("# Teacher's key")[1]
    assert "Model says" not in plain and "negsim worksheet --key" in plain


def test_worksheet_key_computes_the_verdicts_of_compare(tmp_path, capsys):
    from sim.api import compare

    stalemate = ROOT / "scenarios" / "hurting_stalemate.toml"
    # The variant alone: the scenario it extends is compared too.
    assert main(["worksheet", str(stalemate), "--key", "-n", "300", "--workers", "1"]) == 0
    out, err = capsys.readouterr()
    assert re.fullmatch(r"key: the scenarios compared in \d+\.\d s\n", err)
    rows = [line for line in out.split("# Teacher's key")[1].splitlines() if re.match(r"\| Q\d", line)]
    checks = compare([BASELINE, stalemate], replications=300).checks
    assert len(rows) == len(checks) == 2
    for row, v in zip(rows, checks, strict=True):
        assert f"`{v.scenario}` ({v.hypothesis})" in row and f"**{v.verdict}**" in row
        assert f"{100 * v.diff:+.1f} [{100 * v.lo:+.1f}, {100 * v.hi:+.1f}] pts" in row
    # Closing the land front is worth most when it hurts both: a large effect, held at 300 worlds.
    assert "| full ceasefire | more likely | **held** |" in rows[1]
    assert "300 simulated worlds per scenario" in out
    # The key's options without --key are a one-line error.
    assert main(["worksheet", "-n", "300"]) == 2
    assert "go with --key" in capsys.readouterr().err


def test_teaching_documents_cover_the_concepts():
    plan = (ROOT / "teaching" / "lesson-plan.md").read_text()
    for concept in (
        "BATNA",
        "Reservation value",
        "ZOPA",
        "Boulware",
        "commitment problem",
        "Two-level",
        "Ripeness",
        "Mediation",
    ):
        assert concept.lower() in plan.lower(), concept
    for step in ("Predict", "Play", "Run", "Debrief"):
        assert f"**{step}**" in plan
    glossary = (ROOT / "teaching" / "glossary.md").read_text()
    assert "0 to 1" in glossary and "Daily war value" in glossary


def test_debrief_marks_each_table_against_the_model(small, tmp_path):
    from sim.api import debrief

    log = tmp_path / "class.jsonl"
    play(small, "russia", 0, moves=model_moves(small, "russia", 0), log=log, write=_quiet)
    play(small, "russia", 0, moves=["refuse"] * 60, log=log, write=_quiet)
    play(small, "ukraine", 5, moves=["lapse", "refuse"] * 60, log=log, write=_quiet)
    scen = tmp_path / "scen"
    scen.mkdir()
    (scen / "baseline.toml").write_text(BASELINE.read_text())
    shutil.copytree(ROOT / "seeds", scen / "seeds")  # seeds are read only from the project's own
    # The games were of the 200-world copy: its hash is the file's, so the file is found by name.
    (d,) = debrief(log, [scen / "baseline.toml"], out=tmp_path / "out")
    assert [pd.party for pd in d.parties] == ["russia", "ukraine"]
    russia = d.parties[0]
    assert russia.world == 0 and russia.model.size == 200
    assert russia.model[0] == pytest.approx(d.games[0]["utility"])  # the model's own world 0
    assert d.class_share["no_agreement"] == pytest.approx(2 / 3)
    assert sum(d.model_share.values()) == pytest.approx(1)
    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"handout.html", "outcomes.png", "utility-russia.png", "utility-ukraine.png", "games.md"} <= files
    page = (tmp_path / "out" / "handout.html").read_text()
    assert page.count("data:image/png;base64") == 3 and "<table>" in page


def test_debrief_refuses_a_log_of_another_file(small, tmp_path):
    log = tmp_path / "class.jsonl"
    play(small, "russia", 0, moves=["refuse"] * 60, log=log, write=_quiet)
    record = json.loads(log.read_text())
    log.write_text(json.dumps({**record, "sha256": "0" * 64}) + "\n")
    assert main(["debrief", str(log), "--scenarios", str(ROOT / "scenarios"), "--out", str(tmp_path)]) == 2
    (tmp_path / "bad.jsonl").write_text("not json\n")
    assert main(["debrief", str(tmp_path / "bad.jsonl")]) == 2


def test_replaying_a_party_that_uses_levers_reaches_the_engine_outcome():
    sc = with_overrides(load_scenario(ROOT / "scenarios" / "us_pressure_russia.toml"), 40, None)
    outcomes = run(sc).outcomes
    moves = model_moves(sc, "us", 7)
    assert "use us_sanctions" in moves
    result = play(sc, "us", 7, moves=moves, write=_quiet)
    row = outcomes.iloc[7]
    assert result.in_force == {issue: row[issue] for issue in sc.issues}
    # Without the levers the United States' seat changes that world's pressure, and it is refused
    # a lever it does not hold.
    out: list[str] = []
    play(
        sc,
        "us",
        7,
        moves=["use kyiv_anything", *[m for m in moves if not m.startswith("use")]],
        write=out.append,
    )
    assert any("holds no lever 'kyiv_anything'" in line for line in out)


def test_debrief_of_several_logs_with_timelines(small, tmp_path, capsys):
    """Two laptops' logs merged: every game, each table's timeline replayed from its moves (what was
    in force at the end is the logged outcome), errors naming the log and line."""
    a, b = tmp_path / "laptop-a.jsonl", tmp_path / "laptop-b.jsonl"
    play(small, "russia", 0, moves=model_moves(small, "russia", 0), log=a, write=_quiet)
    play(small, "ukraine", 3, moves=["refuse"] * 60 + ["lapse"] * 60, log=b, write=_quiet)
    play(small, "us", 3, moves=model_moves(small, "us", 3), log=b, write=_quiet)
    scen = tmp_path / "scen"
    scen.mkdir()
    (scen / "baseline.toml").write_text(BASELINE.read_text())
    shutil.copytree(ROOT / "seeds", scen / "seeds")
    argv = [
        "debrief",
        str(a),
        str(b),
        "--scenarios",
        str(scen / "baseline.toml"),
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(argv) == 0
    md = (tmp_path / "o" / "games.md").read_text()
    assert "laptop-a.jsonl 1" in md and "laptop-b.jsonl 2" in md
    for n in (1, 2, 3):
        assert f"### T{n}:" in md
    assert "do not replay" not in md
    from sim.api import debrief

    (d,) = debrief([a, b], [scen / "baseline.toml"])
    assert len(d.games) == 3 and len(d.timelines) == 3
    for g, rows in zip(d.games, d.timelines, strict=True):
        assert rows, g
        # the timeline ends with what the game logged as in force
        assert rows[-1]["inforce"] == (
            small.classes[g["outcome"]].label if g["outcome"] in small.classes else "No agreement"
        )
    # the model's own Russia, replayed, answers every text it is asked: its timeline has answers
    assert any("russia" in r["answers"] for r in d.timelines[0])
    # an error in the second log names that log and line
    b.write_text(b.read_text() + '{"scenario": "baseline"}\n')
    assert main(["debrief", str(a), str(b)]) == 2
    err = capsys.readouterr().err
    assert "laptop-b.jsonl, line 3" in err and err.count("\n") == 1


def test_debrief_names_a_counter_the_envoy_carried(small, tmp_path):
    """In the baseline the envoy shuttles: a refused text's counter is put to the others at the next
    contact. The timeline says whose counter each such text is, as the game itself did."""
    from sim.api import debrief
    from sim.teaching.debrief import replay

    assert small.mediator.shuttles
    moves = model_moves(small, "russia", 0)
    log = tmp_path / "class.jsonl"
    out: list[str] = []
    play(small, "russia", 0, moves=moves, log=log, write=out.append)
    model, _ = replay(small, "russia", 0, moves)
    tablers = [e["by"] for e in model.transcript if "proposal" in e]
    assert {"russia", "ukraine"} <= set(tablers)  # both sides' counters were carried in this world
    scen = tmp_path / "scen"
    scen.mkdir()
    (scen / "baseline.toml").write_text(BASELINE.read_text())
    shutil.copytree(ROOT / "seeds", scen / "seeds")
    (d,) = debrief(log, [scen / "baseline.toml"])
    texts = [r["text"] for r in d.timelines[0] if r["text"]]
    assert len(texts) == len(tablers)
    for by, text in zip(tablers, texts, strict=True):
        if by in small.parties:
            assert text.startswith(f"{small.parties[by].label}'s counter: "), (by, text)
        else:
            assert "counter" not in text, (by, text)
    # the game told the player the same
    assert sum("(its own text)" in line for line in out) == sum(b in small.parties for b in tablers)


def test_debrief_outcome_plot_keeps_every_label_whole_and_apart(small, tmp_path):
    """The class names under the bars (long ones: "Humanitarian only (prisoners or Kursk, no
    truce)"), the title and the legend all lie inside the figure, and no two of them meet."""
    from sim.api import debrief
    from sim.teaching.debrief import _pyplot, outcomes_figure

    log = tmp_path / "class.jsonl"
    play(small, "russia", 0, moves=["refuse"] * 60, log=log, write=_quiet)
    scen = tmp_path / "scen"
    scen.mkdir()
    (scen / "baseline.toml").write_text(BASELINE.read_text())
    shutil.copytree(ROOT / "seeds", scen / "seeds")
    (d,) = debrief(log, [scen / "baseline.toml"])
    plt = _pyplot()
    fig = outcomes_figure(d, plt)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    (ax,) = fig.axes
    page = fig.bbox
    boxes = {t.get_text(): t.get_window_extent(renderer) for t in ax.get_xticklabels()}
    assert len(boxes) == len(d.model_share)
    boxes["title"] = ax.title.get_window_extent(renderer)
    boxes["legend"] = ax.get_legend().get_window_extent(renderer)
    boxes["y label"] = ax.yaxis.label.get_window_extent(renderer)
    for name, box in boxes.items():
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, name
    names = list(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not boxes[a].overlaps(boxes[b]), (a, b)
    plt.close(fig)
