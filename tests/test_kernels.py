"""The compiled kernels and the readable paths they stand for give the same bits.

* ``nash_pick`` (the mediator's proposal, one world at a time over its own candidates) and the
  array path (``Mediator.propose_arrays``: candidates, estimates on the union of columns,
  ``nash_choice``) pick the same text in every world and round of every bundled scenario, and on
  synthetic tables full of ties (the tie-breaks: larger total surplus, then the lower index).
* ``term_value`` (a package's terms summed on the fly, as every kernel sums them; ``term_sums``
  fills whole tables with it) equals the readable path (whole tables added issue by issue) bit for
  bit, on the bundled tables and on random ones: both start at 0 and add the issues in the
  scenario's order. The engine used to take a matrix product of weighted
  option values and option indicators: on the bundled tables it gives the same bits (checked here,
  so the change of order changed no output), but on random tables its last bits sometimes differ
  (BLAS chooses its own order of additions), so the reference now sums in the kernel's order.
* ``package_values`` (a package's value from the per-option coefficients, cell by cell) equals
  the readable gathers of ``Values.at`` bit for bit, for packages shared by every world, per world,
  and all of them, on random tables.
* ``counter_pick`` (a party's counter-proposal, one world at a time over its own extensions) and
  the array path (``Party.counter_arrays``: estimates on the union of the worlds' extensions,
  ``best_for_self``) table the same package in every world of every bundled scenario, and on
  coarse synthetic tables full of ties (the lower index wins).
* ``every_coefficient`` (``coefficient_sums`` of every valuer at one moment, one call, the row
  sums over fewer than 8 fronts added in NumPy's order, the daily values gathered by
  ``daily_at_zero``) and, over fewer than 4 fronts, ``coefficients_in_order`` (all of it in one
  pass, the sums over the fronts a truce leaves open added in order, as NumPy's matrix product adds
  so few) equal each valuer's readable ``Values.coefficients`` bit for bit, for 1 to 9 fronts and
  one world or many.
* ``truce_lengths`` (how long a truce of each option would run, world by world) and
  ``path_sums`` (the expected path's integrals, by the C library's expm1 as ``sim.engine.libm``)
  equal the readable
  ``truce_days`` and ``ExpectedPath.of`` bit for bit.
* ``extensions`` (a world's extensions of what is in force, counted up on the grid of options
  instead of scanning every package, as ``counter_pick`` now reads them) are the packages a scan
  keeps, in the same order.
* ``surplus_values`` (every valuer's surplus at one moment, one call) equals the readable
  differences of ``Values.at`` bit for bit on random tables.
* ``coefficient_sums`` (a valuer's per-option constants, cell by cell) equals the readable
  ``Values.coefficients`` bit for bit on random balances, pressures and truce lengths.
* ``aspirations`` and ``believed_aspirations`` (a party's margin and what a believer believes
  each party asks, world by world) equal the readable ``Party.margin`` and
  ``Beliefs.believed_margin`` bit for bit, with and without a deadline; ``sim.engine.libm``'s
  exp, expm1 and power are the C library's (``math``), element by element, broadcast as NumPy's.
* ``hurt_sums`` (the war's hurt added to a party's or a believer's pain, one world at a time)
  equals the readable ``pain[idx] += days * hurt(daily)`` bit for bit on random wars, pressures
  and open fronts, for 1 to 7 fronts (NumPy sums fewer than 8 terms in order, as the kernel does;
  from 8 fronts on the engine keeps NumPy's pairwise sums).
* ``learnt_offsets`` (a learner's whole update from the public answers, one call: its estimates,
  the margins it believes, the true ones where a leaders' call told them, the offsets raised or
  capped) leaves what ``Beliefs.learn`` leaves on the readable path.
* A whole run on the compiled paths and on the readable ones is the same to the last bit: the
  histories, every gain, every learner's offsets and believed pains, every party's pain, the
  daily series.
* numba is imported only when a kernel runs, never by ``import sim.cli``; compiled code is cached
  on disk, and a read-only install keeps its cache in the user's cache folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import party_raw, scenario_raw, write_toml

from sim.api import load_scenario
from sim.engine import jit
from sim.engine.counters import best_for_self
from sim.engine.mediator import Mediator, nash_choice, nash_pick
from sim.engine.model import NegotiationModel
from sim.engine.parties import (
    Party,
    counter_pick,
    draw_option_values,
    draw_weights,
    extensions,
    hurt,
    hurt_sums,
)
from sim.engine.valuation import (
    FEW_FRONTS,
    IN_ORDER,
    ExpectedPath,
    Values,
    coefficients_of,
    hold_side_by_side,
    side_by_side,
    term_tables,
    weigh,
)

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted((ROOT / "scenarios").glob("*.toml"))


def bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype=np.float64).tobytes()


# ---------------------------------------------------------------------------- the mediator's text


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_the_kernel_and_the_array_path_propose_the_same_texts(path, monkeypatch):
    sc = load_scenario(path)
    model = NegotiationModel(sc, replications=257, rng=7)
    compared = []

    def both(self, idx, day, moment=None):  # the kernel on the contact's shared moment, as the model runs it
        fast = nash_pick_of(self, idx, day, moment)
        ref = self.propose_arrays(idx, day)  # values on its own moment
        np.testing.assert_array_equal(fast, ref)
        compared.append(int((ref >= 0).sum()))
        return fast

    nash_pick_of = Mediator.propose
    monkeypatch.setattr(Mediator, "propose", both)
    model.run()
    assert sum(compared) > 0, "the mediator never proposed: nothing was compared"


def readable(monkeypatch) -> None:
    """Every agent on its readable array path: no kernel but the term sums."""
    for cls in (Mediator, Party, Values):
        monkeypatch.setattr(cls, "compiled", False)


# mediator_listens revises its tables as it goes; the baseline's parties table counters; a leaders'
# call tells the mediator the true margins in some worlds
@pytest.mark.parametrize("name", ["mediator_listens", "baseline", "leaders_call"])
def test_the_whole_run_is_the_same_on_either_path(name, monkeypatch):
    """Not only each proposal: the worlds' histories agree to the last bit of every gain, and what
    every learner learnt (its offsets), every party's pain and the daily series, to the last bit."""
    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    fast = NegotiationModel(sc, replications=300, rng=3).run()
    readable(monkeypatch)
    slow = NegotiationModel(sc, replications=300, rng=3).run()
    np.testing.assert_array_equal(fast.inforce, slow.inforce)
    np.testing.assert_array_equal(fast.class_by_day, slow.class_by_day)
    assert bits(fast.gain) == bits(slow.gain)
    for a, b in zip(
        [fast.mediator.beliefs, *fast.believers], [slow.mediator.beliefs, *slow.believers], strict=True
    ):
        assert bits(a.offset) == bits(b.offset) and bits(a.pain_hat) == bits(b.pain_hat)
    assert all(bits(p.pain) == bits(q.pain) for p, q in zip(fast.parties, slow.parties, strict=True))
    series = [m.datacollector.get_model_vars_dataframe().to_numpy(dtype=np.float64) for m in (fast, slow)]
    assert bits(series[0]) == bits(series[1])


