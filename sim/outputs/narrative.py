"""Plain-text narratives for a terminal: what a scenario assumes, and what happened in one world.

``explain`` lists every position, condition and red line with the sentence of the seed document it
comes from (or the stated assumption), so a reader can check the model against the article.
``trace`` retells one replication round by round from the model's transcript and quotes the article
where a party's demand, a lever or an event rests on it; its last line is that world's outcome, read
from the same arrays ``outcomes.csv`` is written from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.engine.outcomes import NO_DEAL
from sim.scenario import Scenario, Sourced, Uncertain, seed_line

if TYPE_CHECKING:
    from sim.engine.model import NegotiationModel

INDENT = "    "


def where(sc: Scenario, item: Sourced) -> str:
    """'file, line N' of a sourced statement's quote (the file alone if the line is not found)."""
    assert item.source is not None
    line = seed_line(sc, item.source)
    return item.source.seed if line is None else f"{item.source.seed}, line {line}"


def cite(sc: Scenario, item: Sourced) -> str:
    """The provenance of a statement: its quote with file and line, or its assumption."""
    if item.source is None:
        return f"assumption: {item.assumption}"
    return f"source: “{item.source.quote}” ({where(sc, item)})"


def statement(item: Sourced) -> str:
    """What a sourced statement sets, in one line (nested sourced statements are listed on their own)."""
    parts = []
    for key in type(item).model_fields:
        value = getattr(item, key)
        if key in ("source", "assumption") or isinstance(value, Sourced) or value in (None, {}):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items())
        elif isinstance(value, float):
            value = f"{value:g}"
        parts.append(f"{key} {value}")
    return "; ".join(parts)


def _uncertain(p: Uncertain) -> str:
    return f"{p.mean:.2f} ± {p.sd:.2f}" if p.sd else f"{p.mean:.2f}"


def _package(pkg: dict[str, str]) -> str:
    return ", ".join(f"{issue}={opt}" for issue, opt in pkg.items())


def _with_cite(sc: Scenario, head: str, item: Sourced, depth: int = 1) -> list[str]:
    return [INDENT * depth + head, INDENT * (depth + 1) + cite(sc, item)]


# ---------------------------------------------------------------- explain


def explain(sc: Scenario) -> str:
    """Every assumption of a scenario with its quote (seed file and line) or its stated reason."""
    lines = [sc.title, "=" * len(sc.title), sc.summary, ""]
    lines.append(f"file {sc.path}  sha256 {sc.sha256}")
    lines.append(f"seed {sc.seed}, {sc.rounds} rounds, {sc.replications:,} replications")
    lines += ["", f"ISSUES ({sc.n_packages:,} packages: one option per issue)"]
    for iid, issue in sc.issues.items():
        lines.append(f"{INDENT}{iid}: {issue.label}: {' | '.join(issue.options)}")
    for pid in sc.parties:
        lines += ["", *_explain_party(sc, pid)]
    lines += ["", *_explain_table(sc)]
    return "\n".join(lines)


def _explain_party(sc: Scenario, pid: str) -> list[str]:
    p = sc.parties[pid]
    consent = "consent required" if p.required else "consent not required"
    if p.required_when:
        consent = "consent required when " + "; ".join(f"{k} in {v}" for k, v in p.required_when.items())
    out = [
        f"PARTY {p.label} ({pid}), {consent}",
        f"{INDENT}Positions (salience weight; value of each option):",
    ]
    for issue, pos in p.positions.items():
        values = ", ".join(f"{o} {v:.2f}" for o, v in pos.values.items())
        out += _with_cite(sc, f"{sc.issues[issue].label}: weight {pos.weight:.2f}; {values}", pos, 2)
    if p.interactions:
        out.append(f"{INDENT}Interactions (added to utility when a package holds all of):")
        for iid, term in p.interactions.items():
            out += _with_cite(sc, f"{iid}: {_package(term.when)} -> {term.value:+.2f}", term, 2)
    if p.red_lines:
        out.append(f"{INDENT}Red lines (never accepted):")
        for rid, rl in p.red_lines.items():
            out += _with_cite(sc, f"{rid}: {rl.issue}={rl.option}", rl, 2)
    pace = _pace(p.concession.mean)
    out += _with_cite(sc, f"Reservation value (BATNA): {_uncertain(p.reservation)}", p.reservation)
    out += _with_cite(sc, f"Opening aspiration: {_uncertain(p.opening)}", p.opening)
    out += _with_cite(sc, f"Concession exponent: {_uncertain(p.concession)} ({pace})", p.concession)
    if (w := p.war) is not None:
        war = f"War: momentum exposure {w.momentum_exposure:+.2f}, cost per round {w.cost_per_round:.3f}"
        out += _with_cite(sc, war, w)
    if p.veto is not None:
        v = p.veto
        weights = ", ".join(f"{k} {w:.2f}" for k, w in v.weights.items() if w)
        out += _with_cite(sc, f"Veto player: {v.label} (salience {weights}; slope {v.slope:.2f})", v)
        out += _with_cite(sc, f"Ratification threshold: {_uncertain(v.threshold)}", v.threshold, 2)
    return out


