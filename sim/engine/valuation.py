"""What a package is worth: its terms plus the war it leaves running, over a valuation window.

There is no free-standing reservation value. No deal is the value of what is in force (at first the
status quo: nothing agreed, the war on every front). A package whose truce runs d more days is worth,
over a window of W days from now:

    terms(p; d)                                         the terms, by the rule below
  + integral over [0, min(d, W)] of the war on the fronts the truce leaves open
  + integral over [d, W] of the war on every front, once the truce has ended

where the daily value of fighting on front f is v_f(m) = a_f + shift_f + b_f * m at balance of
power m. **One view of the future**: the balance in these integrals is the path the battlefield's own
rules produce with the noise off (:class:`Outlook`), under the conditions in which the dynamics apply
them (:class:`sim.engine.dynamics.Battlefield`):

- while the momentum's front is open (no truce, or a truce that leaves it open), the mean of the
  Ornstein-Uhlenbeck process, m(t) = mu + (m0 - mu) e^{-k t} with mu = drift / k (m0 + drift t at
  k = 0);
- while a truce closes that front, the linear rebuild of the package, m(t) = m0 + rebuild(p) t (a
  side free to mobilize, train and receive weapons recovers); a truce that leaves the front open
  moves the balance by the fighting, not by the rebuild;
- after the truce, the Ornstein-Uhlenbeck mean again, from the balance expected at its end.

Since v_f is linear in m, the expected value of the war is the war valued on the expected path. The
war at the status quo is valued on the same path as the war after a truce, so no package gains or
loses by a difference of outlook: the only shift of power a truce brings is the one the dynamics
apply. Valuing the truce with the balance expected at its end is the commitment problem of Fearon
(1995), "Rationalist explanations for war", International Organization 49(3): a temporary pause
shifts power, and the side that loses by the shift discounts the pause.

**How long terms count** (one rule for every valuer: parties, their veto players and the mediator's
estimates). Option values are worth per window. A permanent term (a prisoner exchange carried out, a
withdrawal) counts in full. A term tied to the truce (it ends with it) counts for the share of the
window the truce covers, min(d, W) / W, and the status quo's option of that issue for the rest: a
30-day freeze weighs 30/90 of its weight in a 90-day window. When a truce lapses or is broken, its
tied terms end with it (``OutcomeSpace.lapse``), so they never count beyond it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine import libm
from sim.engine.jit import kernel
from sim.engine.outcomes import STATUS_QUO, OutcomeSpace

IN_ORDER = 8  # NumPy sums fewer terms than this from 0 in order (from 8 on, pairwise)
# A matrix product over fewer fronts than this adds them in order from 0, in BLAS's matrix-vector
# routine (one row, or one truce option) as in its matrix-matrix one; from 4 on the former may not.
FEW_FRONTS = 4


@dataclass(frozen=True)
class Outlook:
    """The expected path of the balance of power while the momentum's front is fought over: the
    mean of dm = (drift - k m) dt + noise dW, the same process :class:`Battlefield` steps exactly.

    Each quantity is linear in the starting balance m0, so it is given as (slope in m0, constant).
    """

    drift: float
    reversion: float

    @classmethod
    def of(cls, space: OutcomeSpace) -> Outlook:
        mo = space.scenario.dynamics.momentum
        return cls(mo.drift, mo.reversion)

    def end(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """E[m(t)] = g m0 + h: (g, h)."""
        k = self.reversion
        if k == 0:
            return np.ones_like(t), self.drift * t
        grown = -libm.expm1(-k * t)  # 1 - e^{-k t}
        return 1.0 - grown, (self.drift / k) * grown

    def integral(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The integral of E[m(s)] over s in [0, t] = a m0 + b: (a, b)."""
        k = self.reversion
        if k == 0:
            return t.copy(), 0.5 * self.drift * t * t
        a = -libm.expm1(-k * t) / k
        return a, (self.drift / k) * (t - a)

    def truce_end(
        self, m: np.ndarray, days: np.ndarray, closes_front: np.ndarray, rebuild: np.ndarray
    ) -> np.ndarray:
        """The balance expected when a truce of ``days`` ends: the rebuild where the truce closes the
        momentum's front, the fighting's mean path where it does not."""
        g, h = self.end(days)
        return np.where(closes_front, m + rebuild * days, g * m + h)