def one_term_per_package(n_pkgs: int) -> tuple[np.ndarray, np.ndarray]:
    """Term columns that give package p the weighted value in column p (one permanent term issue
    with an option per package): any table of values per package, summed as 0 + value."""
    return np.arange(n_pkgs, dtype=np.int64)[:, None], np.zeros(1, dtype=np.bool_)


def reference_pick(packages, negotiable, required, inforce, text, reach, surplus):
    """The array path's rule on a bare table: Mediator.candidates, then nash_choice."""
    allowed = negotiable[None, :] & (packages[None, :, :] >= packages[inforce][:, None, :]).all(axis=2)
    allowed[np.arange(inforce.size), inforce] = False
    if reach >= 0:
        near = allowed & ((packages[None, :, :] != packages[text][:, None, :]).sum(axis=2) <= reach)
        allowed = np.where(near.any(axis=1, keepdims=True), near, allowed)
    return nash_choice(surplus, required, allowed)


@pytest.mark.parametrize("seed", range(12))
def test_the_kernel_breaks_ties_as_nash_choice_does(seed):
    """Coarse values (quarters) make equal Nash products, totals and shortfalls common."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 4, size=rng.integers(2, 5))
    packages = np.indices(sizes).reshape(len(sizes), -1).T.astype(np.int64)
    n_pkgs, n, r = len(packages), int(rng.integers(2, 5)), 40
    negotiable = rng.random(n_pkgs) < 0.8
    required = rng.random((n, n_pkgs)) < 0.7
    perm = rng.integers(-4, 5, size=(n, r, n_pkgs)) / 4
    margin = rng.integers(0, 3, size=(r, n)) / 4
    inforce = rng.integers(0, n_pkgs, size=r) * (rng.random(r) < 0.5)
    text = rng.integers(0, n_pkgs, size=r)
    strides = np.array([int(np.prod(sizes[j + 1 :])) for j in range(len(sizes))], dtype=np.int64)
    reach = int(rng.choice([-1, 0, 1, 2, 3]))
    zeros = np.zeros((r, n, 1))
    truce = np.zeros(n_pkgs, dtype=np.int64)
    rows = np.arange(r)
    got = nash_pick(
        rows, inforce, text, reach, packages, sizes.astype(np.int64), strides, negotiable, required, truce,
        np.zeros(n_pkgs), perm, np.zeros((n, n_pkgs)), *one_term_per_package(n_pkgs),
        np.zeros((r, 1)), zeros, zeros, np.zeros((r, n)), margin,
    )  # fmt: skip
    here = perm[:, rows, inforce]  # (n, r)
    surplus = (perm - here[:, :, None]).transpose(1, 0, 2) - margin[:, :, None]  # (r, n, P)
    want = reference_pick(packages, negotiable, required, inforce, text, reach, surplus)
    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------- counters


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_the_kernel_and_the_array_path_table_the_same_counters(path, monkeypatch):
    sc = load_scenario(path)
    if not any(p.tables_counters for p in sc.parties.values()):
        pytest.skip("no party tables counters here")
    model = NegotiationModel(sc, replications=257, rng=7)
    compared = []
    compiled = Party.counter_compiled

    def both(self, idx, day, moment=None):  # the kernel on the contact's shared moment, as the model runs it
        fast = compiled(self, idx, day, moment)
        np.testing.assert_array_equal(fast, self.counter_arrays(idx, day))  # values on its own moment
        compared.append(int((fast >= 0).sum()))
        return fast

    monkeypatch.setattr(Party, "counter_compiled", both)
    model.run()
    assert sum(compared) > 0, "no counter was tabled: nothing was compared"


def reference_counter(packages, negotiable, locked, red, required, inforce, me, surplus, margin, believed):
    """The array path's rule on a bare table: extensions, own and believed acceptance, best_for_self."""
    allowed = negotiable[None, :] & (packages[None, :, :] >= packages[inforce][:, None, :]).all(axis=2)
    allowed[np.arange(inforce.size), inforce] = False
    allowed &= ~locked
    others = required.copy()
    others[me] = False
    own = surplus[:, me]
    theirs = np.where(others[None], surplus - believed[:, :, None] > 0, True).all(axis=1)
    mine = (own >= margin[:, None]) & (own > 0) & ~red[None]
    return best_for_self(own, allowed & mine & theirs)