def _pace(beta: float) -> str:
    if beta == 1:
        return "linear"
    return "Boulware, firm until late" if beta < 1 else "Conceder, gives early"


def _explain_table(sc: Scenario) -> list[str]:
    """The mediator, opening text, world and outcome classes."""
    m = sc.mediator
    info = "knows the true thresholds" if m.informed else f"learns from rejections (step {m.learning_step})"
    out = ["THE TABLE", *_with_cite(sc, f"Mediator: {m.label} ({m.party}), {info}", m)]
    if sc.opening is not None:
        out += _with_cite(sc, f"Opening proposal: {_package(sc.opening.package)}", sc.opening)
    mo = sc.dynamics.momentum
    world = (
        f"initial {mo.initial:+.2f}, drift {mo.drift:+.3f}, reversion {mo.reversion:.2f}, "
        f"noise {mo.noise:.2f}"
    )
    out += _with_cite(sc, f"Battlefield momentum: {world}", mo)
    conc = sc.uncertainty.weight_concentration
    out += _with_cite(sc, f"Uncertainty of weights: Dirichlet concentration {conc:g}", sc.uncertainty)
    for lid, lv in sc.levers.items():
        state = "inactive (max_uses 0)" if lv.max_uses == 0 else f"at most {lv.max_uses}x"
        policy = f"from round {lv.from_round}" if lv.policy == "from_round" else lv.policy.replace("_", " ")
        act = f"{lv.holder} -> {lv.target}, {lv.kind} {lv.strength:.2f}, {policy}, {state}"
        out += _with_cite(sc, f"Lever {lid}: {lv.label}: {act}", lv)
    for eid, ev in sc.events.items():
        out += _with_cite(sc, f"Event {eid}: {ev.label}: {_event_effect(ev)}", ev)
    out.append(f"{INDENT}Outcome classes (first rule that matches wins):")
    for cid, cl in sc.classes.items():
        rule = "; ".join(f"{k} in {'/'.join(v)}" for k, v in cl.when.items()) or "any deal"
        out.append(f"{INDENT * 2}{cid}: {cl.label}: {rule}")
    out.append(f"{INDENT * 2}{NO_DEAL}: No agreement by round {sc.rounds}")
    return out


def _event_effect(ev: Any) -> str:
    parts = [f"p={ev.probability:g} per round from round {ev.from_round}" + (", once" if ev.once else "")]
    parts += [f"{pid} reservation {s:+.2f}" for pid, s in ev.reservation_shift.items()]
    if ev.momentum_shift:
        parts.append(f"momentum {ev.momentum_shift:+.2f}")
    if ev.reveal:
        parts.append("reveals true thresholds to the mediator")
    return ", ".join(parts)


# ---------------------------------------------------------------- trace


class _Quoter:
    """Quotes a statement in full the first time, then refers back to it, so rounds stay short."""

    def __init__(self, sc: Scenario) -> None:
        self.sc = sc
        self.seen: set[str] = set()

    def __call__(self, item: Sourced, depth: int = 2) -> list[str]:
        if item.source is None:
            key = item.assumption or ""
            first, again = f"(assumption: {key})", "(assumption above)"
        else:
            key = item.source.quote
            first = f"“{key}” ({where(self.sc, item)})"
            again = f"(as quoted above, {where(self.sc, item)})"
        seen = key in self.seen
        self.seen.add(key)
        return [INDENT * depth + (again if seen else first)]


