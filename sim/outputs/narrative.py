"""Plain-text narratives for a terminal: what a scenario assumes, and what happened in one world.

``explain`` lists every position, condition and red line with the sentence of the seed document it
comes from (or the stated assumption), so a reader can check the model against the article.
``trace`` retells one replication contact by contact from the model's transcript and quotes the article
where a party's demand, a lever or an event rests on it; its last line is that world's outcome, read
from the same arrays ``outcomes.csv`` is written from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engine.dynamics import daily_war_value, stick_size
from sim.engine.outcomes import NO_DEAL
from sim.scenario import Scenario, Sourced, Uncertain, seed_line
from sim.scenario.dates import moment_of

if TYPE_CHECKING:
    from sim.engine.model import NegotiationModel

INDENT = "    "


def where(sc: Scenario, item: Sourced) -> str:
    """'file, line N' of a sourced statement's quote (the file alone if the line is not found)."""
    assert item.source is not None
    line = seed_line(sc, item.source)
    return item.source.seed if line is None else f"{item.source.seed}, line {line}"


def cite(sc: Scenario, item: Sourced) -> str:
    """The provenance of a statement: its quote with file and line, and/or its assumption."""
    parts = []
    if item.source is not None:
        parts.append(f"source: “{item.source.quote}” ({where(sc, item)})")
    if item.assumption is not None:
        parts.append(f"assumption: {item.assumption}")
    return "; ".join(parts)


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

UNCERTAINTY = (
    "Uncertainty: each world draws one value of every parameter given as mean ± sd (normal); "
    "salience weights vary by a Dirichlet of the stated concentration around the stated weights; "
    "option values by the stated value sd (kept within [0, 1]); with exact = true every draw is its "
    "mean. The mediator's prior is an independent draw from the same distributions."
)


def lever_size(sc: Scenario, lv: Any) -> str:
    """A lever in the war's units: a stick's share of its target's daily value of the war, what that
    comes to, and its phase-in; a carrot's option."""
    if lv.kind == "carrot":
        ((issue, option),) = lv.option.items()
        return f"carrot: the option {issue}={option}, tabled once offered, valued as a term"
    base = daily_war_value(sc, lv.target)
    fronts = ", ".join(lv.fronts) if lv.fronts else "every front"
    ramp = f", phased in over {lv.phase_in_days} days" if lv.phase_in_days else ", at once"
    return (
        f"stick: {lv.strength:g} x {lv.target}'s daily value of the war ({base:+.4f} a day at the opening "
        f"balance) = {stick_size(sc, lv):.4f} a day off {fronts} per use{ramp}"
    )


def valuation_rules(sc: Scenario) -> list[str]:
    """The one view of the future every valuer holds, and how long terms count (sim.engine.valuation)."""
    W, d, mo = sc.valuation.window_days, sc.truce.days, sc.dynamics.momentum
    return [
        "Terms: a permanent term counts in full; a term tied to the truce "
        f"({', '.join(sc.truce.tied) or 'none'}) counts for the share of the window the truce covers "
        f"({min(d, W)}/{W} for a fresh {d}-day truce), and nothing agreed on that issue for the rest; "
        "tied terms end when the truce does.",
        f"The future: the war and a truce are valued on the balance the battlefield's rules produce: "
        f"the fighting's mean path while the {mo.front} front is open (no truce, or a truce that leaves it "
        "open), a truce's rebuild only while it closes that front, and the fighting's mean path again "
        "from the balance expected at the truce's end (Fearon 1995).",
    ]