@pytest.mark.parametrize("seed", range(12))
def test_the_counter_kernel_breaks_ties_as_best_for_self_does(seed):
    """Coarse values (quarters) make equal own surpluses common: the lower index must win."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 4, size=rng.integers(2, 5))
    packages = np.indices(sizes).reshape(len(sizes), -1).T.astype(np.int64)
    n_pkgs, n, r = len(packages), int(rng.integers(2, 5)), 40
    me = int(rng.integers(0, n))
    negotiable = rng.random(n_pkgs) < 0.8
    red = rng.random(n_pkgs) < 0.15
    required = rng.random((n, n_pkgs)) < 0.7
    locked = rng.random((r, n_pkgs)) < 0.1
    perm = rng.integers(-4, 5, size=(n, r, n_pkgs)) / 4
    margin = rng.integers(0, 3, size=r) / 4
    believed = rng.integers(-1, 3, size=(r, n)) / 4
    inforce = rng.integers(0, n_pkgs, size=r) * (rng.random(r) < 0.5)
    rows = np.arange(r)
    zeros = np.zeros((r, n, 1))
    got = counter_pick(
        rows, inforce, me, packages, negotiable, locked, red, required, np.zeros(n_pkgs, dtype=np.int64),
        np.zeros(n_pkgs), perm, np.zeros((n, n_pkgs)), *one_term_per_package(n_pkgs),
        np.zeros((r, 1)), zeros, zeros, margin, believed,
    )  # fmt: skip
    surplus = (perm - perm[:, rows, inforce][:, :, None]).transpose(1, 0, 2)  # (r, n, P)
    want = reference_counter(
        packages, negotiable, locked, red, required, inforce, me, surplus, margin, believed
    )
    np.testing.assert_array_equal(got, want)
    assert (got >= 0).any()


@pytest.mark.parametrize("seed", range(12))
def test_the_extensions_counted_up_are_those_a_scan_of_every_package_keeps(seed):
    """``extensions`` against a scan of the whole grid: the same packages in the same order."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, size=rng.integers(1, 6))
    packages = np.indices(sizes).reshape(len(sizes), -1).T.astype(np.int64)
    negotiable = rng.random(len(packages)) < 0.8
    cand, digit = np.empty(len(packages), dtype=np.int64), np.empty(len(sizes), dtype=np.int64)
    for here in range(len(packages)):
        keeps = (packages >= packages[here]).all(axis=1) & negotiable
        keeps[here] = False
        count = extensions(packages, negotiable, here, digit, cand)
        np.testing.assert_array_equal(cand[:count], np.flatnonzero(keeps))


# ---------------------------------------------------------------------------- values of packages


def random_space(rng, P: int, n_opts: int):
    """An outcome space's arrays the valuation reads: P packages over k term issues of 2-4 options
    (some tied to the truce), each package's truce option and rebuild rate."""
    from types import SimpleNamespace

    sizes = rng.integers(2, 5, size=int(rng.integers(1, 5)))
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    columns = np.ascontiguousarray(np.stack([rng.integers(0, n, size=P) for n in sizes], axis=1) + offsets)
    return SimpleNamespace(
        n=P,
        truce=rng.integers(0, n_opts, size=P).astype(np.int64),
        rebuild=rng.normal(0, 0.01, size=P),
        term_columns=columns.astype(np.int64),
        tied_terms=rng.random(sizes.size) < 0.4,
    )


def random_values(rng, space, R: int) -> Values:
    J = int(space.term_columns.max()) + 1
    return Values(rng.normal(size=(R, J)), rng.normal(size=space.n), np.zeros((R, 1)), np.zeros(1))


