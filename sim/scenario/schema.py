"""The scenario schema: what a scenario file may say, as strict pydantic models.

A scenario names the issues and their ordered options, the parties with their positions, the
mediator, the opening proposal, world dynamics, levers, events and outcome classes. Every position,
condition and red line carries its provenance: ``source = {seed, quote}`` (a verbatim fragment of a
file in ``seeds/``) or ``assumption = "<one-line reason>"``. Every collection is a table keyed by id
(never an array), which is what makes any field addressable by a dotted path such as
``parties.russia.reservation.mean``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

MAX_SEED = 2**64 - 1  # seeds are whole numbers in 0 .. 2**64-1
MAX_PACKAGES = 20_000  # the mediator enumerates the outcome space; beyond this it is refused
ID = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]


class Strict(BaseModel):
    # Numbers are finite everywhere: inf and nan are refused like any out-of-range value.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Source(Strict):
    seed: str
    quote: str = Field(min_length=8)


class Sourced(Strict):
    """A statement with provenance: a quote from a seed document, or a stated assumption."""

    source: Source | None = None
    assumption: str | None = Field(default=None, min_length=3)

    @model_validator(mode="after")
    def _one_provenance(self) -> Sourced:
        if (self.source is None) == (self.assumption is None):
            raise ValueError("give exactly one of 'source = {seed, quote}' or 'assumption = \"...\"'")
        return self


class Issue(Strict):
    label: str
    options: list[ID] = Field(min_length=2)

    @model_validator(mode="after")
    def _unique(self) -> Issue:
        if len(set(self.options)) != len(self.options):
            raise ValueError("options must be unique")
        return self


class Uncertain(Sourced):
    """A parameter known only as a distribution: each replication draws one value (normal)."""

    mean: float
    sd: float = Field(default=0.0, ge=0)


class Position(Sourced):
    """What a party wants on one issue: its salience (weight) and its value of each option."""

    weight: float = Field(ge=0, le=1)
    values: dict[str, Annotated[float, Field(ge=0, le=1)]]


class Interaction(Sourced):
    """A term added to a party's utility when a package holds all the options in ``when``."""

    when: dict[str, str] = Field(min_length=1)
    value: float = Field(ge=-1, le=1)


class RedLine(Sourced):
    issue: str
    option: str


class VetoPlayer(Sourced):
    """A domestic constituency that must ratify (Putnam 1988): salience of its own, same values."""

    label: str
    weights: dict[str, Annotated[float, Field(ge=0, le=1)]]
    values: dict[str, dict[str, Annotated[float, Field(ge=0, le=1)]]] = {}
    threshold: Uncertain
    slope: float = Field(default=0.05, gt=0)


class War(Sourced):
    """How the war bears on a party: momentum moves its reservation, each round costs it."""

    momentum_exposure: float = 0.0
    cost_per_round: float = Field(default=0.0, ge=0)


class Party(Strict):
    label: str
    required: bool = True
    required_when: dict[str, list[str]] | None = None
    positions: dict[str, Position]
    interactions: dict[ID, Interaction] = {}
    red_lines: dict[ID, RedLine] = {}
    reservation: Uncertain
    opening: Uncertain
    concession: Uncertain
    war: War | None = None
    veto: VetoPlayer | None = None


class Mediator(Sourced):
    party: str
    label: str = "Mediator"
    informed: bool = False
    learning_step: float = Field(default=0.02, ge=0)
    reach: int | None = Field(default=None, ge=1)
    listening: float = Field(default=0.0, ge=0)


class Opening(Sourced):
    package: dict[str, str]


class Momentum(Sourced):
    initial: float = 0.0
    drift: float = 0.0
    reversion: float = Field(default=0.2, ge=0, le=1)
    noise: float = Field(default=0.0, ge=0)


class Dynamics(Strict):
    momentum: Momentum = Momentum(assumption="no battlefield dynamics")


class Uncertainty(Sourced):
    weight_concentration: float = Field(default=0.0, ge=0)


class Lever(Sourced):
    label: str
    holder: str
    target: str
    kind: Literal["stick", "carrot"]
    strength: float = Field(ge=0, le=1)
    policy: Literal["always", "on_rejection", "from_round"] = "on_rejection"
    from_round: int = Field(default=1, ge=1)
    max_uses: int = Field(default=1, ge=0)


class Event(Sourced):
    label: str
    probability: float = Field(ge=0, le=1)
    from_round: int = Field(default=1, ge=1)
    once: bool = True
    reservation_shift: dict[str, float] = {}
    momentum_shift: float = 0.0
    reveal: bool = False


class OutcomeClass(Strict):
    label: str
    when: dict[str, list[str]] = {}


class Scenario(Strict):
    title: str
    summary: str
    seed: int = Field(default=20250313, ge=0, le=MAX_SEED)
    rounds: int = Field(default=30, ge=1, le=1000)
    replications: int = Field(default=2000, ge=1)
    issues: dict[ID, Issue] = Field(min_length=1)
    parties: dict[ID, Party] = Field(min_length=2, max_length=32)
    mediator: Mediator
    opening: Opening | None = None
    dynamics: Dynamics = Dynamics()
    uncertainty: Uncertainty = Uncertainty(assumption="no uncertainty about weights")
    levers: dict[ID, Lever] = {}
    events: dict[ID, Event] = {}
    classes: dict[ID, OutcomeClass] = Field(min_length=1)

    # set by the loader, not by the file
    name: str = ""
    path: str = ""
    sha256: str = ""
    _root: str | None = PrivateAttr(default=None)  # the project folder its seeds were read from

    @property
    def n_packages(self) -> int:
        return math.prod(len(i.options) for i in self.issues.values())

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
