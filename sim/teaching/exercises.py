"""Exercises whose answers the model checks.

An exercise is a folder under ``teaching/exercises/``: ``exercise.toml`` (the question, what is
measured, how an answer is checked), the scenario it runs (``extends`` a bundled one), and the
worked answer ``answer.toml`` that the teacher's notes explain. A student writes an answer file
(``answer = ...``, and optionally ``reason = "..."``); ``negsim exercise check N FILE`` runs the
model and says whether the answer holds, with the numbers and a plot.

What can be measured in each world at the horizon: an outcome class in force (``outcome``), some
options in force (``holds``), or that an event happened at least once (``event``: banked, extended,
lapsed, violated, vetoed, gave_up).

Checks respect the noise. An exercise states its number of worlds (``replications``) and its
``precision``, in percentage points: the largest 95% half-width a share may have at that number of
worlds (1.96 * 50 / sqrt(n) at worst, a share of one half). An answer holds when it is consistent
with the model at that precision: when the intervals cannot tell it from the best answer. An answer
that is not an answer (off the grid, not among the values, the wrong type) is an error, not a wrong
answer. Each exercise names a wrong answer (``check.wrong``) that the check rejects. How an answer is
checked (``kind``):

- ``threshold``: the answer is the smallest value of ``parameter`` on a grid of ``step`` at which the
  measured share is above ``above``: at the answer the share is not clearly below it (its interval
  reaches above), one step below it is not clearly above it (its interval reaches down to it).
- ``argmax`` / ``argmin``: the answer is the value among ``values`` with the highest / lowest share:
  no other value's share is clearly higher / lower (the 95% Newcomb interval of the difference
  excludes zero).
- ``compare``: the answer names the variant with the higher share (``higher = true``) or the lower,
  by the same rule as ``argmax`` / ``argmin``.
- ``estimate``: the answer estimates the difference of shares ``first`` minus ``second`` between two
  variants (in percentage points): it holds within ``tolerance`` points of the model's difference, or
  inside that difference's 95% interval.
- ``most``: the answer names the parameter whose stated low and high values move the share most: no
  other parameter's swing is clearly larger (the 95% interval of the difference of swings, from the
  four shares' variances, excludes zero).

Every run uses the scenario's seed, so a check gives the same numbers every time it is run.
"""

from __future__ import annotations

import math
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.engine.outcomes import check_negotiable
from sim.errors import ScenarioError, UserError
from sim.errors import show as shown
from sim.experiments.chunks import compiled_space, run_chunks
from sim.experiments.tally import outcomes_frame, wilson
from sim.scenario import Scenario, load_raw, set_path, validate, with_overrides
from sim.scenario.loading import parent_name, read_toml

Number = float | int


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Measure(Strict):
    label: str
    outcome: str | None = None
    holds: dict[str, str] = {}
    event: Literal["banked", "extended", "lapsed", "violated", "vetoed", "gave_up"] | None = None


class Check(Strict):
    kind: Literal["threshold", "argmax", "argmin", "compare", "estimate", "most"]
    parameter: str | None = None
    step: float | None = Field(default=None, gt=0)
    above: float = 0.5
    values: list[Number] = []
    variants: dict[str, dict[str, Any]] = {}
    higher: bool = True
    first: str | None = None
    second: str | None = None
    tolerance: float = Field(default=5.0, gt=0)
    ranges: dict[str, list[Number]] = {}
    wrong: Number | str | None = None  # an answer the check rejects at the stated precision


class Exercise(Strict):
    title: str
    question: str
    answer_format: str
    scenario: str
    replications: int = Field(default=600, ge=10, le=100_000)
    precision: float = Field(default=5.0, gt=0, le=50)  # points: the largest half-width of a share
    measure: Measure
    check: Check
    # set on loading
    number: int = 0
    slug: str = ""
    folder: str = ""

    @model_validator(mode="after")
    def _precise_enough(self) -> Exercise:
        if worst_half_width(self.replications) > self.precision:
            need = math.ceil((Z * 50 / self.precision) ** 2)
            raise ValueError(
                f"replications = {self.replications} gives shares to "
                f"± {worst_half_width(self.replications):.1f} points, more than the precision "
                f"{self.precision:g}; use at least {need}"
            )
        return self