def trace(sc: Scenario, model: NegotiationModel, replication: int) -> str:
    """Round-by-round narrative of one replication, ending with its outcome line."""
    from sim.experiments.chunks import CHUNK

    row = replication - (replication // CHUNK) * CHUNK
    if model.trace_row != row:
        raise ValueError(f"the model traced row {model.trace_row}, not replication {replication} (row {row})")
    quote = _Quoter(sc)
    out = [
        f"Replication {replication} of {sc.name}: {sc.title}",
        f"seed {sc.seed}, one of {sc.replications:,} worlds (chunk {replication // CHUNK}, row {row})",
    ]
    for entry in model.transcript:
        out += ["", *_round(sc, model, entry, quote)]
    out += ["", outcome_line(sc, model, row)]
    return "\n".join(out)


def outcome_line(sc: Scenario, model: NegotiationModel, row: int) -> str:
    """The world's outcome as outcomes.csv records it: round, class, options and utilities."""
    if not model.agreed[row]:
        return f"Outcome: no agreement after {sc.rounds} rounds [{NO_DEAL}]"
    space, pkg = model.space, int(model.package[row])
    c = int(space.package_class[pkg])
    # a deal no class rule holds is filed under no_agreement in outcomes.csv; say so here too
    cid, label = (
        (space.class_ids[c], sc.classes[space.class_ids[c]].label) if c >= 0 else (NO_DEAL, "Unclassified")
    )
    utils = ", ".join(f"{pid} {u:.3f}" for pid, u in zip(sc.parties, model.utility[row], strict=True))
    return (
        f"Outcome: agreed in round {int(model.round[row])}, {label} [{cid}]: "
        f"{_package(space.describe(pkg))}; utilities {utils}"
    )


def _round(sc: Scenario, model: NegotiationModel, e: dict[str, Any], quote: _Quoter) -> list[str]:
    t = e["round"]
    out = [f"Round {t} (battlefield momentum {e['momentum']:+.2f})"]
    for eid in e["events"]:
        out += [f"{INDENT}Event: {sc.events[eid].label}.", *quote(sc.events[eid])]
    for lid in e["levers"]:
        lv = sc.levers[lid]
        kind = "lowers its reservation" if lv.kind == "stick" else "adds to its value of any deal"
        out += [
            f"{INDENT}Lever: {lv.label} ({lv.kind} on {lv.target}, {kind} by {lv.strength:.2f}).",
            *quote(lv),
        ]
    out += _proposal(sc, model, e, quote)
    for r in e["parties"]:
        out += _response(sc, model, e, r, quote)
    out += _result(sc, e, quote)
    return out


def _proposal(sc: Scenario, model: NegotiationModel, e: dict[str, Any], quote: _Quoter) -> list[str]:
    pkg = _package(model.space.describe(e["proposal"]))
    if e["by"] == "opening":
        assert sc.opening is not None
        return [f"{INDENT}Opening proposal on the table: {pkg}", *quote(sc.opening)]
    knows = ", knowing the true thresholds" if e["informed"] else ""
    return [f"{INDENT}{sc.mediator.label} proposes{knows}: {pkg}"]


def _response(
    sc: Scenario, model: NegotiationModel, e: dict[str, Any], r: dict[str, Any], quote: _Quoter
) -> list[str]:
    p = sc.parties[r["party"]]
    name = f"{INDENT}{p.label:<16}"
    if not r["asked"]:
        return [f"{name}not asked: its consent is not needed for this package"]
    bonus = f" + carrot {r['bonus']:.3f}" if r["bonus"] else ""
    head = f"{name}utility {r['utility']:.3f}{bonus} vs aspiration {r['aspiration']:.3f}"
    if r["accepted"]:
        return [f"{head}: accepts"]
    if r["red_line"]:
        pkg = model.space.describe(e["proposal"])
        crossed = [rl for rl in p.red_lines.values() if pkg.get(rl.issue) == rl.option]
        lines = [f"{head}: rejects, the package crosses a red line ({crossed[0].issue}={crossed[0].option})"]
        return lines + quote(crossed[0])
    if r["demand"] is None:
        return [f"{head}: rejects; no single change would make it better"]
    issue, option = model.space.describe_move(r["demand"])
    lines = [f"{head}: rejects and demands {sc.issues[issue].label}: {option}"]
    return lines + quote(p.positions[issue])


def _result(sc: Scenario, e: dict[str, Any], quote: _Quoter) -> list[str]:
    if not e["deal"]:
        return [f"{INDENT}No deal this round."]
    out = [f"{INDENT}Every party whose consent is needed accepts: the deal goes home."]
    for v in e["ratification"]:
        veto = sc.parties[v["party"]].veto
        out.append(
            f"{INDENT}Ratification by {v['veto']}: their utility {v['utility']:.3f} vs threshold "
            f"{v['threshold']:.3f}, probability {100 * v['probability']:.0f}%"
        )
        if veto is not None:
            out += quote(veto)
    out.append(
        f"{INDENT}" + ("Ratified: the agreement stands." if e["ratified"] else "Vetoed at home: talks go on.")
    )
    return out