@pytest.mark.parametrize("seed", range(8))
def test_package_values_equal_the_readable_gathers(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    R, P, n_opts, r = 50, int(rng.integers(5, 40)), int(rng.integers(1, 4)), 17
    space = random_space(rng, P, n_opts)
    values = random_values(rng, space, R)
    rows = np.sort(rng.choice(R, size=r, replace=False))
    shape = (r, n_opts)
    coef = (rng.uniform(size=shape), rng.normal(0, 9, size=shape), rng.normal(0, 3, size=shape))
    asked = [
        None,
        rng.integers(0, P, size=5),
        rng.integers(0, P, size=(r, 7)),
        rng.integers(0, P, size=(r, 1)),
    ]
    fast = [values.at(space, rows, pkgs, coef) for pkgs in asked]
    monkeypatch.setattr(Values, "compiled", False)
    slow = [values.at(space, rows, pkgs, coef) for pkgs in asked]
    for a, b in zip(fast, slow, strict=True):
        assert a.shape == b.shape
        assert bits(a) == bits(b)


def random_moment(path: Path):
    """A 60-world model of a bundled scenario and 40 of its worlds at a random moment: truce lengths
    none, short, at and past the window (the random stream goes on for the caller's draws)."""
    model = NegotiationModel(load_scenario(path), replications=60, rng=2)
    space, rng = model.space, np.random.default_rng(len(path.stem))
    rows = np.sort(rng.choice(60, size=40, replace=False))
    n_opts, n_fronts = len(space.options[space.truce_k]), len(space.fronts)
    days = rng.choice([0.0, 0.5, 7.0, 30.0, model.window, 3.0 * model.window], size=(40, n_opts))
    return model, space, rng, rows, days, n_fronts


@pytest.mark.parametrize("path", BUNDLED[:4], ids=lambda p: p.stem)
def test_coefficient_sums_equal_the_readable_coefficients(path, monkeypatch):
    """Random balances, pressures, war values and truce lengths (none, short, past the window)."""
    model, space, rng, rows, days, n_fronts = random_moment(path)
    m, shift = rng.normal(0, 0.3, size=40), rng.normal(0, 0.02, size=(40, n_fronts))
    got, want = [], []
    for party in model.parties:
        v = Values(party.values.weighted, party.values.inter, rng.normal(0, 0.05, size=(60, n_fronts)),
                   party.values.slope, float(rng.uniform(0.2, 1.0)))  # fmt: skip
        got.append(v.coefficients(space, rows, days, m, shift, model.window))
        monkeypatch.setattr(Values, "compiled", False)
        want.append(v.coefficients(space, rows, days, m, shift, model.window))
        monkeypatch.setattr(Values, "compiled", True)
    for a, b in zip(got, want, strict=True):
        for x, y in zip(a, b, strict=True):
            assert x.shape == y.shape and bits(x) == bits(y)


@pytest.mark.parametrize("deadline", [None, 40])
def test_the_margins_world_by_world_equal_the_readable_ones(deadline, make_scenario, monkeypatch):
    """A party's margin and a believer's believed margins on random pains (none, some, past the
    tolerance), offsets, times (before and past a deadline) and worlds a leaders' call informed."""
    from conftest import exact_party, random_issues, scenario_raw, uncertain

    rng = np.random.default_rng(7 if deadline is None else deadline)
    terms = random_issues(rng, (1, 3), (2, 3))
    parties = {pid: exact_party(rng, terms) for pid in ("a", "b", "c")}
    for party in parties.values():  # margins, tolerances and tactics that differ between worlds
        party["margin"], party["tolerance"] = uncertain(0.2, 0.05), uncertain(2.0, 0.5)
        party["concession"] = uncertain(1.0, 0.4)
    raw = scenario_raw(terms, parties, deadline=deadline, horizon=70)
    model = NegotiationModel(make_scenario(raw, f"deadline{deadline}"), replications=200, rng=3)
    beliefs = model.mediator.beliefs
    for party in model.parties:
        party.pain[:] = rng.choice([0.0, 0.3, 1.0, 20.0], size=200) * rng.uniform(0.5, 1.5, size=200)
    beliefs.pain_hat[:] = rng.uniform(0, 5, size=beliefs.pain_hat.shape)
    beliefs.offset[:] = rng.normal(0, 0.05, size=beliefs.offset.shape)
    beliefs.informed[:] = rng.random(200) < 0.2
    idx = np.sort(rng.choice(200, size=120, replace=False))
    day = rng.uniform(0, 80, size=120)
    got = [p.margin(idx, day) for p in model.parties] + [beliefs.believed_margin(idx, day)]
    monkeypatch.setattr(Party, "compiled", False)
    want = [p.margin(idx, day) for p in model.parties] + [beliefs.believed_margin(idx, day)]
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape and bits(a) == bits(b)


def test_libm_is_the_c_library_element_by_element():
    """``sim.engine.libm``: the ``math`` module's exp, expm1 and pow on every element, in the shape
    NumPy's ufuncs give (a scalar, a table, a broadcast pair), whatever loops NumPy has for the CPU."""
    import math

    from sim.engine import libm

    rng = np.random.default_rng(0)
    x = rng.uniform(-40, 5, size=(30, 7)) * 10.0 ** rng.integers(-6, 1, size=(30, 7))
    base, power = rng.uniform(0, 1.2, size=(30, 1)), rng.uniform(0, 9, size=7)
    for ours, theirs in ((libm.exp, math.exp), (libm.expm1, math.expm1)):
        want = np.array([[theirs(v) for v in row] for row in x])
        assert bits(ours(x)) == bits(want) and ours(x).shape == x.shape
        assert ours(0.25).shape == () and float(ours(0.25)) == theirs(0.25)
        assert bits(ours(x.T)) == bits(want.T)  # a strided view, element by element all the same
    want = np.array([[math.pow(b, p) for p in power] for b in base[:, 0]])
    got = libm.power(base, power)
    assert got.shape == (30, 7) and bits(got) == bits(want)
    assert float(libm.power(0.0, 2.5)) == 0.0 and float(libm.power(0.5, 0.0)) == 1.0


def test_least_and_most_are_numpys_minimum_and_maximum():
    """The learner's kernel caps and raises offsets as ``np.minimum`` and ``np.maximum`` do, to the
    sign of a zero and the nan: NumPy takes the second of two equal numbers."""
    from sim.engine.beliefs import least, most

    nan, inf = float("nan"), float("inf")
    pairs = [
        (0.0, -0.0),
        (-0.0, 0.0),
        (1.5, 1.5),
        (2.0, 3.0),
        (3.0, 2.0),
        (-inf, inf),
        (nan, 1.0),
        (1.0, nan),
    ]
    for a, b in pairs:
        for ours, theirs in ((least, np.minimum), (most, np.maximum)):
            got, want = ours(a, b), float(theirs(np.array([a]), np.array([b]))[0])
            assert (np.isnan(got) and np.isnan(want)) or bits(np.array(got)) == bits(np.array(want)), (a, b)


@pytest.mark.parametrize("compiled", [True, False])
def test_the_engine_never_asks_numpy_for_an_exponential_or_a_power(compiled, monkeypatch):
    """NumPy's exp, expm1 and power are the CPU's (see ``sim.engine.libm``): a whole run, compiled
    or on the readable path, with a truce, violations, events, levers and a trace, never calls them."""

    def refused(*args, **kwargs):
        raise AssertionError("the engine called one of NumPy's exponentials or powers")

    from sim.engine import warm

    warm.warm_up()  # numba reads NumPy's functions when it first loads a kernel: before they go
    sc = load_scenario(ROOT / "scenarios" / "leaders_call.toml")
    for flag in (Values, Party, Mediator):
        monkeypatch.setattr(flag, "compiled", compiled)
    for name in ("exp", "expm1", "power", "exp2", "log", "log1p"):
        monkeypatch.setattr(np, name, refused)
    model = NegotiationModel(sc, replications=40, rng=5, trace=3)
    model.run()
    assert model.counts["banked"].sum() > 0 and model.transcript


@pytest.mark.parametrize("by_world", [True, False], ids=["a believer's (R, n)", "the parties' (n, R)"])
@pytest.mark.parametrize("n_fronts", range(1, IN_ORDER))
def test_hurt_sums_equal_the_readable_hurt(n_fronts, by_world):
    """Wars over six orders of magnitude, so the order of the sums shows in the last bits; the pain
    of valuer 1 of three, held world by world (a believer's) or valuer by valuer (the parties')."""
    rng = np.random.default_rng(n_fronts)
    R, r, F = 300, 200, n_fronts
    war = rng.normal(0, 0.01, size=(R, F)) * 10.0 ** rng.integers(-3, 3, size=(R, F))
    values = Values(np.zeros((R, 1)), np.zeros(1), war, rng.normal(0, 0.01, size=F))
    shift = rng.normal(0, 0.003, size=(R, F))
    idx = np.sort(rng.choice(R, size=r, replace=False))
    days, m, open_fronts = rng.uniform(0, 2, size=r), rng.normal(0, 0.5, size=r), rng.random((r, F)) < 0.6
    fast = rng.uniform(0, 1, size=(R, 3))
    slow = fast.copy()
    if by_world:
        hurt_sums(fast, 1, True, war, values.slope, shift, idx, days, m, open_fronts)
    else:
        held = fast.T.copy()  # (3, R): valuer by valuer
        hurt_sums(held, 1, False, war, values.slope, shift, idx, days, m, open_fronts)
        fast = held.T
    slow[idx, 1] += days * hurt(values.daily(idx, m, shift[idx]), open_fronts)
    assert bits(fast) == bits(slow)


@pytest.mark.parametrize("path", BUNDLED[:6], ids=lambda p: p.stem)
def test_every_valuers_coefficients_in_one_call_equal_each_valuers_readable_ones(path, monkeypatch):
    """``coefficients_of`` (one kernel call for every valuer) against ``Values.coefficients`` of
    each valuer on the readable path, on random balances, pressures, war values and truce lengths."""
    model, space, rng, rows, days, n_fronts = random_moment(path)
    m = rng.normal(0, 0.3, size=40)
    path_ = ExpectedPath.of(space, days, m, model.window)
    war = [rng.normal(0, 0.05, size=(60, n_fronts)) for _ in model.parties]
    values = [
        Values(p.values.weighted, p.values.inter, w, p.values.slope, float(rng.uniform(0.2, 1.0)))
        for p, w in zip(model.parties, war, strict=True)
    ]
    shifts = [rng.normal(0, 0.02, size=(60, n_fronts)) for _ in values]
    assert_coefficients_as_readable(model, values, shifts, rows, days, m, path_, monkeypatch)


def assert_coefficients_as_readable(model, values, shifts, rows, days, m, path, monkeypatch) -> None:
    """``coefficients_of`` (every valuer in one call) equals each valuer's readable
    ``Values.coefficients`` bit for bit."""
    parties = [SimpleNamespace(shift=s) for s in shifts]  # the pressure each valuer's party is under
    frac, const, per_rebuild = coefficients_of(values, parties, model.space, rows, m, path, model.window)
    with monkeypatch.context() as patch:
        patch.setattr(Values, "compiled", False)
        for i, (v, shift) in enumerate(zip(values, shifts, strict=True)):
            want = v.coefficients(model.space, rows, days, m, shift[rows], model.window)
            for x, y in zip((frac, const[:, i], per_rebuild[:, i]), want, strict=True):
                assert x.shape == y.shape and bits(x) == bits(y), (rows.size, i)


@pytest.mark.parametrize("n_fronts", [1, 2, 3, 4, 5, 9])
def test_every_valuers_coefficients_equal_the_readable_ones_whatever_the_fronts_and_rows(
    n_fronts, make_scenario, monkeypatch
):
    """``coefficients_of`` against each valuer's readable ``Values.coefficients`` on a domain of
    1 to 9 fronts, for one world, two and many: below ``FEW_FRONTS`` one kernel adds every sum over
    fronts in order (NumPy's matrix product does the same there, one row or many); from it on the
    product stays NumPy's, whose matrix-vector routine (one row) may add in another order."""
    from conftest import CLOSES, exact_party, random_issues, scenario_raw, uncertain

    rng = np.random.default_rng(100 + n_fronts)
    terms = random_issues(rng, (1, 3), (2, 3))
    fronts = ["land", "energy", *(f"f{i}" for i in range(n_fronts - 2))][:n_fronts]
    parties = {}
    for pid in ("a", "b", "c"):
        party = exact_party(rng, terms)
        party["war"] = {
            f: uncertain(float(rng.normal(0, 0.01)), momentum=float(rng.normal(0, 0.01))) for f in fronts
        }
        parties[pid] = party
    raw = scenario_raw(terms, parties, tied=list(terms)[:1], momentum={"front": fronts[0], "reversion": 0.05})
    raw["fronts"] = {f: {"label": f} for f in fronts}
    raw["truce"]["closes"] = {k: [f for f in v if f in fronts] for k, v in CLOSES.items()}
    raw["truce"]["closes"]["full"] = list(fronts)
    model = NegotiationModel(make_scenario(raw, f"fronts{n_fronts}"), replications=60, rng=n_fronts)
    space = model.space
    n_opts = len(space.options[space.truce_k])
    for size in (1, 2, 40):
        rows = np.sort(rng.choice(60, size=size, replace=False))
        days = rng.choice([0.0, 0.5, 7.0, 30.0, model.window, 3.0 * model.window], size=(size, n_opts))
        m = rng.normal(0, 0.3, size=size)
        path = ExpectedPath.of(space, days, m, model.window)
        values = [
            Values(p.values.weighted, p.values.inter, rng.normal(0, 0.05, size=(60, n_fronts)) * 10.0
                   ** rng.integers(-3, 3, size=(60, n_fronts)), p.values.slope, float(rng.uniform(0.2, 1.0)))
            for p in model.parties
        ]  # fmt: skip
        shifts = [rng.normal(0, 0.02, size=(60, n_fronts)) for _ in values]
        assert_coefficients_as_readable(model, values, shifts, rows, days, m, path, monkeypatch)


@pytest.mark.parametrize("seed", range(4))
def test_a_matrix_product_adds_fewer_than_four_fronts_in_order(seed):
    """What ``coefficients_in_order`` rests on: with 0/1 factors (each product exact), NumPy's
    matrix product over 1 to 3 fronts adds them in order from 0, for one row or many and one truce
    option or many (BLAS's matrix-vector and matrix-matrix routines alike)."""
    rng = np.random.default_rng(seed)
    for n_fronts in range(1, FEW_FRONTS):
        for n_opts in range(1, 6):
            for r in (1, 2, 3, 7, 33, 600):
                a = rng.normal(size=(r, n_fronts)) * 10.0 ** rng.integers(-6, 6, size=(r, n_fronts))
                open_ = rng.random((n_opts, n_fronts)) < 0.5
                in_order = np.zeros((r, n_opts))
                for f in range(n_fronts):
                    in_order = in_order + a[:, f : f + 1] * open_[:, f]
                assert bits(a @ open_.T) == bits(in_order), (n_fronts, n_opts, r)


# the baseline's and kursk_momentum's balance reverts (the kernel's case); europe's does not
@pytest.mark.parametrize("name", ["baseline", "kursk_momentum", "europe"])
def test_the_truce_lengths_and_the_expected_path_equal_the_readable_ones(name, monkeypatch):
    """``truce_lengths`` and ``path_sums`` against ``truce_days`` and ``ExpectedPath.of`` on the
    readable path, with random truces in force, their ends (past, near, far) and the clock."""
    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    model = NegotiationModel(sc, replications=60, rng=2)
    space, rng = model.space, np.random.default_rng(len(name))
    model.inforce[:] = rng.integers(0, space.n, size=60)
    model.clock[:] = rng.uniform(0, 100, size=60)
    model.truces.end[:] = model.clock + rng.choice([-3.0, 0.0, 0.25, 12.5, 40.0, np.inf], size=60)
    rows = np.sort(rng.choice(60, size=40, replace=False))
    fast = [model.truce_days(rows, fresh) for fresh in (False, True)]
    paths = [ExpectedPath.of(space, days, None, model.window) for days in fast]
    monkeypatch.setattr(Values, "compiled", False)
    slow = [model.truce_days(rows, fresh) for fresh in (False, True)]
    for a, b in zip(fast, slow, strict=True):
        assert bits(a) == bits(b)
    for got, days in zip(paths, slow, strict=True):
        want = ExpectedPath.of(space, days, None, model.window)
        for name in ("days", "during", "frac", "left", "ia", "ib", "g", "h", "la", "lb"):
            assert bits(getattr(got, name)) == bits(getattr(want, name)), name


@pytest.mark.parametrize("seed", range(6))
def test_every_valuers_surplus_in_one_call_equals_the_readable_differences(seed, monkeypatch):
    from sim.engine.valuation import surpluses_at

    rng = np.random.default_rng(seed)
    R, P, n_opts, r, n = 30, int(rng.integers(5, 40)), int(rng.integers(1, 4)), 11, int(rng.integers(1, 5))
    space = random_space(rng, P, n_opts)
    values = [random_values(rng, space, R) for _ in range(n)]
    rows = np.sort(rng.choice(R, size=r, replace=False))
    here = rng.integers(0, P, size=r)
    frac = rng.uniform(size=(r, n_opts))
    coefs = (frac, rng.normal(0, 9, size=(r, n, n_opts)), rng.normal(0, 3, size=(r, n, n_opts)))
    asked = [None, rng.integers(0, P, size=5), rng.integers(0, P, size=(r, 7))]
    fast = [surpluses_at(values, space, rows, pkgs, here, coefs) for pkgs in asked]
    monkeypatch.setattr(Values, "compiled", False)
    slow = [surpluses_at(values, space, rows, pkgs, here, coefs) for pkgs in asked]
    for a, b in zip(fast, slow, strict=True):
        assert a.shape == b.shape
        assert bits(a) == bits(b)


def test_a_group_of_valuers_is_passed_as_the_array_its_tables_are_rows_of():
    """``hold_side_by_side`` re-holds each owner's table as a row of one array, and
    ``side_by_side`` hands the kernels that very array (no copy: a kernel writes through it, and an
    owner's revision in place is the kernel's), but only for the owners held together, in their
    order, each still holding its row: any other group gets a stacked copy, so a kernel never
    reads one valuer's row as another's."""
    rng = np.random.default_rng(0)
    owners = [Values(rng.random((5, 3)), rng.random(4), rng.random((5, 2)), rng.random(2)) for _ in range(3)]
    before = [v.weighted.copy() for v in owners]
    held = hold_side_by_side(owners, ("weighted", "war"))
    for i, v in enumerate(owners):
        assert bits(v.weighted) == bits(before[i]) and v.weighted.base is held["weighted"]
    weighted, war = side_by_side(owners, "weighted", "war")
    assert weighted is held["weighted"] and war is held["war"] and weighted.flags.c_contiguous
    owners[1].weighted[2] += 1.0  # a revision in place is seen through the array
    assert bits(weighted[1]) == bits(owners[1].weighted)
    swapped = side_by_side([owners[1], owners[0], owners[2]], "weighted")
    assert swapped is not weighted and bits(swapped[0]) == bits(owners[1].weighted)
    pair = side_by_side(owners[:2], "weighted")  # not the whole group: a copy
    assert pair.shape == (2, 5, 3) and not np.shares_memory(pair, weighted)
    one = side_by_side(owners[2:], "war")  # one valuer: a view of its table
    assert one.shape == (1, 5, 2) and np.shares_memory(one, war)
    inter = side_by_side(owners, "inter")  # a table not held side by side
    assert not np.shares_memory(inter, owners[0].inter)
    assert bits(inter) == bits(np.stack([v.inter for v in owners]))
    owners[0].war = rng.random((5, 2))  # a table held anew: the group is no longer its rows
    assert bits(side_by_side(owners, "war")[0]) == bits(owners[0].war)


# ---------------------------------------------------------------------------- term sums


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_term_sums_equal_the_readable_sums_and_the_matrix_product_on_the_bundled_tables(path):
    sc = load_scenario(path)
    model = NegotiationModel(sc, replications=500, rng=1)
    space = model.space
    for party in model.parties:
        spec = party.spec
        terms = [space.issues[k] for k in space.term_ks]
        rng = np.random.default_rng(5)
        weights = draw_weights(rng, np.array([spec.positions[i].weight for i in terms]), 40.0, 500)
        values = [
            draw_option_values(
                rng, np.array([spec.positions[i].values[o] for o in sc.issues[i].options]), 0.1, 500
            )
            for i in terms
        ]
        inter = space.interaction_vector(spec)
        fast = term_tables(space, weigh(weights, values), inter, compiled=True)
        slow = term_tables(space, weigh(weights, values), inter, compiled=False)
        product = matrix_product(space, weights, values, inter)
        for a, b, c in zip(fast, slow, product, strict=True):
            assert bits(a) == bits(b) == bits(c), party.pid
        # the party's own drawn values: the kernels' sums are the readable tables
        own = party.values
        for a, b in zip(
            own.tables(space, np.arange(500)), term_tables(space, own.weighted, own.inter), strict=True
        ):
            assert bits(a) == bits(b), party.pid


def matrix_product(space, weights, values, interactions):
    """The term tables as the engine computed them before the kernel: one matrix product per kind
    of term, weighted option values (R, options) times the packages' option indicators."""
    weighted = np.concatenate([weights[:, i : i + 1] * v for i, v in enumerate(values)], axis=1)
    rows = [(k, o) for k in space.term_ks for o in range(len(space.options[k]))]
    ind = np.array([space.packages[:, k] == o for k, o in rows], dtype=np.float64)
    tied = np.array([space.tied[k] for k, _ in rows])
    return weighted @ (ind * ~tied[:, None]) + interactions, weighted @ (ind * tied[:, None])


@pytest.mark.parametrize("seed", range(20))
def test_term_sums_equal_the_readable_sums_on_random_tables(seed, make_scenario):
    from conftest import exact_party, random_issues, scenario_raw

    rng = np.random.default_rng(seed)
    terms = random_issues(rng, (1, 5), (2, 5))
    tied = [i for i in terms if rng.random() < 0.3]
    raw = scenario_raw(terms, {"a": exact_party(rng, terms), "b": exact_party(rng, terms)}, tied=tied)
    sc = make_scenario(raw)
    model = NegotiationModel(sc, replications=1, rng=seed)
    space = model.space
    R = 300
    weights = rng.dirichlet(np.ones(len(space.term_ks)), size=R) * rng.uniform(0.1, 10)
    values = [rng.normal(0, 3, size=(R, len(space.options[k]))) for k in space.term_ks]
    inter = rng.normal(0, 1, size=space.n)
    fast = term_tables(space, weigh(weights, values), inter, compiled=True)
    slow = term_tables(space, weigh(weights, values), inter, compiled=False)
    assert bits(fast[0]) == bits(slow[0])
    assert bits(fast[1]) == bits(slow[1])


# ---------------------------------------------------------------------------- numba, lazily


def run_python(code: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    full = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=full, capture_output=True, text=True, timeout=300
    )


def test_importing_the_command_line_does_not_import_numba():
    proc = run_python("import sys, sim.cli, sim.api; print('numba' in sys.modules)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_kernels_are_cached_on_disk_and_loaded_by_the_next_process(tmp_path):
    cache = tmp_path / "numba"
    code = "from sim.engine import warm; warm.warm_up()"
    first = run_python(code, NUMBA_CACHE_DIR=str(cache))
    assert first.returncode == 0, first.stderr
    files = {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()}
    assert any(p.suffix == ".nbi" for p in files) and any(p.suffix == ".nbc" for p in files)
    second = run_python(code, NUMBA_CACHE_DIR=str(cache))
    assert second.returncode == 0, second.stderr
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()} == files, "compiled again"


def test_the_warm_up_takes_all_or_nothing_else():
    """``python -m sim.engine.warm`` takes ``--all`` or no argument; anything else is one line on
    stderr and exit code 2, before any kernel is compiled."""
    bad = run_python("import sys; from sim.engine import warm; sys.exit(warm.main(['--al']))")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().count("\n") == 0 and "--all" in bad.stderr


def party_tables(n: int) -> dict:
    """A scenario of n parties over two fronts in which every kernel runs: the first party tables
    counters (a believer) and wants the aid off, which the others want on, and asks for more."""
    terms = {"prisoners": ["none", "some", "all"], "aid": ["on", "less", "off"]}
    aid = {"on": 1.0, "less": 0.6, "off": 0.0}
    parties = {
        f"p{i}": party_raw(
            {"prisoners": 0.5, "aid": 0.5},
            {"prisoners": {"none": 0.0, "some": 0.3, "all": 0.6}, "aid": {k: 1.0 - v for k, v in aid.items()}}
            if i == 0
            else {"prisoners": {"none": 0.0, "some": 0.3, "all": 0.6}, "aid": aid},
            war={"land": -0.002, "energy": -0.001},
            margin=0.2 if i == 0 else 0.05,
            **({"counters": {"tables": True, "assumption": "chosen for the test"}} if i == 0 else {}),
        )
        for i in range(n)
    }
    return scenario_raw(terms, parties, replications=48, value_sd=0.1)


def test_after_the_warm_up_no_scenario_compiles_a_kernel_whatever_its_number_of_parties(tmp_path):
    """``python -m sim.engine.warm`` runs before worker processes start: it must compile every
    version of every kernel the engine runs (each array layout), or each worker compiles it again
    from cold. A group of valuers is passed as arrays side by side, so one version serves any
    number of parties: files of 2 and 6 parties compile nothing either."""
    cache = tmp_path / "numba"
    warm = run_python("from sim.engine import warm; warm.warm_up()", NUMBA_CACHE_DIR=str(cache))
    assert warm.returncode == 0, warm.stderr
    before = {p.name for p in cache.rglob("*") if p.is_file()}
    files = [write_toml(tmp_path / f"parties_{n}.toml", party_tables(n)) for n in (2, 6)]
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from sim.scenario import load_scenario\n"
        "from sim.experiments.chunks import run_chunk\n"
        "for f in [*sorted(Path('scenarios').glob('*.toml')), *map(Path, sys.argv[1:])]:\n"
        "    run_chunk(load_scenario(f), 1, 0, 48)\n"
    )
    run = run_python(code, *map(str, files), NUMBA_CACHE_DIR=str(cache))
    assert run.returncode == 0, run.stderr
    added = {p.name for p in cache.rglob("*") if p.is_file()} - before
    assert not added, f"compiled after the warm-up: {sorted(added)}"


def test_the_cache_folder_of_a_read_only_install(tmp_path, monkeypatch):
    pkg = tmp_path / "site-packages" / "sim" / "engine"
    pkg.mkdir(parents=True)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert jit.cache_dir(pkg, env) is None  # writable: numba's own place, beside the module
    assert jit.cache_dir(pkg, env | {"NUMBA_CACHE_DIR": "/somewhere"}) == "/somewhere"
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as a non-root user would see it
    assert jit.cache_dir(pkg, env) == str(tmp_path / "cache" / "negsim" / "numba")
