"""Role sheets for a class role play, generated from a scenario file.

A public brief (the situation, the issues and their options, the timeline and the rules of a round)
and one confidential sheet per party (its priorities in plain words, its red lines, the value of its
no-deal alternative — the war —, the levers it holds, its domestic constraint), the usual materials
of a negotiation role play: general and confidential instructions. Every point is followed by the
article's sentence it rests on (file and line) or by the stated assumption, so students can argue
with the case, and with the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.atomic import atomic_path
from sim.engine.dynamics import stick_size
from sim.engine.outcomes import NO_DEAL
from sim.outputs.narrative import where
from sim.scenario import Scenario, Sourced, Uncertain
from sim.teaching.markup import to_html
from sim.teaching.values import ValueRange, nodeal_ranges


def provenance(sc: Scenario, item: Sourced, indent: str = "  ") -> list[str]:
    """The sub-bullets under a point: its quote (file, line) and/or its assumption."""
    out = []
    if item.source is not None:
        out.append(f"{indent}- *Source:* “{item.source.quote}” ({where(sc, item)})")
    if item.assumption is not None:
        out.append(f"{indent}- *Assumption:* {item.assumption}")
    return out


def _num(p: Uncertain, digits: int = 4) -> str:
    spread = f" (± {p.sd:.{digits}f} across worlds)" if p.sd else ""
    return f"{p.mean:+.{digits}f}{spread}"


def _options(values: dict[str, float]) -> str:
    ranked = sorted(values.items(), key=lambda kv: -kv[1])
    return ", then ".join(f"{o} ({v:.2f})" for o, v in ranked)


def _pace(beta: float) -> str:
    if beta < 1:
        return "a Boulware: holds firm until the war's hurt mounts"
    if beta > 1:
        return "a Conceder: gives ground early"
    return "concedes at an even pace"


# ---------------------------------------------------------------------------- public brief


def public_brief(sc: Scenario) -> str:
    cal, t = sc.calendar, sc.truce
    lines = [
        f"# Public brief: {sc.title}",
        "",
        f"*For every participant. Generated from `{Path(sc.path).name}` (sha256 {sc.sha256[:12]}).*",
        "",
        "## The situation",
        "",
        sc.summary,
        "",
        f"Talks open on {cal.start}. The sides meet at contacts (a visit, a call): the first on day 0, "
        f"then every {cal.contacts.mean_interval_days:g} days on average, at irregular times. The world "
        f"is followed for {cal.horizon_days} days: what is in force on day {cal.horizon_days} is the "
        "outcome.",
        *provenance(sc, cal, ""),
        *provenance(sc, cal.contacts, ""),
        "",
        "## The parties",
        "",
    ]
    for pid, p in sc.parties.items():
        consent = "its consent is needed for every text"
        if p.required_when:
            consent = "its consent is needed only for texts with " + "; ".join(
                f"{k} = {' or '.join(v)}" for k, v in p.required_when.items()
            )
        elif not p.required:
            consent = "its consent is not needed"
        home = f"; at home, {p.veto.label} must ratify" if p.veto else ""
        lines.append(f"- **{p.label}** (`{pid}`): {consent}{home}.")
    m = sc.mediator
    lines += [f"- **{m.label}** drafts the texts (for `{m.party}`).", *provenance(sc, m), ""]
    lines += [
        "## The issues",
        "",
        "A text gives one option on every issue; the first option is nothing agreed.",
        "",
    ]
    lines += ["| Issue | Options |", "|---|---|"]
    for iid, issue in sc.issues.items():
        lines.append(f"| {issue.label} (`{iid}`) | {' / '.join(issue.options)} |")
    lines += ["", "## The war and the truce", ""]
    lines.append(
        "No deal means the war goes on, front by front: "
        + "; ".join(f"{f.label} (`{fid}`)" for fid, f in sc.fronts.items())
        + "."
    )
    closes = "; ".join(
        f"`{o}` closes {', '.join(sc.fronts[f].label.lower() for f in fs) or 'nothing'}"
        for o, fs in t.closes.items()
    )
    lines.append(
        f"- The truce ({sc.issues[t.issue].label}): {closes}. A truce lasts {t.days} days; then it is "
        "extended if every party whose consent it needs prefers that, or it lapses and talks reopen on it."
        + (f" These terms hold only while a truce does: {', '.join(t.tied)}." if t.tied else "")
    )
    lines += provenance(sc, t, "  ")
    v = t.violations
    if v.daily_probability:
        mon = (
            f", {100 * v.monitoring_reduction:.0f}% less often when monitored"
            if v.monitoring_reduction
            else ""
        )
        lines.append(f"- A truce may break down early: {100 * v.daily_probability:g}% a day{mon}.")
        lines += provenance(sc, v)
    mo = sc.dynamics.momentum
    lines.append(
        f"- The balance of power on the {sc.fronts[mo.front].label.lower()} starts at {mo.initial:+.2f} "
        f"({_favours(sc)}) and moves while the fighting goes on."
    )
    lines += provenance(sc, mo)
    for rid, rb in sc.dynamics.rebuild.items():
        when = (
            "a truce with " + ", ".join(f"{k} = {o}" for k, o in rb.when.items()) if rb.when else "any truce"
        )
        lines.append(f"- During {when}, the balance moves by {rb.per_day:+g} a day (`{rid}`).")
        lines += provenance(sc, rb)
    lines += ["", "## Timeline", ""]
    if sc.opening is not None:
        pkg = ", ".join(f"{k} = {o}" for k, o in sc.opening.package.items())
        lines.append(f"- Day 0: the opening text is tabled: {pkg}.")
        lines += provenance(sc, sc.opening)
    lines.append(
        f"- About every {cal.contacts.mean_interval_days:g} days: a contact; the mediator revises "
        "the single text."
    )
    lines.append(f"- Any truce agreed ends {t.days} days after it starts unless extended.")
    if cal.deadline_day:
        lines.append(f"- Day {cal.deadline_day}: a declared deadline; talks stop.")
    lines.append(f"- Day {cal.horizon_days}: the end of the game; what is in force then is the outcome.")
    lines += [
        "",
        "## The rules of a round",
        "",
        "1. **The war.** The open fronts cost or profit each side for the days of the cycle; the balance "
        "of power moves; a truce in force may break down, or reach its end and be extended or lapse.",
        "2. **Pressure.** Levers (sanctions, an aid pause, sanctions relief) act if their holder uses them. "
        "Pressure is public.",
        "3. **The text.** The mediator tables one text: the opening text first, then revisions that keep "
        "everything already in force.",
        "4. **Answers.** Each party whose consent the text needs accepts or refuses; a refusal may name one "
        "change it wants (ISSUE = OPTION).",
        "5. **Ratification.** If all accept, each capital's domestic ratifier may still veto it.",
        "6. **Banking.** A ratified text is in force from that day; talks go on over the rest.",
        "",
        "## How outcomes are named",
        "",
    ]
    for cid, cl in sc.classes.items():
        rule = "; ".join(f"{k} is {' or '.join(v)}" for k, v in cl.when.items()) or "any deal"
        lines.append(f"- **{cl.label}** (`{cid}`): {rule}.")
    lines.append(f"- **No agreement** (`{NO_DEAL}`): nothing agreed is in force.")
    if sc.levers:
        lines += ["", "## Levers in this scenario (pressure is public)", ""]
        for lid, lv in sc.levers.items():
            lines.append(f"- {_lever(sc, lid)}")
            lines += provenance(sc, lv)
    return "\n".join(lines) + "\n"


def _favours(sc: Scenario) -> str:
    front = sc.dynamics.momentum.front
    up = [p.label for p in sc.parties.values() if front in p.war and p.war[front].momentum > 0]
    down = [p.label for p in sc.parties.values() if front in p.war and p.war[front].momentum < 0]
    if up and down:
        return f"positive favours {' and '.join(up)}, negative {' and '.join(down)}"
    return "positive and negative favour opposite sides"


def _lever(sc: Scenario, lid: str) -> str:
    lv = sc.levers[lid]
    holder, target = sc.parties[lv.holder].label, sc.parties[lv.target].label
    if lv.kind == "stick":
        fronts = ", ".join(lv.fronts) if lv.fronts else "every front"
        what = (
            f"lowers {target}'s daily value of fighting on ({fronts}) by {stick_size(sc, lv):.4f} per use, "
            f"{lv.strength:g} of the size of its daily value of the war"
            + (f", phased in over {lv.phase_in_days} days" if lv.phase_in_days else "")
        )
    else:
        ((issue, option),) = lv.option.items()
        what = f"puts {issue}={option} on the table for {target}, valued once with the package that holds it"
    when = {
        "always": "every round",
        "on_rejection": f"after a refusal by {target}",
        "from_day": f"from day {lv.from_day}",
    }[lv.policy]
    uses = (
        "not used in this scenario (0 uses)"
        if lv.max_uses == 0
        else f"at most {lv.max_uses} use" + ("s" if lv.max_uses > 1 else "")
    )
    return f"**{lv.label}** (`{lid}`, held by {holder}): {what}; the model uses it {when}; {uses}."


# ---------------------------------------------------------------------------- confidential sheets


def confidential_sheet(sc: Scenario, pid: str, value: ValueRange | None = None) -> str:
    """One party's confidential sheet; ``value`` its no-deal range (computed from the engine if None)."""
    p = sc.parties[pid]
    value = value if value is not None else nodeal_ranges(sc)[pid]
    lines = [
        f"# Confidential: {p.label}",
        "",
        f"*For the {p.label} team only. {sc.title}. Values of the terms run from 0 (worst) to 1 (best); "
        "daily war values are in the same units per day.*",
        "",
        "## What you want, most important first",
        "",
    ]
    ranked = sorted(p.positions.items(), key=lambda kv: -kv[1].weight)
    for n, (issue, pos) in enumerate(ranked, 1):
        lines.append(
            f"{n}. **{sc.issues[issue].label}** (`{issue}`, {100 * pos.weight:.0f}% of what the terms are "
            f"worth to you): best {_options(pos.values)}."
        )
        lines += provenance(sc, pos, "   ")
    t = sc.truce
    lines.append(
        f"- **{sc.issues[t.issue].label}** (`{t.issue}`) is worth to you what it stops: the war on the "
        "fronts it closes, for as long as it lasts (see your no-deal alternative below)."
    )
    lines += provenance(sc, t)
    for iid, term in p.interactions.items():
        when = " and ".join(f"{k} = {o}" for k, o in term.when.items())
        lines.append(f"- A text with {when} is worth {term.value:+.2f} more to you than its parts (`{iid}`).")
        lines += provenance(sc, term)
    lines += ["", "## Your red lines", ""]
    if p.red_lines:
        for rid, rl in p.red_lines.items():
            lines.append(
                f"- You never accept {sc.issues[rl.issue].label.lower()} = **{rl.option}** (`{rid}`)."
            )
            lines += provenance(sc, rl)
    else:
        lines.append("- None in this scenario: every text is open to you at some price.")
    lines += ["", "## Your no-deal alternative: the war", ""]
    lines += _war(sc, pid, value)
    lines += ["", "## Levers you hold", ""]
    held = [lid for lid, lv in sc.levers.items() if lv.holder == pid]
    for lid in held:
        lines.append(f"- {_lever(sc, lid)}")
        lines += provenance(sc, sc.levers[lid])
    if not held:
        lines.append("- None in this scenario.")
    aimed = [lid for lid, lv in sc.levers.items() if lv.target == pid]
    if aimed:
        lines += ["", "Pressure others may put on you:", ""]
        for lid in aimed:
            lines.append(f"- {_lever(sc, lid)}")
            lines += provenance(sc, sc.levers[lid])
    lines += ["", "## Your domestic constraint", ""]
    if p.veto is not None:
        v = p.veto
        weights = ", ".join(
            f"{k} {100 * w:.0f}%" for k, w in sorted(v.weights.items(), key=lambda kv: -kv[1]) if w
        )
        lines.append(
            f"- **{v.label}** must ratify any deal you accept. They weigh the terms their own way "
            f"({weights}) and ratify with a probability that rises with their own gain over what is in force."
        )
        lines += provenance(sc, v)
        lines.append(
            f"- They let a deal pass about half the time when their gain is {v.threshold.mean:+.2f}"
            + (f" (± {v.threshold.sd:.2f} across worlds)" if v.threshold.sd else "")
            + "; a clearly better deal passes almost surely."
        )
        lines += provenance(sc, v.threshold)
    else:
        lines.append("- None in this scenario: your government's word is final.")
    lines += ["", "## How the model plays you (for the debrief)", ""]
    lines.append(
        f"- It first asks {p.margin.mean:.2f} above what is in force"
        + (f" (± {p.margin.sd:.2f})" if p.margin.sd else "")
        + "."
    )
    lines += provenance(sc, p.margin)
    lines.append(
        f"- It lowers that demand as the war's hurt uses up its tolerance ({p.tolerance.mean:.2f}): "
        f"{_pace(p.concession.mean)} (exponent {p.concession.mean:g})."
    )
    lines += provenance(sc, p.tolerance)
    lines += provenance(sc, p.concession)
    return "\n".join(lines) + "\n"