Z = 1.959963984540054  # the normal quantile of a two-sided 95% interval


def worst_half_width(n: int) -> float:
    """The largest half-width (points) of a share's 95% interval over ``n`` worlds (a share of 1/2)."""
    return 100 * Z * 0.5 / math.sqrt(n)


# ---------------------------------------------------------------------------- finding exercises


def find_exercises(folder: str | Path) -> list[Exercise]:
    """Every exercise folder (``NN-name/exercise.toml``) under ``folder``, in order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no exercises folder (run from the repository, or give --dir)")
    return [load_exercise(p.parent) for p in sorted(folder.glob("*/exercise.toml"))]


def load_exercise(folder: str | Path) -> Exercise:
    folder = Path(folder)
    path = folder / "exercise.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        number = int(folder.name.split("-", 1)[0])
        return Exercise.model_validate({**raw, "number": number, "slug": folder.name, "folder": str(folder)})
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(map(str, err["loc"])) or "exercise"
        raise UserError(f"{path}: not a valid exercise ({where}: {err['msg']})") from None
    except (OSError, tomllib.TOMLDecodeError, ValueError) as e:
        raise UserError(f"{path}: not a valid exercise ({str(e).splitlines()[0]})") from None


def pick(exercises: list[Exercise], which: str) -> Exercise:
    for ex in exercises:
        if which in (str(ex.number), f"{ex.number:02d}", ex.slug):
            return ex
    names = ", ".join(f"{ex.number} ({ex.slug})" for ex in exercises) or "none in this folder"
    raise UserError(f"no exercise '{shown(which)}'; there are: {names}")


def read_answer(path: str | Path) -> dict[str, Any]:
    """An answer file (``answer = ...``, optionally ``reason = "..."``), read as strictly as a scenario."""
    data = read_toml(path)
    if "answer" not in data:
        raise UserError(f"{shown(path, 200)}: no 'answer = ...' line")
    unknown = [k for k in data if k not in ("answer", "reason")]
    if unknown:
        raise UserError(f"{shown(path, 200)}: {shown(unknown[0])}: unknown key; allowed: answer, reason")
    if not isinstance(data.get("reason", ""), str):
        raise UserError(f"{shown(path, 200)}: reason: Input should be a valid string (text in quotes)")
    return data


def show(ex: Exercise) -> str:
    return "\n".join(
        [
            f"Exercise {ex.number}: {ex.title}",
            "",
            ex.question.strip(),
            "",
            "Scenario: " + str(Path(ex.folder) / ex.scenario),
            f"Measured in {ex.replications:,} worlds: {ex.measure.label} "
            f"(each share to within ± {ex.precision:g} points).",
            "",
            "Write your answer in a file, e.g. my-answer.toml:",
            *("    " + line for line in ex.answer_format.strip().splitlines()),
            f"then: negsim exercise check {ex.number} my-answer.toml",
        ]
    )


# ---------------------------------------------------------------------------- running


def scenario_of(ex: Exercise, changes: dict[str, Any] | None = None) -> Scenario:
    """The exercise's scenario with ``changes`` (dotted path -> value), its replications applied."""
    path = Path(ex.folder) / ex.scenario
    raw = load_raw(path)
    for key, value in (changes or {}).items():
        if isinstance(_lookup(raw, key), int) and isinstance(value, float) and value.is_integer():
            value = int(value)  # a whole-number field (truce.days) takes 30, not 30.0
        try:
            raw = set_path(raw, key, value)
        except KeyError:
            raise UserError(f"{ex.slug}: no field '{key}' in the scenario") from None
    try:
        sc = validate(raw, path, parent=parent_name(path))
    except ScenarioError as e:
        if e.where not in (changes or {}):
            raise
        value = shown((changes or {})[e.where])
        what = f"{e.where} = {value} is not allowed in this exercise's scenario"
        raise UserError(f"{what}: {e.message}") from None
    check_negotiable(sc)
    return with_overrides(sc, ex.replications, None)


