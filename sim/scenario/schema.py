"""The scenario schema: what a scenario file may say, as strict pydantic models.

A scenario names the fronts of the war, the issues and their ordered options (the first option of
each issue is the status quo: nothing agreed), the truce (which issue it is, how long it lasts, which
fronts each option closes, which terms end with it), the parties with their positions and their
daily value of fighting on each front, the mediator, the opening text, the calendar, world dynamics,
levers, events, outcome classes and the hypotheses the scenario tests (``expect``).

Provenance: every statement carries ``source = {seed, quote}`` (a verbatim fragment of a file in
``seeds/``) and/or ``assumption = "<one-line reason>"``. A quote supports what a party wants; the
size of a number chosen for it is an assumption, so every statement that sets a magnitude
(:class:`Magnitude`) must say its assumption, quote or no quote. Every collection is a table keyed by
id (never an array), which makes any field addressable by a dotted path such as
``parties.russia.war.land.mean``.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

MAX_SEED = 2**64 - 1  # seeds are whole numbers in 0 .. 2**64-1
LARGE = 1e6  # no number in a scenario is larger than this: beyond it the arithmetic overflows
MAX_PACKAGES = 20_000  # the mediator enumerates the outcome space; beyond this it is refused
ID = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=64)]
Unit = Annotated[float, Field(ge=0, le=1)]
DATE = r"^\d{4}-\d{2}-\d{2}$"


class Strict(BaseModel):
    # Numbers are finite everywhere: inf and nan are refused like any out-of-range value.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Source(Strict):
    seed: str
    quote: str = Field(min_length=8)


class Sourced(Strict):
    """A statement with provenance: a quote from a seed document, a stated assumption, or both."""

    source: Source | None = None
    assumption: str | None = Field(default=None, min_length=3)

    @model_validator(mode="after")
    def _provenance(self) -> Sourced:
        if self.source is None and self.assumption is None:
            raise ValueError("give 'source = {seed, quote}' or 'assumption = \"...\"' (or both)")
        return self


class Magnitude(Sourced):
    """A statement that sets a number: a quote may say what is wanted, the size is an assumption."""

    @model_validator(mode="after")
    def _size_is_assumed(self) -> Magnitude:
        if self.assumption is None:
            raise ValueError("a number's size is an assumption: add 'assumption = \"...\"' beside the quote")
        return self


class Issue(Strict):
    label: str
    options: list[ID] = Field(min_length=2, max_length=64)

    @model_validator(mode="after")
    def _unique(self) -> Issue:
        if len(set(self.options)) != len(self.options):
            raise ValueError("options must be unique")
        return self


class Front(Strict):
    """A theatre of the war that a truce may close (the land front, strikes on energy, air and sea)."""

    label: str


class Uncertain(Magnitude):
    """A parameter known only as a distribution: each world draws one value (normal; sd 0 is exact)."""

    mean: float = Field(ge=-LARGE, le=LARGE)
    sd: float = Field(default=0.0, ge=0, le=LARGE)


class FrontValue(Uncertain):
    """A party's daily value of fighting on one front: gains minus costs, at a balance of power of 0.

    ``momentum`` is how the daily value moves per unit of the balance of power (positive: the party
    gains as the balance moves its way).
    """

    momentum: float = Field(default=0.0, ge=-LARGE, le=LARGE)


class Position(Magnitude):
    """What a party wants on one issue: its salience (weight) and its value of each option."""

    weight: Unit
    values: dict[str, Unit]


class Interaction(Magnitude):
    """A term added to a party's value of a package that holds all the options in ``when``."""

    when: dict[str, str] = Field(min_length=1)
    value: float = Field(ge=-1, le=1)


class RedLine(Sourced):
    issue: str
    option: str


