"""Observations files: what was in force on which dates, each with its source.

An observations file is TOML, checked as strictly as a scenario file::

    title = "..."
    note = "what these observations are and where they come from"

    [observations.first_week]
    date = "2025-03-20"
    class = "no_agreement"            # the outcome class in force that day (or no_agreement)
    source = "where this was reported"

    [observations.energy_truce]
    date = "2025-03-25"
    issue = "scope"                   # or: which option of one issue was in force that day
    option = "energy"
    source = "where this was reported"

An optional top-level ``reporting_error = 0.05`` states how often a report names the wrong
category; ``negsim update`` and ``score --prequential`` weigh worlds with it.

Each observation states either a ``class`` or an ``issue`` with its ``option``. A mistake is one line
naming the file, the observation and the field, as for scenarios (exit code 2 at the command line).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field, ValidationError, field_validator, model_validator

from sim.errors import ScenarioError
from sim.scenario.loading import read_toml, schema_error
from sim.scenario.schema import DATE, ID, Scenario, Strict


class Observation(Strict):
    date: str = Field(pattern=DATE)
    class_: str | None = Field(default=None, alias="class")
    issue: str | None = None
    option: str | None = None
    source: str = Field(min_length=3)

    @field_validator("date")
    @classmethod
    def _a_date(cls, value: str) -> str:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value} is not a date of the calendar (YYYY-MM-DD)") from None
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Observation:
        if (self.class_ is None) == (self.issue is None):
            raise ValueError("give either 'class' or 'issue' and 'option'")
        if (self.issue is None) != (self.option is None):
            raise ValueError("'issue' and 'option' go together")
        return self


class Observations(Strict):
    title: str
    note: str = Field(min_length=3)
    # How often a report names the wrong category (negsim update): above 0, so no world is ruled out.
    reporting_error: float | None = Field(default=None, gt=0, lt=1)
    observations: dict[ID, Observation] = Field(min_length=1)
    path: str = ""


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
    """Every class, issue and option named exists in the scenario; dates fall within its horizon."""
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