def _war(sc: Scenario, pid: str, value: ValueRange) -> list[str]:
    p = sc.parties[pid]
    mo = sc.dynamics.momentum
    window = sc.valuation.window_days
    out = [
        "If no deal is reached, the war goes on. Each day of fighting on each front is worth this to you "
        "(positive: fighting there pays you; negative: it costs you more than it yields):",
        "",
    ]
    total = 0.0
    for fid, front in sc.fronts.items():
        if fid not in p.war:
            out.append(f"- {front.label}: nothing either way.")
            continue
        fv = p.war[fid]
        today = fv.mean + fv.momentum * mo.initial
        total += today
        slope = ""
        if fv.momentum:
            slope = (
                f"; {fv.momentum:+g} per unit of the balance of power, so {today:+.4f} a day at today's "
                f"{mo.initial:+.2f}"
            )
        out.append(f"- {front.label}: {_num(fv)} a day at an even balance{slope}.")
        out += provenance(sc, fv)
    verdict = "at the mean values fighting on " + ("pays you" if total > 0 else "costs you")
    out += [
        "",
        f"You weigh a deal against the next {window} days. **Your no-deal value** on day 0 (nothing agreed, "
        f"the war on every front, over those {window} days, as the model computes it): "
        f"**{value.text()}** of this scenario. In a game you play one of these worlds: `negsim play` shows "
        f"its value, which lies in this range ({verdict}: {total:+.4f} a day at today's balance). A "
        "truce removes the war on the fronts it closes while it lasts; what the balance of power does "
        "during it changes what the war is worth when it ends.",
        *provenance(sc, sc.valuation, ""),
    ]
    for rid, rb in sc.dynamics.rebuild.items():
        gains = sum(fv.momentum for fv in p.war.values()) * rb.per_day
        when = (
            "a truce with " + ", ".join(f"{k} = {o}" for k, o in rb.when.items()) if rb.when else "any truce"
        )
        side = "your way" if gains > 0 else "against you" if gains < 0 else "without changing your war"
        out.append(f"- During {when} the balance moves {side} ({rb.per_day:+g} a day, `{rid}`).")
        out += provenance(sc, rb)
    return out