class VetoPlayer(Magnitude):
    """A domestic constituency that must ratify (Putnam 1988), with a salience of its own.

    It values a deal as its party does, but weighs the terms with its own ``weights`` (and its own
    option ``values`` where given) and counts ``war_weight`` of the war's part.
    """

    label: str
    weights: dict[str, Unit]
    values: dict[str, dict[str, Unit]] = {}
    war_weight: float = Field(default=1.0, ge=0, le=10)
    threshold: Uncertain
    slope: float = Field(default=0.05, gt=0, le=10)


class Counters(Sourced):
    """Whether a party that refuses a text may table its own (a counter-proposal)."""

    tables: bool = True


class Party(Strict):
    label: str
    required: bool = True
    required_when: dict[str, list[str]] | None = None
    positions: dict[str, Position]
    interactions: dict[ID, Interaction] = {}
    red_lines: dict[ID, RedLine] = {}
    war: dict[str, FrontValue] = {}
    margin: Uncertain
    tolerance: Uncertain
    concession: Uncertain
    veto: VetoPlayer | None = None
    counters: Counters | None = None

    @property
    def tables_counters(self) -> bool:
        return self.counters is not None and self.counters.tables


class GiveUp(Magnitude):
    """When the mediator stops, in days: after ``after_stalled_days`` days of talks in which no text
    was banked (counted from the talks' (re)opening or the last banking), or ``after_days`` days after
    the talks (re)opened. It decides at a contact, so it stops at the first contact on or after."""

    after_stalled_days: int | None = Field(default=None, ge=1, le=36_500)
    after_days: int | None = Field(default=None, ge=1, le=36_500)

    @model_validator(mode="before")
    @classmethod
    def _replaced(cls, data: Any) -> Any:
        if isinstance(data, dict) and "after_refusals" in data:
            raise ValueError(
                "after_refusals was replaced by after_stalled_days: the give-up rule counts days "
                "without a banked text, not refusals"
            )
        return data


class Mediator(Sourced):
    party: str
    label: str = "Mediator"
    informed: bool = False
    learning_step: float = Field(default=0.02, ge=0, le=1)
    reach: int | None = Field(default=None, ge=1, le=64)
    listening: float = Field(default=0.0, ge=0, le=100)
    give_up: GiveUp = GiveUp(
        after_stalled_days=84, assumption="about three months of talks without a banked text end a mediation"
    )
    shuttle: Shuttle | None = None

    @property
    def shuttles(self) -> bool:
        return self.shuttle is not None and self.shuttle.carries


class Shuttle(Sourced):
    """How a counter-proposal reaches the other parties. ``carries = true``: the mediator shuttles
    between parties that do not meet (Kissinger's shuttle; Hopmann 1996, *The Negotiation Process
    and the Resolution of International Conflicts*, ch. 12), so a counter tabled at one contact is
    the text the others answer at the next; false: the parties are at one table and answer a
    counter at the contact it is tabled."""

    carries: bool = True


class Opening(Sourced):
    package: dict[str, str]


class Contacts(Magnitude):
    """When the parties meet: a renewal process per world whose intervals are gamma-distributed with
    mean ``mean_interval_days`` and standard deviation ``sd_days`` (0: a contact every mean interval
    exactly). The first contact is on day 0, the calendar's start. Non-integer days are allowed."""

    mean_interval_days: float = Field(ge=0.1, le=365)
    sd_days: float = Field(default=0.0, ge=0, le=365)


class Calendar(Magnitude):
    """Time in days: the talks start on ``start`` (a real date, YYYY-MM-DD); contacts follow
    ``contacts``. ``horizon_days`` is how long the world is followed (an output setting: nothing a
    party or the mediator computes reads it). ``deadline_day`` declares a real deadline, which the
    parties know.
    """

    start: str = Field(pattern=DATE)
    contacts: Contacts
    horizon_days: int = Field(ge=1, le=3650)
    deadline_day: int | None = Field(default=None, ge=1, le=3650)

    @model_validator(mode="before")
    @classmethod
    def _replaced(cls, data: Any) -> Any:
        if isinstance(data, dict) and "days_per_round" in data:
            raise ValueError(
                "days_per_round was replaced by [calendar.contacts] mean_interval_days and sd_days "
                "(contacts at random times, durations in days)"
            )
        return data

    @field_validator("start")
    @classmethod
    def _real_date(cls, v: str) -> str:
        try:
            date.fromisoformat(v)
        except ValueError:
            raise ValueError(f"{v!r} is not a date of the calendar (YYYY-MM-DD)") from None
        return v


