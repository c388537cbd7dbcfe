"""Mutation check: deliberate breakages of the engine's mechanisms, each of which some test must catch.

Usage:
    python benchmarks/mutants.py [NAME ...] [--list] [--no-baseline] [--timeout SECONDS]

Each mutant is a small textual patch to one file of ``sim/``: exact snippets replaced, each of which
must occur exactly once in the file (a refactor that removes or duplicates a snippet is reported
as ``stale``, never skipped silently). For each mutant the runner copies the repository (the files
git tracks or would track, as they are in the working tree) into a temporary folder, applies the
patch there, and runs the mutant's test files with ``pytest -x -q``; the working tree is never
edited. It prints a table: mutant, caught (the first failing test) or NOT caught, and the time.

The tests run with this interpreter, with ``PYTHONPATH`` set to the copy, so the copy's ``sim``
is imported, also by the ``negsim`` commands that CLI tests spawn (an editable install's finder
comes after ``PYTHONPATH``). Numba's cache lives in the temporary folder and is shared between
mutants (a patched module is recompiled; the others load).

Before the mutants, the named test files run once on the unpatched copy (``--no-baseline`` skips
this): a test that already fails there is deselected for every mutant and listed, so that it
cannot pass for a catch.

Exit code: 0 when every mutant is caught, 1 when one is not, 2 when a mutant is stale.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    breaks: str  # what the patch breaks, in a few words
    file: str  # relative to the repository
    edits: tuple[tuple[str, str], ...]  # (exact snippet, replacement), each snippet once in the file
    tests: tuple[str, ...]  # test files, the likeliest to catch it first


CLOCK, MODEL, THEORY = "tests/test_clock.py", "tests/test_model.py", "tests/test_theory.py"
COUNTERS, OUTLOOK, SCENARIOS = "tests/test_counters.py", "tests/test_outlook.py", "tests/test_scenarios.py"
CORE = (CLOCK, MODEL, THEORY, OUTLOOK, COUNTERS, SCENARIOS)


def tests(*first: str) -> tuple[str, ...]:
    """The given files first, then the other core files."""
    return (*first, *(t for t in CORE if t not in first))


MUTANTS: list[Mutant] = [
    # ------------------------------------------------------------ the clock in days
    Mutant(
        "mediator_never_gives_up",
        "the give-up rule never stops the talks",
        "sim/engine/mediator.py",
        (
            ("if gu.after_stalled_days is not None:", "if False:"),
            ("if gu.after_days is not None:", "if False:"),
        ),
        tests(CLOCK),
    ),
    Mutant(
        "truce_ends_late",
        "a truce expires only after its end (end < now for end <= now)",
        "sim/engine/dynamics.py",
        (("(self.end[idx] <= now)", "(self.end[idx] < now)"),),
        tests(CLOCK),
    ),
    Mutant(
        "truce_one_day_long",
        "a banked truce runs one day more than stated",
        "sim/engine/model.py",
        (
            (
                "self.truces.end[rows[fresh]] = self.clock[rows[fresh]] + self.spec.truce.days",
                "self.truces.end[rows[fresh]] = self.clock[rows[fresh]] + self.spec.truce.days + 1",
            ),
        ),
        tests(CLOCK),
    ),
    Mutant(
        "violation_daily_per_interval",
        "the chance of a violation over a segment is the daily one, not 1 - (1 - p)^days",
        "sim/engine/dynamics.py",
        (("(luck < within(daily, dt))", "(luck < daily)"),),
        tests(CLOCK),
    ),
    Mutant(
        "drift_sign_flipped",
        "the battlefield's drift pushes the other way",
        "sim/engine/dynamics.py",
        (("ou_transition(m, dt, s.drift,", "ou_transition(m, dt, -s.drift,"),),
        tests(CLOCK, OUTLOOK),
    ),
    Mutant(
        "event_war_shift_ignored",
        "an event's war_shift is not applied",
        "sim/engine/model.py",
        (("self.party[pid].shift[rows] += shift", "pass"),),
        tests(CLOCK),
    ),
    Mutant(
        "event_momentum_shift_ignored",
        "an event's momentum_shift is not applied",
        "sim/engine/model.py",
        (("self.battlefield.momentum[rows] += ev.momentum_shift", "pass"),),
        tests(CLOCK),
    ),
    Mutant(
        "give_up_counts_contacts",
        "the give-up rule counts contacts, not days",
        "sim/engine/mediator.py",
        (
            (
                "self.progress[idx] = np.where(banked, day, self.progress[idx])",
                "self.progress[idx] = np.where(banked, self.model.held[idx], self.progress[idx])",
            ),
            (
                "stop |= day - self.progress[idx] >= gu.after_stalled_days",
                "stop |= self.model.held[idx] - self.progress[idx] >= gu.after_stalled_days",
            ),
            (
                "stop |= day - self.since[idx] >= gu.after_days",
                "stop |= self.model.held[idx] - self.since[idx] >= gu.after_days",
            ),
            (
                "self.since[rows] = day\n        self.progress[rows] = day",
                "self.since[rows] = self.model.held[rows]\n"
                "        self.progress[rows] = self.model.held[rows]",
            ),
        ),
        tests(CLOCK),
    ),
    # ------------------------------------------------------------ counters and one view of the future
    Mutant(
        "counters_off",
        "no party ever tables a counter-proposal",
        "sim/engine/model.py",
        (("if p.spec.tables_counters:", "if False:"),),
        tests(COUNTERS, SCENARIOS),
    ),
    Mutant(
        "rebuild_valued_for_every_scope",
        "parties value the rebuild during any truce, not only one that closes the land front",
        "sim/engine/valuation.py",
        (
            ("per_rebuild = ww * closes * (", "per_rebuild = ww * ("),
            (
                "per_rebuild[k, o] = (ww * (1.0 if closes[o] else 0.0)) * (",
                "per_rebuild[k, o] = (ww * 1.0) * (",
            ),
        ),
        tests(OUTLOOK),
    ),
    Mutant(
        "carrot_paid_on_any_change",
        "once offered, a carrot's strength is paid to its target for any change of what is in force",
        "sim/engine/model.py",
        (
            (
                "return surpluses_at(values, self.space, idx, pkgs, self.inforce[idx], coefs)",
                "out = surpluses_at(values, self.space, idx, pkgs, self.inforce[idx], coefs)\n"
                "        cols = np.arange(self.space.n) if pkgs is None else pkgs\n"
                "        changed = cols != self.inforce[idx][:, None]\n"
                "        for j, lv in enumerate(self.levers.specs):\n"
                "            for i, party in enumerate(parties):\n"
                '                if lv.kind == "carrot" and self.levers.targets[j] is party:\n'
                "                    fired = (self.levers.uses[j, idx] > 0)[:, None]\n"
                "                    out[:, i] += lv.strength * fired * changed\n"
                "        return out",
            ),
        ),
        tests(MODEL, COUNTERS),
    ),
    Mutant(
        "war_valued_at_todays_balance",
        "the war after a truce (and at the status quo) is valued at the balance it starts from, held",
        "sim/engine/valuation.py",
        (
            ("+ b_all * (la * at_end + path.lb)", "+ b_all * at_end * left"),
            ("+ b_all * (la[k, o] * at_end + lb[k, o])", "+ b_all * at_end * left[k, o]"),
        ),
        tests(OUTLOOK),
    ),
    Mutant(
        "balance_frozen_in_truce",
        "the dynamics apply no rebuild during a truce that closes the land front",
        "sim/engine/dynamics.py",
        (("paused = m + dt * self.space.rebuild[inforce]", "paused = m"),),
        tests(OUTLOOK, CLOCK),
    ),
    Mutant(
        "tied_terms_outlive_lapse",
        "terms tied to a truce stay in force when it lapses or is broken",
        "sim/engine/outcomes.py",
        (("kept[:, self.tied] = 0", "pass"),),
        tests(OUTLOOK),
    ),
    Mutant(
        "last_class_rule_wins",
        "a package takes the last class rule it meets, not the first",
        "sim/engine/outcomes.py",
        (("out[(out < 0) & self.holds(cl.when)] = c", "out[self.holds(cl.when)] = c"),),
        tests(OUTLOOK, SCENARIOS),
    ),
]


# Further mechanisms the issues' tests guard (counters, sticks, hurt, extensions, the deadline).
EXTRA: list[Mutant] = [
    Mutant(
        "hurt_per_segment",
        "the war's hurt is added once per segment, not per day",
        "sim/engine/parties.py",
        (
            ("self.pain[idx] += days * hurt(", "self.pain[idx] += hurt("),
            ("add = days[k] * h", "add = h"),
        ),
        tests(MODEL, CLOCK),
    ),
    Mutant(
        "war_hurts_on_closed_fronts",
        "the war hurts on every front, also those a truce closes",
        "sim/engine/model.py",
        (
            (
                "open_fronts = ~self.space.closes[inforce]",
                "open_fronts = np.ones_like(self.space.closes[inforce])",
            ),
        ),
        tests(MODEL, CLOCK),
    ),
    Mutant(
        "rebuild_on_any_closed_front",
        "the dynamics apply the rebuild during any truce, not only one that closes the land front",
        "sim/engine/dynamics.py",
        (("closed = self.space.closes[inforce, self.front]", "closed = self.space.truce[inforce] > 0"),),
        tests(OUTLOOK, CLOCK),
    ),
    Mutant(
        "truce_always_extended",
        "a truce is extended at its end whatever the parties prefer",
        "sim/engine/model.py",
        (("keep &= ~p.required[pkg] | p.prefers(rows, pkg, lapsed, fresh=True, u=u[:, i])", "pass"),),
        tests(MODEL, CLOCK, OUTLOOK),
    ),
    Mutant(
        "truce_in_force_valued_fresh",
        "the truce in force is valued as if it had its full duration left",
        "sim/engine/valuation.py",  # the kernel the engine runs (``truce_lengths``)
        (("if not fresh and current > 0:", "if False and current > 0:"),),
        tests(MODEL, OUTLOOK, CLOCK),
    ),
    Mutant(
        "deadline_ignored",
        "the mediator talks past a declared deadline",
        "sim/engine/mediator.py",
        (("stop |= day >= deadline", "pass"),),
        tests(MODEL, CLOCK),
    ),
    Mutant(
        "zeuthen_wrong_party_concedes",
        "the counter of the party with the smaller risk limit stands",
        "sim/engine/counters.py",
        (("np.argmax(limit, axis=1), -1)", "np.argmin(limit, axis=1), -1)"),),
        tests(COUNTERS),
    ),
    Mutant(
        "counter_ignores_the_others",
        "a counter is the party's best package, whatever it believes the others accept",
        "sim/engine/parties.py",
        (
            ("allowed[:, cols] & mine & theirs", "allowed[:, cols] & mine"),
            ("if not (s - believed_margin[k, i] > 0):", "if False:"),
        ),
        tests(COUNTERS),
    ),
    Mutant(
        "counter_the_party_would_refuse",
        "a party may table a counter it would itself refuse",
        "sim/engine/parties.py",
        (
            ("allowed[:, cols] & mine & theirs", "allowed[:, cols] & theirs"),
            (
                "if not (own >= margin[k] and own > 0) or (best >= 0 and not own > best_own):",
                "if best >= 0 and not own > best_own:",
            ),
        ),
        tests(COUNTERS),
    ),
    Mutant(
        "refusal_teaches_nothing",
        "a refused text does not raise what the refusing party is believed to ask",
        "sim/engine/beliefs.py",
        (
            ("raised = np.maximum(off, gap + self.step)", "raised = off"),  # the readable path
            ("else most(off, gap + step)", "else off"),  # the kernel the engine runs (learnt_offsets)
        ),
        tests(COUNTERS, MODEL),
    ),
    Mutant(
        "stick_not_in_war_units",
        "a stick lowers the daily war value by its strength, not its share of that value",
        "sim/engine/dynamics.py",
        (("return lv.strength * abs(daily_war_value(sc, lv.target))", "return lv.strength"),),
        tests(MODEL),
    ),
    Mutant(
        "stick_phase_in_ignored",
        "a stick applies in full at once, whatever its phase-in days",
        "sim/engine/dynamics.py",
        (
            ('if lv.kind != "stick" or lv.phase_in_days == 0 or', 'if lv.kind != "stick" or True or'),
            ('if lv.kind == "stick" and lv.phase_in_days == 0:', 'if lv.kind == "stick":'),
        ),
        tests(MODEL),
    ),
    Mutant(
        "carrot_tabled_before_offered",
        "the mediator may table a carrot's packages before the lever fires",
        "sim/engine/mediator.py",
        (("ok &= ~locked", "pass"),),
        tests(MODEL),
    ),
]


class Stale(Exception):
    """A mutant's snippet no longer occurs exactly once: the code moved on, the mutant must too."""