def _lookup(raw: dict[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` in a scenario dict (None where there is none)."""
    node: Any = raw
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return None if isinstance(node, bool) else node


_RUNS: dict[tuple[str, int, int], Any] = {}


def _outcomes(sc: Scenario):
    """Per-world outcomes of a scenario, kept for the process: a check and its plot, or a right and a
    wrong answer, run each scenario once."""
    key = (sc.sha256, sc.replications, sc.seed)
    if key not in _RUNS:
        _RUNS[key] = outcomes_frame(compiled_space(sc), run_chunks(sc, sc.seed, sc.replications))
    return _RUNS[key]


@dataclass(frozen=True)
class Share:
    label: str
    count: int
    n: int

    @property
    def share(self) -> float:
        return self.count / self.n

    @property
    def interval(self) -> tuple[float, float]:
        lo, hi = wilson(np.array([self.count]), self.n)
        return float(lo[0]), float(hi[0])

    def __str__(self) -> str:
        lo, hi = self.interval
        share = f"{100 * self.share:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"
        return f"{self.label}: {share} ({self.count} of {self.n})"


def measure(ex: Exercise, changes: dict[str, Any] | None = None, label: str = "") -> Share:
    """The share of worlds where the exercise's measure holds, in the scenario with ``changes``."""
    df = _outcomes(scenario_of(ex, changes))
    m = ex.measure
    hit = np.ones(len(df), dtype=bool)
    if m.outcome == "any_agreement":
        hit &= (df["outcome"] != "no_agreement").to_numpy()
    elif m.outcome is not None:
        hit &= (df["outcome"] == m.outcome).to_numpy()
    for issue, option in m.holds.items():
        hit &= (df[issue] == option).to_numpy()
    if m.event is not None:
        hit &= (df[m.event] > 0).to_numpy()
    return Share(label, int(hit.sum()), len(df))


# ---------------------------------------------------------------------------- checks


@dataclass
class Verdict:
    exercise: Exercise
    answer: Any
    holds: bool
    evidence: list[Share]
    reason: str
    marks: list[str] = field(default_factory=list)  # labels of the evidence to highlight
    line: float | None = None
    plot_path: Path | None = None

    def text(self) -> str:
        plot = self.plot_path
        ex = self.exercise
        lines = [f"Exercise {ex.number}: {ex.title}", f"Your answer: {self.answer}", ""]
        lines.append(
            f"{ex.measure.label[0].upper()}{ex.measure.label[1:]}, {ex.replications:,} worlds each "
            f"(precision ± {ex.precision:g} points):"
        )
        lines += [f"  {s}" for s in self.evidence]
        lines += ["", ("HOLDS: " if self.holds else "DOES NOT HOLD: ") + self.reason]
        if plot is not None:
            lines.append(f"Plot: {plot}")
        return "\n".join(lines)


MAX_ANSWER = 1e12  # far beyond any parameter an exercise varies


def _number(answer: Any) -> float:
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        raise UserError(f"this exercise's answer is a number, not {shown(repr(answer))}")
    if not (math.isfinite(answer) and abs(answer) <= MAX_ANSWER):
        limit = f"a finite number of at most {MAX_ANSWER:g}"
        raise UserError(f"this exercise's answer is {limit}, not {answer!r}")
    return float(answer)


def _name(answer: Any, allowed: list[str]) -> str:
    if not isinstance(answer, str) or answer not in allowed:
        raise UserError(f"this exercise's answer is one of: {', '.join(allowed)} (got {shown(repr(answer))})")
    return answer


def _fmt(x: float) -> str:
    return f"{x:g}"


def check(ex: Exercise, answer: Any) -> Verdict:
    c = ex.check
    return {
        "threshold": _threshold,
        "argmax": _arg,
        "argmin": _arg,
        "compare": _compare,
        "estimate": _estimate,
        "most": _most,
    }[c.kind](ex, answer)


def _threshold(ex: Exercise, answer: Any) -> Verdict:
    c = ex.check
    assert c.parameter is not None and c.step is not None
    x = _number(answer)
    steps = x / c.step
    if x < 0:
        raise UserError(
            f"this exercise's answer is 0 or more, a multiple of the grid step {_fmt(c.step)}, not {x!r}"
        )
    if abs(steps - round(steps)) > 1e-6:
        raise UserError(f"this exercise's answer is a multiple of the grid step {_fmt(c.step)}, not {x!r}")
    below = round((round(steps) - 1) * c.step, 12)
    at = measure(ex, {c.parameter: x}, f"{c.parameter} = {_fmt(x)}")
    evidence = [at]
    ok_at = at.interval[1] > c.above  # not clearly at or below the target
    ok_below = True
    if below >= 0:
        lower = measure(ex, {c.parameter: below}, f"{c.parameter} = {_fmt(below)}")
        evidence.insert(0, lower)
        ok_below = lower.interval[0] <= c.above  # not clearly above it
    want = f"above {100 * c.above:.0f}%"
    if ok_at and ok_below:
        why = f"at {_fmt(x)} the share can be {want} ({at})" + (
            f"; one step below ({_fmt(below)}) it can be at or below it ({evidence[0]})."
            if below >= 0
            else "."
        )
    elif not ok_at:
        why = f"at {_fmt(x)} the share is clearly not {want} ({at}): more is needed."
    else:
        why = (
            f"one step below, at {_fmt(below)}, the share is already clearly {want} ({evidence[0]}): "
            "less will do."
        )
    return Verdict(ex, answer, ok_at and ok_below, evidence, why, [at.label], c.above)


def _not_beaten(shares: dict[str, Share], name: str, higher: bool) -> tuple[bool, str, str]:
    """Whether no other share is clearly higher (``higher``) or lower than ``name``'s: (ok, best, gap)."""
    sign = 1 if higher else -1
    best = max(shares, key=lambda k: sign * shares[k].share)
    if best == name:
        return True, best, ""
    d, lo, hi = _diff(shares[best], shares[name])
    if not higher:
        d, lo, hi = -d, -hi, -lo
    return lo <= 0, best, f"{100 * d:+.1f} points [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def _arg(ex: Exercise, answer: Any) -> Verdict:
    c = ex.check
    assert c.parameter is not None
    x = _number(answer)
    if not any(math.isclose(x, v) for v in c.values):
        raise UserError(f"this exercise's answer is one of {', '.join(map(_fmt, c.values))}, not {x!r}")
    shares = {_fmt(v): measure(ex, {c.parameter: v}, f"{c.parameter} = {_fmt(v)}") for v in c.values}
    name = next(_fmt(v) for v in c.values if math.isclose(x, v))
    ok, best, gap = _not_beaten(shares, name, c.kind == "argmax")
    word = "highest" if c.kind == "argmax" else "lowest"
    if best == name:
        why = f"the {word} share is at {name}."
    elif ok:
        why = f"the {word} share is at {best}, but {name} is within the noise of it ({best} - {name}: {gap})."
    else:
        side = "above" if c.kind == "argmax" else "below"
        why = f"the {word} share is at {best}, clearly {side} {name} ({best} - {name}: {gap})."
    return Verdict(ex, answer, ok, list(shares.values()), why, [shares[name].label])


def _variants(ex: Exercise) -> dict[str, Share]:
    return {name: measure(ex, changes, name) for name, changes in ex.check.variants.items()}


def _diff(a: Share, b: Share) -> tuple[float, float, float]:
    from statsmodels.stats.proportion import confint_proportions_2indep

    lo, hi = confint_proportions_2indep(a.count, a.n, b.count, b.n, method="newcomb", compare="diff")
    return a.share - b.share, float(np.asarray(lo)), float(np.asarray(hi))


def _compare(ex: Exercise, answer: Any) -> Verdict:
    c = ex.check
    shares = _variants(ex)
    name = _name(answer, list(shares))
    ok, best, gap = _not_beaten(shares, name, c.higher)
    word = "higher" if c.higher else "lower"
    if best == name:
        others = [k for k in shares if k != name]
        gaps = []
        for k in others:
            d, lo, hi = _diff(shares[name], shares[k])
            gaps.append(f"{k} by {100 * d:+.1f} points [{100 * lo:+.1f}, {100 * hi:+.1f}]")
        why = f"{name} is the {word}: it differs from " + "; from ".join(gaps) + "."
    elif ok:
        why = f"{best} is {word}, but {name} is within the noise of it ({best} minus {name}: {gap})."
    else:
        why = f"{best} is clearly {word} than {name} ({gap})."
    return Verdict(ex, answer, ok, list(shares.values()), why, [name])


def _estimate(ex: Exercise, answer: Any) -> Verdict:
    c = ex.check
    shares = _variants(ex)
    assert c.first in shares and c.second in shares
    x = _number(answer)
    d, lo, hi = _diff(shares[c.first], shares[c.second])
    ok = abs(x - 100 * d) <= c.tolerance or 100 * lo <= x <= 100 * hi
    why = (
        f"{c.first} minus {c.second} is {100 * d:+.1f} points [{100 * lo:+.1f}, {100 * hi:+.1f}]; "
        f"your estimate {x:+g} is {'within' if ok else 'not within'} {c.tolerance:g} points of it "
        "or inside its interval."
    )
    return Verdict(ex, answer, ok, list(shares.values()), why)


def _swing_gap(a: tuple[Share, Share], b: tuple[Share, Share]) -> tuple[float, float, float]:
    """Swing of ``a`` minus swing of ``b`` (shares), with a normal 95% interval from the four shares'
    binomial variances (independent: conservative, as the variants share their random numbers)."""
    swing = [abs(hi.share - lo.share) for lo, hi in (a, b)]
    var = sum(s.share * (1 - s.share) / s.n for s in (*a, *b))
    d = swing[0] - swing[1]
    return d, d - Z * math.sqrt(var), d + Z * math.sqrt(var)


def _most(ex: Exercise, answer: Any) -> Verdict:
    c = ex.check
    name = _name(answer, list(c.ranges))
    evidence, pairs = [], {}
    for param, (lo_v, hi_v) in c.ranges.items():
        a = measure(ex, {param: lo_v}, f"{param} = {_fmt(lo_v)}")
        b = measure(ex, {param: hi_v}, f"{param} = {_fmt(hi_v)}")
        evidence += [a, b]
        pairs[param] = (a, b)
    swing = {k: abs(b.share - a.share) for k, (a, b) in pairs.items()}
    best = max(swing, key=swing.get)
    ranking = "; ".join(f"{k} {100 * v:.1f} points" for k, v in sorted(swing.items(), key=lambda kv: -kv[1]))
    d, lo, hi = _swing_gap(pairs[best], pairs[name])
    ok = lo <= 0
    gap = f"{100 * d:+.1f} points [{100 * lo:+.1f}, {100 * hi:+.1f}]"
    if best == name:
        why = f"{best} moves the share most. "
    elif ok:
        why = f"{best} moves it most, but {name} is within the noise of it (difference of swings {gap}). "
    else:
        why = f"{best} moves it clearly more than {name} (difference of swings {gap}). "
    marks = [e.label for e in evidence if e.label.startswith(f"{name} =")]
    return Verdict(ex, answer, ok, evidence, why + f"Swings: {ranking}.", marks)


# ---------------------------------------------------------------------------- the plot


def plot(verdict: Verdict, path: str | Path) -> Path:
    """The evidence as bars with their 95% intervals; the answer's bars in colour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # A label in a script the font lacks is drawn as boxes; that is no reason to warn the user.
    warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
    ev = verdict.evidence
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.42 * max(len(ev), 1)), dpi=110)
    y = np.arange(len(ev))[::-1]
    shares = np.array([100 * s.share for s in ev])
    lo = np.array([100 * s.interval[0] for s in ev])
    hi = np.array([100 * s.interval[1] for s in ev])
    colours = ["#1f77b4" if s.label in verdict.marks else "#b8b8b8" for s in ev]
    ax.barh(y, shares, color=colours, xerr=[shares - lo, hi - shares], capsize=3)
    ax.set_yticks(y, [s.label for s in ev], fontsize=8)
    if verdict.line is not None:
        ax.axvline(100 * verdict.line, color="#d62728", ls="--", lw=1)
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% of worlds: {verdict.exercise.measure.label}", fontsize=8)
    ax.set_title(f"Exercise {verdict.exercise.number}: {verdict.exercise.title}", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path