class Valuation(Magnitude):
    """Parties value a package over the next ``window_days``: its terms plus the war it leaves running."""

    window_days: int = Field(ge=1, le=3650)


class Violations(Magnitude):
    """A truce in force breaks down with ``daily_probability``, less often where monitored (Fortna 2004)."""

    daily_probability: float = Field(default=0.0, ge=0, le=1)
    monitored_when: dict[str, str] = {}
    monitoring_reduction: Unit = 0.0


class Truce(Magnitude):
    """The truce issue: how long a truce lasts, which fronts each option closes, which terms end with it."""

    issue: str
    days: int = Field(ge=1, le=3650)
    closes: dict[str, list[str]]
    tied: list[str] = []
    violations: Violations = Violations(assumption="no violations")


class Momentum(Magnitude):
    """The balance of power m (positive favours the first belligerent named by the exposures).

    While the land war runs: m moves by ``drift - reversion * m`` a day, plus ``noise`` times a
    standard normal per square-root day.
    """

    initial: float = Field(default=0.0, ge=-100, le=100)
    drift: float = Field(default=0.0, ge=-10, le=10)
    reversion: float = Field(default=0.0, ge=0, le=1)
    noise: float = Field(default=0.0, ge=0, le=10)
    front: str = "land"


class Rebuild(Magnitude):
    """While a truce is in force, the balance moves by ``per_day`` where the options in ``when`` hold."""

    when: dict[str, str] = {}
    per_day: float = Field(ge=-10, le=10)


class Dynamics(Strict):
    momentum: Momentum = Momentum(assumption="no battlefield dynamics")
    rebuild: dict[ID, Rebuild] = {}


class Uncertainty(Magnitude):
    """How much worlds differ beyond each parameter's own sd: salience weights and option values.

    ``exact = true`` sets every draw to its mean (every sd and the concentration to zero).
    """

    weight_concentration: float = Field(default=0.0, ge=0, le=1e6)
    value_sd: float = Field(default=0.0, ge=0, le=1)
    exact: bool = False


class Lever(Magnitude):
    """Pressure by policy, in the war's units.

    A stick lowers the target's daily value of fighting on by ``strength`` times its daily value of
    the war (all fronts, at the scenario's means and opening balance) per use, spread evenly over
    ``fronts`` (all when empty), phased in linearly over ``phase_in_days``. A carrot is the option
    ``option`` (one issue = option) of the negotiation: packages holding it may be tabled only once
    the lever has fired; its worth is the parties' values of that option, paid once with the package
    (``strength`` is unused for a carrot: give 1 where it is on, 0 to keep it off).
    """

    label: str
    holder: str
    target: str
    kind: Literal["stick", "carrot"]
    strength: float = Field(ge=0, le=10)
    fronts: list[str] = []
    phase_in_days: int = Field(default=0, ge=0, le=3650)
    option: dict[str, str] = {}
    policy: Literal["always", "on_rejection", "from_day"] = "on_rejection"
    from_day: int = Field(default=0, ge=0, le=36_500)
    max_uses: int = Field(default=1, ge=0, le=10_000)


class Event(Magnitude):
    """Something that may happen each day: shifts daily war values or the balance, or reveals."""

    label: str
    daily_probability: Unit
    from_day: int = Field(default=0, ge=0, le=36_500)
    once: bool = True
    war_shift: dict[str, Annotated[float, Field(ge=-LARGE, le=LARGE)]] = {}
    momentum_shift: float = Field(default=0.0, ge=-100, le=100)
    reveal: bool = False


class OutcomeClass(Strict):
    label: str
    when: dict[str, list[str]] = {}


