"""The inputs other than scenario files: observations, moves, exercise answers, class logs, and
the options of the newer commands. Each test reproduces a finding of the fuzzer (tests/fuzz.py):
a traceback, an error that did not name the file, a file read without bound, or work started
before a bad option was refused.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import write_toml
from test_hardening import ARTICLE, SEED, negsim, one_line_error, valid_raw

OK = "scenarios/ok.toml"


@pytest.fixture
def project(tmp_path) -> Path:
    """tmp/proj with seeds/ and scenarios/ok.toml (the small valid scenario of test_hardening)."""
    proj = tmp_path / "proj"
    (proj / "seeds").mkdir(parents=True)
    (proj / "seeds" / SEED).write_text(ARTICLE, encoding="utf-8")
    (proj / "scenarios").mkdir()
    write_toml(proj / "scenarios" / "ok.toml", valid_raw())
    return proj


def _observations(project: Path, body: str | bytes) -> str:
    p = project / "obs.toml"
    p.write_bytes(body if isinstance(body, bytes) else body.encode())
    return "obs.toml"


OBS = (
    'title = "t"\nnote = "invented"\n[observations.a]\ndate = "{date}"\n'
    'class = "no_agreement"\nsource = "abc"\n'
)


@pytest.mark.parametrize(
    "body, fragment",
    [
        (b"title = 'caf\xe9'\n", "is not UTF-8"),
        (OBS.format(date="2025-02-30"), "observations.a.date: 2025-02-30 is not a date"),
        ("x = " + "[" * 1000 + "]" * 1000 + "\n", "nested too deeply"),
    ],
)
def test_a_bad_observations_file_is_one_line_naming_it(project, capsys, body, fragment):
    obs = _observations(project, body)
    line = one_line_error(["score", OK, "--observed", obs, "-n", "3"], capsys, cwd=project, names="obs.toml")
    assert fragment in line


@pytest.mark.parametrize(
    "path, fragment", [("/dev/zero", "not a regular file"), ("scenarios", "is a folder")]
)
def test_an_observations_path_that_is_no_file_is_refused_unread(project, capsys, path, fragment):
    line = one_line_error(["score", OK, "--observed", path, "-n", "3"], capsys, cwd=project)
    assert fragment in line and "cannot write" not in line


# ---------------------------------------------------------------- negsim play


@pytest.mark.parametrize(
    "moves, fragment",
    [(b"accept\n\xff\xfe\n", "is not UTF-8"), (b"accept\n" * 200_000, "at most 1,000,000")],
)
def test_a_moves_file_that_cannot_be_read_is_refused_before_the_game(project, capsys, moves, fragment):
    (project / "moves.txt").write_bytes(moves)
    argv = ["play", OK, "--as", "a", "--moves", "moves.txt", "--log", "log.jsonl"]
    code, out, err = negsim(argv, capsys, cwd=project)
    assert code == 2 and fragment in err and "moves.txt" in err and len(err.splitlines()) == 1
    assert "Round" not in out and not (project / "log.jsonl").exists()


def test_a_moves_path_that_is_no_file_is_refused(project, capsys):
    argv = ["play", OK, "--as", "a", "--moves", "/dev/zero"]
    assert "not a regular file" in one_line_error(argv, capsys, cwd=project)


@pytest.mark.parametrize(
    "log, fragment", [("scenarios", "is a folder"), ("taken.txt/log.jsonl", "is a file")]
)
def test_a_class_log_that_cannot_be_appended_to_is_refused_before_the_game(project, capsys, log, fragment):
    (project / "taken.txt").write_text("x")
    (project / "moves.txt").write_text("refuse\n" * 60)
    argv = ["play", OK, "--as", "a", "--moves", "moves.txt", "--log", log]
    code, out, err = negsim(argv, capsys, cwd=project)
    assert code == 2 and fragment in err and len(err.splitlines()) == 1 and "Round" not in out


def test_text_typed_at_the_prompt_is_echoed_escaped(project, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("\x1b[2J\n"))
    _, out, _ = negsim(["play", OK, "--as", "a", "--log", "log.jsonl"], capsys, cwd=project)
    assert "\x1b" not in out


# ---------------------------------------------------------------- negsim exercise check


def _exercise(project: Path, check: dict) -> None:
    folder = project / "teaching" / "exercises" / "01-small"
    folder.mkdir(parents=True)
    write_toml(
        folder / "exercise.toml",
        {
            "title": "Small",
            "question": "?",
            "answer_format": "answer = 3",
            "scenario": "scenario.toml",
            "replications": 10,
            "precision": 50.0,  # 10 worlds give a share to within ± 31 points
            "measure": {"label": "a deal", "outcome": "any_agreement"},
            "check": check,
        },
    )
    write_toml(
        folder / "scenario.toml",
        {"extends": "../../../scenarios/ok.toml", "title": "Small", "summary": "The test scenario."},
    )


THRESHOLD = {"kind": "threshold", "parameter": "truce.days", "step": 1.0, "above": 0.5}


@pytest.mark.parametrize("answer", ["nan", "inf", "-inf", "1e308"])
def test_an_answer_that_is_no_finite_number_is_one_line(project, capsys, answer):
    _exercise(project, THRESHOLD)
    (project / "answer.toml").write_text(f"answer = {answer}\n")
    line = one_line_error(["exercise", "check", "1", "answer.toml"], capsys, cwd=project, names="answer.toml")
    assert "finite number" in line


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("answer = 3\nzzz = 1\n", "zzz: unknown key"),
        ("answer = 3\nreason = 5\n", "reason: Input should be a valid string"),
        ('answer = "three"\n', "answer is a number"),
        (b"answer = 3 # caf\xe9\n", "is not UTF-8"),
    ],
)
def test_a_bad_answer_file_is_one_line_naming_it(project, capsys, body, fragment):
    _exercise(project, THRESHOLD)
    (project / "answer.toml").write_bytes(body if isinstance(body, bytes) else body.encode())
    line = one_line_error(["exercise", "check", "1", "answer.toml"], capsys, cwd=project, names="answer.toml")
    assert fragment in line


def test_an_answer_file_that_is_no_file_is_refused_unread(project, capsys):
    _exercise(project, THRESHOLD)
    line = one_line_error(["exercise", "check", "1", "/dev/zero"], capsys, cwd=project)
    assert "not a regular file" in line


def test_a_whole_number_parameter_takes_a_whole_number_answer(project, capsys):
    # truce.days is an integer field: the check used to set it to 11.0 and refuse its own scenario.
    _exercise(project, THRESHOLD)
    (project / "answer.toml").write_text("answer = 11\n")
    code, out, err = negsim(
        ["exercise", "check", "1", "answer.toml", "--out", "results"], capsys, cwd=project
    )
    assert code in (0, 1) and err == "" and "truce.days = 11" in out


def test_an_exercises_folder_without_exercises_says_so(project, capsys):
    line = one_line_error(["exercise", "show", "1", "--dir", "scenarios"], capsys, cwd=project)
    assert "none in this folder" in line


# ---------------------------------------------------------------- negsim debrief


@pytest.fixture
def played(project) -> dict:
    """A class log with one game of ok.toml (by the model's own moves), and its record."""
    from sim.api import model_moves, play

    moves = model_moves(project / OK, "a", 3)
    play(project / OK, "a", 3, moves=moves, log=project / "log.jsonl", write=lambda _s: None)
    return json.loads((project / "log.jsonl").read_text())


@pytest.mark.parametrize(
    "key, value, fragment",
    [
        ("world", "3", "world: Input should be a valid integer"),
        ("world", -1, "world: Input should be greater than or equal to 0"),
        ("world", 1.5, "world: Input should be a valid integer"),
        ("world", 20, "world 20 is not among the 20 worlds"),
        ("party", "nobody", "party 'nobody' is not in ok"),
        ("party", ["a"], "party: Input should be a valid string"),
        ("outcome", "war", "outcome 'war' is no outcome of ok"),
        ("outcome", [1], "outcome: Input should be a valid string"),
        ("utility", "x", "utility: Input should be a valid number"),
        ("utility", math.nan, "utility: Input should be a finite number"),
        ("seed", "x", "seed: Input should be a valid integer"),
        ("seed", None, "seed: Input should be a valid integer"),
        ("worlds", "x", "worlds: Input should be a valid integer"),
        ("model_utility", "x", "model_utility: Input should be a valid number"),
        ("model_better", None, "model_better: Input should be a valid number"),
    ],
)
def test_a_bad_game_record_is_one_line_naming_the_log_and_line(project, capsys, played, key, value, fragment):
    bad = {**played, key: value}
    (project / "log.jsonl").write_text(json.dumps(played) + "\n" + json.dumps(bad) + "\n")
    line = one_line_error(
        ["debrief", "log.jsonl", "--out", "debrief"], capsys, cwd=project, names="log.jsonl"
    )
    assert "line 2" in line and fragment in line
    assert not (project / "debrief").exists()


def test_a_game_record_without_a_field_the_debrief_reads_is_refused(project, capsys, played):
    del played["seed"]
    (project / "log.jsonl").write_text(json.dumps(played) + "\n")
    line = one_line_error(["debrief", "log.jsonl"], capsys, cwd=project, names="log.jsonl")
    assert "seed: required field is missing" in line


@pytest.mark.parametrize(
    "path, body, fragment",
    [
        ("log.jsonl", b"\xff\n", "is not UTF-8"),
        ("log.jsonl", b"[" * 100_000 + b"\n", "line 1: not a JSON line"),
        ("/dev/zero", None, "not a regular file"),
    ],
)
def test_a_class_log_that_cannot_be_read_is_one_line(project, capsys, path, body, fragment):
    if body is not None:
        (project / path).write_bytes(body)
    assert fragment in one_line_error(["debrief", path], capsys, cwd=project)


# ---------------------------------------------------------------- the options of the newer commands


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["analyze", OK, "--days", "", "--no-simulate"], "--days: give 1 to"),
        (["analyze", OK, "--days", ",,,", "--no-simulate"], "--days: give 1 to"),
        (["sensitivity", OK, "--top", "-1"], "--top must be in 1.."),
        (["sensitivity", OK, "--trajectories", "0"], "--trajectories must be in 1.."),
        (["sensitivity", OK, "--trajectories", str(10**11)], "--trajectories must be in 1.."),
        (["sensitivity", OK, "--method", "sobol", "--samples", "3"], "--samples must be a power of 2"),
        (["sensitivity", OK, "--method", "sobol", "--samples", "-4"], "--samples must be a power of 2"),
        (["trace", OK, "--find", ""], "--find: unknown ''"),
        (["dashboard", OK, "--port", "-1"], "--port must be in 1..65535"),
        (["dashboard", OK, "--port", "70000"], "--port must be in 1..65535"),
        (["dashboard", OK, "--worlds", "0"], "--worlds must be in 1.."),
        (["dashboard", "scenarios"], "is a folder; negsim dashboard takes one scenario file"),
    ],
)
def test_a_bad_option_is_refused_before_any_work(project, capsys, args, fragment):
    assert fragment in one_line_error(args, capsys, cwd=project)


def test_a_class_log_in_a_folder_that_cannot_be_made_is_refused_before_the_game(project, capsys):
    # /proc/negsim cannot be created: the game used to be played and its log lost at the end.
    argv = ["play", OK, "--as", "a", "--log", "/proc/negsim/log.jsonl"]
    assert "cannot write there" in one_line_error(argv, capsys, cwd=project)
