"""Observations files: the answers to dated questions, each with its source, and forecasts others
made for the same questions.

An observations file is TOML, checked as strictly as a scenario file::

    title = "..."
    note = "what these observations are and where they come from"

    [observations.first_week]         # question = "in_force" (the default): what was in force that day
    date = "2025-03-20"
    class = "no_agreement"            # the outcome class in force (or no_agreement) ...
    source = "where this was reported"

    [observations.energy_truce]
    date = "2025-03-25"
    issue = "scope"                   # ... or which option of one issue was in force
    option = "energy"
    source = "where this was reported"

    [observations.ceasefire_by_april]
    question = "first_by"             # had this class been in force at some time by the date?
    date = "2025-04-12"
    class = "full_ceasefire"
    happened = false
    source = "where this was reported"

    [observations.swap_by_june]
    question = "settled_by"           # had this issue been settled this way at some time by the date?
    date = "2025-06-12"
    issue = "prisoners"
    option = "exchange"
    happened = true
    source = "where this was reported"

    [observations.at_the_end]
    question = "at_horizon"           # the class in force at the scenario's horizon (dated on it)
    date = "2025-09-11"
    class = "humanitarian"
    source = "where this was reported"

    [forecasts.crowd]                 # another forecaster's probabilities for the same questions
    label = "A crowd forecast"
    source = "the page it was read from"
    date = "2025-03-12"               # when it was made
    [forecasts.crowd.p.first_week]    # per observation: probability of each category; categories
    no_agreement = 0.8                # left out share what is left equally
    [forecasts.crowd.p.ceasefire_by_april]
    yes = 0.3                         # first_by and settled_by have the categories yes and no

A mistake is one line naming the file, the observation and the field, as for scenarios (exit code 2
at the command line). An entry whose source is a dated page address (``https://...`` and a
``YYYY-MM-DD`` date) is checkable; a file with any other entry is illustrative, and says so.
"""

from __future__ import annotations

import math
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from sim.errors import ScenarioError, show
from sim.scenario.loading import read_toml, schema_error
from sim.scenario.schema import DATE, ID, Scenario, Strict

QUESTIONS = ("in_force", "first_by", "settled_by", "at_horizon")
YES_NO = ["yes", "no"]
CHECKABLE = re.compile(r"https?://\S+")
DATED = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def checkable(source: str) -> bool:
    """A source a reader can check: a page address and the date it was read or published."""
    return bool(CHECKABLE.search(source) and DATED.search(source))


def _calendar_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} is not a date of the calendar (YYYY-MM-DD)") from None
    return value


class Observation(Strict):
    question: Literal["in_force", "first_by", "settled_by", "at_horizon"] = "in_force"
    date: str = Field(pattern=DATE)
    class_: str | None = Field(default=None, alias="class")
    issue: str | None = None
    option: str | None = None
    happened: bool | None = None
    source: str = Field(min_length=3)

    @field_validator("date")
    @classmethod
    def _a_date(cls, value: str) -> str:
        return _calendar_date(value)

    @model_validator(mode="after")
    def _one_kind(self) -> Observation:
        if (self.class_ is None) == (self.issue is None):
            raise ValueError("give either 'class' or 'issue' and 'option'")
        if (self.issue is None) != (self.option is None):
            raise ValueError("'issue' and 'option' go together")
        if self.question in ("first_by", "at_horizon") and self.class_ is None:
            raise ValueError(f"a {self.question} question names a 'class'")
        if self.question == "settled_by" and self.issue is None:
            raise ValueError("a settled_by question names an 'issue' and its 'option'")
        if (self.happened is None) == (self.question in ("first_by", "settled_by")):
            raise ValueError(
                "'happened = true or false' answers first_by and settled_by questions, and only them"
            )
        return self


Probability = Annotated[float, Field(ge=0, le=1)]


class NamedForecast(Strict):
    """Someone else's probabilities for the same questions, made on ``date``, read from ``source``."""

    label: str = Field(min_length=1)
    source: str = Field(min_length=3)
    date: str = Field(pattern=DATE)
    p: dict[ID, dict[ID, Probability]] = Field(min_length=1)

    @field_validator("date")
    @classmethod
    def _a_date(cls, value: str) -> str:
        return _calendar_date(value)