def explain(sc: Scenario) -> str:
    """Every assumption of a scenario with its quote (seed file and line) and/or its stated reason."""
    cal = sc.calendar
    lines = [sc.title, "=" * len(sc.title), sc.summary, ""]
    lines.append(f"file {sc.path}  sha256 {sc.sha256}")
    lines.append(
        f"seed {sc.seed}, {sc.replications:,} replications; talks from {cal.start}, followed for "
        f"{cal.horizon_days} days"
        + (f", deadline day {cal.deadline_day}" if cal.deadline_day else ", no deadline")
    )
    lines += _with_cite(sc, f"Calendar: talks open on {cal.start}", cal, 0)
    c = cal.contacts
    lines += _with_cite(
        sc, f"Contacts: from day 0, every {c.mean_interval_days:g} days on average (sd {c.sd_days:g})", c, 0
    )
    lines += _with_cite(
        sc, f"Valuation: packages valued over the next {sc.valuation.window_days} days", sc.valuation, 0
    )
    lines += [f"{INDENT}{line}" for line in valuation_rules(sc)]
    if sc.headline is not None:
        q = sc.headline
        asked = f"Question: {', '.join(q.classes)} first in force by day {', '.join(map(str, q.days))}"
        lines += _with_cite(sc, asked, q, 0)
    lines += ["", f"FRONTS: {', '.join(f'{k} ({f.label})' for k, f in sc.fronts.items())}"]
    lines += [
        "",
        f"ISSUES ({sc.n_packages:,} packages: one option per issue; the first option is nothing agreed)",
    ]
    for iid, issue in sc.issues.items():
        lines.append(f"{INDENT}{iid}: {issue.label}: {' | '.join(issue.options)}")
    t = sc.truce
    closes = "; ".join(f"{o} closes {', '.join(fs) or 'nothing'}" for o, fs in t.closes.items())
    lines += _with_cite(
        sc, f"Truce: '{t.issue}', {t.days} days; {closes}; ends with it: {', '.join(t.tied)}", t
    )
    v = t.violations
    lines += _with_cite(
        sc,
        f"Violations: {v.daily_probability:g} a day, {100 * v.monitoring_reduction:.0f}% less when monitored",
        v,
    )
    for pid in sc.parties:
        lines += ["", *_explain_party(sc, pid)]
    lines += ["", *_explain_table(sc), "", UNCERTAINTY]
    lines += _with_cite(
        sc,
        f"This scenario: weight concentration {sc.uncertainty.weight_concentration:g}, value sd "
        f"{sc.uncertainty.value_sd:g}" + (", exact" if sc.uncertainty.exact else ""),
        sc.uncertainty,
        0,
    )
    return "\n".join(lines)


def _explain_party(sc: Scenario, pid: str) -> list[str]:
    p = sc.parties[pid]
    consent = "consent required" if p.required else "consent not required"
    if p.required_when:
        consent = "consent required when " + "; ".join(f"{k} in {v}" for k, v in p.required_when.items())
    out = [f"PARTY {p.label} ({pid}), {consent}", f"{INDENT}Terms (salience weight; value of each option):"]
    for issue, pos in p.positions.items():
        values = ", ".join(f"{o} {v:.2f}" for o, v in pos.values.items())
        out += _with_cite(sc, f"{sc.issues[issue].label}: weight {pos.weight:.2f}; {values}", pos, 2)
    out.append(f"{INDENT}The war (daily value of fighting on each front; per unit of the balance of power):")
    for front, fv in p.war.items():
        out += _with_cite(
            sc, f"{front}: {_uncertain(fv, 4)} a day; {fv.momentum:+g} per unit of balance", fv, 2
        )
    if p.interactions:
        out.append(f"{INDENT}Interactions (added to its value when a package holds all of):")
        for iid, term in p.interactions.items():
            out += _with_cite(sc, f"{iid}: {_package(term.when)} -> {term.value:+.2f}", term, 2)
    if p.red_lines:
        out.append(f"{INDENT}Red lines (never accepted):")
        for rid, rl in p.red_lines.items():
            out += _with_cite(sc, f"{rid}: {rl.issue}={rl.option}", rl, 2)
    out += _with_cite(sc, f"Margin asked above what is in force: {_uncertain(p.margin)}", p.margin)
    out += _with_cite(sc, f"Tolerance of the war's hurt: {_uncertain(p.tolerance)}", p.tolerance)
    out += _with_cite(
        sc, f"Concession exponent: {_uncertain(p.concession)} ({_pace(p.concession.mean)})", p.concession
    )
    if p.counters is not None:
        tables = "tables texts of its own when it refuses" if p.counters.tables else "tables no texts"
        out += _with_cite(sc, f"Counter-proposals: {tables}", p.counters)
    if p.veto is not None:
        v = p.veto
        weights = ", ".join(f"{k} {w:.2f}" for k, w in v.weights.items() if w)
        out += _with_cite(sc, f"Veto player: {v.label} (salience {weights}; war weight {v.war_weight:g})", v)
        out += _with_cite(sc, f"Ratification threshold (surplus): {_uncertain(v.threshold)}", v.threshold, 2)
    return out


def _uncertain(p: Uncertain, digits: int = 2) -> str:
    return f"{p.mean:.{digits}f} ± {p.sd:.{digits}f}" if p.sd else f"{p.mean:.{digits}f}"