# ---------------------------------------------------------------------------- files


@dataclass(frozen=True)
class RoleSheets:
    scenario: Scenario
    public: str
    parties: dict[str, str]

    def write(self, folder: str | Path, pdf: bool = False) -> list[Path]:
        """public.md/.html, one <party>.md/.html each, and all.html (every sheet, a page each); with
        ``pdf``, each HTML page printed to a PDF beside it (Chromium's print-to-PDF)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        docs = {"public": self.public, **{f"confidential-{pid}": text for pid, text in self.parties.items()}}
        for name, text in docs.items():
            for suffix, content in ((".md", text), (".html", to_html(text, _title(text)))):
                with atomic_path(folder / f"{name}{suffix}") as tmp:
                    Path(tmp).write_text(content, encoding="utf-8")
                written.append(folder / f"{name}{suffix}")
        together = "\n---\n\n".join(docs.values())
        with atomic_path(folder / "all.html") as tmp:
            Path(tmp).write_text(to_html(together, self.scenario.title), encoding="utf-8")
        written.append(folder / "all.html")
        if pdf:
            from sim.teaching.pdf import beside

            written += beside([p for p in written if p.suffix == ".html"])
        return written


def _title(markdown: str) -> str:
    return markdown.splitlines()[0].lstrip("# ").strip()


def role_sheets(sc: Scenario) -> RoleSheets:
    ranges = nodeal_ranges(sc)
    sheets = {pid: confidential_sheet(sc, pid, ranges[pid]) for pid in sc.parties}
    return RoleSheets(sc, public_brief(sc), sheets)