class Expect(Sourced):
    """A hypothesis the scenario tests against the one it extends: ``outcome`` in force by ``day``
    (the horizon when absent) goes ``direction``; ``theory`` says why."""

    outcome: str
    direction: Literal["up", "down"]
    day: int | None = Field(default=None, ge=1, le=3650)
    theory: str = Field(min_length=3)


class Headline(Sourced):
    """The question the scenario is about, which every output leads with: the deal ``classes`` it asks
    after (first in force by each of ``days``, and in force on the last of them). Inherited through
    ``extends``; without it, a scenario asks after its first class at its horizon (see
    :func:`question`)."""

    classes: list[ID] = Field(min_length=1, max_length=8)
    days: list[Annotated[int, Field(ge=1, le=3650)]] = Field(min_length=1, max_length=8)

    @model_validator(mode="after")
    def _ordered(self) -> Headline:
        if len(set(self.classes)) != len(self.classes):
            raise ValueError("classes must be unique")
        if sorted(set(self.days)) != self.days:
            raise ValueError("days must be increasing")
        return self


class Scenario(Strict):
    title: str
    summary: str
    seed: int = Field(default=20250313, ge=0, le=MAX_SEED)
    replications: int = Field(default=2000, ge=1)
    calendar: Calendar
    valuation: Valuation
    fronts: dict[ID, Front] = Field(min_length=1, max_length=16)
    truce: Truce
    issues: dict[ID, Issue] = Field(min_length=1, max_length=32)
    parties: dict[ID, Party] = Field(min_length=2, max_length=32)
    mediator: Mediator
    opening: Opening | None = None
    dynamics: Dynamics = Dynamics()
    uncertainty: Uncertainty = Uncertainty(assumption="no uncertainty about weights or values")
    levers: dict[ID, Lever] = {}
    events: dict[ID, Event] = {}
    classes: dict[ID, OutcomeClass] = Field(min_length=1)
    headline: Headline | None = None
    expect: dict[ID, Expect] = {}

    # set by the loader, not by the file
    name: str = ""
    path: str = ""
    sha256: str = ""
    parent: str = ""
    _root: str | None = PrivateAttr(default=None)  # the project folder its seeds were read from
    # a calibration's particles (sim.scenario.posterior.Particles): each world draws its values of
    # the calibrated assumptions from them; set by --posterior, never by a file
    _particles: Any = PrivateAttr(default=None)

    @property
    def n_packages(self) -> int:
        return math.prod(len(i.options) for i in self.issues.values())

    @property
    def days(self) -> int:
        """Days followed: what is in force is recorded at the end of each day 1 .. horizon."""
        return self.calendar.horizon_days

    @property
    def expected_contacts(self) -> float:
        """Contacts a world expects until the horizon (the first on day 0 included)."""
        return 1.0 + self.calendar.horizon_days / self.calendar.contacts.mean_interval_days

    def question(self) -> Headline:
        """The scenario's ``headline``, or by default its first class at its horizon. Days past the
        horizon are dropped (a shorter horizon, e.g. in a sweep, keeps the question it can answer)."""
        if self.headline is not None:
            h = self.headline
            days = [d for d in h.days if d <= self.calendar.horizon_days] or [self.calendar.horizon_days]
            return h if days == h.days else h.model_copy(update={"days": days})
        return Headline(
            classes=[next(iter(self.classes))],
            days=[self.calendar.horizon_days],
            assumption="no headline table: the scenario's first class, at its horizon",
        )

    def sources(self) -> list[tuple[str, Sourced]]:
        """Every statement with provenance, with its dotted path."""
        out: list[tuple[str, Sourced]] = []

        def walk(obj: Any, path: str) -> None:
            if isinstance(obj, Sourced):
                out.append((path, obj))
            if isinstance(obj, BaseModel):
                for k in type(obj).model_fields:
                    walk(getattr(obj, k), f"{path}.{k}" if path else k)
            elif isinstance(obj, dict):
                for k, v in obj.items():
                    walk(v, f"{path}.{k}")

        walk(self, "")
        return out