class Observations(Strict):
    title: str
    note: str = Field(min_length=3)
    observations: dict[ID, Observation] = Field(min_length=1)
    forecasts: dict[ID, NamedForecast] = {}
    path: str = ""

    def unchecked(self) -> list[str]:
        """Entries (observations and named forecasts) without a checkable source."""
        out = [f"observations.{k}" for k, o in self.observations.items() if not checkable(o.source)]
        return out + [f"forecasts.{k}" for k, f in self.forecasts.items() if not checkable(f.source)]


def categories(sc: Scenario, o: Observation) -> list[str]:
    """What a forecast gives probabilities to for this question, in order."""
    if o.question in ("first_by", "settled_by"):
        return YES_NO
    if o.class_ is not None:
        return [*sc.classes, "no_agreement"]
    return list(sc.issues[o.issue].options)


def answer(o: Observation) -> str:
    """The category that happened."""
    if o.question in ("first_by", "settled_by"):
        return "yes" if o.happened else "no"
    return o.class_ if o.class_ is not None else o.option


def spread(given: dict[str, float], cats: list[str]) -> list[float]:
    """A named forecast's probabilities over ``cats``: what it leaves out shares the rest equally."""
    rest = [c for c in cats if c not in given]
    left = max(0.0, 1.0 - sum(given.values()))
    return [given[c] if c in given else left / len(rest) for c in cats]


def load_observations(path: str | Path) -> Observations:
    """Read and validate an observations file (schema only; see :func:`check_against`)."""
    path = Path(path)
    raw = read_toml(path)  # a regular UTF-8 file of bounded size and depth, or a one-line error
    try:
        obs = Observations.model_validate(raw, by_alias=True)
    except RecursionError:
        raise ScenarioError(path, "", "nested too deeply") from None
    except ValidationError as e:
        raise schema_error(path, e) from None
    return obs.model_copy(update={"path": str(path)})


def check_against(obs: Observations, sc: Scenario) -> None:
    """Every class, issue and option named exists in the scenario; dates fall within its horizon (an
    at_horizon question is dated on it); named forecasts give valid categories for known questions."""
    start = date.fromisoformat(sc.calendar.start)
    classes = [*sc.classes, "no_agreement"]
    for oid, o in obs.observations.items():
        where = f"observations.{oid}"
        day = (date.fromisoformat(o.date) - start).days
        if not 0 <= day <= sc.calendar.horizon_days:
            raise ScenarioError(
                obs.path,
                f"{where}.date",
                f"{o.date} is outside {sc.name}'s days 0..{sc.calendar.horizon_days} "
                f"from {sc.calendar.start}",
            )
        if o.question == "at_horizon" and day != sc.calendar.horizon_days:
            end = date.fromordinal(start.toordinal() + sc.calendar.horizon_days).isoformat()
            raise ScenarioError(
                obs.path, f"{where}.date", f"an at_horizon question is dated on {sc.name}'s horizon, {end}"
            )
        if o.class_ is not None and o.class_ not in classes:
            raise ScenarioError(
                obs.path, f"{where}.class", f"unknown class '{o.class_}'; allowed: {', '.join(classes)}"
            )
        if o.issue is not None:
            if o.issue not in sc.issues:
                raise ScenarioError(
                    obs.path, f"{where}.issue", f"unknown issue '{o.issue}'; allowed: {', '.join(sc.issues)}"
                )
            options = sc.issues[o.issue].options
            if o.option not in options:
                raise ScenarioError(
                    obs.path,
                    f"{where}.option",
                    f"unknown option '{o.option}' for issue '{o.issue}'; allowed: {', '.join(options)}",
                )
    _check_forecasts(obs, sc)


def _check_forecasts(obs: Observations, sc: Scenario) -> None:
    for fid, f in obs.forecasts.items():
        for oid, given in f.p.items():
            where = f"forecasts.{fid}.p.{oid}"
            if oid not in obs.observations:
                allowed = show(", ".join(obs.observations), 200)
                raise ScenarioError(obs.path, where, f"no such observation; allowed: {allowed}")
            cats = categories(sc, obs.observations[oid])
            for c in given:
                if c not in cats:
                    raise ScenarioError(
                        obs.path, f"{where}.{c}", f"unknown category; allowed: {', '.join(cats)}"
                    )
            total = sum(given.values())
            if total > 1 + 1e-9 or (len(given) == len(cats) and not math.isclose(total, 1.0, abs_tol=1e-6)):
                raise ScenarioError(
                    obs.path,
                    where,
                    f"probabilities sum to {total:g}; they sum to 1 (at most 1 if some are left out)",
                )