def _pace(beta: float) -> str:
    if beta == 1:
        return "linear"
    return "Boulware, firm until the hurt mounts" if beta < 1 else "Conceder, gives early"


def _explain_table(sc: Scenario) -> list[str]:
    """The mediator, opening text, world and outcome classes."""
    m = sc.mediator
    info = "knows the parties' true values" if m.informed else f"learns from answers (step {m.learning_step})"
    reach = f", revises at most {m.reach} issues at a time" if m.reach else ""
    out = ["THE TABLE", *_with_cite(sc, f"Mediator: {m.label} ({m.party}), {info}{reach}", m)]
    gu = m.give_up
    rule = " or ".join(
        x
        for x in (
            gu.after_stalled_days and f"{gu.after_stalled_days} days without a banked text",
            gu.after_days and f"{gu.after_days} days",
        )
        if x
    )
    out += _with_cite(sc, f"Gives up after {rule}", gu)
    if m.shuttle is not None:
        how = (
            "shuttles: a counter one party tables is what the others answer at the next contact"
            if m.shuttle.carries
            else "one table: a counter is answered at the contact it is tabled"
        )
        out += _with_cite(sc, f"Counter-proposals: the mediator {how}", m.shuttle)
    if sc.opening is not None:
        out += _with_cite(sc, f"Opening text: {_package(sc.opening.package)}", sc.opening)
    mo = sc.dynamics.momentum
    world = (
        f"initial {mo.initial:+.2f}, drift {mo.drift:+g}/day, reversion {mo.reversion:g}/day, "
        f"noise {mo.noise:g}"
    )
    out += _with_cite(sc, f"Balance of power (while the {mo.front} front is open): {world}", mo)
    for rid, rb in sc.dynamics.rebuild.items():
        when = _package(rb.when) or "any truce"
        out += _with_cite(sc, f"During a truce with {when}: balance {rb.per_day:+g} a day ({rid})", rb)
    for lid, lv in sc.levers.items():
        state = "inactive (max_uses 0)" if lv.max_uses == 0 else f"at most {lv.max_uses}x"
        policy = f"from day {lv.from_day}" if lv.policy == "from_day" else lv.policy.replace("_", " ")
        act = f"{lv.holder} -> {lv.target}, {lever_size(sc, lv)}, {policy}, {state}"
        out += _with_cite(sc, f"Lever {lid}: {lv.label}: {act}", lv)
    for eid, ev in sc.events.items():
        out += _with_cite(sc, f"Event {eid}: {ev.label}: {_event_effect(ev)}", ev)
    out.append(f"{INDENT}Outcome classes of what is in force (first rule that matches wins):")
    for cid, cl in sc.classes.items():
        rule = "; ".join(f"{k} in {'/'.join(v)}" for k, v in cl.when.items()) or "any deal"
        out.append(f"{INDENT * 2}{cid}: {cl.label}: {rule}")
    out.append(f"{INDENT * 2}{NO_DEAL}: nothing agreed in force (the war on every front)")
    for xid, ex in sc.expect.items():
        day = f"by day {ex.day}" if ex.day else "at the horizon"
        out += _with_cite(
            sc, f"Expects {ex.outcome} {ex.direction} {day} vs {sc.parent} ({xid}): {ex.theory}", ex
        )
    return out


def _event_effect(ev: Any) -> str:
    parts = [f"p={ev.daily_probability:g} a day from day {ev.from_day}" + (", once" if ev.once else "")]
    parts += [f"{pid} war value {s:+g} a day on each front" for pid, s in ev.war_shift.items()]
    if ev.momentum_shift:
        parts.append(f"balance {ev.momentum_shift:+.2f}")
    if ev.reveal:
        parts.append("reveals the parties' true values and margins to the mediator")
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


def trace_record(sc: Scenario, model: NegotiationModel, replication: int) -> dict[str, Any]:
    """The traced world as data: its summary, every round, and its outcome (``trace --format json``)."""
    from sim.experiments.chunks import CHUNK

    row = replication % CHUNK
    if model.trace_row != row:
        raise ValueError(f"the model traced row {model.trace_row}, not replication {replication} (row {row})")
    space = model.space
    pkg = int(model.inforce[row])
    tablers = ["mediator", *sc.parties]
    history = [
        {
            "day": round(float(day[list(rows).index(row)]), 4),
            "time": moment_of(sc.calendar.start, float(day[list(rows).index(row)])),
            "event": kind,
            "package": space.describe(int(p[list(rows).index(row)])),
            "tabled_by": tablers[int(by[list(rows).index(row)]) + 1],
        }
        for (rows, day, kind, p), by in zip(model.history, model.history_by, strict=True)
        if row in rows
    ]
    return {
        "scenario": sc.name,
        "replication": replication,
        "seed": sc.seed,
        "outcome": space.class_order[space.package_class[pkg]],
        "in_force": space.describe(pkg),
        "first_agreement_day": None
        if np.isnan(model.first_day[row])
        else round(float(model.first_day[row]), 4),
        "history": history,
        "contacts": model.transcript,
    }