class ExpectedPath:
    """The expected path of the balance over the valuation window, per world and truce option
    (r, O), for truces of ``days`` from now: what every valuer's coefficients share at one moment.

    ``during``: the truce's days within the window (``frac`` of it), ``left``: the window's days
    after it; ``ia, ib``: the integral of the balance over ``during`` while fought over
    (``Outlook.integral``), ``g, h``: the balance expected at the truce's end if fought over
    (``Outlook.end``), ``la, lb``: the integral over ``left`` from there.
    """

    FIELDS = ("days", "during", "frac", "left", "ia", "ib", "g", "h", "la", "lb")
    __slots__ = ("stack",)

    def __init__(self, stack: np.ndarray) -> None:
        self.stack = stack  # (10, r, O) in the order of FIELDS: one array, so a subset is one take

    days = property(lambda self: self.stack[0])
    during = property(lambda self: self.stack[1])
    frac = property(lambda self: self.stack[2])
    left = property(lambda self: self.stack[3])
    ia = property(lambda self: self.stack[4])
    ib = property(lambda self: self.stack[5])
    g = property(lambda self: self.stack[6])
    h = property(lambda self: self.stack[7])
    la = property(lambda self: self.stack[8])
    lb = property(lambda self: self.stack[9])

    def take(self, sel: np.ndarray) -> ExpectedPath:
        """The path of the worlds ``sel`` (a mask or positions) picks: every quantity is computed
        cell by cell, so it is the path those worlds alone would have."""
        at = np.flatnonzero(sel) if sel.dtype == np.bool_ else sel
        return ExpectedPath(self.stack.take(at, axis=1))  # C-ordered, as the kernels are compiled for

    @classmethod
    def of(cls, space: OutcomeSpace, days: np.ndarray, m: np.ndarray, window: int) -> ExpectedPath:
        days = days.astype(np.float64)
        during = np.minimum(days, window)
        left = np.maximum(window - days, 0.0)
        outlook = Outlook.of(space)
        k = outlook.reversion
        if Values.compiled and k != 0:  # the same operations, cell by cell, in one call
            stack = np.empty((10, *days.shape))
            stack[0], stack[1], stack[3] = days, during, left
            stack[PATH_SUMS] = path_sums(during, days, left, float(window), outlook.drift, k)
            return cls(stack)
        ia, ib = outlook.integral(during)
        g, h = outlook.end(days)
        la, lb = outlook.integral(left)
        return cls(np.stack([days, during, during / window, left, ia, ib, g, h, la, lb]))


# where ``path_sums``' seven quantities go in the path's stack
PATH_SUMS = [ExpectedPath.FIELDS.index(f) for f in ("frac", "ia", "ib", "g", "h", "la", "lb")]


Moment = tuple[np.ndarray, ExpectedPath]  # the balance in some worlds now and its expected path


def taken(moment: Moment | None, sel: np.ndarray) -> Moment | None:
    """The moment of the worlds ``sel`` picks among those it was computed for (every quantity is
    computed cell by cell, so the same numbers those worlds alone would get); None stays None."""
    return None if moment is None else (moment[0][sel], moment[1].take(sel))


@kernel
def path_sums(during, days, left, window, drift, k):  # fmt: skip
    """Kernel of ``ExpectedPath.of`` at a reversion k != 0: ``frac``, ``ia``, ``ib``, ``g``,
    ``h``, ``la``, ``lb`` (7, r, O) cell by cell, with ``Outlook.integral`` and ``Outlook.end``'s
    operations in their order (``expm1`` the C library's, as ``sim.engine.libm`` computes it)."""
    out = np.empty((7, during.shape[0], during.shape[1]))
    c = drift / k
    for r in range(during.shape[0]):
        for o in range(during.shape[1]):
            out[0, r, o] = during[r, o] / window
            a = -math.expm1(-k * during[r, o]) / k
            out[1, r, o], out[2, r, o] = a, c * (during[r, o] - a)
            grown = -math.expm1(-k * days[r, o])
            out[3, r, o], out[4, r, o] = 1.0 - grown, c * grown
            a = -math.expm1(-k * left[r, o]) / k
            out[5, r, o], out[6, r, o] = a, c * (left[r, o] - a)
    return out