def patched(text: str, mutant: Mutant) -> str:
    for old, new in mutant.edits:
        n = text.count(old)
        if n != 1:
            raise Stale(f"{mutant.name}: {mutant.file} holds {n} copies of {old!r} (one expected)")
        text = text.replace(old, new)
    return text


def copy_repo(dest: Path) -> None:
    """The files git tracks or would track, as they are in the working tree (mtimes kept)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        src = ROOT / os.fsdecode(raw)
        if not src.is_file():  # deleted in the working tree
            continue
        out = dest / os.fsdecode(raw)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, out)


def environment(copy: Path, scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(copy),
        NUMBA_CACHE_DIR=str(scratch / "numba"),
        PYTHONDONTWRITEBYTECODE="1",
        OMP_NUM_THREADS="1",
        MPLBACKEND="Agg",
    )
    return env


def pytest(copy: Path, env: dict[str, str], files: list[str], args: list[str], timeout: float):
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, *files]
    try:
        done = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, ""
    return done.returncode, done.stdout + done.stderr


def failures(output: str) -> list[str]:
    """Node ids of the tests pytest reports as failed or in error, in its order."""
    return re.findall(r"^(?:FAILED|ERROR) (\S+)", output, flags=re.M)


def verdict(rc: int | None, output: str) -> str:
    if rc is None:
        return "caught? (timed out)"
    if rc == 0:
        return "NOT caught"
    failed = failures(output)
    if failed:
        return failed[0].split(" - ")[0]
    return f"caught? (pytest exit {rc}: {output.strip().splitlines()[-1] if output.strip() else ''})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="mutants to run (default: all)")
    ap.add_argument("--all", action="store_true", help="also the further mutants (EXTRA)")
    ap.add_argument("--list", action="store_true", help="list the mutants and their test files")
    ap.add_argument("--no-baseline", action="store_true", help="skip the run on the unpatched copy")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per pytest run")
    args = ap.parse_args(argv)

    known = {m.name: m for m in [*MUTANTS, *EXTRA]}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        print(f"unknown mutant(s): {', '.join(unknown)}; --list shows them", file=sys.stderr)
        return 2
    chosen = [known[n] for n in args.names] if args.names else MUTANTS + (EXTRA if args.all else [])
    stale = []
    for m in chosen:  # check every patch before spending time on tests
        try:
            patched((ROOT / m.file).read_text(), m)
        except Stale as e:
            stale.append(str(e))
    for s in stale:
        print(f"stale: {s}", file=sys.stderr)
    if stale:
        return 2

    if args.list:
        for m in chosen:
            print(f"{m.name:32} {m.file:26} {', '.join(m.tests)}\n{'':32} {m.breaks}")
        return 0

    with tempfile.TemporaryDirectory(prefix="negsim-mutants-") as tmp:
        scratch = Path(tmp)
        copy = scratch / "repo"
        copy_repo(copy)
        env = environment(copy, scratch)
        where = subprocess.run(
            [sys.executable, "-c", "import sim; print(sim.__file__)"],
            env=env,
            cwd=scratch,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not where.startswith(str(copy)):
            print(f"the copy's sim is not the one imported ({where})", file=sys.stderr)
            return 2

        deselect: list[str] = []
        if not args.no_baseline:
            files = sorted({t for m in chosen for t in m.tests})
            t0 = time.perf_counter()
            rc, out = pytest(copy, env, files, [], args.timeout)
            broken = failures(out) if rc else []
            print(f"baseline (unpatched): {len(broken)} failing test(s) in {time.perf_counter() - t0:.0f} s")
            for b in broken:
                node = b.split(" - ")[0]
                print(f"  deselected: {node}")
                deselect += ["--deselect", node]

        rows = []
        for i, m in enumerate(chosen):
            target = copy / m.file
            original = target.read_text()
            stat = target.stat()
            target.write_text(patched(original, m))
            bump = stat.st_mtime + 10 + i  # a fresh mtime: no compiled cache of another version fits
            os.utime(target, (bump, bump))
            t0 = time.perf_counter()
            try:
                rc, out = pytest(copy, env, list(m.tests), ["-x", *deselect], args.timeout)
            finally:
                target.write_text(original)
                os.utime(target, (stat.st_atime, stat.st_mtime))
            secs = time.perf_counter() - t0
            rows.append((m.name, verdict(rc, out), secs))
            print(f"{m.name:32} {rows[-1][1]}  ({secs:.0f} s)", flush=True)

    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'mutant':{width}}  {'caught by (first failing test)':70}  seconds")
    for name, what, secs in rows:
        print(f"{name:{width}}  {what:70}  {secs:7.1f}")
    missed = [r for r in rows if r[1] == "NOT caught"]
    print(f"\n{len(rows) - len(missed)} of {len(rows)} caught")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