def trace(sc: Scenario, model: NegotiationModel, replication: int) -> str:
    """Summary first, then the story day by day: refused rounds in a row are told once."""
    rec = trace_record(sc, model, replication)
    quote = _Quoter(sc)
    out = [
        f"Replication {replication} of {sc.name}: {sc.title}",
        f"seed {sc.seed}, one of {sc.replications:,} worlds; talks from {sc.calendar.start}",
        "",
        *summary(sc, model, rec),
    ]
    run: list[dict[str, Any]] = []
    for entry in model.transcript:
        if _uneventful(entry) and run and _same(run[-1], entry):
            run.append(entry)
            continue
        out += _flush(sc, model, run, quote)
        run = [entry]
    out += _flush(sc, model, run, quote)
    h = sc.calendar.horizon_days
    end = _package(rec["in_force"])
    out += ["", f"Day {h}, {moment_of(sc.calendar.start, h)} (the horizon): in force: {end}"]
    return "\n".join(out)


def summary(sc: Scenario, model: NegotiationModel, rec: dict[str, Any]) -> list[str]:
    cls = rec["outcome"]
    label = sc.classes[cls].label if cls in sc.classes else "No agreement in force"
    lines = [f"Outcome at day {sc.calendar.horizon_days}: {label} [{cls}]: {_package(rec['in_force'])}"]
    first = rec["first_agreement_day"]
    lines.append(
        f"First agreement: day {first:g} ({moment_of(sc.calendar.start, first)})"
        if first is not None
        else "No agreement was ever banked."
    )
    if rec["history"]:
        events = "; ".join(
            f"day {h['day']:g} {h['event']}"
            + (f" (tabled by {h['tabled_by']})" if h["event"] == "banked" else "")
            for h in rec["history"]
        )
        lines.append(f"History: {events}")
    refusals: dict[str, int] = {}
    for e in model.transcript:
        for r in e.get("parties", []):
            if r["asked"] and not r["accepted"]:
                refusals[r["party"]] = refusals.get(r["party"], 0) + 1
    if refusals:
        held = ", ".join(
            f"{sc.parties[p].label} {n}" for p, n in sorted(refusals.items(), key=lambda x: -x[1])
        )
        lines.append(f"Texts refused by: {held}")
    return lines