@dataclass
class Values:
    """One valuer's parameters over worlds.

    weighted (R, J): each term option's value times its issue's salience weight, the term issues'
    options laid end to end (``OutcomeSpace.term_columns`` names a package's column on each).
    inter (P,): the interaction terms each package triggers (they count as permanent).
    war (R, F): daily value of fighting on each front at a balance of 0.
    slope (F,): how each front's daily value moves per unit of the balance.
    war_weight: how much of the war's part counts (a veto player may count less).

    A package's terms are summed when asked, a few options per package (``term_value``), never held
    as (R, P) tables: a valuer costs R x J numbers, not 2 x R x P.
    """

    weighted: np.ndarray
    inter: np.ndarray
    war: np.ndarray
    slope: np.ndarray
    war_weight: float = 1.0
    _slopes: tuple = field(default=(), init=False, repr=False, compare=False)  # see ``slopes``
    _layout: tuple = field(default=(), init=False, repr=False, compare=False)  # see ``laid_out``
    held: tuple | None = field(default=None, init=False, repr=False, compare=False)  # hold_side_by_side

    def tables(self, space: OutcomeSpace, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(r, P) permanent and tied term values of every package in worlds ``rows``: the readable
        reference for what the kernels sum one package at a time."""
        return term_tables(space, self.weighted[rows], self.inter, compiled=False)

    def terms_of(self, space: OutcomeSpace, rows: np.ndarray, pkg: int) -> tuple[np.ndarray, np.ndarray]:
        """(r,) permanent and tied term values of package ``pkg`` in worlds ``rows``, summed from 0 in
        the order of the term issues, as ``term_value`` sums them."""
        perm, tied = np.zeros(rows.size), np.zeros(rows.size)
        for i, col in enumerate(space.term_columns[pkg]):
            if space.tied_terms[i]:
                tied += self.weighted[rows, col]
            else:
                perm += self.weighted[rows, col]
        return perm + self.inter[pkg], tied

    def laid_out(self) -> bool:
        """Whether the tables are laid out as the kernels are compiled for (``compilable``): known
        once for the arrays held (a table is revised in place, never laid out anew)."""
        held = (id(self.weighted), id(self.inter), id(self.war))
        if not self._layout or self._layout[0] != held:
            self._layout = (held, compilable(self.weighted, self.inter, self.war))
        return self._layout[1]

    def slopes(self, space: OutcomeSpace) -> tuple[np.ndarray, float]:
        """(O,) the slope of the fronts each truce option leaves open, and the slope of every front:
        ``Values.coefficients``'s ``b_open`` and ``b_all``, by the same NumPy expressions, kept
        since the slopes never change (asked again for another outcome space)."""
        if not self._slopes or self._slopes[0] is not space:
            self._slopes = (space, space.open_by_option @ self.slope, float(self.slope.sum()))
        return self._slopes[1], self._slopes[2]

    def daily(self, rows: np.ndarray, m: np.ndarray, shift: np.ndarray) -> np.ndarray:
        """(r, F) daily value of fighting on each front now."""
        return self.war[rows] + shift + m[:, None] * self.slope

    def coefficients(
        self,
        space: OutcomeSpace,
        rows: np.ndarray,
        days: np.ndarray,
        m: np.ndarray,
        shift: np.ndarray,
        window: int,
        path: ExpectedPath | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per truce option (r, O): the share of the window the tied terms hold (``frac``), the
        value of everything but the terms and the rebuild (``const``), and the value of a unit of
        rebuild rate (``per_rebuild``). A package p with truce option o is then worth

            perm[p] + frac[o] * tied[p] + const[o] + per_rebuild[o] * rebuild[p]

        (added in that order: the compiled kernels add in the same order, so the bits agree).
        ``path``: the expected path over these ``days`` (``ExpectedPath.of``), when already computed for
        another valuer (it is the same for every valuer at one moment).
        """
        path = path if path is not None else ExpectedPath.of(space, days, m, window)
        closes = space.closes_momentum_by_option  # (O,) the truce stops the fighting that moves m
        a = self.war[rows] + shift  # (r, F) daily values at a balance of 0
        b_open = space.open_by_option @ self.slope  # (O,) slope of the fronts a truce leaves open
        b_all = self.slope.sum()
        a_open, a_all = a @ space.open_by_option.T, a.sum(axis=1)
        ww = self.war_weight
        if self.compiled:  # the status quo's tied terms summed in the kernel, as terms_of sums them
            const, per_rebuild = np.empty(path.days.shape), np.empty(path.days.shape)
            coefficient_sums(
                path.during, path.frac, path.left, path.ia, path.ib, path.g, path.h, path.la, path.lb,
                path.days, m, a_open, a_all, b_open, float(b_all), closes, self.weighted, self.inter,
                space.term_columns, space.tied_terms, np.asarray(rows, dtype=np.int64), float(ww),
                const, per_rebuild,
            )  # fmt: skip
            return path.frac, const, per_rebuild
        status_quo = self.terms_of(space, rows, STATUS_QUO)[1]
        during, frac, left, la, mm = path.during, path.frac, path.left, path.la, m[:, None]
        balance_during = np.where(closes, mm * during, path.ia * mm + path.ib)  # without the rebuild
        at_end = np.where(closes, mm, path.g * mm + path.h)
        war = (
            a_open * during
            + b_open * balance_during
            + a_all[:, None] * left
            + b_all * (la * at_end + path.lb)
        )
        const = (1.0 - frac) * status_quo[:, None] + ww * war
        # d/d(rebuild) of the war: the balance moves by rebuild * t during the truce, ends rebuild * d
        # further, and reverts from there; only where the truce closes the momentum's front.
        per_rebuild = ww * closes * (b_open * 0.5 * during * during + b_all * la * path.days)
        return frac, const, per_rebuild

    compiled = True  # False: the readable gathers below (the reference the kernel must match)

    def of(
        self,
        space: OutcomeSpace,
        rows: np.ndarray,
        pkgs: np.ndarray | None,
        days: np.ndarray,
        m: np.ndarray,
        shift: np.ndarray,
        window: int,
    ) -> np.ndarray:
        """(r, C) value of packages ``pkgs`` (r, C; or (C,) the same in every world; None: every
        package) in worlds ``rows``.

        ``days`` (r, O) is how long a truce of each truce option would run from now (0 for none),
        ``m`` (r,) the balance of power now, ``shift`` (r, F) the pressure on each front's value.
        The war during a truce depends only on its option, so it is computed per option and looked up.
        """
        coef = self.coefficients(space, rows, days, m, shift, window)
        return self.at(space, rows, pkgs, coef)

    def at(
        self,
        space: OutcomeSpace,
        rows: np.ndarray,
        pkgs: np.ndarray | None,
        coef: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> np.ndarray:
        """(r, C) value of packages ``pkgs`` (as in ``of``) from the per-option coefficients
        ``coef`` of ``coefficients``: perm + frac * tied + const + per_rebuild * rebuild, each cell
        looked up. Compiled (``package_values``), one world and package at a time; else the same
        sums over gathered arrays."""
        frac, const, per_rebuild = coef
        if self.compiled:
            shared = pkgs is None or pkgs.ndim == 1
            cols = np.arange(space.n) if pkgs is None else pkgs
            return package_values(
                self.weighted, self.inter, space.term_columns, space.tied_terms,
                np.asarray(rows, dtype=np.int64),
                np.asarray(cols[None, :] if shared else cols, dtype=np.int64),
                space.truce, space.rebuild, frac, const, per_rebuild,
            )  # fmt: skip
        perm, tied = self.tables(space, rows)
        if pkgs is None or pkgs.ndim == 1:  # the same packages (columns) in every world
            cols = np.arange(space.n) if pkgs is None else pkgs
            opt = space.truce[cols]
            return (
                perm[:, cols]
                + frac[:, opt] * tied[:, cols]
                + const[:, opt]
                + per_rebuild[:, opt] * space.rebuild[cols]
            )
        # Different packages in each world: gather the cells asked for.
        opt = space.truce[pkgs]

        def take(x: np.ndarray) -> np.ndarray:
            return np.take_along_axis(x, opt, axis=1)

        return (
            np.take_along_axis(perm, pkgs, axis=1)
            + take(frac) * np.take_along_axis(tied, pkgs, axis=1)
            + take(const)
            + take(per_rebuild) * space.rebuild[pkgs]
        )


@kernel
def term_value(weighted, inter, columns, tied, r, p):  # fmt: skip
    """The permanent and tied term values of package ``p`` in world ``r``: its option's weighted
    value on each term issue (``columns[p]``), summed from 0 in the scenario's order of issues, the
    interactions added to the permanent part (the order ``term_tables`` fixes)."""
    a = 0.0
    b = 0.0
    for i in range(columns.shape[1]):
        if tied[i]:
            b += weighted[r, columns[p, i]]
        else:
            a += weighted[r, columns[p, i]]
    return a + inter[p], b


@kernel
def package_values(
    weighted, inter, columns, tied, rows, pkgs, truce, rebuild, frac, const, per_rebuild,
):  # fmt: skip
    """Kernel of ``Values.at``: (r, C) the value of package ``pkgs[k, c]`` (or ``pkgs[0, c]`` in
    every world when ``pkgs`` has one row) in world ``rows[k]``, its terms summed on the fly
    (``term_value``) and added in the readable path's order."""
    n_rows, n_cols = rows.size, pkgs.shape[1]
    out = np.empty((n_rows, n_cols))
    shared = pkgs.shape[0] != n_rows
    for k in range(n_rows):
        r = rows[k]
        line = 0 if shared else k
        for c in range(n_cols):
            p = pkgs[line, c]
            o = truce[p]
            perm, held = term_value(weighted, inter, columns, tied, r, p)
            out[k, c] = perm + frac[k, o] * held + const[k, o] + per_rebuild[k, o] * rebuild[p]
    return out


F8 = np.dtype(np.float64)


def hold_side_by_side(owners: Sequence[Any], names: Sequence[str]) -> dict[str, np.ndarray]:
    """Hold the tables ``names`` of n owners (valuers, parties) as the rows of one array per name,
    (n, ...), each owner keeping a view of its own row (and, as ``held``, where it sits), and
    return those arrays.

    A kernel takes a group of valuers as such arrays (``side_by_side``), so numba compiles one
    version of it for any number of parties: a tuple of n arrays is a type of its own for each n.
    An owner revises its row in place (a view), never by holding another array."""
    held: dict[str, np.ndarray] = {}
    for name in names:
        whole = held[name] = np.stack([np.asarray(getattr(o, name), dtype=np.float64) for o in owners])
        for o, row in zip(owners, whole, strict=True):
            setattr(o, name, row)
    for i, o in enumerate(owners):
        o.held = (held, i)
    return held


def side_by_side(owners: Sequence[Any], *names: str) -> Any:
    """(n, ...) the tables ``names`` of n owners as the kernels take them, one array per name (a
    tuple of them for several names): the array whose rows they are, in this order, when the
    owners are held side by side (``hold_side_by_side``; a view of the one table when n is 1),
    else a stacked copy."""
    n = len(owners)
    if n == 1:
        out = [getattr(owners[0], name)[None] for name in names]
        return out[0] if len(out) == 1 else tuple(out)
    held = getattr(owners[0], "held", None)
    group = held[0] if held is not None else None
    for i, o in enumerate(owners):  # held together, in this order (plain loops: a hot path)
        at = getattr(o, "held", None) if group is not None else None
        if at is None or at[0] is not group or at[1] != i:
            group = None
            break
    out = []
    for name in names:
        whole = group.get(name) if group is not None else None
        if whole is not None and len(whole) != n:  # only the whole group
            whole = None
        for o in owners if whole is not None else ():
            if getattr(o, name).base is not whole:  # a table held anew: not a row any more
                whole = None
                break
        out.append(whole if whole is not None else np.stack([getattr(o, name) for o in owners]))
    return out[0] if len(out) == 1 else tuple(out)


def compilable(*tables: np.ndarray) -> bool:
    """Whether every table is laid out as the kernels are compiled for (C-ordered float64): any
    other layout would compile another version of a kernel, so the readable path takes it."""
    return all(t.dtype == F8 and t.flags.c_contiguous for t in tables)


def surpluses_at(
    values: list[Values],
    space: OutcomeSpace,
    rows: np.ndarray,
    pkgs: np.ndarray | None,
    here: np.ndarray,
    coefs: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """(r, n, C) each valuer's value of packages ``pkgs`` (as in ``Values.of``) less its value of
    ``here`` (r,), what is in force, from the coefficients ``coefs`` stacked by valuer
    (``coefficients_of``: frac (r, O), const and per_rebuild (r, n, O)). Compiled, every valuer in
    one call (``surplus_values``); else ``Values.at`` twice per valuer and the difference."""
    if Values.compiled and all(v.laid_out() for v in values):
        cols = np.arange(space.n) if pkgs is None else pkgs
        return surplus_values(
            *side_by_side(values, "weighted", "inter"),
            space.term_columns, space.tied_terms, np.asarray(rows, dtype=np.int64),
            np.asarray(cols[None, :] if cols.ndim == 1 else cols, dtype=np.int64),
            np.asarray(here, dtype=np.int64), space.truce, space.rebuild, *coefs,
        )  # fmt: skip
    here, (frac, const, per_rebuild) = here[:, None], coefs
    each = [(frac, const[:, i], per_rebuild[:, i]) for i in range(len(values))]
    return np.stack(
        [v.at(space, rows, pkgs, c) - v.at(space, rows, here, c) for v, c in zip(values, each, strict=True)],
        axis=1,
    )


@kernel
def surplus_values(
    weighted, inter, columns, tied, rows, pkgs, here, truce, rebuild, frac, const, per_rebuild,
):  # fmt: skip
    """Kernel of ``surpluses_at``: ``weighted`` (n, R, J), ``inter`` (n, P) each valuer's weighted
    option values and interactions (``side_by_side``), ``const`` and ``per_rebuild`` (r, n, O);
    each value summed as ``package_values`` sums it, less the value of ``here[k]`` summed the same
    way."""
    n, n_rows, n_cols = len(weighted), rows.size, pkgs.shape[1]
    out = np.empty((n_rows, n, n_cols))
    shared = pkgs.shape[0] != n_rows
    for k in range(n_rows):
        r, h = rows[k], here[k]
        oh = truce[h]
        line = 0 if shared else k
        for i in range(n):
            perm, held = term_value(weighted[i], inter[i], columns, tied, r, h)
            base = perm + frac[k, oh] * held + const[k, i, oh] + per_rebuild[k, i, oh] * rebuild[h]
            for c in range(n_cols):
                p = pkgs[line, c]
                o = truce[p]
                perm, held = term_value(weighted[i], inter[i], columns, tied, r, p)
                value = perm + frac[k, o] * held + const[k, i, o] + per_rebuild[k, i, o] * rebuild[p]
                out[k, i, c] = value - base
    return out


def weigh(weights: np.ndarray, values: list[np.ndarray]) -> np.ndarray:
    """(R, J) each term option's value times its issue's weight: ``weights`` (R, k), ``values[i]``
    (R, options of the i-th term issue), laid end to end in the order of ``term_columns``."""
    return np.concatenate([weights[:, i : i + 1] * v for i, v in enumerate(values)], axis=1)


def term_tables(
    space: OutcomeSpace, weighted: np.ndarray, interactions: np.ndarray, compiled: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(R, P) permanent and tied term values from weighted option values (R, J; ``weigh``).

    ``interactions`` (P,) counts as permanent. A package's term value is the weighted value of its
    option on each term issue (an additive multi-attribute value, Raiffa 1982), summed from 0 in
    the scenario's order of issues: compiled, one world and package at a time (``term_sums``); else
    issue by issue over whole tables. The order is fixed on purpose: a matrix product over option
    indicators leaves it to the BLAS library (blocking, several accumulators), and on some tables
    its last bits differ. The engine holds no such tables (``term_value`` sums a package when it
    is asked); they are the readable reference and what analyses of whole spaces read.
    """
    columns, tied = space.term_columns, space.tied_terms
    perm, held = np.empty((len(weighted), space.n)), np.empty((len(weighted), space.n))
    if compiled:
        term_sums(weighted, columns, tied, interactions, perm, held)
        return perm, held
    perm[:] = 0.0
    held[:] = 0.0
    for i in range(columns.shape[1]):
        part = weighted[:, columns[:, i]]
        if tied[i]:
            held += part
        else:
            perm += part
    perm += interactions
    return perm, held


@kernel
def term_sums(
    weighted: np.ndarray,
    columns: np.ndarray,
    tied: np.ndarray,
    interactions: np.ndarray,
    perm: np.ndarray,
    held: np.ndarray,
) -> None:
    """Kernel of ``term_tables``: ``weighted`` (R, J) weighted option values, ``columns`` (P, k)
    the column of each package's option on each term issue, ``tied`` (k,) the issues tied to the
    truce; writes ``perm`` and ``held`` (R, P), each cell as ``term_value`` sums it."""
    n_worlds, n_pkgs = weighted.shape[0], columns.shape[0]
    for r in range(n_worlds):
        for p in range(n_pkgs):
            perm[r, p], held[r, p] = term_value(weighted, interactions, columns, tied, r, p)


def coefficients_of(
    values: list[Values],
    parties: Sequence[Any],
    space: OutcomeSpace,
    rows: np.ndarray,
    m: np.ndarray,
    path: ExpectedPath,
    window: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every valuer's ``Values.coefficients`` at one moment, stacked as the kernels take them: the
    share of the window (r, O), the constants and rebuild values (r, n, O). ``parties[i].shift``
    (R, F): the pressure on valuer i's party in every world.

    Compiled over fewer than ``FEW_FRONTS`` fronts, all of it in one kernel call
    (``coefficients_in_order``). Compiled over more, the daily values at a balance of 0 of every
    valuer in one call (``daily_at_zero``), their sums over fronts NumPy's matrix products as in
    ``Values.coefficients`` (the row sums of fewer than ``IN_ORDER`` fronts added by the kernel in
    NumPy's order), then one kernel call for every valuer's coefficients (``every_coefficient``).
    Else each valuer's own ``coefficients``, stacked."""
    shifts = [p.shift for p in parties]
    if not (Values.compiled and all(v.laid_out() for v in values) and compilable(*shifts)):
        pairs = zip(values, shifts, strict=True)
        coefs = [v.coefficients(space, rows, path.days, m, s[rows], window, path) for v, s in pairs]
        return coefs[0][0], np.stack([c[1] for c in coefs], axis=1), np.stack([c[2] for c in coefs], axis=1)
    n, n_opts, rows = len(values), path.days.shape[1], np.asarray(rows, dtype=np.int64)
    if len(space.fronts) < FEW_FRONTS:  # every sum over fronts in order: the whole step in one call
        const, per_rebuild = coefficients_in_order(*in_order_inputs(values, parties, space, rows, m, path))
        return path.frac, const, per_rebuild
    in_order = len(space.fronts) < IN_ORDER
    war, weighted, inter = side_by_side(values, "war", "weighted", "inter")
    a, a_all = daily_at_zero(war, side_by_side(parties, "shift"), rows, in_order)
    a_open, b_open, b_all = np.empty((n, rows.size, n_opts)), np.empty((n, n_opts)), np.empty(n)
    for i, v in enumerate(values):
        a_open[i], (b_open[i], b_all[i]) = a[i] @ space.open_by_option.T, v.slopes(space)
        if not in_order:
            a_all[i] = a[i].sum(axis=1)
    const, per_rebuild = every_coefficient(
        path.during, path.frac, path.left, path.ia, path.ib, path.g, path.h, path.la, path.lb, path.days,
        m, a_open, a_all, b_open, b_all, space.closes_momentum_by_option,
        weighted, inter, space.term_columns, space.tied_terms, rows,
        np.array([float(v.war_weight) for v in values]),
    )  # fmt: skip
    return path.frac, const, per_rebuild


def in_order_inputs(
    values: list[Values],
    parties: Sequence[Any],
    space: OutcomeSpace,
    rows: np.ndarray,
    m: np.ndarray,
    path: ExpectedPath,
) -> tuple:
    """What ``coefficients_in_order`` takes for a group of valuers (under the pressure on each one's
    party) in worlds ``rows`` (int64) at one moment, in its order; ``learnt_offsets`` starts with
    the same."""
    slopes = [v.slopes(space) for v in values]
    war, weighted, inter = side_by_side(values, "war", "weighted", "inter")
    return (
        path.stack, m, war, side_by_side(parties, "shift"), rows,
        space.memo("open_by_option:float", lambda: space.open_by_option.astype(np.float64)),
        np.array([s[0] for s in slopes]), np.array([s[1] for s in slopes]),
        space.closes_momentum_by_option, weighted, inter, space.term_columns, space.tied_terms,
        np.array([float(v.war_weight) for v in values]),
    )  # fmt: skip


@kernel
def daily_at_zero(war, shift, rows, in_order):  # fmt: skip
    """Kernel of ``coefficients_of``: ``a`` (n, r, F), valuer i's daily value of each front at a
    balance of 0 in world ``rows[k]`` (``war[i]`` + ``shift[i]``: ``Values.coefficients``'s
    ``a``, one addition a cell), and with ``in_order`` its sums over fronts ``a_all`` (n, r), each
    row added from 0 front by front as NumPy sums fewer than ``IN_ORDER`` terms
    (``a.sum(axis=1)``); without, ``a_all`` is left to the caller."""
    n, n_fronts = len(war), war[0].shape[1]
    a = np.empty((n, rows.size, n_fronts))
    a_all = np.empty((n, rows.size))
    for i in range(n):
        for k in range(rows.size):
            r = rows[k]
            s = 0.0
            for f in range(n_fronts):
                a[i, k, f] = war[i][r, f] + shift[i][r, f]
                s += a[i, k, f]
            a_all[i, k] = s
    return a, a_all


@kernel
def every_coefficient(
    during, frac, left, ia, ib, g, h, la, lb, days, m, a_open, a_all, b_open, b_all, closes,
    weighted, inter, columns, tied, rows, ww,
):  # fmt: skip
    """Kernel of ``coefficients_of``: ``coefficient_sums`` of valuer i (``weighted[i]``, the sums
    over fronts ``a_open[i]``, ``a_all[i]``, ``b_open[i]``, ``b_all[i]``, its war weight ``ww[i]``)
    into ``const[:, i]`` and ``per_rebuild[:, i]`` (r, n, O)."""
    n_rows, n_opts = during.shape
    const = np.empty((n_rows, len(weighted), n_opts))
    per_rebuild = np.empty((n_rows, len(weighted), n_opts))
    for i in range(len(weighted)):
        coefficient_sums(
            during, frac, left, ia, ib, g, h, la, lb, days, m, a_open[i], a_all[i], b_open[i], b_all[i],
            closes, weighted[i], inter[i], columns, tied, rows, ww[i], const[:, i], per_rebuild[:, i],
        )  # fmt: skip
    return const, per_rebuild


@kernel
def coefficients_in_order(
    stack, m, war, shift, rows, open_by_option, b_open, b_all, closes, weighted, inter, columns, tied, ww,
):  # fmt: skip
    """Kernel of ``coefficients_of`` over fewer than ``FEW_FRONTS`` fronts: ``daily_at_zero``, the
    sums over the fronts each truce option leaves open (NumPy's matrix product adds so few in
    order from 0, as here: a 0/1 factor makes each product exact) and ``every_coefficient``, in
    one pass over each valuer and world; the path as its (10, r, O) stack (``ExpectedPath``)."""
    n_rows, n_opts, n_fronts = stack.shape[1], stack.shape[2], open_by_option.shape[1]
    days, during, frac, left = stack[0], stack[1], stack[2], stack[3]
    ia, ib, g, h, la, lb = stack[4], stack[5], stack[6], stack[7], stack[8], stack[9]
    n = len(weighted)
    const = np.empty((n_rows, n, n_opts))
    per_rebuild = np.empty((n_rows, n, n_opts))
    a = np.empty(n_fronts)
    balance_during, at_end = np.empty((n_rows, n_opts)), np.empty((n_rows, n_opts))
    for k in range(n_rows):  # the balance's path is every valuer's
        mm = m[k]
        for o in range(n_opts):
            if closes[o]:
                balance_during[k, o], at_end[k, o] = mm * during[k, o], mm
            else:
                balance_during[k, o], at_end[k, o] = ia[k, o] * mm + ib[k, o], g[k, o] * mm + h[k, o]
    for i in range(n):
        war_i, shift_i, weighted_i, inter_i, ww_i = war[i], shift[i], weighted[i], inter[i], ww[i]
        for k in range(n_rows):
            r = rows[k]
            a_all = 0.0
            for f in range(n_fronts):
                a[f] = war_i[r, f] + shift_i[r, f]
                a_all += a[f]
            status_quo = term_value(weighted_i, inter_i, columns, tied, r, STATUS_QUO)[1]
            for o in range(n_opts):
                a_open = 0.0
                for f in range(n_fronts):
                    a_open += a[f] * open_by_option[o, f]
                d = during[k, o]
                war_value = (
                    a_open * d + b_open[i, o] * balance_during[k, o] + a_all * left[k, o]
                    + b_all[i] * (la[k, o] * at_end[k, o] + lb[k, o])
                )  # fmt: skip
                const[k, i, o] = (1.0 - frac[k, o]) * status_quo + ww_i * war_value
                per_rebuild[k, i, o] = (ww_i * (1.0 if closes[o] else 0.0)) * (
                    b_open[i, o] * 0.5 * d * d + b_all[i] * la[k, o] * days[k, o]
                )
    return const, per_rebuild


@kernel
def coefficient_sums(
    during, frac, left, ia, ib, g, h, la, lb, days, m, a_open, a_all, b_open, b_all, closes,
    weighted, inter, columns, tied, rows, ww, const, per_rebuild,
):  # fmt: skip
    """Kernel of ``Values.coefficients``: writes ``const`` and ``per_rebuild`` (r, O), cell by cell,
    with the readable path's operations in its order. The path's exponentials
    (``ExpectedPath.of``) and the sums over fronts (``a_open``, ``a_all``, ``b_open``, ``b_all``)
    come from NumPy, whose own routines set their last bits; the status quo's tied terms in world
    ``rows[k]`` are summed here (``term_value``, from 0 in the order of the issues, as
    ``Values.terms_of`` sums them)."""
    n_rows, n_opts = during.shape
    for k in range(n_rows):
        mm = m[k]
        status_quo = term_value(weighted, inter, columns, tied, rows[k], STATUS_QUO)[1]
        for o in range(n_opts):
            d = during[k, o]
            if closes[o]:
                balance_during = mm * d
                at_end = mm
            else:
                balance_during = ia[k, o] * mm + ib[k, o]
                at_end = g[k, o] * mm + h[k, o]
            war = (
                a_open[k, o] * d + b_open[o] * balance_during + a_all[k] * left[k, o]
                + b_all * (la[k, o] * at_end + lb[k, o])
            )  # fmt: skip
            const[k, o] = (1.0 - frac[k, o]) * status_quo + ww * war
            per_rebuild[k, o] = (ww * (1.0 if closes[o] else 0.0)) * (
                b_open[o] * 0.5 * d * d + b_all * la[k, o] * days[k, o]
            )


@kernel
def truce_lengths(idx, inforce, truce, end, clock, n_options, full, fresh):  # fmt: skip
    """Kernel of ``NegotiationModel.truce_days``: (r, O) how long a truce of each option would run
    from now in world ``idx[k]``: 0 for none, ``full`` days for another option than the one in
    force, what is left of the truce in force (``end - clock``, at least 0) for its own option
    (unless ``fresh``)."""
    out = np.empty((idx.size, n_options))
    for k in range(idx.size):
        r = idx[k]
        out[k, 0] = 0.0
        for o in range(1, n_options):
            out[k, o] = full
        current = truce[inforce[r]]
        if not fresh and current > 0:
            left = end[r] - clock[r]
            out[k, current] = left if left >= 0.0 else 0.0
    return out


def warm_up(many_fronts: bool = True) -> None:
    """Compile (or load) this module's kernels on a tiny table: one version for any number of
    valuers (``side_by_side``); those for ``FEW_FRONTS`` fronts or more, and the whole term tables,
    only with ``many_fronts``."""
    one, three = np.zeros((1, 1)), np.zeros((1, 1, 1))
    first = np.zeros(1, dtype=np.int64)
    cols, no = np.zeros((1, 1), dtype=np.int64), np.zeros(1, dtype=np.bool_)
    row = np.zeros(1)
    package_values(one, row, cols, no, first, cols, first, row, one, one, one)
    surplus_values(three, one, cols, no, first, cols, first, first, row, one, three, three)
    # (``coefficient_sums`` on its own is the readable face's, which the engine never runs: it is
    # compiled inside ``every_coefficient`` below)
    path_sums(one, one, one, 1.0, 0.0, 1.0)
    truce_lengths(first, first, first, row, row, 1, 1.0, False)
    coefficients_in_order(np.zeros((10, 1, 1)), row, three, three, first, one, one, row, no, three, one, cols,
                          no, row)  # fmt: skip
    if many_fronts:  # (and the whole term tables: what analyses read, not the engine)
        every_coefficient(*[one] * 10, row, three, one, one, row, no, three, one, cols, no, first, row)
        daily_at_zero(three, three, first, True)
        term_sums(
            one, np.zeros((1, 1), dtype=np.int64), np.zeros(1, dtype=np.bool_), np.zeros(1), one, one.copy()
        )