def _uneventful(e: dict[str, Any]) -> bool:
    return not e.get("events") and not e.get("levers") and not e.get("happened") and not e.get("deal")


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two rounds tell the same story: the same text refused by the same parties."""

    def who(e):
        return tuple(r["party"] for r in e.get("parties", []) if r["asked"] and not r["accepted"])

    return _uneventful(a) and a.get("proposal") == b.get("proposal") and who(a) == who(b)


def _flush(sc: Scenario, model: NegotiationModel, run: list[dict[str, Any]], quote: _Quoter) -> list[str]:
    if not run:
        return []
    if len(run) == 1:
        return ["", *_round(sc, model, run[0], quote)]
    first, last = run[0], run[-1]
    lines = ["", *_round(sc, model, first, quote)]
    if "proposal" in first:
        who = ", ".join(
            sc.parties[r["party"]].label for r in first["parties"] if r["asked"] and not r["accepted"]
        )
        lines.append(
            f"{INDENT}... the same text refused by {who} {len(run)} times, "
            f"days {first['day']:g}-{last['day']:g}"
        )
    else:
        lines.append(f"{INDENT}... nothing changes until day {last['day']:g}")
    return lines


def _round(sc: Scenario, model: NegotiationModel, e: dict[str, Any], quote: _Quoter) -> list[str]:
    at = f"Day {e['day']:g}, {moment_of(sc.calendar.start, e['day'])}"
    out = [f"{at} (contact {e['contact']}; balance of power {e.get('momentum', 0.0):+.2f})"]
    for kind in e.get("happened", []):
        if kind in ("lapsed", "violated", "extended"):
            verb = {
                "lapsed": "lapses at its end",
                "violated": "breaks down (violated)",
                "extended": "is extended",
            }[kind]
            out.append(f"{INDENT}The truce in force {verb}.")
    for eid in e.get("events", []):
        out += [f"{INDENT}Event: {sc.events[eid].label}.", *quote(sc.events[eid])]
    for lid in e.get("levers", []):
        lv = sc.levers[lid]
        out += [
            f"{INDENT}Lever: {lv.label} ({lv.kind} on {lv.target}: {lever_size(sc, lv)}).",
            *quote(lv),
        ]
    if "proposal" in e:
        out += _proposal(sc, model, e, quote)
        for r in e["parties"]:
            out += _response(sc, model, e, r, quote)
        out += _result(sc, e, quote)
        c = e.get("counter")
        if c is not None:  # a refusing party tabled its own text (sim.engine.counters)
            author = sc.parties[c["by"]].label
            out.append(
                f"{INDENT}{author} tables its own text: {_package(model.space.describe(c['proposal']))}"
            )
            for r in c["parties"]:
                out += _response(sc, model, c, r, quote)
            out += _result(sc, c, quote)
        c = e.get("carried")
        if c is not None:  # tabled now, answered by the others at the next contact
            author = sc.parties[c["by"]].label
            out.append(
                f"{INDENT}{author} tables its own text, which {sc.mediator.label} carries to the others: "
                f"{_package(model.space.describe(c['proposal']))}"
            )
    elif not e.get("talking", True):
        out.append(f"{INDENT}No talks: {_package(model.space.describe(e['inforce']))} in force.")
    if "gave_up" in e.get("happened", []):
        out.append(f"{INDENT}{sc.mediator.label} gives up for now.")
    return out


def _proposal(sc: Scenario, model: NegotiationModel, e: dict[str, Any], quote: _Quoter) -> list[str]:
    pkg = _package(model.space.describe(e["proposal"]))
    if e.get("by") == "opening":
        assert sc.opening is not None
        return [f"{INDENT}Opening text on the table: {pkg}", *quote(sc.opening)]
    if e.get("by") in sc.parties:
        return [f"{INDENT}{sc.mediator.label} puts {sc.parties[e['by']].label}'s text to the others: {pkg}"]
    return [f"{INDENT}{sc.mediator.label} proposes: {pkg}"]


def _response(
    sc: Scenario, model: NegotiationModel, e: dict[str, Any], r: dict[str, Any], quote: _Quoter
) -> list[str]:
    p = sc.parties[r["party"]]
    name = f"{INDENT}{p.label:<16}"
    if not r["asked"]:
        return [f"{name}not asked: its consent is not needed for this text"]
    head = (
        f"{name}gain over what is in force {r['surplus']:+.3f} vs margin asked {r['margin']:.3f} "
        f"(mediator believes {r['believed']:.3f})"
    )
    if r["accepted"]:
        return [f"{head}: accepts"]
    if r["red_line"]:
        pkg = model.space.describe(e["proposal"])
        crossed = [rl for rl in p.red_lines.values() if pkg.get(rl.issue) == rl.option]
        return [
            f"{head}: refuses, the text crosses a red line ({crossed[0].issue}={crossed[0].option})",
            *quote(crossed[0]),
        ]
    if r["demand"] is None:
        return [f"{head}: refuses; no single change would make it better"]
    issue, option = model.space.describe_move(r["demand"])
    lines = [f"{head}: refuses and demands {sc.issues[issue].label}: {option}"]
    return lines + (quote(p.positions[issue]) if issue in p.positions else quote(sc.truce))


def _result(sc: Scenario, e: dict[str, Any], quote: _Quoter) -> list[str]:
    if not e["deal"]:
        return [f"{INDENT}No agreement at this contact."]
    out = [f"{INDENT}Every party whose consent is needed accepts: the text goes home."]
    for v in e["ratification"]:
        out.append(f"{INDENT}Ratification by {v['veto']}: probability {100 * v['probability']:.0f}%")
        veto = sc.parties[v["party"]].veto
        if veto is not None:
            out += quote(veto)
    out.append(
        f"{INDENT}"
        + (
            "Ratified and banked: it is in force; talks go on over the rest."
            if e["ratified"]
            else "Vetoed at home: talks go on."
        )
    )
    return out
